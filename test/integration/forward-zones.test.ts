// Forward zones as users see them: the real server with three fake upstreams — the default one and
// one for each of two nested forward zones — queried with dig. Names are routed by suffix (checked
// by which upstream saw them), the longest suffix wins, local zones under and over a forward zone
// answer first, a zone's recursionAllow refuses a client outside it for names under the zone while
// its other names resolve, /status lists the zones with their upstreams' health, and a reload
// leaves a changed `forward` for a restart, as it does `upstreams`. With `workers: 2` every worker
// routes alike and /status merges each zone's upstreams.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dig } from '../helpers/dig.ts';
import { PATIENCE_MS, until } from '../helpers/node.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, runCli, startServer } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeUpstream } from '../helpers/upstream.ts';

let dflt: FakeUpstream;
let corp: FakeUpstream;
let deep: FakeUpstream;
let srv: RunningServer;
let cfg: string;
const dir = tempDir('edgedns-forward-zones-');

/** The config: `corp.example.` only for 127.0.0.1, `a.corp.example.` under it, `fwd.example.test.` under a local zone. */
const config = (corpPort: number): string =>
  [
    'listen: ["127.0.0.1:0"]',
    `zones: { dir: ${JSON.stringify(join(dir, 'zones'))} }`,
    `upstreams: ["127.0.0.1:${dflt.port}"]`,
    'recursion: { allow: [127.0.0.0/8] }',
    'forward:',
    `  - { zone: corp.example., upstreams: ["127.0.0.1:${corpPort}"], recursionAllow: [127.0.0.1/32] }`,
    `  - { zone: a.corp.example., upstreams: ["127.0.0.1:${deep.port}"] }`,
    `  - { zone: fwd.example.test., upstreams: ["127.0.0.1:${deep.port}"] }`,
    'resolver: { timeout: 2s, deadline: 4s }',
    'site: { id: fwd-zones }',
  ].join('\n');

before(async () => {
  [dflt, corp, deep] = await Promise.all([FakeUpstream.start(), FakeUpstream.start(), FakeUpstream.start()]);
  for (const [up, data] of [
    [dflt, '192.0.2.1'],
    [corp, '192.0.2.2'],
    [deep, '192.0.2.3'],
  ] as const)
    for (const n of ['www.example.org', 'www.corp.example', 'www2.corp.example', 'x.a.corp.example', 'a.corp.example'])
      up.set(n, 'A', 300, data);
  mkdirSync(join(dir, 'zones'));
  copyFileSync(join(ZONES, 'example.test.zone'), join(dir, 'zones', 'example.test.zone'));
  // A local zone under the forward zone corp.example.
  writeFileSync(
    join(dir, 'zones', 'local.corp.example.zone'),
    '$TTL 60\n@ SOA ns h 1 2 3 4 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.99\n',
  );
  cfg = join(dir, 'edgedns.yaml');
  writeFileSync(cfg, config(corp.port));
  srv = await startServer({ config: cfg, args: [] });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
  await Promise.all([dflt.close(), corp.close(), deep.close()]);
});

/** Which fake upstreams saw `name` (by their names). */
const sawIt = (name: string): string[] =>
  (
    [
      ['default', dflt],
      ['corp', corp],
      ['deep', deep],
    ] as const
  )
    .filter(([, u]) => u.names.includes(name))
    .map(([n]) => n);

