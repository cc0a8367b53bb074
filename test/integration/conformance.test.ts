// The zone-file conformance suite in ../shared/conformance, run against `edgedns zone print`. A
// file of its own: it starts the CLI some 160 times, which on a busy machine takes minutes, and
// each test file has its own time budget.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MAIN, ROOT } from '../helpers/server.ts';

describe('zone-file conformance (../shared/conformance)', () => {
  const script = join(ROOT, '..', 'shared', 'conformance', 'zone-compare.sh');
  it('passes every case', { timeout: 300_000 }, async (t) => {
    if (!existsSync(script)) {
      // The suite lives beside the project (shared/); without it there is nothing to run.
      assert.equal(process.env.CI, undefined, `conformance suite missing at ${script}`);
      t.diagnostic(`conformance suite not found at ${script}`);
      return;
    }
    const out = await new Promise<string>((resolve) => {
      execFile('bash', [script, 'suite', process.execPath, MAIN, 'zone', 'print'], { maxBuffer: 1 << 24, timeout: 280_000 }, (_e, stdout) => resolve(stdout));
    });
    const summary = /(\d+) passed, (\d+) failed/.exec(out);
    assert.ok(summary, out.slice(-2000));
    assert.equal(summary[2], '0', out.split('\n').filter((l) => l.startsWith('FAIL')).join('\n'));
    assert.ok(Number(summary[1]) >= 79);
  });
});
