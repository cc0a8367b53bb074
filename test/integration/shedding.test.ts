// SHEDDING against the real node and the real dig. `health.overload.maxUtilization: 0` makes any
// busy moment count as overload, so the node sheds from the start: it stays announced and ready;
// NXDOMAIN to a UDP client without a valid cookie is half dropped, half sent empty with TC=1;
// cache misses from such clients are not forwarded; zone answers, TCP and cookie holders are
// answered as always; `edgedns_shed_total` counts what was refused. With `announce.deprefer`, the
// adapter is told to de-prefer the route instead of withdrawing it.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dig } from '../helpers/dig.ts';
import { metric } from '../helpers/hostile.ts';
import { PATIENCE_MS, until } from '../helpers/node.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, startServer } from '../helpers/server.ts';
import { FakeUpstream } from '../helpers/upstream.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('SHEDDING: overloaded, announced, refusing the cheapest first', () => {
  let dir: string;
  let srv: RunningServer;
  let upstream: FakeUpstream;
  let admin: number;
  const at = (): { host: string; port: number } => ({ host: '127.0.0.1', port: srv.port });
  const state = async (): Promise<{ state: string; announce: boolean; verdict: string }> =>
    (
      (await (await fetch(`http://127.0.0.1:${admin}/status`)).json()) as {
        health: { state: string; announce: boolean; verdict: string };
      }
    ).health;

  before(async () => {
    dir = tempDir('edgedns-shed-');
    upstream = await FakeUpstream.start();
    const file = join(dir, 'edgedns.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        listen: ['127.0.0.1:0'],
        zones: { dir: ZONES },
        upstreams: [`127.0.0.1:${upstream.port}`],
        rateLimit: null,
        health: {
          interval: '200ms',
          fastInterval: '100ms',
          rise: 2,
          overload: { maxUtilization: 0, maxDropRate: 100 },
        },
      }),
    );
    srv = await startServer({ args: ['--config', file] });
    admin = srv.adminPort as number;
    await until(async () => (await state()).state === 'SHEDDING', PATIENCE_MS, 'SHEDDING');
  });

  after(async () => {
    await srv.stop();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stays announced and ready, and says it is overloaded', async () => {
    const h = await state();
    assert.equal(h.announce, true);
    assert.equal(h.verdict, 'overloaded');
    assert.equal((await fetch(`http://127.0.0.1:${admin}/readyz`)).status, 200);
    assert.equal(await metric(admin, 'edgedns_health_state', { state: 'SHEDDING' }), 1);
  });

  it('answers zone names to anyone, over UDP without a cookie', async () => {
    for (let i = 0; i < 4; i++) {
      const d = await dig(at(), ['+nocookie', 'www.example.test', 'A']);
      assert.equal(d.status, 'NOERROR');
      assert.equal(d.answer.length > 0, true);
    }
  });

  it('NXDOMAIN over UDP without a cookie: half dropped, half truncated and empty; over TCP answered', async () => {
    const before = {
      drop: await metric(admin, 'edgedns_shed_total', { what: 'nxdomain', action: 'drop' }),
      truncate: await metric(admin, 'edgedns_shed_total', { what: 'nxdomain', action: 'truncate' }),
    };
    let truncated = 0;
    let lost = 0;
    for (let i = 0; i < 10; i++) {
      // +ignore: show the truncated answer instead of retrying over TCP.
      const d = await dig(at(), ['+nocookie', '+ignore', '+time=1', `nx${i}.example.test`, 'A']);
      if (d.status === 'NONE') lost++;
      else {
        assert.ok(d.flags.includes('tc'), d.raw);
        assert.equal(d.answer.length + d.authority.length, 0, 'empty');
        truncated++;
      }
    }
    assert.equal(truncated, 5);
    assert.equal(lost, 5);
    assert.equal(await metric(admin, 'edgedns_shed_total', { what: 'nxdomain', action: 'drop' }), before.drop + 5);
    assert.equal(
      await metric(admin, 'edgedns_shed_total', { what: 'nxdomain', action: 'truncate' }),
      before.truncate + 5,
    );
    // What a real resolver does with the truncated half: asks over TCP, and gets the answer.
    const tcp = await dig(at(), ['+tcp', 'nx-tcp.example.test', 'A']);
    assert.equal(tcp.status, 'NXDOMAIN');
    assert.equal(tcp.authority[0]?.type, 'SOA');
  });

  it('a client that returns a valid server cookie gets its NXDOMAIN over UDP', async () => {
    // The first answer (over TCP: UDP might be shed) carries the server cookie.
    const first = await dig(at(), ['+tcp', '+cookie', 'nx-cookie.example.test', 'A']);
    const cookie = /; COOKIE: ([0-9a-f]+)/.exec(first.raw)?.[1];
    assert.ok(cookie && cookie.length > 16, first.raw);
    for (let i = 0; i < 4; i++) {
      const d = await dig(at(), [`+cookie=${cookie}`, '+ignore', `nx-c${i}.example.test`, 'A']);
      assert.equal(d.status, 'NXDOMAIN', d.raw);
      assert.ok(!d.flags.includes('tc'));
    }
  });

  it('does not forward cache misses of UDP clients without a cookie; forwards over TCP', async () => {
    const asked = upstream.udpQueries + upstream.tcpQueries;
    const udp = await dig(at(), ['+nocookie', '+time=1', 'miss1.fwd.test', 'A']);
    assert.equal(udp.status, 'NONE', 'dropped');
    assert.equal(upstream.udpQueries + upstream.tcpQueries, asked, 'nothing asked upstream');
    assert.ok((await metric(admin, 'edgedns_shed_total', { what: 'forward', action: 'drop' })) >= 1);
    const tcp = await dig(at(), ['+tcp', 'miss2.fwd.test', 'A']);
    assert.notEqual(tcp.status, 'NONE');
    assert.ok(upstream.udpQueries + upstream.tcpQueries > asked, 'asked upstream for the TCP client');
  });
});

