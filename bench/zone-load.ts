// Zone load: how long `edgedns serve` takes to answer from a zone of N names (one A record each),
// and its peak RSS, beside Knot DNS (`knotd`) loading the same file. Each server is started on a
// free loopback port, asked with `dig` every 100 ms for the zone's last name until it answers, and
// its process tree's RSS is sampled from /proc every 100 ms; then it is stopped by pid. With
// --qps, dnsperf asks a few of the zone's names for a few seconds once it answers (zone-answer
// QPS, to see that answers did not get slower).
//
//   node --import tsx bench/zone-load.ts [--records 100000,1000000] [--rounds 3] [--qps 5] [--servers edgedns,knot]
//                                        [--edgedns ../before/dist/main.js] [--timeout 300]
//
// measureZoneLoad() returns rows { workload: 'load-100k' | 'load-1m', server, seconds, rssMb }
// (medians over the rounds; edgedns and Knot alternate within a round) for bench/run.ts.

import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSecondsFromStat, parseDnsperf, rssMbFromStatus } from './dnsperf.ts';
import { Processes, freePort, treeOf } from './procs.ts';
import { knotConfig, knotdPath } from '../test/helpers/knot.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ORIGIN = 'load.test.';
/** Longest a server may take to answer by default (the 1M zone took 67 s on a quiet machine). */
const READY_TIMEOUT_MS = 300_000;
const POLL_MS = 100;

export type LoadServer = 'edgedns' | 'knot';

export interface ZoneLoadRow {
  workload: string;
  server: LoadServer;
  /** Median seconds from spawn to the first answer for the zone's last name. */
  seconds: number;
  /** Median peak RSS of the process tree, MB. */
  rssMb: number;
  /** Median CPU seconds the process tree used until it answered (steadier than seconds on a busy machine). */
  cpuSeconds: number;
  /** Zone-answer QPS with dnsperf once ready (median), when asked for. */
  qps?: number;
  /** Every round's figures, for min–max. */
  rounds: Measured[];
}

export interface ZoneLoadOptions {
  records?: number[];
  rounds?: number;
  /** Seconds of dnsperf on a few zone names once ready; 0 = none. */
  qpsSeconds?: number;
  servers?: LoadServer[];
  /** The edgedns entry to start (another build's dist/main.js, to compare); default this tree's. */
  edgednsMain?: string;
  /** Longest a server may take to answer; it is stopped and the run fails after it. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export function workloadName(records: number): string {
  return records >= 1_000_000 && records % 1_000_000 === 0
    ? `load-${records / 1_000_000}m`
    : `load-${Math.round(records / 1000)}k`;
}

const nameOf = (i: number): string => `h${i}`;
const addressOf = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** A zone of `n` names with one A record each, plus SOA and NS (and the server's address) at the apex. */
export function writeLoadZone(file: string, n: number): void {
  const head = `$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n`;
  const parts: string[] = [head];
  const BATCH = 50_000;
  for (let start = 0; start < n; start += BATCH) {
    let s = '';
    for (let i = start; i < Math.min(n, start + BATCH); i++) s += `${nameOf(i)} IN A ${addressOf(i)}\n`;
    parts.push(s);
  }
  writeFileSync(file, parts.join(''));
}

function proc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // gone
  }
}

const cpuOfTree = (pid: number): number =>
  treeOf(pid).reduce((a, p) => {
    const stat = proc(`/proc/${p}/stat`);
    return a + (stat ? cpuSecondsFromStat(stat) : 0);
  }, 0);
const rssOfTree = (pid: number): number =>
  treeOf(pid).reduce((a, p) => a + rssMbFromStatus(proc(`/proc/${p}/status`)), 0);

function run(cmd: string, argv: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    execFile(cmd, argv, { timeout: timeoutMs, maxBuffer: 4 << 20 }, (_e, stdout) => resolve(String(stdout)));
  });
}

