// The node's own probes (health checks, guard) against the real server: a zone origin written
// without its final dot in the config is still probed as the absolute name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probeQuestion, probeTcp, probeUdp } from '../../src/client/index.ts';
import { startServer } from '../helpers/server.ts';

describe('probes', () => {
  it('probe the SOA of an origin given with or without its final dot, over UDP and TCP', async () => {
    const srv = await startServer();
    try {
      for (const origin of ['example.test', 'example.test.']) {
        const q = probeQuestion(origin);
        assert.equal(q.name, 'example.test.');
        assert.match(await probeUdp({ host: '127.0.0.1', port: srv.port }, q, 3000), /example\.test\. answered/);
        assert.match(await probeTcp({ host: '127.0.0.1', port: srv.port }, q, 3000), /example\.test\. answered/);
      }
    } finally {
      await srv.stop();
    }
  });

  it('a question that cannot be encoded rejects instead of throwing', async () => {
    await assert.rejects(
      probeUdp({ host: '127.0.0.1', port: 9 }, { name: 'a..b.', type: 6, class: 1 }, 1000),
      /UDP 127\.0\.0\.1:9: /,
    );
  });
});
