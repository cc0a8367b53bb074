// The bird adapter against a fake birdc that behaves like BIRD 3 (or 2): `configure` answers, then
// applies the include files' routes (and their deprefer attributes) to its table some reads later;
// `show route P all where …` reads that table back. And the parser of `show route` output.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Action, AnnounceRequest, Deprefer } from '../../../src/announce/index.ts';
import { AdapterError, birdAdapter, birdInclude, birdRouteProtocols, birdRoutes } from '../../../src/announce/index.ts';
import { within } from '../../helpers/deadline.ts';
import { tempDir } from '../../helpers/tmp.ts';

const dir = tempDir('edgedns-bird-unit-');
const DEPREFER: Deprefer = { asn: 65011, prepend: 2, med: 100 };
const req = (
  action: Action,
  prefixes = ['192.0.2.53/32', '2001:db8::53/128'],
  deprefer: Deprefer = DEPREFER,
): AnnounceRequest => ({
  action,
  prefixes,
  siteId: 'fra1',
  reason: 'healthy',
  seq: 7,
  deprefer: action === 'deprefer' ? deprefer : null,
});
const rejectsWith = async (p: Promise<unknown>, re: RegExp, retryLater = false) =>
  assert.rejects(p, (e: unknown) => e instanceof AdapterError && re.test(e.message) && e.retryLater === retryLater);

interface FakeBird {
  birdc: string;
  v4: string;
  v6: string;
  calls: () => string[];
}
let n = 0;
/**
 * A birdc for one BIRD: `configure` prints `banner` and `said` and exits `code`; the include files'
 * routes reach its table after `lag` reads (`lag` -1: never). `show route P [all]` prints P in
 * BIRD's format when the table holds it (with `all`, its Type and the BGP.as_path and BGP.med that
 * the route's `bgp_path.prepend(A);` and `bgp_med = M;` set, as BIRD 2.0.12 prints them), else
 * "Network not found" (exit 1), as BIRD 2.0.12 does. `keepPlain`: the attributes never reach the table.
 */
function fakeBird(
  o: { said?: string; code?: number; lag?: number; banner?: string; show?: string; keepPlain?: boolean } = {},
): FakeBird {
  const d = join(dir, `bird${n++}`);
  mkdirSync(d);
  const f = {
    birdc: join(d, 'birdc'),
    v4: join(d, 'routes4.conf'),
    v6: join(d, 'routes6.conf'),
    calls: () => readFileSync(join(d, 'calls'), 'utf8').trim().split('\n'),
  };
  const lag = o.lag ?? 2;
  writeFileSync(
    f.birdc,
    `#!/bin/sh
echo "$*" >> ${d}/calls
shift 2
echo '${o.banner ?? 'BIRD 3.0.1 ready.'}'
case "$1" in
configure)
  ${o.code !== undefined && o.code !== 0 ? `echo '${o.said}'; exit ${o.code}` : ''}
  cat ${f.v4} ${f.v6} 2>/dev/null | sed -n 's/^route \\([^ ]*\\) blackhole\\(.*\\);$/\\1\\2/p' ${o.keepPlain ? "| sed 's/ .*//'" : ''} > ${d}/next
  echo ${lag} > ${d}/lag
  echo '${o.said ?? 'Reconfiguration in progress'}'
  ;;
show)
  ${o.show ?? ''}
  # BIRD 3 applies the new config after answering: the table changes \`lag\` reads later.
  if [ -f ${d}/next ]; then
    l=$(cat ${d}/lag)
    if [ "$l" = 0 ]; then mv ${d}/next ${d}/table; elif [ "$l" -gt 0 ]; then echo $((l - 1)) > ${d}/lag; fi
  fi
  route=$(awk -v p="$3" '$1 == p' ${d}/table 2>/dev/null)
  if [ -n "$route" ]; then
    case "$3" in *:*) echo 'Table master6:'; p=edgedns6 ;; *) echo 'Table master4:'; p=edgedns4 ;; esac
    printf '%-20s blackhole [%s 2025-01-01 12:00:00] * (200)\\n' "$3" "$p"
    if [ "$4" = all ]; then
      printf '\\tType: static univ\\n'
      path=$(echo "$route" | grep -o 'prepend([0-9]*)' | tr -dc '0-9\\n' | paste -sd' ' -)
      med=$(echo "$route" | sed -n 's/.*bgp_med = \\([0-9]*\\);.*/\\1/p')
      if [ -n "$path" ]; then printf '\\tBGP.as_path: %s\\n' "$path"; fi
      if [ -n "$med" ]; then printf '\\tBGP.med: %s\\n' "$med"; fi
    fi
  else
    echo 'Network not found'; exit 1
  fi
  ;;
esac
`,
  );
  chmodSync(f.birdc, 0o755);
  return f;
}
// Long enough for a busy machine to run the fake birdc a few times; the tests of the deadline pass their own.
const adapter = (f: FakeBird, timeoutMs = 30_000) =>
  birdAdapter({ includeFile: f.v4, includeFile6: f.v6, socket: '/run/test.ctl', birdc: f.birdc, timeoutMs });

