// DoH stream resets: a client asks forwarded names over HTTP/2 (the upstream answers after 300 ms)
// and resets every stream with an error code while its answer is pending; POSTs are reset halfway
// through their body. A stream reset with an error is an 'error' event on the server's stream:
// the node must take it (not crash on an unhandled 'error'), free what the stream held, and keep
// answering others over UDP and DoH.
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../bench/procs.ts';
import { dig } from '../helpers/dig.ts';
import type { HostileNode } from '../helpers/hostile.ts';
import { startNode } from '../helpers/hostile.ts';
import { makeCertificate } from '../helpers/tls.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeUpstream } from '../helpers/upstream.ts';
import { query } from '../helpers/wire.ts';
import { underAttack } from './harness.ts';

/** Streams reset per round, rounds; every one is answered late by the upstream. */
const STREAMS = 90;
const ROUNDS = 10;

/** One HTTP/2 connection: GETs and half-sent POSTs, each reset with PROTOCOL_ERROR after `afterMs`. */
async function resetRound(port: number, round: number, afterMs: number): Promise<number> {
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  session.on('error', () => {});
  let reset = 0;
  const streams: http2.ClientHttp2Stream[] = [];
  for (let i = 0; i < STREAMS; i++) {
    const q = query(`r${round}-${i}.slow.test`, 'A', { id: 0 });
    const s =
      i % 3 === 0
        ? session.request({ ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' })
        : session.request({ ':path': `/dns-query?dns=${q.toString('base64url')}` });
    if (i % 3 === 0) s.write(q.subarray(0, 6));
    else s.end();
    s.on('error', () => {});
    s.resume();
    streams.push(s);
  }
  await sleep(afterMs);
  for (const s of streams) {
    if (!s.closed) {
      s.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
      reset++;
    }
  }
  await sleep(50);
  session.destroy();
  return reset;
}

describe('hostile: DoH streams reset while their answers are pending', () => {
  let node: HostileNode;
  let up: FakeUpstream;
  after(async () => {
    await node?.stop();
    await up?.close();
  });

  it('takes every reset, keeps answering over UDP and DoH', async (t) => {
    up = await FakeUpstream.start();
    up.delayMs = 300;
    const cert = makeCertificate(tempDir('edgedns-doh-resets-'), 'dns.example.test');
    const doh = await freePort();
    node = await startNode({
      workers: 1,
      extra: [
        `upstreams: ["127.0.0.1:${up.port}"]`,
        'recursion: { allow: ["127.0.0.0/8"] }',
        `doh: { listen: ["127.0.0.1:${doh}"] }`,
        `tls: { certFile: ${JSON.stringify(cert.cert)}, keyFile: ${JSON.stringify(cert.key)} }`,
      ],
    });
    const { attack: resets } = await underAttack(t, node, async () => {
      let n = 0;
      for (let r = 0; r < ROUNDS; r++) n += await resetRound(doh, r, 100);
      return n;
    });
    t.diagnostic(`streams reset with PROTOCOL_ERROR while pending: ${resets}`);
    assert.ok(resets >= (STREAMS * ROUNDS) / 2, `most streams were reset while pending (${resets})`);
    const r = await dig({ host: '127.0.0.1', port: doh }, ['-b', '127.0.0.2', '+https', 'www.example.test', 'A']);
    assert.equal(r.status, 'NOERROR', r.raw);
  });
});
