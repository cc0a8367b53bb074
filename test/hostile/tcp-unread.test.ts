// Pipelined queries whose answers are never read: 4 clients × 4 connections, each writing 2500
// queries for a large answer (about 2.5 MB of answers, more than the kernel buffers) and reading
// nothing. Reading stops at the unwritten-bytes
// caps and a connection that does not drain is closed: RSS stays bounded and falls back after.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tcpUnread } from '../helpers/attacks.ts';
import type { HostileNode } from '../helpers/hostile.ts';
import { metric, startNode } from '../helpers/hostile.ts';
import { eventually, underAttack } from './harness.ts';

/** RSS may grow by this much under attack (caps: 16 MiB unwritten plus the kernel's and V8's share). */
const GROWTH_BOUND_MB = 120;
/** and must come back to within this of where it started once the attacker has gone. */
const AFTER_BOUND_MB = 60;

for (const workers of [1, 2]) {
  describe(`TCP answers never read, workers: ${workers}`, () => {
    let node: HostileNode;
    after(async () => {
      await node?.stop();
    });

    it('bounds unwritten answers, closes non-draining clients, and gives the memory back', async (t) => {
      node = await startNode({ workers });
      // 4 clients × 4 connections, each ~90 KB of queries of `big TXT` (each answer about 1 KB);
      // closed by the node at the drain deadline (over the cap) or the idle one (10 s).
      const { attack, rss } = await underAttack(
        t,
        node,
        () => tcpUnread({ port: node.srv.port, clients: 4, perClient: 4, queries: 2500, waitMs: 20_000 }),
        8000,
      );
      const { before, peak } = rss;
      const drained = await metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline: 'drain' });
      const idle = await metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline: 'idle' });
      const back = await eventually(async () => (await node.rss()) - before < AFTER_BOUND_MB, 15_000, 500);
      const afterMb = await node.rss();
      t.diagnostic(
        `RSS before ${before.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB, after ${afterMb.toFixed(0)} MiB; closed at drain ${drained}, idle ${idle}; ${attack.connections} connections sent ${(attack.bytesSent / 1e6).toFixed(1)} MB`,
      );
      assert.ok(peak - before < GROWTH_BOUND_MB, `RSS grew ${(peak - before).toFixed(0)} MiB`);
      assert.ok(back, `RSS after the attack ${afterMb.toFixed(0)} MiB, before ${before.toFixed(0)} MiB`);
      assert.ok(drained + idle > 0, 'connections that do not read were closed by the node');
      await sleep(10);
    });
  });
}
