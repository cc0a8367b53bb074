// The bird adapter against a real BIRD 2 that the test starts in its own network namespace:
// `birdc show route` before and after announce and withdraw, IPv4 and IPv6; and the adapter's own
// read-back, which fails when BIRD says "Reconfigured" but the route is not (or still) there.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdapterError, birdAdapter } from '../../src/announce/index.ts';
import { addNetns, delNetns, netnsUnavailable } from '../helpers/netns.ts';

const NS = `edgedns-bird-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'edgedns-bird-'));
const sock = join(dir, 'bird.ctl');
const v4 = join(dir, 'routes4.conf');
const v6 = join(dir, 'routes6.conf');
let bird: ChildProcess | undefined;

const showRoute = (): string => execFileSync('birdc', ['-s', sock, 'show', 'route'], { encoding: 'utf8' });

before(async () => {
  const why = netnsUnavailable();
  assert.equal(why, null, `this test ${why}`);
  writeFileSync(v4, '');
  writeFileSync(v6, '');
  const conf = join(dir, 'bird.conf');
  // BIRD reads `include` only at the start of a line.
  writeFileSync(
    conf,
    `router id 192.0.2.254;
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
`,
  );
  addNetns(NS);
  bird = spawn('ip', ['netns', 'exec', NS, 'bird', '-f', '-c', conf, '-s', sock, '-P', join(dir, 'bird.pid')], {
    stdio: 'ignore',
  });
  // Ready when birdc can talk to it.
  let up = false;
  for (let i = 0; i < 50 && !up; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      up =
        existsSync(sock) &&
        /BIRD .* ready|Daemon is up/.test(execFileSync('birdc', ['-s', sock, 'show', 'status'], { encoding: 'utf8' }));
    } catch {
      // not yet
    }
  }
  assert.ok(up, 'BIRD started');
});

after(async () => {
  if (bird && bird.exitCode === null) {
    const gone = once(bird, 'exit');
    bird.kill('SIGTERM');
    await gone;
  }
  delNetns(NS);
});

describe('bird adapter with BIRD 2', () => {
  const a = birdAdapter({ includeFile: v4, includeFile6: v6, socket: sock, birdc: 'birdc', timeoutMs: 5000 });
  const req = (action: 'announce' | 'withdraw') => ({
    action,
    prefixes: ['192.0.2.53/32', '2001:db8::53/128'],
    siteId: 't',
    reason: 'test',
    seq: 1,
    deprefer: null,
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
