// TCP (RFC 7766, RFC 9210): framing, pipelining, half-close, idle timeout and the connection cap.
// Which deadline closed a connection is read from the node's metrics; when the deadlines fire is
// tested on a fake clock (unit/server/tcp-limits.test.ts), not on this machine's.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PATIENCE_MS, until } from '../helpers/node.ts';
import { parseProm, value } from '../helpers/prom.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, startServer } from '../helpers/server.ts';
import { decode, frame, query, tcpConnect } from '../helpers/wire.ts';
import { tempDir } from '../helpers/tmp.ts';

let srv: RunningServer;
before(async () => {
  const dir = tempDir('edgedns-tcp-');
  const cfg = join(dir, 'edgedns.yaml');
  writeFileSync(
    cfg,
    `listen: ["127.0.0.1:0"]\nzones: { dir: ${JSON.stringify(ZONES)} }\ntcp: { idleTimeout: 700ms, firstQueryTimeout: 700ms, maxConnections: 3 }\nupstreams: []\nhealth: { interval: 60s, fastInterval: 60s }\n`,
  );
  srv = await startServer({ config: cfg, args: [] });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

const metric = async (name: string, labels: Record<string, string> = {}, s: RunningServer = srv): Promise<number> =>
  value(parseProm(await (await fetch(`http://127.0.0.1:${s.adminPort}/metrics`)).text()), name, labels);

/** Wait for the server to close `c` (a failure timeout only). */
async function closedByServer(c: { closed: Promise<void> }, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    c.closed,
    new Promise(
      (_, reject) =>
        (timer = setTimeout(() => reject(new Error(`not closed within ${PATIENCE_MS} ms: ${what}`)), PATIENCE_MS)),
    ),
  ]);
  clearTimeout(timer);
}

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
    c.sock.end(
      Buffer.concat([
        frame(query('www.example.test', 'A', { id: 1 })),
        frame(query('mail.example.test', 'A', { id: 2 })),
      ]),
    );
    await c.closed;
    assert.deepEqual(c.responses.map((b) => decode(b).id).sort(), [1, 2]);
  });

  it('closes a connection that sends no query after the first-query timeout', async () => {
    const before = await metric('edgedns_tcp_timeouts_total', { deadline: 'first_query' });
    const c = await tcpConnect(srv.port);
    await closedByServer(c, 'a connection without a query');
    assert.equal(
      await metric('edgedns_tcp_timeouts_total', { deadline: 'first_query' }),
      before + 1,
      'closed at its first-query deadline',
    );
    assert.equal(c.responses.length, 0);
  });

  it('closes an idle connection after the idle timeout', async () => {
    const before = await metric('edgedns_tcp_timeouts_total', { deadline: 'idle' });
    const c = await tcpConnect(srv.port);
    c.sock.write(frame(query('www.example.test', 'A', { id: 3 })));
    assert.equal((await c.next(1)).length, 1);
    await closedByServer(c, 'an idle connection');
    assert.equal(
      await metric('edgedns_tcp_timeouts_total', { deadline: 'idle' }),
      before + 1,
      'closed at its idle deadline',
    );
  });

  it('refuses connections over the cap and keeps serving the others', async () => {
    const refused = await metric('edgedns_tcp_connections_refused_total', { reason: 'total' });
    const conns = await Promise.all([1, 2, 3].map((i) => tcpConnect(srv.port, '127.0.0.1', `127.0.0.${10 + i}`)));
    await until(
      async () => (await metric('edgedns_tcp_connections_open')) === 3,
      PATIENCE_MS,
      'three connections open at the node',
    );
    const extra = await tcpConnect(srv.port, '127.0.0.1', '127.0.0.14');
    await closedByServer(extra, 'the fourth connection');
    assert.equal(
      await metric('edgedns_tcp_connections_refused_total', { reason: 'total' }),
      refused + 1,
      'refused by the cap',
    );
    conns[0]?.sock.write(frame(query('www.example.test', 'A', { id: 9 })));
    const [r] = (await conns[0]?.next(1)) ?? [];
    assert.equal(r && decode(r).id, 9);
    for (const c of conns) c.sock.destroy();
  });
});

describe('stopping with connections open', () => {
  it('SIGTERM closes open TCP connections and exits', async () => {
    // Deadlines of an hour: only stopping can close the connection while the test waits.
    const dir = tempDir('edgedns-tcp-stop-');
    const cfg = join(dir, 'edgedns.yaml');
    writeFileSync(
      cfg,
      `listen: ["127.0.0.1:0"]\nzones: { dir: ${JSON.stringify(ZONES)} }\ntcp: { idleTimeout: 1h, firstQueryTimeout: 1h }\nupstreams: []\nannounce: { shutdownLinger: 0s }\n`,
    );
    const s = await startServer({ config: cfg, args: [] });
    const c = await tcpConnect(s.port);
    c.sock.write(frame(query('www.example.test', 'A', { id: 5 })));
    assert.equal((await c.next(1)).length, 1);
    const code = await s.stop('SIGTERM');
    assert.equal(code, 0);
    await closedByServer(c, 'the open connection at SIGTERM');
  });
});
