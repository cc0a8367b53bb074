// The gobgp adapter against Debian's real GoBGP 3 (the shipped deploy/gobgp/gobgpd.toml) in a
// network namespace the test makes: announce and withdraw, IPv4 and IPv6, each read back from
// `gobgp global rib`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Action } from '../../src/announce/index.ts';
import { gobgpAdapter } from '../../src/announce/index.ts';
import { addNetns, delNetns, netnsUnavailable } from '../helpers/netns.ts';
import { ROOT } from '../helpers/server.ts';

const NS = `edgedns-gobgp-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'edgedns-gobgp-'));
const API = ['-p', '50051'];
let gobgpd: ChildProcess | undefined;
const gobgp = (...args: string[]): string =>
  spawnSync('ip', ['netns', 'exec', NS, 'gobgp', ...API, ...args], { encoding: 'utf8' }).stdout ?? '';
const req = (action: Action) => ({
  action,
  prefixes: ['192.0.2.53/32', '2001:db8::53/128'],
  siteId: 't',
  reason: 'test',
  seq: 1,
  deprefer: null,
});

before(async () => {
  const why = netnsUnavailable();
  assert.equal(why, null, `this test ${why}`);
  assert.equal(
    spawnSync('gobgpd', ['--version']).status,
    0,
    'needs gobgpd (Debian: apt-get install gobgpd; scripts/install-deps.sh test)',
  );
  addNetns(NS);
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
      '127.0.0.1:50051',
    ],
    { stdio: ['ignore', log, log] },
  );
  let up = false;
  for (let i = 0; i < 50 && !up; i++) {
    await new Promise((r) => setTimeout(r, 100));
    up = /198\.51\.100\.11/.test(gobgp('global'));
  }
  assert.ok(up, 'gobgpd answers');
});

after(async () => {
  if (gobgpd && gobgpd.exitCode === null && gobgpd.signalCode === null) {
    const gone = once(gobgpd, 'exit');
    gobgpd.kill('SIGTERM');
    await gone;
  }
  delNetns(NS);
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
});