describe('forward zones', () => {
  it('routes each name by its longest suffix: checked by which upstream saw it', async () => {
    for (const [name, who, data] of [
      ['www.corp.example', 'corp', '192.0.2.2'],
      ['x.a.corp.example', 'deep', '192.0.2.3'],
      ['a.corp.example', 'deep', '192.0.2.3'],
      ['www.example.org', 'default', '192.0.2.1'],
    ] as const) {
      const r = await dig(srv, ['-b', '127.0.0.1', name]);
      assert.equal(r.status, 'NOERROR', `${name}\n${r.raw}`);
      assert.equal(r.answer[0]?.data, data, name);
      assert.deepEqual(sawIt(name), [who], name);
    }
  });

  it('local zones win: one under a forward zone, and one a forward zone is under', async () => {
    const under = await dig(srv, ['-b', '127.0.0.2', 'www.local.corp.example']);
    assert.equal(under.status, 'NOERROR');
    assert.ok(under.flags.includes('aa'), 'authoritative: the local zone answered');
    assert.equal(under.answer[0]?.data, '192.0.2.99');
    const over = await dig(srv, ['-b', '127.0.0.2', 'host.fwd.example.test']);
    assert.equal(over.status, 'NXDOMAIN');
    assert.ok(over.flags.includes('aa'));
    assert.equal(over.authority[0]?.name, 'example.test.');
    assert.deepEqual([...sawIt('www.local.corp.example'), ...sawIt('host.fwd.example.test')], []);
  });

  it('recursionAllow: a client outside it is REFUSED for names under the zone; other names resolve', async () => {
    const out = await dig(srv, ['-b', '127.0.0.2', 'www2.corp.example']);
    assert.equal(out.status, 'REFUSED');
    assert.match(out.ede ?? '', /^18 \(Prohibited\)/);
    // A zone under it without an ACL of its own takes the enclosing zone's.
    const deeper = await dig(srv, ['-b', '127.0.0.2', 'x.a.corp.example']);
    assert.equal(deeper.status, 'REFUSED');
    assert.deepEqual(sawIt('www2.corp.example'), [], 'not asked');
    // Not even from the cache: www.corp.example was answered to 127.0.0.1 above.
    assert.equal((await dig(srv, ['-b', '127.0.0.2', 'www.corp.example'])).status, 'REFUSED');
    const other = await dig(srv, ['-b', '127.0.0.2', 'www.example.org']);
    assert.equal(other.status, 'NOERROR');
    const inside = await dig(srv, ['-b', '127.0.0.1', 'www2.corp.example']);
    assert.equal(inside.status, 'NOERROR');
    assert.deepEqual(sawIt('www2.corp.example'), ['corp']);
  });

  it('/status lists the forward zones with their ACL and their upstreams health', async () => {
    const s = (await (await fetch(`http://127.0.0.1:${srv.adminPort}/status`)).json()) as {
      upstreams: { address: string; transport: string; healthy: boolean }[];
      forward: { zone: string; recursionAllow: string[]; upstreams: { address: string; healthy: boolean }[] }[];
    };
    assert.deepEqual(
      s.upstreams.map((u) => [u.address, u.transport, u.healthy]),
      [[`127.0.0.1:${dflt.port}`, 'udp', true]],
    );
    assert.deepEqual(
      s.forward.map((f) => [f.zone, f.recursionAllow, f.upstreams.map((u) => [u.address, u.healthy])]),
      [
        ['corp.example.', ['127.0.0.1/32'], [[`127.0.0.1:${corp.port}`, true]]],
        ['a.corp.example.', ['127.0.0.1/32'], [[`127.0.0.1:${deep.port}`, true]]],
        ['fwd.example.test.', ['127.0.0.0/8'], [[`127.0.0.1:${deep.port}`, true]]],
      ],
    );
    const text = await runCli(['status', '--admin', `http://127.0.0.1:${srv.adminPort}`]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      /^forward corp\.example\. \(recursion: 127\.0\.0\.1\/32\):\n {4}127\.0\.0\.1:\d+ +healthy/m,
    );
  });

  it('a reload keeps the running forward zones and says a changed `forward` needs a restart', async () => {
    writeFileSync(cfg, config(dflt.port));
    const r = await runCli(['reload', '--admin-socket', String(srv.adminSocket)]);
    assert.equal(r.code, 0, r.stderr);
    await until(
      async () => /config changes that need a restart were not applied.*"forward"/.test(srv.logs()),
      PATIENCE_MS,
      'the reload to name forward',
    );
    const again = await dig(srv, ['-b', '127.0.0.1', 'new.corp.example']);
    assert.equal(again.status, 'NXDOMAIN');
    assert.deepEqual(sawIt('new.corp.example'), ['corp'], 'still the running zone');
    writeFileSync(cfg, config(corp.port));
  });
});

describe('forward zones with workers: 2', () => {
  it("every worker routes by suffix; /status merges each zone's upstreams across the workers", async () => {
    const cfg2 = join(dir, 'edgedns-workers.yaml');
    writeFileSync(cfg2, `${config(corp.port)}\nworkers: 2\n`);
    const w = await startServer({ config: cfg2, args: [] });
    try {
      for (let i = 0; i < 4; i++) {
        const name = `w${i}.corp.example`;
        assert.equal((await dig(w, ['-b', '127.0.0.1', name])).status, 'NXDOMAIN');
        assert.deepEqual(sawIt(name), ['corp'], name);
      }
      const s = (await (await fetch(`http://127.0.0.1:${w.adminPort}/status`)).json()) as {
        forward: { zone: string; upstreams: { address: string; healthy: boolean; queries: number }[] }[];
      };
      const corpZone = s.forward.find((f) => f.zone === 'corp.example.');
      assert.equal(corpZone?.upstreams.length, 1, 'one row for the upstream, not one per worker');
      assert.equal(corpZone?.upstreams[0]?.address, `127.0.0.1:${corp.port}`);
      assert.equal(corpZone?.upstreams[0]?.healthy, true);
      assert.ok((corpZone?.upstreams[0]?.queries ?? 0) >= 4, "the workers' queries added up");
    } finally {
      assert.equal(await w.stop(), 0);
    }
  });
});
