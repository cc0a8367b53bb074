// TCP slots: ten attacker addresses open as many idle connections as they can (at most 200 each).
// The per-client cap and the total cap refuse the rest at accept, a connection that sends no
// query is closed at tcp.firstQueryTimeout, and the node's own TCP probe (from its listen
// address, a reserved slot) keeps passing: the node stays UP.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tcpSlots } from '../helpers/attacks.ts';
import type { HostileNode } from '../helpers/hostile.ts';
import { metric, startNode } from '../helpers/hostile.ts';
import { underAttack } from './harness.ts';

for (const workers of [1, 2]) {
  describe(`TCP slots, workers: ${workers}`, () => {
    let node: HostileNode;
    after(async () => {
      await node?.stop();
    });

    it('refuses over the caps and closes silent connections; the probe keeps its slot', async (t) => {
      // Per process: the total cap (shared out between workers) below what ten clients at the
      // per-client cap (per process) would take.
      node = await startNode({ workers, extra: [`tcp: { maxConnections: ${100 * workers}, maxPerClient: 16 }`] });
      // Two rounds: the second comes after the first-query deadline has freed the slots. Four
      // clients reach their own cap (64 slots a process), then six more fill the total (100).
      const { attack } = await underAttack(
        t,
        node,
        () =>
          tcpSlots({
            port: node.srv.port,
            groups: [
              [3, 4],
              [7, 6],
            ],
            perClient: 200,
            rounds: 2,
            pauseMs: 3500,
            maxMs: 20_000,
          }),
        8000,
      );
      const perClient = await metric(node.adminPort, 'edgedns_tcp_connections_refused_total', { reason: 'per_client' });
      const total = await metric(node.adminPort, 'edgedns_tcp_connections_refused_total', { reason: 'total' });
      const firstQuery = await metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline: 'first_query' });
      t.diagnostic(
        `refused per_client ${perClient}, total ${total}; closed at first_query ${firstQuery}; attacker connections ${attack.connections}`,
      );
      assert.ok(perClient > 0, 'the per-client cap refused some');
      assert.ok(total > 0, 'the total cap refused some');
      assert.ok(firstQuery > 0, 'silent connections were closed at the first-query deadline');
      assert.ok(perClient + total >= attack.connections - 2 * 100 * workers, 'all but what the caps admit was refused');
    });
  });
}
