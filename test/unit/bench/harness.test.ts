// The parts of the benchmark harness that can break: reading dnsperf's output, /proc figures, and
// the Unbound config it writes (checked by unbound-checkconf).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import {
  cpuSecondsFromStat,
  latenciesFromH2loadLog,
  latenciesFromVerbose,
  parseDnsperf,
  parseH2load,
  percentile,
  processTree,
  rssMbFromStatus,
} from '../../../bench/dnsperf.ts';
import { Processes, treeOf } from '../../../bench/procs.ts';
import { unboundConfig } from '../../../bench/unbound.ts';
import { ROOT } from '../../helpers/server.ts';
import { tempDir } from '../../helpers/tmp.ts';

const SUMMARY = `Statistics:

  Queries sent:         50
  Queries completed:    49 (98.00%)
  Queries lost:         1 (2.00%)

  Response codes:       NOERROR 49 (100.00%)
  Average packet size:  request 34, response 50
  Run time (s):         1.000206
  Queries per second:   48.989702

  Average Latency (s):  0.000301 (min 0.000174, max 0.001322)
  Latency StdDev (s):   0.000163
`;

describe('bench harness', () => {
  it('reads the dnsperf summary', () => {
    assert.deepEqual(parseDnsperf(SUMMARY), { sent: 50, completed: 49, lost: 1, qps: 48.989702, avgMs: 0.301 });
    assert.throws(() => parseDnsperf('[Fatal] unable to open file'), /no queries sent/);
  });
  it('reads per-query latencies from -v and takes percentiles', () => {
    const v =
      '> NOERROR www.example.test A 0.001387\n> NOERROR www.example.test A 0.000351\n> NXDOMAIN nx.example.test A 0.000100\n[Timeout] Query timed out\n';
    assert.deepEqual(
      latenciesFromVerbose(v).map((x) => Math.round(x * 1000) / 1000),
      [1.387, 0.351, 0.1],
    );
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 5);
    assert.equal(percentile([], 99), null);
  });
  it('reads the h2load summary and per-request latencies of 2xx answers (the doh workload)', () => {
    const out = [
      'finished in 27.65ms, 144.65 req/s, 9.75KB/s',
      'requests: 4 total, 4 started, 4 done, 2 succeeded, 2 failed, 0 errored, 0 timeout',
      'status codes: 2 2xx, 0 3xx, 2 4xx, 0 5xx',
    ].join('\n');
    assert.deepEqual(parseH2load(out), { qps: 144.65, completed: 2, requests: 4 });
    assert.throws(() => parseH2load('no protocol negotiated'), /no summary/);
    const log = '1796190058006969\t200\t11364\n1796190058006971\t404\t11515\n1796190058018699\t200\t1591\n';
    assert.deepEqual(latenciesFromH2loadLog(log), [11.364, 1.591]);
  });
  it('reads CPU time and RSS from /proc, also with blanks in the command name', () => {
    const stat = '1234 (node worker 1) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 100 1000 2000';
    assert.equal(cpuSecondsFromStat(stat), 3);
    assert.equal(rssMbFromStatus('Name:\tnode\nVmRSS:\t   51200 kB\n'), 50);
    assert.ok(cpuSecondsFromStat(execFileSync('cat', ['/proc/self/stat'], { encoding: 'utf8' })) >= 0);
  });
  it('finds a process and its descendants (primary and workers)', () => {
    const children: Record<number, string> = { 10: '11 12 ', 11: '', 12: '13', 13: '' };
    assert.deepEqual(
      processTree(10, (p) => children[p] ?? ''),
      [10, 11, 12, 13],
    );
    assert.deepEqual(
      processTree(99, () => ''),
      [99],
    );
    // This test runner and whatever it started: at least the runner itself, on the real /proc.
    assert.ok(
      processTree(process.pid, (p) => readFileSync(`/proc/${p}/task/${p}/children`, 'utf8')).includes(process.pid),
    );
  });

  it('stops every process it started and their children, by pid', async () => {
    const procs = new Processes();
    const plain = procs.start('sleep', ['30']);
    // A parent with a child of its own, like a node with workers.
    const parent = procs.start(process.execPath, [
      '-e',
      "require('node:child_process').spawn('sleep', ['30'], { stdio: 'ignore' }); setInterval(() => {}, 1000)",
    ]);
    let family: number[] = [];
    for (let i = 0; i < 100 && family.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      family = treeOf(parent.pid as number);
    }
    assert.equal(family.length, 2, 'the parent started its child');
    const exited = Promise.all([once(plain, 'exit'), once(parent, 'exit')]);
    const killed = procs.killAll();
    assert.deepEqual(new Set(killed), new Set([plain.pid, ...family]));
    await exited;
    // Running: /proc has it and it is not a zombie waiting for whoever adopted it to reap it.
    const alive = (pid: number): boolean => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && alive(family[1] as number); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!alive(family[1] as number), 'the child is gone too');
    assert.deepEqual(procs.killAll(), [], 'nothing left to stop');
  });

  it('writes an Unbound config that unbound-checkconf accepts', () => {
    const dir = tempDir('edgedns-bench-');
    const f = join(dir, 'unbound.conf');
    writeFileSync(
      f,
      unboundConfig({
        port: 15300,
        dir,
        zoneFile: join(ROOT, 'zones', 'example.test.zone'),
        zone: 'example.test.',
        upstreamPort: 15301,
      }),
    );
    const out = execFileSync('unbound-checkconf', [f], { encoding: 'utf8' });
    assert.match(out, /no errors/);
  });
});