/** Whether `port` answers `name` A with `address` (dig +short). */
async function answers(port: number, name: string, address: string): Promise<boolean> {
  const out = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', '+short', name, 'A'], 3000);
  return out.trim().split('\n').includes(address);
}

interface Started {
  proc: ChildProcess;
}

function startEdgedns(procs: Processes, dir: string, zoneFile: string, port: number, main: string): Started {
  const conf = join(dir, 'edgedns.yaml');
  // YAML keys at column 0; authoritative only, no admin listener, no rate limiter (dnsperf is one client).
  const yaml = [
    `listen: ["127.0.0.1:${port}"]`,
    'workers: 1',
    `zones: { dir: null, files: [{ file: ${JSON.stringify(zoneFile)}, origin: ${JSON.stringify(ORIGIN)} }] }`,
    'upstreams: []',
    'rateLimit: null',
    'admin: { listen: null, socket: null }',
    'log: { level: warn }',
  ];
  writeFileSync(conf, `${yaml.join('\n')}\n`);
  return { proc: procs.start(process.execPath, [main, 'serve', '--config', conf]) };
}

function startKnotd(procs: Processes, dir: string, zoneFile: string, port: number): Started {
  const bin = knotdPath();
  if (!bin) throw new Error('knotd (Knot DNS) is not installed: apt-get install knot');
  // A folder of its own per start (its pid file, control socket, database).
  const own = mkdtempSync(join(dir, 'knot-'));
  const conf = join(own, 'knot.conf');
  writeFileSync(conf, knotConfig(own, port, [{ origin: ORIGIN, file: zoneFile }]));
  return { proc: procs.start(bin, ['-c', conf]) };
}

interface Measured {
  seconds: number;
  rssMb: number;
  cpuSeconds: number;
  qps?: number;
}

