// The bird adapter against a real BIRD 2 that the test starts in its own network namespace:
// `birdc show route` before and after announce and withdraw, IPv4 and IPv6; and the adapter's own
// read-back, which fails when BIRD says "Reconfigured" but the route is not (or still) there. The
// site's BIRD peers over eBGP with a router (BIRD 2 in a second namespace): deprefer reaches it as
// a longer AS path and a MED, and announce again as the plain path, with no withdrawal between.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Action, Deprefer } from '../../src/announce/index.ts';
import { AdapterError, birdAdapter } from '../../src/announce/index.ts';
import { delNetns, netnsName, netnsUnavailable, siteAndRouter } from '../helpers/netns.ts';
import { until } from '../helpers/node.ts';
import { tempDir } from '../helpers/tmp.ts';

const NS = netnsName('bird');
const NS_RTR = netnsName('birdr');
const VETH = `eb${process.pid}`;
const dir = tempDir('edgedns-bird-');
const sock = join(dir, 'bird.ctl');
const rtrSock = join(dir, 'router.ctl');
const v4 = join(dir, 'routes4.conf');
const v6 = join(dir, 'routes6.conf');
let bird: ChildProcess | undefined;
let router: ChildProcess | undefined;
/** How long BGP may take to carry a change to the router: a failure timeout, not a measurement. */
const PATIENT = 30_000;

const showRoute = (): string => execFileSync('birdc', ['-s', sock, 'show', 'route'], { encoding: 'utf8' });
const atRouter = (...args: string[]): string =>
  spawnSync('birdc', ['-s', rtrSock, ...args], { encoding: 'utf8' }).stdout ?? '';
/** The router's count of withdrawals received from the site (`Import withdraws: received …`). */
const withdrawsAtRouter = (): number => {
  const m = /Import withdraws:\s+(\d+)/.exec(atRouter('show', 'protocols', 'all', 'site'));
  assert.ok(m, 'the router shows its import statistics');
  return Number(m[1]);
};
async function ready(ctl: string): Promise<boolean> {
  let up = false;
  for (let i = 0; i < 50 && !up; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      up =
        existsSync(ctl) &&
        /BIRD .* ready|Daemon is up/.test(execFileSync('birdc', ['-s', ctl, 'show', 'status'], { encoding: 'utf8' }));
    } catch {
      // not yet
    }
  }
  return up;
}

before(async () => {
  const why = netnsUnavailable();
  assert.equal(why, null, `this test ${why}`);
  writeFileSync(v4, '');
  writeFileSync(v6, '');
  const conf = join(dir, 'bird.conf');
  // BIRD reads `include` only at the start of a line. The export filter sets bgp_med again: BIRD
  // sends an eBGP peer only a MED set by the export filter (deploy/bird/bird.conf does the same).
  writeFileSync(
    conf,
    `router id 198.51.100.11;
protocol device {}
protocol static edgedns4 {
  ipv4;
  include "${v4}";
}
protocol static edgedns6 {
  ipv6;
  include "${v6}";
}
protocol static pinned {
  ipv4;
  route 192.0.2.54/32 blackhole;
}
filter edgedns_out4 {
  if net ~ [ 192.0.2.53/32 ] then {
    if defined(bgp_med) then bgp_med = bgp_med;
    accept;
  }
  reject;
}
protocol bgp upstream4 {
  local 198.51.100.11 as 65011;
  neighbor 198.51.100.1 as 65000;
  hold time 3; keepalive time 1; connect retry time 1;
  ipv4 { import none; export filter edgedns_out4; };
}
`,
  );
  router = siteAndRouter({ site: NS, router: NS_RTR, veth: VETH, dir, ctl: rtrSock });
  bird = spawn('ip', ['netns', 'exec', NS, 'bird', '-f', '-c', conf, '-s', sock, '-P', join(dir, 'bird.pid')], {
    stdio: 'ignore',
  });
  // Ready when birdc can talk to it.
  assert.ok(await ready(sock), 'BIRD started');
  assert.ok(await ready(rtrSock), 'the router started');
  await until(
    () => /Established/.test(atRouter('show', 'protocols', 'site')),
    PATIENT,
    `the BGP session up: ${atRouter('show', 'protocols', 'all', 'site')}`,
  );
});

after(async () => {
  for (const child of [bird, router])
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      await gone;
    }
  delNetns(NS);
  delNetns(NS_RTR);
});

