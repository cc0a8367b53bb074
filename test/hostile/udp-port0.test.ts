// A UDP datagram whose source port is 0: the answer cannot be sent (send() throws
// ERR_SOCKET_BAD_PORT); it must be dropped and counted, never end a process. Zone, forwarded
// and cached answers, with one process and with two workers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { portZero } from '../helpers/attacks.ts';
import type { HostileNode } from '../helpers/hostile.ts';
import { metric, startNode } from '../helpers/hostile.ts';
import { FakeUpstream } from '../helpers/upstream.ts';
import { underAttack } from './harness.ts';

let up: FakeUpstream;
before(async () => {
  up = await FakeUpstream.start();
  up.set('www.example.org', 'A', 300, '192.0.2.1');
});
after(async () => {
  await up.close();
});

for (const workers of [1, 2]) {
  describe(`source port 0, workers: ${workers}`, () => {
    let node: HostileNode;
    before(async () => {
      node = await startNode({
        workers,
        extra: [`upstreams: ["127.0.0.1:${up.port}"]`, 'recursion: { allow: ["127.0.0.0/8"] }'],
      });
    });
    after(async () => {
      await node.stop();
    });

    it('drops and counts the datagrams; the node lives and keeps answering', async (t) => {
      // 3 kinds × 40 datagrams, one every 150 ms: a zone answer, a cached/forwarded one, a miss.
      const { attack } = await underAttack(t, node, () => portZero({ port: node.srv.port, count: 40, gapMs: 150 }));
      const dropped = await metric(node.adminPort, 'edgedns_send_errors_total', {
        transport: 'udp',
        reason: 'bad_port',
      });
      t.diagnostic(`dropped as bad_port: ${dropped} of ${attack.sent}`);
      assert.equal(attack.sent, 120);
      assert.equal(dropped, 120, 'every datagram from port 0 is counted');
    });
  });
}
