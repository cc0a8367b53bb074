// The short lab: three sites behind a BIRD router in network namespaces, the real edgedns at each,
// and two drills (drain, crash) from the client namespace. Checks what must hold whatever the
// machine's speed: a drain loses nothing, a crash moves traffic away and back.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ScenarioReport } from '../../src/drill/index.ts';
import { netnsUnavailable } from '../helpers/netns.ts';
import { ROOT } from '../helpers/server.ts';

const PREFIX = `et${process.pid % 1000}`;
const dir = mkdtempSync(join(tmpdir(), 'edgedns-lab-'));
const env = {
  ...process.env,
  LAB_PREFIX: PREFIX,
  LAB_DIR: dir,
  LAB_SITES: '3',
  DRILL_REPORT: join(dir, 'drill-report.json'),
};
const lab = (cmd: string): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(
      join(ROOT, 'deploy', 'lab', 'lab.sh'),
      [cmd],
      { env, encoding: 'utf8', timeout: 120_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`lab ${cmd}: ${err.message}\n${stderr}`)) : resolve(stdout)),
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
});