async function measureOne(
  server: LoadServer,
  dir: string,
  zoneFile: string,
  n: number,
  qpsSeconds: number,
  main: string,
  timeoutMs: number,
): Promise<Measured> {
  const port = await freePort();
  const procs = new Processes();
  const t0 = performance.now();
  const { proc: child } =
    server === 'edgedns' ? startEdgedns(procs, dir, zoneFile, port, main) : startKnotd(procs, dir, zoneFile, port);
  const pid = child.pid;
  let peak = 0;
  const sample = (): void => {
    if (pid !== undefined) peak = Math.max(peak, rssOfTree(pid));
  };
  const sampler = setInterval(sample, POLL_MS);
  const exited = once(child, 'exit');
  try {
    const last = n - 1;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${server} exited (${child.exitCode ?? child.signalCode}) before answering`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`${server} did not answer within ${timeoutMs / 1000} s`);
      if (await answers(port, `${nameOf(last)}.${ORIGIN}`, addressOf(last))) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = pid === undefined ? 0 : cpuOfTree(pid);
    sample();
    const out: Measured = { seconds, rssMb: peak, cpuSeconds };
    if (qpsSeconds > 0) {
      const qfile = join(dir, 'qps.txt');
      const picks = [0, 1, Math.floor(n / 3), Math.floor(n / 2), n - 2, n - 1].filter((i) => i >= 0 && i < n);
      writeFileSync(qfile, `${picks.map((i) => `${nameOf(i)}.${ORIGIN} A`).join('\n')}\n`);
      const text = await run(
        'dnsperf',
        ['-s', '127.0.0.1', '-p', String(port), '-d', qfile, '-l', String(qpsSeconds), '-c', '4'],
        (qpsSeconds + 30) * 1000,
      );
      out.qps = parseDnsperf(text).qps;
      sample();
      out.rssMb = peak;
    }
    return out;
  } finally {
    clearInterval(sampler);
    procs.killAll();
    if (child.exitCode === null && child.signalCode === null) await exited;
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Load time and peak RSS of each server for each zone size, `rounds` times, servers alternating. */
export async function measureZoneLoad(opts: ZoneLoadOptions = {}): Promise<ZoneLoadRow[]> {
  const records = opts.records ?? [100_000, 1_000_000];
  const rounds = Math.max(1, Math.min(opts.rounds ?? 3, 10));
  const servers = opts.servers ?? ['edgedns', 'knot'];
  const qpsSeconds = opts.qpsSeconds ?? 0;
  const log = opts.log ?? ((): void => {});
  const main = opts.edgednsMain ?? join(ROOT, 'dist', 'main.js');
  const dir = mkdtempSync(join(tmpdir(), 'edgedns-zone-load-'));
  const rows: ZoneLoadRow[] = [];
  try {
    for (const n of records) {
      const zoneFile = join(dir, `${ORIGIN}zone`);
      writeLoadZone(zoneFile, n);
      const got = new Map<LoadServer, Measured[]>(servers.map((s) => [s, []]));
      for (let r = 0; r < rounds; r++) {
        // Alternate who goes first, so that neither always meets a warm page cache or a busy neighbour.
        const order = r % 2 === 0 ? servers : [...servers].reverse();
        for (const s of order) {
          const m = await measureOne(s, dir, zoneFile, n, qpsSeconds, main, opts.timeoutMs ?? READY_TIMEOUT_MS);
          log(
            `${workloadName(n)} round ${r + 1} ${s}: ${m.seconds.toFixed(2)} s (CPU ${m.cpuSeconds.toFixed(2)} s), ${m.rssMb.toFixed(0)} MB${m.qps !== undefined ? `, ${Math.round(m.qps)} q/s` : ''}`,
          );
          got.get(s)?.push(m);
        }
      }
      for (const s of servers) {
        const ms = got.get(s) ?? [];
        const row: ZoneLoadRow = {
          workload: workloadName(n),
          server: s,
          seconds: median(ms.map((m) => m.seconds)),
          rssMb: median(ms.map((m) => m.rssMb)),
          cpuSeconds: median(ms.map((m) => m.cpuSeconds)),
          rounds: ms,
        };
        if (qpsSeconds > 0) row.qps = median(ms.map((m) => m.qps ?? 0));
        rows.push(row);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export function formatZoneLoad(rows: readonly ZoneLoadRow[]): string {
  const range = (xs: number[], d: number): string =>
    xs.length > 1 ? ` (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})` : '';
  const lines = ['workload    server    seconds to answer       CPU s    peak RSS MB            zone q/s'];
  for (const r of rows) {
    const secs = `${r.seconds.toFixed(2)}${range(
      r.rounds.map((m) => m.seconds),
      2,
    )}`;
    const rss = `${r.rssMb.toFixed(0)}${range(
      r.rounds.map((m) => m.rssMb),
      0,
    )}`;
    lines.push(
      `${r.workload.padEnd(11)} ${r.server.padEnd(9)} ${secs.padEnd(23)} ${r.cpuSeconds.toFixed(2).padEnd(8)} ${rss.padEnd(22)} ${r.qps !== undefined ? Math.round(r.qps) : '-'}`,
    );
  }
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const arg = (name: string, def: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? (args[i + 1] as string) : def;
  };
  const records = arg('records', '100000,1000000')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const servers = arg('servers', 'edgedns,knot').split(',') as LoadServer[];
  const rows = await measureZoneLoad({
    records,
    rounds: Number(arg('rounds', '3')),
    qpsSeconds: Math.min(Number(arg('qps', '0')), 30),
    servers,
    timeoutMs: Math.min(Number(arg('timeout', '300')), 3600) * 1000,
    ...(args.includes('--edgedns') ? { edgednsMain: arg('edgedns', '') } : {}),
    log: (l) => console.error(l),
  });
  console.log(formatZoneLoad(rows));
  console.log(JSON.stringify(rows.map(({ rounds: _r, ...row }) => row)));
}
