// A trickle: connections that send one byte every 500 ms, for 9 s. Today any byte reset the idle
// timer and such a connection lived for ever; now the first-query deadline (a trickle from the
// start) and the per-message deadline (a trickle after a real query) close them, whatever arrives.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { frame, query } from '../helpers/wire.ts';
import type { AttackConn } from './attacker.ts';
import { closeAll, openConnections } from './attacker.ts';
import { startNode, underAttack } from './harness.ts';
import type { HostileNode } from './harness.ts';
import { metric } from './metrics.ts';

describe('TCP trickle, workers: 1', () => {
  let node: HostileNode;
  let conns: AttackConn[] = [];
  after(async () => {
    closeAll(conns);
    await node?.stop();
  });

  it('closes trickling connections at the first-query and message deadlines', async (t) => {
    node = await startNode({ workers: 1 });
    const q = frame(query('www.example.test', 'A', { id: 1 }));
    let sentAll = 0;
    await underAttack(t, node, async () => {
      conns = await openConnections(node.srv.port, '127.0.0.3', 16);
      // Half ask a real query first: their trickle is the second message.
      for (const c of conns.slice(8)) c.sock.write(q);
      await sleep(300);
      for (let i = 0; i < 18; i++) {
        for (const c of conns) if (!c.sock.destroyed) c.sock.write(q.subarray(i % q.length, (i % q.length) + 1));
        await sleep(500);
      }
      sentAll = conns.filter((c) => !c.closedByServer()).length;
      closeAll(conns);
    }, 9000);
    const firstQuery = await metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline: 'first_query' });
    const message = await metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline: 'message' });
    t.diagnostic(`closed at first_query ${firstQuery}, at message ${message}; still open when the trickle ended: ${sentAll}`);
    assert.equal(sentAll, 0, 'every trickling connection was closed by the node');
    assert.equal(firstQuery, 8);
    assert.equal(message, 8);
  });
});
