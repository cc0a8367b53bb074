// Secondary zones with BIND's named as the primary, TSIG on every exchange: the first AXFR; an
// update on the primary reaching the node through its NOTIFY (the refresh timer is an hour) and
// taken by IXFR; a wrong key refused and logged; the zone served from its kept file by a node
// restarted while the primary is gone; and a zone past its expire time answered SERVFAIL while
// the site withdraws.
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../bench/procs.ts';
import dnsPacket from 'dns-packet';
import type { TsigKey } from '../../src/wire/index.ts';
import { tsigSign } from '../../src/wire/index.ts';
import { dig } from '../helpers/dig.ts';
import { metric, nodeHealth } from '../helpers/hostile.ts';
import type { RunningNamed } from '../helpers/named.ts';
import { NAMED_ZONE, startNamed } from '../helpers/named.ts';
import { PATIENCE_MS, until } from '../helpers/node.ts';
import type { RunningServer } from '../helpers/server.ts';
import { runCli, startServer } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';

const KEY: TsigKey = {
  name: 'xfr-key.',
  algorithm: 'hmac-sha256',
  secret: Buffer.from('a transfer key of 32 bytes......'),
};
const ZONE = `${NAMED_ZONE}.`;
const dir = tempDir('edgedns-secondary-');
const servers: RunningServer[] = [];
const nameds: RunningNamed[] = [];

