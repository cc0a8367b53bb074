// The bird adapter against a real BIRD 2 that the test starts in its own network namespace:
// `birdc show route` before and after announce and withdraw, IPv4 and IPv6.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { birdAdapter } from '../../src/announce/index.ts';
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
  writeFileSync(conf, `router id 192.0.2.254;
protocol device {}
protocol static edgedns4 {
  ipv4;
  include "${v4}";
}
protocol static edgedns6 {
  ipv6;
  include "${v6}";
}
`);
  addNetns(NS);
  bird = spawn('ip', ['netns', 'exec', NS, 'bird', '-f', '-c', conf, '-s', sock, '-P', join(dir, 'bird.pid')], { stdio: 'ignore' });
  // Ready when birdc can talk to it.
  let up = false;
  for (let i = 0; i < 50 && !up; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      up = existsSync(sock) && /BIRD .* ready|Daemon is up/.test(execFileSync('birdc', ['-s', sock, 'show', 'status'], { encoding: 'utf8' }));
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
  const req = (action: 'announce' | 'withdraw') => ({ action, prefixes: ['192.0.2.53/32', '2001:db8::53/128'], siteId: 't', reason: 'test', seq: 1 });

  it('announce puts both routes in BIRD; withdraw removes them; both are idempotent', async () => {
    assert.doesNotMatch(showRoute(), /192\.0\.2\.53\/32/);
    assert.equal(await a.apply(req('announce')), 'Reconfigured');
    const shown = showRoute();
    assert.match(shown, /192\.0\.2\.53\/32\s+blackhole.*\[edgedns4/);
    assert.match(shown, /2001:db8::53\/128\s+blackhole.*\[edgedns6/);
    assert.equal(await a.apply(req('announce')), 'Reconfigured');
    assert.equal(await a.apply(req('withdraw')), 'Reconfigured');
    assert.doesNotMatch(showRoute(), /192\.0\.2\.53|2001:db8::53/);
    assert.equal(await a.apply(req('withdraw')), 'Reconfigured');
  });

  it('a broken BIRD config makes the call fail, and BIRD keeps running', async () => {
    const bad = birdAdapter({ includeFile: v4, includeFile6: v6, socket: sock, birdc: 'birdc', timeoutMs: 5000 });
    writeFileSync(join(dir, 'bird.conf'), 'this is not bird config;\n');
    await assert.rejects(bad.apply(req('announce')), /birdc configure failed/);
    assert.equal(bird?.exitCode, null);
  });
});
