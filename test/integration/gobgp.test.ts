// The gobgp adapter against Debian's real GoBGP 3 (the shipped deploy/gobgp/gobgpd.toml) in a
// network namespace the test makes: announce and withdraw, IPv4 and IPv6, each read back from
// `gobgp global rib`. GoBGP peers with a BIRD 2 router in a second namespace (the shipped config's
// neighbor): deprefer reaches it as a longer AS path and a MED, announce as the plain path again,
// with no withdrawal between.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Action, Deprefer } from '../../src/announce/index.ts';
import { gobgpAdapter } from '../../src/announce/index.ts';
import { delNetns, netnsName, netnsUnavailable, siteAndRouter } from '../helpers/netns.ts';
import { until } from '../helpers/node.ts';
import { ROOT } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';

const NS = netnsName('gobgp');
const NS_RTR = netnsName('gobgpr');
const VETH = `eg${process.pid}`;
const dir = tempDir('edgedns-gobgp-');
const ctl = join(dir, 'router.ctl');
// gobgpd's API, on the loopback of the test's own namespace.
const API = ['-p', '47151'];
let gobgpd: ChildProcess | undefined;
let router: ChildProcess | undefined;
/** How long BGP may take to carry a change to the router: a failure timeout, not a measurement. */
const PATIENT = 30_000;
const gobgp = (...args: string[]): string =>
  spawnSync('ip', ['netns', 'exec', NS, 'gobgp', ...API, ...args], { encoding: 'utf8' }).stdout ?? '';
const birdc = (...args: string[]): string =>
  spawnSync('birdc', ['-s', ctl, ...args], { encoding: 'utf8' }).stdout ?? '';
const DEPREFER: Deprefer = { asn: 65011, prepend: 2, med: 100 };
const req = (action: Action, prefixes = ['192.0.2.53/32', '2001:db8::53/128']) => ({
  action,
  prefixes,
  siteId: 't',
  reason: 'test',
  seq: 1,
  deprefer: action === 'deprefer' ? DEPREFER : null,
});
/** The router's count of withdrawals received from the site (`Import withdraws: received …`). */
const withdrawsAtRouter = (): number => {
  const m = /Import withdraws:\s+(\d+)/.exec(birdc('show', 'protocols', 'all', 'site'));
  assert.ok(m, 'the router shows its import statistics');
  return Number(m[1]);
};

before(async () => {
  const why = netnsUnavailable();
  assert.equal(why, null, `this test ${why}`);
  assert.equal(
    spawnSync('gobgpd', ['--version']).status,
    0,
    'needs gobgpd (Debian: apt-get install gobgpd; scripts/install-deps.sh test)',
  );
  router = siteAndRouter({ site: NS, router: NS_RTR, veth: VETH, dir, ctl });
  const log = openSync(join(dir, 'gobgpd.log'), 'a');
  gobgpd = spawn(
    'ip',
    [
      'netns',
      'exec',
      NS,
      'gobgpd',
      '-f',
      join(ROOT, 'deploy', 'gobgp', 'gobgpd.toml'),
      '--api-hosts',
      '127.0.0.1:47151',
    ],
    { stdio: ['ignore', log, log] },
  );
  let up = false;
  for (let i = 0; i < 50 && !up; i++) {
    await new Promise((r) => setTimeout(r, 100));
    up = /198\.51\.100\.11/.test(gobgp('global'));
  }
  assert.ok(up, 'gobgpd answers');
  await until(
    () => /Established/.test(birdc('show', 'protocols', 'site')),
    PATIENT,
    `the BGP session up: ${birdc('show', 'protocols', 'all', 'site')}`,
  );
});

after(async () => {
  for (const child of [gobgpd, router])
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      await gone;
    }
  delNetns(NS);
  delNetns(NS_RTR);
});

describe('gobgp adapter with GoBGP 3', () => {
  it('announce puts both prefixes in the global RIB; withdraw removes them; both are idempotent', async () => {
    const a = gobgpAdapter({ command: 'ip', args: ['netns', 'exec', NS, 'gobgp', ...API], timeoutMs: 5000 });
    assert.equal(await a.apply(req('announce')), "announce 192.0.2.53/32, 2001:db8::53/128; in GoBGP's global RIB");
    assert.match(gobgp('global', 'rib', '-a', 'ipv4'), /192\.0\.2\.53\/32/);
    assert.match(gobgp('global', 'rib', '-a', 'ipv6'), /2001:db8::53\/128/);
    assert.match(await a.apply(req('announce')), /in GoBGP's global RIB/);
    assert.equal(await a.apply(req('withdraw')), "withdraw 192.0.2.53/32, 2001:db8::53/128; not in GoBGP's global RIB");
    assert.doesNotMatch(
      gobgp('global', 'rib', '-a', 'ipv4') + gobgp('global', 'rib', '-a', 'ipv6'),
      /192\.0\.2\.53|2001:db8::53/,
    );
    assert.match(await a.apply(req('withdraw')), /not in GoBGP's global RIB/);
  });

  it('deprefer reaches the router as a longer AS path and a MED; announce as the plain path; never withdrawn between', async () => {
    const a = gobgpAdapter({ command: 'ip', args: ['netns', 'exec', NS, 'gobgp', ...API], timeoutMs: 5000 });
    const route = () => birdc('show', 'route', '192.0.2.53/32', 'all');
    /** The router holds the route from the site with exactly this AS path and MED. */
    const holds = (path: string, med: string | null) => (): boolean => {
      const r = route();
      return (
        /192\.0\.2\.53\/32\s+unicast \[site /.test(r) &&
        new RegExp(`BGP\\.as_path: ${path}\\s*$`, 'm').test(r) &&
        (med === null ? !/BGP\.med:/.test(r) : new RegExp(`BGP\\.med: ${med}\\s*$`, 'm').test(r))
      );
    };
    assert.equal(await a.apply(req('announce')), "announce 192.0.2.53/32, 2001:db8::53/128; in GoBGP's global RIB");
    await until(holds('65011', null), PATIENT, `the plain path at the router: ${route()}`);
    const withdrawn = withdrawsAtRouter();

    assert.equal(
      await a.apply(req('deprefer')),
      "deprefer 192.0.2.53/32, 2001:db8::53/128; in GoBGP's global RIB with AS path 65011 65011, MED 100",
    );
    assert.match(
      gobgp('global', 'rib', '-a', 'ipv6', '2001:db8::53/128', '-j'),
      /"asns":\[65011,65011\]}\]},\{"type":4,"metric":100\}/,
    );
    // GoBGP puts its own AS in front on eBGP: 65011 three times.
    await until(holds('65011 65011 65011', '100'), PATIENT, `the depreferred path at the router: ${route()}`);
    assert.match(await a.apply(req('deprefer')), /with AS path 65011 65011, MED 100$/, 'idempotent');

    assert.equal(await a.apply(req('announce')), "announce 192.0.2.53/32, 2001:db8::53/128; in GoBGP's global RIB");
    await until(holds('65011', null), PATIENT, `the plain path again at the router: ${route()}`);
    assert.equal(withdrawsAtRouter(), withdrawn, 'the router received no withdrawal between');

    await a.apply(req('withdraw'));
    await until(() => !route().includes('192.0.2.53'), PATIENT, `withdrawn at the router: ${route()}`);
    assert.equal(withdrawsAtRouter(), withdrawn + 1, 'the withdrawal is counted: the count above could fail');
  });
});
