// The short lab: three sites behind a BIRD router in network namespaces, the real edgedns at each,
// and two drills (drain, crash) from the client namespace. Checks what must hold whatever the
// machine's speed: a drain loses nothing, a crash moves traffic away and back. Then the faults of
// the fleet drills (an nftables blackhole of DNS alone, the shared upstream taken away) and, on a
// build with the fleet (issue 15), the fleet drills once each, held to their targets.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RouterPoll, ScenarioReport } from '../../src/drill/index.ts';
import { parseBfd, parseBgp, sessionsStable } from '../../src/drill/index.ts';
import { netnsUnavailable } from '../helpers/netns.ts';
import { ROOT } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';

// LAB_TEST_PREFIX / LAB_TEST_DIR: another run's namespaces and folder, when several run side by side.
const PREFIX = process.env.LAB_TEST_PREFIX ?? `et${process.pid % 1000}`;
const dir = process.env.LAB_TEST_DIR ?? tempDir('edgedns-lab-');
const env = {
  ...process.env,
  LAB_PREFIX: PREFIX,
  LAB_DIR: dir,
  LAB_SITES: '3',
  DRILL_REPORT: join(dir, 'drill-report.json'),
};
const lab = (...cmd: string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(
      join(ROOT, 'deploy', 'lab', 'lab.sh'),
      cmd,
      { env, encoding: 'utf8', timeout: 120_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`lab ${cmd.join(' ')}: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });

/** A command in one of the lab's namespaces. */
const inNs = (name: string, cmd: string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', name, ...cmd], { encoding: 'utf8', timeout: 15_000 }, (err, stdout) =>
      err ? reject(new Error(`${err.message}${stdout}`, { cause: err })) : resolve(stdout),
    );
  });

before(async () => {
  const why = netnsUnavailable();
  assert.equal(why, null, `the lab ${why}`);
  await lab('up');
});
after(async () => {
  await lab('down');
  const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  assert.doesNotMatch(left, new RegExp(`^${PREFIX}-`, 'm'), 'every namespace removed');
  // A folder the caller named is theirs; the one made here goes with the lab.
  if (process.env.LAB_TEST_DIR === undefined) rmSync(dir, { recursive: true, force: true });
});

describe('the lab', () => {
  it('status shows three healthy sites and the client reaches the preferred one', async () => {
    const s = await lab('status');
    assert.equal(s.match(/health: UP \(announced\)/g)?.length, 3, s);
    assert.match(s, /NSID: .*\("site1"\)/);
  });
  it('drills: a drain loses nothing; a crash moves traffic away and back', { timeout: 240_000 }, async () => {
    await new Promise<void>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'deploy', 'lab', 'drill.ts'), '--runs', '1', '--hold', '2000', 'drain', 'crash'],
        { env, cwd: ROOT, timeout: 230_000 },
        (err, _o, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve()),
      );
    });
    const report = JSON.parse(readFileSync(env.DRILL_REPORT, 'utf8')) as ScenarioReport[];
    const drain = report.find((r) => r.scenario === 'drain');
    const crash = report.find((r) => r.scenario === 'crash');
    assert.ok(drain && crash);
    assert.equal(drain.lost, 0);
    assert.equal(drain.failbackLost, 0);
    assert.equal(drain.oldSiteAnswers, 0);
    assert.notEqual(drain.movedMs, null, 'answers came from another site');
    assert.notEqual(drain.failbackMs, null, 'and from the drained site again after undrain');
    assert.notEqual(crash.withdrawMs, null, 'the crashed site was withdrawn');
    assert.notEqual(crash.failbackMs, null, 'the restarted site took traffic back');
    assert.equal(crash.failbackLost, 0);
  });

  it("the fleet drills' faults: the blackhole drops DNS only (BGP, BFD, admin pass); the shared upstream goes and comes back", async () => {
    const sessions = (): RouterPoll => {
      const sock = join(dir, 'router', 'bird.ctl');
      const bgp = parseBgp(execFileSync('birdc', ['-s', sock, 'show', 'protocols'], { encoding: 'utf8' }));
      const bfd = parseBfd(execFileSync('birdc', ['-s', sock, 'show', 'bfd', 'sessions'], { encoding: 'utf8' }));
      return { t: Date.now(), rib: null, bgp, bfd };
    };
    const before = sessions();
    assert.match(before.bgp?.s2 ?? '', /^up Established/);
    assert.match(before.bfd?.['198.51.100.6'] ?? '', /^Up/);
    // site2's unicast address, from the client: DNS over UDP and TCP, and its admin port.
    const dig = (...a: string[]): Promise<string> =>
      inNs(`${PREFIX}-client`, ['dig', '+time=1', '+tries=1', '@198.51.100.6', ...a]).catch((e: Error) => e.message);
    assert.match(await dig('www.example.test'), /status: NOERROR/);
    await lab('blackhole', '2', 'on');
    try {
      assert.match(await dig('www.example.test'), /timed out/, 'UDP 53 dropped');
      assert.match(await dig('+tcp', 'www.example.test'), /timed out|refused|failed/, 'TCP 53 dropped');
      const status = await inNs(`${PREFIX}-client`, ['curl', '-s', '-m', '2', 'http://198.51.100.6:9153/status']);
      assert.match(status, /"site2"/, 'the admin port passes');
      await new Promise((r) => setTimeout(r, 2000));
      const now = sessionsStable([before, sessions()]);
      assert.deepEqual(now.resets, [], 'BGP and BFD sessions untouched (same state, same since)');
    } finally {
      await lab('blackhole', '2', 'off');
    }
    assert.match(await dig('www.example.test'), /status: NOERROR/);
    // The shared upstream: a forwarded name answers, then SERVFAIL while it is away, then again.
    assert.match(await dig('a1.fwd.test'), /status: NOERROR/);
    await lab('upstream', 'stop');
    try {
      assert.match(await dig('+time=3', 'a2.fwd.test'), /status: SERVFAIL/);
    } finally {
      await lab('upstream', 'start');
    }
    assert.match(await dig('a3.fwd.test'), /status: NOERROR/);
  });
  it('the fleet drills, once each, meet their targets', { timeout: 600_000 }, async (t) => {
    // lab.sh writes the fleet section when the node accepts it (LAB_FLEET=auto): this build does.
    assert.equal(readFileSync(join(dir, 'fleet'), 'utf8').trim(), '1', 'the lab runs with the fleet');
    const report = join(dir, 'fleet-report.json');
    await new Promise<void>((resolve, reject) => {
      execFile(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'deploy', 'lab', 'drill.ts'),
          '--runs',
          '1',
          '--hold',
          '8000',
          '--attack-for',
          '20000',
          'attack',
          'blackhole',
          'blackhole-other',
          'shared',
        ],
        { env: { ...env, DRILL_REPORT: report }, cwd: ROOT, timeout: 590_000 },
        (err, _o, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve()),
      );
    });
    const reports = JSON.parse(readFileSync(report, 'utf8')) as ScenarioReport[];
    assert.deepEqual(
      reports.map((r) => r.scenario),
      ['attack', 'blackhole', 'blackhole-other', 'shared'],
    );
    for (const r of reports)
      for (const x of r.targets ?? []) t.diagnostic(`${r.scenario}: ${x.name}: want ${x.want}, got ${x.got}`);
    const failed = reports.flatMap((r) =>
      (r.targets ?? []).filter((x) => !x.pass).map((x) => `${r.scenario}: ${x.name} — want ${x.want}, got ${x.got}`),
    );
    assert.deepEqual(failed, [], JSON.stringify(reports.map((r) => ({ scenario: r.scenario, extra: r.extra }))));
    for (const r of reports) assert.ok((r.targets ?? []).length >= 2, `${r.scenario} has targets`);
  });
});
