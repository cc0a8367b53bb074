// Outgoing zone transfers from the real server to the clients operators use: dig and kdig with
// `-y` (TSIG) from 127.0.0.1. A zone's AXFR is its file's records; a zone of 5,000 records comes in
// several messages, every one signed and checked by dig and kdig; a wrong key gets NOTAUTH with
// the TSIG error and is logged; no key where one is required, and an address outside transferTo
// (dig -b 127.0.0.2), REFUSED; an IXFR at the served serial the SOA alone. Then a second edgedns
// takes the zone as a secondary (the same key) and serves it, and takes a change through IXFR
// answered in full; and with `workers: 2` the worker processes answer transfers as well.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { dig } from '../helpers/dig.ts';
import { metric } from '../helpers/hostile.ts';
import { PATIENCE_MS, until } from '../helpers/node.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, runCli, startFailure, startServer } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';
import { decode, query } from '../helpers/wire.ts';

const run = promisify(execFile);
const SECRET = Buffer.from('the transfer key of 32 bytes....').toString('base64');
const WRONG = Buffer.from('not the key, though just as long').toString('base64');
const Y = (secret = SECRET, alg = 'hmac-sha256'): string[] => ['-y', `${alg}:xfr-key.:${secret}`];
const SERIAL = 2026112101;
/** big.test: its SOA, NS and glue, and 5,000 TXT records (about 300 KB: several 64 KiB messages). */
const BIG_RECORDS = 5000 + 3;

const dir = tempDir('edgedns-xfr-out-');
const servers: RunningServer[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

/** A folder of zones: the example zone and big.test. */
function zoneFolder(name: string): string {
  const zones = join(dir, name);
  mkdirSync(zones);
  copyFileSync(join(ZONES, 'example.test.zone'), join(zones, 'example.test.zone'));
  const lines = ['$TTL 300', '@ SOA ns1 hostmaster 7 3600 600 86400 300', '@ NS ns1', 'ns1 A 192.0.2.1'];
  for (let i = 0; i < 5000; i++) lines.push(`host-${i} TXT "record ${i} of a zone big enough for several messages"`);
  writeFileSync(join(zones, 'big.test.zone'), `${lines.join('\n')}\n`);
  return zones;
}

/** A node serving `zones`, transfers to 127.0.0.1 with the key (and whatever `extra` adds). */
async function primary(name: string, zones: string, extra: string[] = []): Promise<RunningServer> {
  writeFileSync(join(dir, 'xfr.key'), `${SECRET}\n`);
  const cfg = join(dir, `${name}.yaml`);
  writeFileSync(
    cfg,
    [
      'listen: ["127.0.0.1:0"]',
      'upstreams: []',
      `site: { id: ${name} }`,
      'zones:',
      `  dir: ${JSON.stringify(zones)}`,
      '  transferTo:',
      '    - { address: 127.0.0.1/32, tsig: { name: xfr-key., algorithm: hmac-sha256, secretFile: xfr.key } }',
      ...extra,
    ].join('\n'),
  );
  const s = await startServer({ config: cfg, args: [] });
  servers.push(s);
  return s;
}

/** One datagram from `from` to the node, and its reply. */
async function udpFrom(from: string, port: number, msg: Uint8Array): Promise<Buffer> {
  const sock = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve) => sock.bind(0, from, () => resolve()));
    const reply = new Promise<Buffer>((resolve) => sock.once('message', (m) => resolve(m)));
    sock.send(msg, port, '127.0.0.1');
    return await Promise.race([
      reply,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no UDP reply')), PATIENCE_MS).unref()),
    ]);
  } finally {
    sock.close();
  }
}

/** What dig or kdig printed (stdout and stderr), whatever its exit code. */
async function client(cmd: 'dig' | 'kdig', srv: RunningServer, args: string[]): Promise<string> {
  const timing = cmd === 'dig' ? ['+time=20', '+tries=1'] : ['+timeout=20', '+retry=0'];
  const r = await run(cmd, [`@${srv.host}`, '-p', String(srv.port), ...timing, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  }).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
  return `${r.stdout}${r.stderr}`;
}

/** Asserts that no line of `out` matches `bad`, naming the lines that do (not the whole output). */
function noLine(out: string, bad: RegExp): void {
  const hits = out.split('\n').filter((l) => bad.test(l));
  assert.deepEqual(hits, [], `lines matching ${bad}`);
}