after(async () => {
  for (const s of servers) await s.stop();
  for (const n of nameds) await n.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A node secondary for the zone of `primaryPort`, keeping it in `store`, with `secret` as the key. */
async function secondaryNode(o: {
  primaryPort: number;
  store: string;
  port?: number;
  secret?: Buffer;
  name: string;
}): Promise<RunningServer> {
  const keyFile = join(dir, `${o.name}.key`);
  writeFileSync(keyFile, `${(o.secret ?? KEY.secret).toString('base64')}\n`);
  const cfg = join(dir, `${o.name}.yaml`);
  writeFileSync(
    cfg,
    [
      `listen: ["127.0.0.1:${o.port ?? 0}"]`,
      'upstreams: []',
      'site: { id: secondary-site }',
      'zones:',
      '  dir: null',
      '  secondary:',
      `    - origin: ${ZONE}`,
      `      primaries: ["127.0.0.1:${o.primaryPort}"]`,
      `      tsig: { name: ${KEY.name}, algorithm: ${KEY.algorithm}, secretFile: ${JSON.stringify(keyFile)} }`,
      `      storeDir: ${JSON.stringify(o.store)}`,
    ].join('\n'),
  );
  const s = await startServer({ config: cfg, args: [] });
  servers.push(s);
  return s;
}

/** Wait until `name` A answers `want` (NOERROR with it in the answer). */
async function answers(srv: RunningServer, name: string, want: string): Promise<void> {
  await until(
    async () => (await dig(srv, ['+nocookie', name, 'A'])).answer.some((r) => r.data === want),
    PATIENCE_MS,
    `${name} A ${want}`,
  );
}

describe('a secondary zone, named as the primary', () => {
  let named: RunningNamed;
  let srv: RunningServer;
  const store = join(dir, 'store');

  before(async () => {
    const edgePort = await freePort();
    named = await startNamed({ transferKey: KEY, updates: true, notifyPort: edgePort });
    nameds.push(named);
    srv = await secondaryNode({ primaryPort: named.port, store, port: edgePort, name: 'main' });
  });

  it('the first transfer (AXFR, TSIG): the zone served, kept on disk, shown by zone status', async () => {
    await answers(srv, `www.${ZONE}`, '192.0.2.80');
    const r = await dig(srv, ['+nocookie', '+nsid', ZONE, 'SOA']);
    assert.equal(r.status, 'NOERROR');
    assert.ok(r.flags.includes('aa'), 'authoritative');
    assert.equal(r.nsid, 'secondary-site');
    assert.match(r.answer[0]?.data ?? '', / 1 3600 600 86400 300$/);
    assert.equal(
      await metric(srv.adminPort as number, 'edgedns_zone_transfers_total', { zone: ZONE, kind: 'axfr' }),
      1,
    );
    const kept = join(store, `${NAMED_ZONE}.zone`);
    assert.ok(existsSync(kept), 'the zone is kept on disk');
    assert.match(readFileSync(kept, 'utf8').split('\n')[0] as string, /\tSOA\t/);
    const status = await runCli(['zone', 'status', '--admin', `127.0.0.1:${srv.adminPort}`]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(
      status.stdout,
      new RegExp(`${ZONE.replace(/\./g, '\\.')}\\s+serial 1\\s.*from 127\\.0\\.0\\.1:${named.port}`),
    );
    assert.match(status.stdout, /transfers 1 axfr, 0 ixfr/);
  });

  it('an update on the primary reaches the node through NOTIFY and is taken by IXFR', async (t) => {
    const t0 = performance.now();
    await named.update([`update add new.${ZONE} 300 IN A 192.0.2.99`]);
    await answers(srv, `new.${ZONE}`, '192.0.2.99');
    t.diagnostic(`served ${Math.round(performance.now() - t0)} ms after nsupdate returned`);
    const at = (msg: string): number =>
      Date.parse(
        /"time":"([^"]+)"/.exec(
          srv
            .logs()
            .split('\n')
            .findLast((l) => l.includes(`"msg":"${msg}"`)) ?? '',
        )?.[1] ?? '',
      );
    t.diagnostic(`NOTIFY received → zone served (reload ok): ${at('reload ok') - at('NOTIFY received')} ms`);
    // The refresh timer is an hour: only the NOTIFY (signed, from the primary) can have brought it.
    assert.match(srv.logs(), /"msg":"NOTIFY received".*"from":"127\.0\.0\.1"/);
    assert.equal(
      await metric(srv.adminPort as number, 'edgedns_zone_transfers_total', { zone: ZONE, kind: 'ixfr' }),
      1,
    );
    await until(() => /IXFR ended/.test(named.log()), PATIENCE_MS, 'named to log the IXFR');
    assert.match(named.log(), /transfer of 'cookie\.example\.test\/IN': IXFR started/);
    assert.equal((await dig(srv, ['+nocookie', `www.${ZONE}`, 'A'])).answer[0]?.data, '192.0.2.80', 'the rest kept');
    const soa = await dig(srv, ['+nocookie', ZONE, 'SOA']);
    assert.match(soa.answer[0]?.data ?? '', / 2 3600 600 86400 300$/);
  });

  it('zone refresh: the primary asked at once, the serial confirmed', async () => {
    const r = await runCli(['zone', 'refresh', ZONE, '--admin-socket', srv.adminSocket as string]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${ZONE.replace(/\./g, '\\.')}: serial 2, current as of `));
    const other = await runCli(['zone', 'refresh', 'not-mine.example.', '--admin-socket', srv.adminSocket as string]);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /not-mine\.example\. is not a secondary zone here/);
  });

  it('a node with the wrong key: refused by the primary, logged, the zone answered SERVFAIL (EDE 14)', async () => {
    const wrong = await secondaryNode({
      primaryPort: named.port,
      store: join(dir, 'wrong-store'),
      secret: Buffer.from('another key of 32 bytes.........'),
      name: 'wrong',
    });
    await until(() => /no primary answered/.test(wrong.logs()), PATIENCE_MS, 'the failure to be logged');
    assert.match(wrong.logs(), /the primary answered TSIG BADSIG|refused: rcode NOTAUTH/);
    const r = await dig(wrong, ['+nocookie', `www.${ZONE}`, 'A']);
    assert.equal(r.status, 'SERVFAIL');
    assert.match(r.ede ?? '', /14 \(Not Ready\).*not transferred yet/);
    assert.match(named.log(), /tsig verify failure \(BADSIG\)|request has invalid signature/);
    const h = await nodeHealth(wrong.adminPort as number);
    assert.equal(h.ready, false, 'a node without its zone does not announce');
    assert.equal(await wrong.stop(), 0);
  });

  it('hostile: NOTIFY floods from a stranger or with a wrong key are refused, start nothing, and answers go on', async () => {
    const received = (): number => srv.logs().split('"msg":"NOTIFY received"').length - 1;
    const before = received();
    const notify = (id: number, key: TsigKey | null): Buffer => {
      const m = dnsPacket.encode({ id, type: 'query', questions: [{ name: NAMED_ZONE, type: 'SOA' }] });
      m.writeUInt16BE((4 << 11) | 0x0400, 2);
      return key ? tsigSign(m, key, { now: Math.floor(Date.now() / 1000) }).message : m;
    };
    const wrongKey = { ...KEY, secret: Buffer.from('another key of 32 bytes.........') };
    const rcodes = new Map<string, number>();
    for (const [from, key] of [
      ['127.0.0.2', KEY],
      ['127.0.0.1', wrongKey],
      ['127.0.0.1', null],
    ] as const) {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, from, () => r()));
      let got = 0;
      sock.on('message', (m) => {
        got++;
        const rc = ['NOERROR', '', '', '', '', 'REFUSED', '', '', '', 'NOTAUTH'][m.readUInt16BE(2) & 0xf] ?? '?';
        rcodes.set(`${from} ${key ? 'signed' : 'unsigned'} ${key === KEY ? 'right' : 'wrong'}: ${rc}`, got);
      });
      for (let i = 0; i < 200; i++) sock.send(notify(i, key), srv.port, '127.0.0.1');
      await until(() => got >= 190, PATIENCE_MS, `answers to the NOTIFYs from ${from}`).catch(() => undefined);
      sock.close();
      assert.ok(got >= 190, `${got} of 200 NOTIFYs from ${from} answered`);
    }
    assert.deepEqual([...rcodes.keys()].sort(), [
      '127.0.0.1 signed wrong: NOTAUTH',
      '127.0.0.1 unsigned wrong: REFUSED',
      '127.0.0.2 signed right: REFUSED',
    ]);
    assert.equal(received(), before, 'no refresh started');
    assert.equal((await dig(srv, ['+nocookie', `www.${ZONE}`, 'A'])).answer[0]?.data, '192.0.2.80');
    assert.equal((await nodeHealth(srv.adminPort as number)).ready, true, 'still in service');
  });

  it('primary gone, node restarted: the zone served from disk at once', async () => {
    assert.equal(await srv.stop(), 0);
    await named.stop();
    const again = await secondaryNode({ primaryPort: named.port, store, name: 'again' });
    // Asked right after the start, with no primary to answer.
    const r = await dig(again, ['+nocookie', `new.${ZONE}`, 'A']);
    assert.equal(r.status, 'NOERROR');
    assert.equal(r.answer[0]?.data, '192.0.2.99');
    assert.equal(await again.stop(), 0);
  });
});

describe('a secondary zone past its expire time', () => {
  it('answered SERVFAIL (EDE 14) and the site withdraws; served again when the primary is back', async () => {
    const named = await startNamed({ transferKey: KEY, soa: '1 1 1 4 300' });
    nameds.push(named);
    const port = named.port;
    const srv = await secondaryNode({ primaryPort: port, store: join(dir, 'expiring'), name: 'expiring' });
    await answers(srv, `www.${ZONE}`, '192.0.2.80');
    await until(async () => (await nodeHealth(srv.adminPort as number)).ready, PATIENCE_MS, 'the node to announce');
    await named.stop();
    await until(
      async () => (await dig(srv, ['+nocookie', `www.${ZONE}`, 'A'])).status === 'SERVFAIL',
      PATIENCE_MS,
      'SERVFAIL once expired',
    );
    const r = await dig(srv, ['+nocookie', `www.${ZONE}`, 'A']);
    assert.match(r.ede ?? '', /14 \(Not Ready\).*expired/);
    assert.match(srv.logs(), /"msg":"secondary zone expired: no longer served"/);
    await until(async () => !(await nodeHealth(srv.adminPort as number)).ready, PATIENCE_MS, 'the site to withdraw');
    const status = (await (await fetch(`http://127.0.0.1:${srv.adminPort}/status`)).json()) as { health: unknown };
    assert.match(JSON.stringify(status.health), /secondary zones: not served \(expired or not transferred\)/);
    // The primary back on the same port: the next retry finds it, the zone is served again.
    const back = await startNamed({ transferKey: KEY, soa: '1 1 1 4 300', port });
    nameds.push(back);
    await answers(srv, `www.${ZONE}`, '192.0.2.80');
    await until(
      async () => (await nodeHealth(srv.adminPort as number)).ready,
      PATIENCE_MS,
      'the node to announce again',
    );
    assert.equal(await srv.stop(), 0);
  });
});