describe('bird adapter with BIRD 2', () => {
  const a = birdAdapter({ includeFile: v4, includeFile6: v6, socket: sock, birdc: 'birdc', timeoutMs: 5000 });
  const DEPREFER: Deprefer = { asn: 65011, prepend: 2, med: 100 };
  const req = (action: Action) => ({
    action,
    prefixes: ['192.0.2.53/32', '2001:db8::53/128'],
    siteId: 't',
    reason: 'test',
    seq: 1,
    deprefer: action === 'deprefer' ? DEPREFER : null,
  });

  it('announce puts both routes in BIRD; withdraw removes them; both are idempotent', async () => {
    assert.doesNotMatch(showRoute(), /192\.0\.2\.53\/32/);
    assert.equal(
      await a.apply(req('announce')),
      "Reconfigured; in BIRD's table: 192.0.2.53/32 (edgedns4), 2001:db8::53/128 (edgedns6)",
    );
    const shown = showRoute();
    assert.match(shown, /192\.0\.2\.53\/32\s+blackhole.*\[edgedns4/);
    assert.match(shown, /2001:db8::53\/128\s+blackhole.*\[edgedns6/);
    assert.match(await a.apply(req('announce')), /^Reconfigured; in BIRD's table/);
    assert.equal(await a.apply(req('withdraw')), "Reconfigured; not in BIRD's table: 192.0.2.53/32, 2001:db8::53/128");
    assert.doesNotMatch(showRoute(), /192\.0\.2\.53|2001:db8::53/);
    assert.match(await a.apply(req('withdraw')), /^Reconfigured; not in BIRD's table/);
  });

  it('deprefer reaches the router as a longer AS path and a MED; announce as the plain path; never withdrawn between', async () => {
    const route = () => atRouter('show', 'route', '192.0.2.53/32', 'all');
    /** The router holds the route from the site with exactly this AS path and MED line. */
    const holds = (path: string, med: string | null) => (): boolean => {
      const r = route();
      return (
        /192\.0\.2\.53\/32\s+unicast \[site /.test(r) &&
        new RegExp(`BGP\\.as_path: ${path}\\s*$`, 'm').test(r) &&
        (med === null ? !/BGP\.med:/.test(r) : new RegExp(`BGP\\.med: ${med}\\s*$`, 'm').test(r))
      );
    };
    assert.match(await a.apply(req('announce')), /^Reconfigured; in BIRD's table: 192\.0\.2\.53\/32 \(edgedns4\)/);
    await until(holds('65011', null), PATIENT, `the plain path at the router: ${route()}`);
    const withdrawn = withdrawsAtRouter();

    assert.equal(
      await a.apply(req('deprefer')),
      "Reconfigured; in BIRD's table with AS path 65011 65011, MED 100: 192.0.2.53/32 (edgedns4), 2001:db8::53/128 (edgedns6)",
    );
    // The site's own table: the static route carries the attributes (read back by the adapter too).
    assert.match(
      execFileSync('birdc', ['-s', sock, 'show', 'route', '2001:db8::53/128', 'all'], { encoding: 'utf8' }),
      /BGP\.as_path: 65011 65011\s*\n\s*BGP\.med: 100/,
    );
    // BGP puts the site's AS in front: 65011 three times.
    await until(holds('65011 65011 65011', '100'), PATIENT, `the depreferred path at the router: ${route()}`);
    assert.match(await a.apply(req('deprefer')), /with AS path 65011 65011, MED 100/, 'idempotent');

    assert.match(await a.apply(req('announce')), /^Reconfigured; in BIRD's table: 192\.0\.2\.53\/32 \(edgedns4\)/);
    await until(holds('65011', null), PATIENT, `the plain path again at the router: ${route()}`);
    assert.equal(withdrawsAtRouter(), withdrawn, 'the router received no withdrawal between');

    assert.match(await a.apply(req('withdraw')), /not in BIRD's table/);
    await until(() => !route().includes('192.0.2.53'), PATIENT, `withdrawn at the router: ${route()}`);
    assert.equal(withdrawsAtRouter(), withdrawn + 1, 'the withdrawal is counted: the count above could fail');
  });

  it('"Reconfigured" is not enough: a route that BIRD does not hold fails the announce', async () => {
    // An include file that no static protocol includes: BIRD reconfigures happily, and routes nothing.
    const stray = birdAdapter({
      includeFile: join(dir, 'stray4.conf'),
      includeFile6: join(dir, 'stray6.conf'),
      socket: sock,
      birdc: 'birdc',
      timeoutMs: 400,
    });
    await assert.rejects(
      stray.apply(req('announce')),
      (e: unknown) =>
        e instanceof AdapterError &&
        !e.retryLater &&
        /^birdc configure said "Reconfigured", but after 400 ms 192\.0\.2\.53\/32 is not in BIRD's table; 2001:db8::53\/128 is not in BIRD's table: does a static protocol/.test(
          e.message,
        ),
    );
  });

  it('a withdraw fails while another static protocol still holds the prefix', async () => {
    const r = { ...req('withdraw'), prefixes: ['192.0.2.54/32'] };
    await assert.rejects(
      birdAdapter({ includeFile: v4, includeFile6: v6, socket: sock, birdc: 'birdc', timeoutMs: 300 }).apply(r),
      /192\.0\.2\.54\/32 is still in BIRD's table \(static blackhole route from pinned\)/,
    );
  });

  it('a broken BIRD config makes the call fail, and BIRD keeps running', async () => {
    const bad = birdAdapter({ includeFile: v4, includeFile6: v6, socket: sock, birdc: 'birdc', timeoutMs: 5000 });
    writeFileSync(join(dir, 'bird.conf'), 'this is not bird config;\n');
    await assert.rejects(bad.apply(req('announce')), /birdc configure failed/);
    assert.equal(bird?.exitCode, null);
  });
});