/** The records of dig's AXFR output (TSIG lines left out), whitespace normalized, sorted. */
function digRecords(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l && !l.startsWith(';') && !/\sTSIG\s/.test(l))
    .map((l) => l.split(/\s+/).join(' '))
    .sort();
}

/** dig's summary line: records and messages of the transfer. */
function xfrSize(out: string): { records: number; messages: number } | null {
  const m = /;; XFR size: (\d+) records \(messages (\d+),/.exec(out);
  return m ? { records: Number(m[1]), messages: Number(m[2]) } : null;
}

const transfers = (srv: RunningServer, labels: Record<string, string>): Promise<number> =>
  metric(srv.adminPort as number, 'edgedns_zone_transfers_out_total', labels);

describe('zone transfers out to dig and kdig', () => {
  let srv: RunningServer;
  let zones: string;
  before(async () => {
    zones = zoneFolder('primary');
    srv = await primary('primary', zones);
  });

  it('AXFR with the key: the records of the zone file, the SOA first and last', async () => {
    const out = await client('dig', srv, [...Y(), 'example.test', 'AXFR']);
    noLine(out, /Transfer failed|Couldn't verify/);
    const printed = await runCli(['zone', 'print', join(zones, 'example.test.zone'), 'example.test.']);
    assert.equal(printed.code, 0, printed.stderr);
    const file = printed.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).join(' '));
    const soa = file.find((l) => / SOA /.test(l)) as string;
    // The AXFR's SOA twice (first and last), every other record once.
    assert.deepEqual(digRecords(out), [...file, soa].sort());
    const lines = out.split('\n').filter((l) => l && !l.startsWith(';') && !/\sTSIG\s/.test(l));
    assert.match(lines[0] as string, /^example\.test\.\s.*\sSOA\s/);
    assert.match(lines.at(-1) as string, /^example\.test\.\s.*\sSOA\s/);
  });

  it('5,000 records: several messages, each signed and checked by dig and kdig', async () => {
    const d = await client('dig', srv, [...Y(), 'big.test', 'AXFR']);
    noLine(d, /Transfer failed|Couldn't verify/);
    const size = xfrSize(d);
    assert.ok(size, d.slice(-300));
    assert.equal(size.records, BIG_RECORDS + 1);
    assert.ok(size.messages >= 3, `${size.messages} messages`);
    // dig prints the TSIG of every message it verified.
    assert.equal(d.match(/^xfr-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. .* NOERROR 0\s*$/gm)?.length, size.messages);
    const k = await client('kdig', srv, [...Y(), 'big.test', 'AXFR']);
    noLine(k, /^;; (WARNING|ERROR)/);
    const m = /;; Received \d+ B \((\d+) messages, (\d+) records\)/.exec(k);
    assert.ok(m, k.slice(-300));
    assert.deepEqual([Number(m[1]), Number(m[2])], [size.messages, BIG_RECORDS + 1]);
    assert.ok((await transfers(srv, { zone: 'big.test.', kind: 'axfr', result: 'ok' })) >= 2);
  });

  it('a wrong key: NOTAUTH with BADSIG (unsigned), an unknown algorithm BADKEY; logged', async () => {
    const d = await client('dig', srv, [...Y(WRONG), 'example.test', 'AXFR']);
    assert.match(d, /xfr-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 0 \d+ BADSIG 0/);
    assert.match(d, /; Transfer failed\./);
    const k = await client('kdig', srv, [...Y(WRONG), 'example.test', 'AXFR']);
    assert.match(k, /server replied with error 'BADSIG'/);
    assert.match(await client('dig', srv, [...Y(SECRET, 'hmac-sha512'), 'example.test', 'AXFR']), / BADKEY 0/);
    await until(
      () => /"msg":"zone transfer refused".*"rcode":"NOTAUTH","why":"TSIG BADSIG/.test(srv.logs()),
      PATIENCE_MS,
      'the refusal logged',
    );
    assert.match(srv.logs(), /"msg":"zone transfer refused".*"client":"127\.0\.0\.1".*"why":"TSIG BADKEY/);
    assert.equal(await transfers(srv, { zone: 'example.test.', kind: 'axfr', result: 'badtsig' }), 3);
  });

  it('no key where the entry requires one: REFUSED; logged', async () => {
    const k = await client('kdig', srv, ['example.test', 'AXFR']);
    assert.match(k, /server replied with error 'REFUSED'/);
    assert.match(await client('dig', srv, ['example.test', 'AXFR']), /; Transfer failed\./);
    assert.match(srv.logs(), /"msg":"zone transfer refused".*"rcode":"REFUSED","why":"not signed/);
  });

  it('an address outside transferTo (127.0.0.2), even with the key: REFUSED, as before transfers', async () => {
    const before = await transfers(srv, { zone: 'example.test.', kind: 'axfr', result: 'refused' });
    const k = await client('kdig', srv, ['-b', '127.0.0.2', ...Y(), 'example.test', 'AXFR']);
    assert.match(k, /server replied with error 'REFUSED'/);
    assert.match(await client('dig', srv, ['-b', '127.0.0.2', ...Y(), 'example.test', 'AXFR']), /Transfer failed/);
    assert.equal(await transfers(srv, { zone: 'example.test.', kind: 'axfr', result: 'refused' }), before + 2);
    // Over UDP too (dig and kdig take IXFR to TCP): an IXFR datagram from 127.0.0.2.
    const reply = await udpFrom('127.0.0.2', srv.port, query('example.test', 'IXFR'));
    assert.equal(decode(reply).rcode, 'REFUSED');
  });

  it('IXFR at the served serial: the SOA alone; from an older one: the whole zone', async () => {
    const d = await client('dig', srv, [...Y(), 'example.test', `IXFR=${SERIAL}`]);
    noLine(d, /Transfer failed|Couldn't verify/);
    assert.deepEqual(xfrSize(d), { records: 1, messages: 1 });
    assert.match(
      digRecords(d).join('\n'),
      new RegExp(`^example\\.test\\. 3600 IN SOA .* ${SERIAL} 7200 1800 1209600 300$`),
    );
    const older = await client('kdig', srv, [...Y(), 'big.test', 'IXFR=6']);
    assert.ok(new RegExp(`\\(\\d+ messages, ${BIG_RECORDS + 1} records\\)`).test(older), older.slice(-300));
    noLine(older, /^;; (WARNING|ERROR)/);
    assert.equal(await transfers(srv, { zone: 'example.test.', kind: 'ixfr', result: 'uptodate' }), 1);
    assert.equal(await transfers(srv, { zone: 'big.test.', kind: 'ixfr', result: 'ok' }), 1);
  });

  it('a name that is no zone here: NOTAUTH (RFC 5936 §2.2.1)', async () => {
    const k = await client('kdig', srv, [...Y(), 'www.example.test', 'AXFR']);
    assert.match(k, /server replied with error 'NOTAUTH'/);
    assert.equal(await transfers(srv, { zone: 'other', kind: 'axfr', result: 'notauth' }), 1);
  });

  describe('an edgedns secondary fed by this one', () => {
    let secondary: RunningServer;
    const store = join(dir, 'store');
    before(async () => {
      const cfg = join(dir, 'secondary.yaml');
      writeFileSync(
        cfg,
        [
          'listen: ["127.0.0.1:0"]',
          'upstreams: []',
          'site: { id: secondary }',
          'zones:',
          '  dir: null',
          '  secondary:',
          '    - origin: example.test.',
          `      primaries: ["127.0.0.1:${srv.port}"]`,
          '      tsig: { name: xfr-key., algorithm: hmac-sha256, secretFile: xfr.key }',
          `      storeDir: ${JSON.stringify(store)}`,
        ].join('\n'),
      );
      secondary = await startServer({ config: cfg, args: [] });
      servers.push(secondary);
    });

    it('transfers the zone (signed SOA check, then AXFR) and serves it', async () => {
      await until(
        async () =>
          (await dig(secondary, ['+nocookie', 'www.example.test', 'A'])).answer.some((r) => r.data === '192.0.2.80'),
        PATIENCE_MS,
        'the secondary to serve www.example.test',
      );
      const r = await dig(secondary, ['+nocookie', 'example.test', 'MX']);
      assert.ok(r.flags.includes('aa'));
      assert.deepEqual(r.answer.map((a) => a.data).sort(), ['10 mail.example.test.', '20 mail2.example.org.']);
      assert.equal(
        await metric(secondary.adminPort as number, 'edgedns_zone_transfers_total', {
          zone: 'example.test.',
          kind: 'axfr',
        }),
        1,
      );
      assert.ok((await transfers(srv, { zone: 'example.test.', kind: 'axfr', result: 'ok' })) >= 2);
    });

    it('takes a change: the primary reloaded, the secondary’s IXFR answered with the whole zone', async () => {
      const file = join(zones, 'example.test.zone');
      writeFileSync(
        file,
        `${readFileSync(file, 'utf8').replace(`${SERIAL} ; serial`, `${SERIAL + 1} ; serial`)}new A 192.0.2.99\n`,
      );
      srv.proc.kill('SIGHUP');
      await until(
        async () => (await dig(srv, ['+nocookie', 'new.example.test', 'A'])).answer.length === 1,
        PATIENCE_MS,
        'the primary to serve the change',
      );
      const r = await runCli(['zone', 'refresh', 'example.test.', '--admin-socket', secondary.adminSocket as string]);
      assert.equal(r.code, 0, r.stderr);
      await until(
        async () =>
          (await dig(secondary, ['+nocookie', 'new.example.test', 'A'])).answer.some((a) => a.data === '192.0.2.99'),
        PATIENCE_MS,
        'the secondary to serve the change',
      );
      assert.equal(await transfers(srv, { zone: 'example.test.', kind: 'ixfr', result: 'ok' }), 1);
      assert.match(secondary.logs(), new RegExp(`"msg":"zone transferred".*"serial":${SERIAL + 1}`));
    });
  });
});

describe('zones.transferTo in the config', () => {
  it('a secret that cannot be read, or is too short, stops the start, naming the config file and the key', async () => {
    const cfg = join(dir, 'bad-key.yaml');
    writeFileSync(join(dir, 'short.key'), `${Buffer.from('short').toString('base64')}\n`);
    writeFileSync(
      cfg,
      [
        'listen: ["127.0.0.1:0"]',
        'upstreams: []',
        `zones: { dir: ${JSON.stringify(ZONES)}, transferTo: [`,
        '  { address: 192.0.2.0/24, tsig: { name: xfr-key., algorithm: hmac-sha256, secretFile: missing.key } },',
        '  { address: 198.51.100.0/24, tsig: { name: other-key., algorithm: hmac-sha256, secretFile: short.key } } ] }',
        'admin: { listen: null, socket: null }',
      ].join('\n'),
    );
    const r = await runCli(['serve', '--config', cfg]);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(startFailure(r.stderr).split('\n'), [
      `${cfg}: zones.transferTo[0].tsig.secretFile: ${join(dir, 'missing.key')}: cannot read the TSIG secret of xfr-key.: ENOENT: no such file or directory, open '${join(dir, 'missing.key')}'`,
      `${cfg}: zones.transferTo[1].tsig.secretFile: ${join(dir, 'short.key')}: the TSIG secret of other-key. must be base64 alone, at least 16 bytes (tsig-keygen -a hmac-sha256 prints one)`,
    ]);
    // config check runs away from the target host: a missing file is a warning there.
    const check = await runCli(['config', 'check', cfg]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, /warning: zones\.transferTo\[0\]\.tsig\.secretFile: file .*missing\.key does not exist/);
  });
});

describe('zone transfers out with workers: 2', () => {
  let srv: RunningServer;
  before(async () => {
    srv = await primary('workers', zoneFolder('workers'), ['workers: 2']);
  });

  it('the worker processes answer AXFR and IXFR, signed; the counts of both add up', async () => {
    for (let i = 0; i < 4; i++) {
      const d = await client('dig', srv, [...Y(), 'big.test', 'AXFR']);
      noLine(d, /Transfer failed|Couldn't verify/);
      assert.equal(xfrSize(d)?.records, BIG_RECORDS + 1);
    }
    const k = await client('kdig', srv, [...Y(), 'example.test', `IXFR=${SERIAL}`]);
    assert.match(k, /\(1 messages, 1 records\)/);
    assert.match(await client('kdig', srv, ['example.test', 'AXFR']), /server replied with error 'REFUSED'/);
    assert.equal(await transfers(srv, { zone: 'big.test.', kind: 'axfr', result: 'ok' }), 4);
    assert.equal(await transfers(srv, { zone: 'example.test.', kind: 'ixfr', result: 'uptodate' }), 1);
    assert.equal(await transfers(srv, { zone: 'example.test.', kind: 'axfr', result: 'refused' }), 1);
    // Logged by the workers.
    assert.match(srv.logs(), /"msg":"zone transferred out".*"worker":\d/);
  });
});
