// The zone-file conformance suite in ../shared/conformance, run against `edgedns zone print`. A
// file of its own, and the cases in shards run side by side (each a copy of the suite with part of
// its manifest): the suite starts node some 300 times, which on a busy machine takes minutes, and
// each test file has a time budget of its own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MAIN, ROOT } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';

const SUITE = join(ROOT, '..', 'shared', 'conformance');
const SHARDS = 4;

/** Run the suite on the cases of `manifest` (lines of zones/manifest.tsv) in a copy of it; its output. */
function runShard(dir: string, manifest: string[]): Promise<string> {
  cpSync(SUITE, dir, { recursive: true });
  writeFileSync(join(dir, 'zones', 'manifest.tsv'), `${manifest.join('\n')}\n`);
  return new Promise((resolve) => {
    execFile(
      'bash',
      [join(dir, 'zone-compare.sh'), 'suite', process.execPath, MAIN, 'zone', 'print'],
      { maxBuffer: 1 << 24, timeout: 170_000 },
      (_e, stdout) => resolve(stdout),
    );
  });
}

describe('zone-file conformance (../shared/conformance)', () => {
  it('passes every case', async (t) => {
    if (!existsSync(join(SUITE, 'zone-compare.sh'))) {
      // The suite lives beside the project (shared/); without it there is nothing to run.
      assert.equal(process.env.CI, undefined, `conformance suite missing at ${SUITE}`);
      t.diagnostic(`conformance suite not found at ${SUITE}`);
      return;
    }
    const cases = readFileSync(join(SUITE, 'zones', 'manifest.tsv'), 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    const tmp = tempDir('edgedns-conformance-');
    try {
      const outs = await Promise.all(
        Array.from({ length: SHARDS }, (_, s) =>
          runShard(
            join(tmp, `shard${s}`),
            cases.filter((_c, i) => i % SHARDS === s),
          ),
        ),
      );
      let passed = 0;
      for (const out of outs) {
        const summary = /(\d+) passed, (\d+) failed/.exec(out);
        assert.ok(summary, out.slice(-2000));
        assert.equal(
          summary[2],
          '0',
          out
            .split('\n')
            .filter((l) => l.startsWith('FAIL'))
            .join('\n'),
        );
        passed += Number(summary[1]);
      }
      assert.equal(passed, cases.length, 'every case ran and passed');
      assert.ok(passed >= 79);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
