// A trickle: connections that send one byte every 500 ms, for 9 s. Today any byte reset the idle
// timer and such a connection lived for ever; now the first-query deadline (a trickle from the
// start) and the per-message deadline (a trickle after a real query) close them, whatever arrives.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tcpTrickle } from '../helpers/attacks.ts';
import type { HostileNode } from '../helpers/hostile.ts';
import { metric, startNode } from '../helpers/hostile.ts';
import { underAttack } from './harness.ts';

describe('TCP trickle, workers: 1', () => {
  let node: HostileNode;
  after(async () => {
    await node?.stop();
  });

  it('closes trickling connections at the first-query and message deadlines', async (t) => {
    node = await startNode({ workers: 1 });
    // 16 connections (8 after a real query), one byte every 500 ms, 18 times.
    const { attack } = await underAttack(
      t,
      node,
      () => tcpTrickle({ port: node.srv.port, from: '127.0.0.3', connections: 16, bytes: 18, gapMs: 500 }),
      9000,
    );
    const sentAll = attack.stillOpen;
    const firstQuery = await metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline: 'first_query' });
    const message = await metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline: 'message' });
    t.diagnostic(
      `closed at first_query ${firstQuery}, at message ${message}; still open when the trickle ended: ${sentAll}`,
    );
    assert.equal(sentAll, 0, 'every trickling connection was closed by the node');
    assert.equal(firstQuery, 8);
    assert.equal(message, 8);
  });
});