describe('SHEDDING with announce.deprefer: the route is de-preferred, never withdrawn', () => {
  let dir: string;
  let srv: RunningServer;

  before(async () => {
    dir = tempDir('edgedns-deprefer-');
    const hook = join(dir, 'hook.sh');
    writeFileSync(hook, `#!/bin/sh\necho "$1 $EDGEDNS_ASN $EDGEDNS_PREPEND" >> ${join(dir, 'calls')}\n`);
    chmodSync(hook, 0o755);
    writeFileSync(join(dir, 'calls'), '');
    const file = join(dir, 'edgedns.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        listen: ['127.0.0.1:0'],
        zones: { dir: ZONES },
        upstreams: [],
        health: {
          interval: '200ms',
          fastInterval: '100ms',
          rise: 2,
          overload: { maxUtilization: 0, maxDropRate: 100 },
        },
        announce: {
          prefixes: ['127.0.0.1/32'],
          adapter: 'exec',
          exec: { command: hook },
          deprefer: { asn: 65001, prepend: 2 },
          shutdownLinger: '100ms',
        },
      }),
    );
    srv = await startServer({ args: ['--config', file] });
  });

  after(async () => {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tells the adapter deprefer with the AS and the prepend count, and withdraws only when stopped', async () => {
    const calls = (): string[] => readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n').filter(Boolean);
    await until(() => calls().includes('deprefer 65001 2'), PATIENCE_MS, 'the hook told to deprefer');
    // Startup withdraws first (a crashed predecessor's route); after that, only deprefer.
    const after = calls().slice(calls().indexOf('deprefer 65001 2'));
    assert.ok(
      after.every((c) => c.startsWith('deprefer')),
      after.join('; '),
    );
    const st = (await (await fetch(`http://127.0.0.1:${srv.adminPort}/status`)).json()) as {
      announce: { desired: string; confirmed: string };
    };
    assert.equal(st.announce.desired, 'deprefer');
    assert.equal(st.announce.confirmed, 'deprefer');
    assert.equal(await srv.stop(), 0);
    assert.match(calls().at(-1) ?? '', /^withdraw/);
  });
});
