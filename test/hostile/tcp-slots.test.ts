// TCP slots: ten attacker addresses open as many idle connections as they can (at most 200 each).
// The per-client cap and the total cap refuse the rest at accept, a connection that sends no
// query is closed at tcp.firstQueryTimeout, and the node's own TCP probe (from its listen
// address, a reserved slot) keeps passing: the node stays UP.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AttackConn } from './attacker.ts';
import { closeAll, openConnections } from './attacker.ts';
import { startNode, underAttack } from './harness.ts';
import type { HostileNode } from './harness.ts';
import { metric } from './metrics.ts';

for (const workers of [1, 2]) {
  describe(`TCP slots, workers: ${workers}`, () => {
    let node: HostileNode;
    const conns: AttackConn[] = [];
    after(async () => {
      closeAll(conns);
      await node?.stop();
    });

    it('refuses over the caps and closes silent connections; the probe keeps its slot', async (t) => {
      // Per process: the total cap (shared out between workers) below what ten clients at the
      // per-client cap (per process) would take.
      node = await startNode({ workers, extra: [`tcp: { maxConnections: ${100 * workers}, maxPerClient: 16 }`] });
      await underAttack(t, node, async () => {
        const t0 = performance.now();
        // Two rounds: the second comes after the first-query deadline has freed the slots.
        for (let round = 0; round < 2 && performance.now() - t0 < 20_000; round++) {
          // Four clients reach their own cap (64 slots a process), then six more fill the total (100).
          for (const [first, n] of [[3, 4], [7, 6]] as const) {
            const opened = await Promise.all(Array.from({ length: n }, (_, i) => openConnections(node.srv.port, `127.0.0.${first + i}`, 200)));
            conns.push(...opened.flat());
          }
          await sleep(3500);
        }
        closeAll(conns);
      }, 8000);
      const perClient = await metric(node.adminPort, 'edgedns_tcp_connections_refused_total', { reason: 'per_client' });
      const total = await metric(node.adminPort, 'edgedns_tcp_connections_refused_total', { reason: 'total' });
      const firstQuery = await metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline: 'first_query' });
      t.diagnostic(`refused per_client ${perClient}, total ${total}; closed at first_query ${firstQuery}; attacker connections ${conns.length}`);
      assert.ok(perClient > 0, 'the per-client cap refused some');
      assert.ok(total > 0, 'the total cap refused some');
      assert.ok(firstQuery > 0, 'silent connections were closed at the first-query deadline');
      assert.ok(perClient + total >= conns.length - 2 * 100 * workers, 'all but what the caps admit was refused');
    });
  });
}
