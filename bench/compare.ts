// Before/after on the hot path: two builds of edgedns (two checkouts, each built with `npx tsc`)
// side by side, same config, same upstream, measured alternately in rounds with dnsperf at full
// speed on zone answers and cache hits. What CONTRIBUTING asks of a hot-path change.
//
//   git worktree add --detach ../before <ref> && (cd ../before && npm ci && npx tsc)
//   node --import tsx bench/compare.ts --before ../before [--after .] [--rounds 5] [--seconds 5]
//
// Prints one line per workload: the median q/s of each build, the range, and after/before.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDnsperf } from './dnsperf.ts';
import { Processes, freePort } from './procs.ts';
import { unboundServer } from './unbound.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name: string, def?: string): string => {
  const i = args.indexOf(`--${name}`);
  const v = i >= 0 ? args[i + 1] : def;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
};
const BUILDS = { before: resolve(arg('before')), after: resolve(arg('after', ROOT)) };
const ROUNDS = Math.min(Number(arg('rounds', '5')), 20);
const SECONDS = Math.min(Number(arg('seconds', '5')), 30);
for (const [name, tree] of Object.entries(BUILDS))
  if (!existsSync(join(tree, 'dist', 'main.js'))) throw new Error(`--${name} ${tree}: no dist/main.js (run npx tsc)`);

const dir = mkdtempSync(join(tmpdir(), 'edgedns-compare-'));
const procs = new Processes();
process.on('exit', () => void procs.killAll());
process.on('SIGINT', () => process.exit(130));
const log = (m: string): void => void process.stderr.write(`[compare] ${m}\n`);

function run(cmd: string, argv: string[], timeoutMs: number): Promise<string> {
  return new Promise((ok, fail) =>
    execFile(cmd, argv, { maxBuffer: 1 << 26, timeout: timeoutMs }, (err, stdout) =>
      err && !stdout ? fail(new Error(err.message, { cause: err })) : ok(stdout),
    ),
  );
}
const dnsperf = (port: number, file: string, extra: string[]): Promise<string> =>
  run('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', file, ...extra], (SECONDS + 30) * 1000);

async function waitAnswer(port: number, name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const out = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', '+short', name], 3000).catch(
      () => '',
    );
    if (/^\d+\.\d+\.\d+\.\d+$/m.test(out)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answers on port ${port}`);
}

const files = {
  zone: join(dir, 'zone.txt'),
  hit: join(dir, 'hit.txt'),
};
writeFileSync(files.zone, 'www.example.test A\nexample.test MX\nmail.example.test A\nexample.test SOA\n');
writeFileSync(files.hit, `${Array.from({ length: 1000 }, (_, i) => `h${i}.bench.test A`).join('\n')}\n`);

const upstreamPort = await freePort();
writeFileSync(
  join(dir, 'upstream.conf'),
  `${unboundServer({ port: upstreamPort, dir })}  num-threads: 1
  module-config: "iterator"
  local-zone: "test." nodefault
  local-zone: "bench.test." redirect
  local-data: "bench.test. 3600 IN A 192.0.2.1"
`,
);
procs.start('unbound', ['-d', '-c', join(dir, 'upstream.conf')]);
await waitAnswer(upstreamPort, 'a.bench.test');

const ports: Record<string, number> = {};
for (const [name, tree] of Object.entries(BUILDS)) {
  const port = await freePort();
  // The query path only: no rate limiter (one client asking the same names), no admin listener.
  const yaml = [
    `listen: ["127.0.0.1:${port}"]`,
    `zones: { dir: ${JSON.stringify(join(ROOT, 'zones'))} }`,
    `upstreams: ["127.0.0.1:${upstreamPort}"]`,
    'rateLimit: null',
    'admin: { listen: null, socket: null }',
    'log: { level: warn }',
  ];
  writeFileSync(join(dir, `${name}.yaml`), `${yaml.join('\n')}\n`);
  procs.start(process.execPath, [join(tree, 'dist', 'main.js'), 'serve', '--config', join(dir, `${name}.yaml`)]);
  await waitAnswer(port, 'www.example.test');
  ports[name] = port;
}
// Fill the caches and warm the JIT of both.
for (const port of Object.values(ports)) {
  await dnsperf(port, files.hit, ['-n', '2', '-c', '4']);
  await dnsperf(port, files.hit, ['-l', '3', '-c', '4']);
}
log(
  `before ${BUILDS.before} :${ports.before}, after ${BUILDS.after} :${ports.after}; ${ROUNDS} rounds of ${SECONDS} s`,
);

const qps: Record<string, Record<string, number[]>> = {
  zone: { before: [], after: [] },
  hit: { before: [], after: [] },
};
for (let round = 0; round < ROUNDS; round++)
  for (const w of ['zone', 'hit'] as const) {
    // Alternate which build goes first, so that neither always runs on a warmer machine.
    const order = round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
    for (const b of order) {
      const out = await dnsperf(ports[b] as number, files[w], ['-l', String(SECONDS), '-c', '8', '-q', '200']);
      qps[w]![b]!.push(parseDnsperf(out).qps);
    }
  }

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
for (const w of ['zone', 'hit'] as const) {
  const b = qps[w]!.before!;
  const a = qps[w]!.after!;
  const range = (xs: number[]): string => `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}`;
  console.log(
    `${w.padEnd(5)} before ${Math.round(median(b))} q/s (${range(b)})  after ${Math.round(median(a))} q/s (${range(a)})  after/before ${(median(a) / median(b)).toFixed(3)}`,
  );
}
procs.killAll();