describe('bird adapter, BIRD 3 (fake birdc)', () => {
  it('"Reconfiguration in progress" and the routes read back a little later: announced, then withdrawn', async () => {
    const f = fakeBird({ lag: 2 });
    const a = adapter(f);
    assert.equal(
      await a.apply(req('announce')),
      "Reconfiguration in progress; in BIRD's table: 192.0.2.53/32 (edgedns4), 2001:db8::53/128 (edgedns6)",
    );
    assert.match(readFileSync(f.v4, 'utf8'), /^route 192\.0\.2\.53\/32 blackhole;$/m);
    assert.doesNotMatch(readFileSync(f.v4, 'utf8'), /2001/);
    assert.match(readFileSync(f.v6, 'utf8'), /^route 2001:db8::53\/128 blackhole;$/m);
    const calls = f.calls();
    assert.equal(calls[0], '-s /run/test.ctl configure');
    assert.equal(
      calls[1],
      '-s /run/test.ctl show route 192.0.2.53/32 all where source = RTS_STATIC && dest = RTD_BLACKHOLE',
    );
    assert.ok(calls.length >= 4, 'read again until the routes were there');
    assert.equal(
      await a.apply(req('withdraw')),
      "Reconfiguration in progress; not in BIRD's table: 192.0.2.53/32, 2001:db8::53/128",
    );
    assert.doesNotMatch(readFileSync(f.v4, 'utf8'), /^route/m);
    // Already withdrawn: still a success (idempotent).
    assert.match(await a.apply(req('withdraw')), /not in BIRD's table/);
  });

  it('a route that never reaches the table fails the announce, with what is missing', async () => {
    const f = fakeBird({ lag: -1 });
    // It gives up (3 s: a busy machine's fake birdc gets a few reads in), and does not hang.
    await within(
      rejectsWith(
        adapter(f, 3000).apply(req('announce')),
        /^birdc configure said "Reconfiguration in progress", but after 3000 ms 192\.0\.2\.53\/32 is not in BIRD's table; 2001:db8::53\/128 is not in BIRD's table: does a static protocol on the master table include .*routes4\.conf\?$/,
      ),
      30_000,
      'the announce that never reaches the table',
    );
  });

  it('a route that stays in the table fails the withdraw', async () => {
    // A BIRD whose table holds the route and whose configure changes nothing.
    const stuck = fakeBird({ lag: -1 });
    writeFileSync(join(stuck.birdc, '..', 'table'), '192.0.2.53/32\n');
    await rejectsWith(
      adapter(stuck, 3000).apply(req('withdraw', ['192.0.2.53/32'])),
      /after 3000 ms 192\.0\.2\.53\/32 is still in BIRD's table \(static blackhole route from edgedns4\)$/,
    );
  });
});

describe('bird adapter, deprefer (fake birdc)', () => {
  it('birdInclude: the attributes on each static route, in BIRD 2 filter syntax', () => {
    const p = ['192.0.2.53/32'];
    assert.equal(
      birdInclude(p, 'deprefer', 3, { asn: 65001, prepend: 2, med: 100 }),
      '# Written by edgedns (seq 3): depreferred. Do not edit.\n' +
        'route 192.0.2.53/32 blackhole { bgp_path.prepend(65001); bgp_path.prepend(65001); bgp_med = 100; };\n',
    );
    assert.match(
      birdInclude(p, 'deprefer', 3, { asn: 65001, prepend: 1, med: null }),
      /^route 192\.0\.2\.53\/32 blackhole \{ bgp_path\.prepend\(65001\); \};$/m,
    );
    assert.match(
      birdInclude(p, 'deprefer', 3, { asn: 65001, prepend: 0, med: 0 }),
      /^route 192\.0\.2\.53\/32 blackhole \{ bgp_med = 0; \};$/m,
    );
    assert.match(birdInclude(p, 'announce', 3), /^route 192\.0\.2\.53\/32 blackhole;$/m);
    assert.doesNotMatch(birdInclude(p, 'withdraw', 3), /^route/m);
  });

  it('announce → deprefer → announce: the route stays in the file, and each read-back waits for its attributes', async () => {
    // lag 2: the table keeps the previous attributes for two reads after each configure (BIRD 3).
    const f = fakeBird({ lag: 2 });
    const a = adapter(f);
    const routes = () => readFileSync(f.v4, 'utf8') + readFileSync(f.v6, 'utf8');
    assert.match(await a.apply(req('announce')), /^Reconfiguration in progress; in BIRD's table: 192\.0\.2\.53\/32/);
    assert.equal(
      await a.apply(req('deprefer')),
      "Reconfiguration in progress; in BIRD's table with AS path 65011 65011, MED 100: 192.0.2.53/32 (edgedns4), 2001:db8::53/128 (edgedns6)",
    );
    assert.match(
      routes(),
      /^route 192\.0\.2\.53\/32 blackhole \{ bgp_path\.prepend\(65011\); bgp_path\.prepend\(65011\); bgp_med = 100; \};$/m,
    );
    assert.match(
      routes(),
      /^route 2001:db8::53\/128 blackhole \{ bgp_path\.prepend\(65011\); bgp_path\.prepend\(65011\); bgp_med = 100; \};$/m,
    );
    // Idempotent.
    assert.match(await a.apply(req('deprefer')), /with AS path 65011 65011, MED 100/);
    // Another deprefer replaces the attributes.
    assert.match(
      await a.apply(req('deprefer', undefined, { asn: 65011, prepend: 0, med: 50 })),
      /with no AS path, MED 50:/,
    );
    assert.equal(
      await a.apply(req('announce')),
      "Reconfiguration in progress; in BIRD's table: 192.0.2.53/32 (edgedns4), 2001:db8::53/128 (edgedns6)",
    );
    assert.match(routes(), /^route 192\.0\.2\.53\/32 blackhole;$/m);
    assert.match(routes(), /^route 2001:db8::53\/128 blackhole;$/m);
    // No withdraw in between: every configure found the routes in the files (the fake's table was
    // only ever replaced by a table holding both prefixes).
    assert.ok(
      f.calls().filter((c) => c.endsWith(' configure')).length === 5,
      `five configures: ${f.calls().join(' | ')}`,
    );
  });

  it('a deprefer whose attributes never reach the table fails, saying what BIRD holds', async () => {
    const f = fakeBird({ lag: 0, keepPlain: true });
    await rejectsWith(
      adapter(f, 3000).apply(req('deprefer', ['192.0.2.53/32'])),
      /after 3000 ms 192\.0\.2\.53\/32 is in BIRD's table with no AS path, no MED \(edgedns4\), not AS path 65011 65011, MED 100$/,
    );
  });

  it('an inconsistent request fails before anything is written', async () => {
    const f = fakeBird();
    await rejectsWith(adapter(f).apply({ ...req('deprefer'), deprefer: null }), /^deprefer: expected deprefer values/);
    await rejectsWith(
      adapter(f).apply(req('deprefer', undefined, { asn: 65011, prepend: 1, med: 1.5 })),
      /^deprefer: deprefer\.med: expected null or an integer 0\.\.4294967295, got 1\.5$/,
    );
    await rejectsWith(
      adapter(f).apply({ ...req('announce'), deprefer: DEPREFER }),
      /^announce: expected no deprefer values/,
    );
    assert.throws(() => readFileSync(f.v4), /ENOENT/);
  });
});

describe('bird adapter, BIRD 2 and failures (fake birdc)', () => {
  it('BIRD 2 answers: "Reconfigured" and "… queueing new config" are read back too', async () => {
    assert.match(
      await adapter(fakeBird({ said: 'Reconfigured', banner: 'BIRD 2.0.12 ready.', lag: 0 })).apply(req('announce')),
      /^Reconfigured; in BIRD's table: 192\.0\.2\.53\/32 \(edgedns4\)/,
    );
    assert.match(
      await adapter(fakeBird({ said: 'Reconfiguration already in progress, queueing new config', lag: 3 })).apply(
        req('announce'),
      ),
      /^Reconfiguration already in progress, queueing new config; in BIRD's table/,
    );
  });
  it('requests at once each write their include file whole: all succeed, the file holds one of them', async () => {
    const f = fakeBird({ said: 'Reconfigured', lag: 0 });
    const a = adapter(f);
    const out = await Promise.all([1, 2, 3, 4].map(() => a.apply(req('withdraw'))));
    for (const o of out) assert.match(o, /^Reconfigured; not in BIRD's table/);
    assert.match(readFileSync(f.v4, 'utf8'), /^# Written by edgedns \(seq 7\): .*\n$/);
  });
  it('fails when configure fails or says something else, and when the read-back fails', async () => {
    await rejectsWith(
      adapter(fakeBird({ said: 'bird.conf:3:1 syntax error', code: 1 })).apply(req('announce')),
      /^birdc configure failed \(exit 1\): .*syntax error/s,
    );
    await rejectsWith(
      adapter(fakeBird({ said: 'Unable to connect to server control socket' })).apply(req('announce')),
      /^birdc configure failed \(exit 0\): .*Unable to connect/s,
    );
    await rejectsWith(
      adapter(fakeBird({ said: 'Shutdown in progress' })).apply(req('announce')),
      /^birdc configure failed .*Shutdown in progress/s,
    );
    await rejectsWith(
      adapter(fakeBird({ show: "echo 'Unable to connect to server control socket'; exit 1" })).apply(req('announce')),
      /^birdc show route 192\.0\.2\.53\/32 all where source = RTS_STATIC && dest = RTD_BLACKHOLE failed \(exit 1\): .*Unable to connect/s,
    );
  });
});

describe('birdRouteProtocols', () => {
  const bird2 = `BIRD 2.0.12 ready.
Table master4:
192.0.2.53/32        blackhole [edgedns4 23:21:04.403] * (200)
                     blackhole [other4b 23:21:04.403] (200)
192.0.2.54/32        blackhole [pinned 23:21:04.403] * (200)

Table master6:
2001:db8::53/128     blackhole [edgedns6 23:21:04.403] * (200)
`;
  const bird3 = `Table master4:
192.0.2.53/32        blackhole [edgedns4 2025-01-01 12:00:00] * (200)
`;
  const cases: [string, string, string, string[]][] = [
    ['BIRD 2, two routes for one network', bird2, '192.0.2.53/32', ['edgedns4', 'other4b']],
    ['BIRD 2, the next network', bird2, '192.0.2.54/32', ['pinned']],
    ['IPv6, written another way', bird2, '2001:DB8:0::53/128', ['edgedns6']],
    ['a network that is not there', bird2, '192.0.2.55/32', []],
    ['another length', bird2, '192.0.2.53/31', []],
    ['BIRD 3', bird3, '192.0.2.53/32', ['edgedns4']],
    ['"Network not found"', 'BIRD 2.0.12 ready.\nNetwork not found\n', '192.0.2.53/32', []],
  ];
  for (const [name, out, prefix, want] of cases)
    it(name, () => assert.deepEqual(birdRouteProtocols(out, prefix), want));
});

describe('birdRoutes', () => {
  // Printed by BIRD 2.0.12 (`show route all`, a second static protocol added by hand for the second route).
  const all = `BIRD 2.0.12 ready.
Table master4:
192.0.2.53/32        blackhole [edgedns4 04:02:25.865] * (200)
\tType: static univ
\tBGP.as_path: 65011 65011
\tBGP.med: 100
                     blackhole [other4 04:02:25.865] (200)
\tType: static univ
192.0.2.54/32        blackhole [pinned 04:02:25.865] * (200)
\tType: static univ
\tBGP.med: 0
`;
  it('reads each route with its AS path and MED', () => {
    assert.deepEqual(birdRoutes(all, '192.0.2.53/32'), [
      { protocol: 'edgedns4', asPath: '65011 65011', med: 100 },
      { protocol: 'other4', asPath: '', med: null },
    ]);
    assert.deepEqual(birdRoutes(all, '192.0.2.54/32'), [{ protocol: 'pinned', asPath: '', med: 0 }]);
    assert.deepEqual(birdRoutes(all, '192.0.2.55/32'), []);
  });
});
