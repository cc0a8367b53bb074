// TCP (RFC 7766, RFC 9210): framing, pipelining, half-close, idle timeout and the connection cap.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, startServer } from '../helpers/server.ts';
import { decode, frame, query, tcpConnect } from '../helpers/wire.ts';

let srv: RunningServer;
before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgedns-tcp-'));
  const cfg = join(dir, 'edgedns.yaml');
  writeFileSync(cfg, `listen: ["127.0.0.1:0"]\nzones: { dir: ${JSON.stringify(ZONES)} }\ntcp: { idleTimeout: 700ms, firstQueryTimeout: 700ms, maxConnections: 3 }\nupstreams: []\nhealth: { interval: 60s, fastInterval: 60s }\n`);
  srv = await startServer({ config: cfg, args: [] });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

describe('TCP', () => {
  it('answers many pipelined queries on one connection, each with its own ID', async () => {
    const c = await tcpConnect(srv.port);
    const names = ['www', 'mail', 'ns1', 'sip', 'missing', 'www2'];
    // All queries in one write: the server must answer every one.
    c.sock.write(Buffer.concat(names.map((n, i) => frame(query(`${n}.example.test`, 'A', { id: 100 + i })))));
    const got = await c.next(names.length);
    assert.equal(got.length, names.length);
    const byId = new Map(got.map((b) => [decode(b).id, decode(b)]));
    for (const [i, n] of names.entries()) assert.equal(byId.get(100 + i)?.questions?.[0]?.name, `${n}.example.test`);
    assert.equal(byId.get(104)?.rcode, 'NXDOMAIN');
    c.sock.destroy();
  });

  it('reassembles a query split over several segments', async () => {
    const c = await tcpConnect(srv.port);
    const f = frame(query('www.example.test', 'A', { id: 7 }));
    for (let i = 0; i < f.length; i++) {
      c.sock.write(f.subarray(i, i + 1));
      await new Promise((r) => setTimeout(r, 2));
    }
    const [r] = await c.next(1);
    assert.equal(r && decode(r).id, 7);
    c.sock.destroy();
  });

  it('half-close: answers what was sent before the FIN, then closes', async () => {
    const c = await tcpConnect(srv.port);
    c.sock.end(Buffer.concat([frame(query('www.example.test', 'A', { id: 1 })), frame(query('mail.example.test', 'A', { id: 2 }))]));
    await c.closed;
    assert.deepEqual(c.responses.map((b) => decode(b).id).sort(), [1, 2]);
  });

  it('closes a connection that sends no query after the first-query timeout', async () => {
    const c = await tcpConnect(srv.port);
    const t0 = Date.now();
    await c.closed;
    const waited = Date.now() - t0;
    assert.ok(waited >= 500 && waited < 5000, `closed after ${waited} ms`);
  });

  it('closes an idle connection after the idle timeout', async () => {
    const c = await tcpConnect(srv.port);
    c.sock.write(frame(query('www.example.test', 'A', { id: 3 })));
    assert.equal((await c.next(1)).length, 1);
    const t0 = Date.now();
    await c.closed;
    const waited = Date.now() - t0;
    assert.ok(waited >= 500 && waited < 5000, `closed after ${waited} ms`);
  });

  it('refuses connections over the cap and keeps serving the others', async () => {
    const conns = await Promise.all([1, 2, 3].map((i) => tcpConnect(srv.port, '127.0.0.1', `127.0.0.${10 + i}`)));
    await new Promise((r) => setTimeout(r, 100));
    const extra = await tcpConnect(srv.port, '127.0.0.1', '127.0.0.14');
    await Promise.race([extra.closed, new Promise((r) => setTimeout(r, 2000))]);
    assert.equal(extra.sock.destroyed || extra.sock.readableEnded, true, 'the fourth connection is closed by the server');
    conns[0]?.sock.write(frame(query('www.example.test', 'A', { id: 9 })));
    const [r] = (await conns[0]?.next(1)) ?? [];
    assert.equal(r && decode(r).id, 9);
    for (const c of conns) c.sock.destroy();
  });
});

describe('stopping with connections open', () => {
  it('SIGTERM closes open TCP connections and exits', async () => {
    const s = await startServer({ args: ['--listen', '127.0.0.1:0', '--zones', ZONES, '--authoritative-only'] });
    const c = await tcpConnect(s.port);
    const t0 = Date.now();
    const code = await s.stop('SIGTERM');
    assert.equal(code, 0);
    await c.closed;
    assert.ok(Date.now() - t0 < 9000, `stopped in ${Date.now() - t0} ms with a connection open`);
  });
});
