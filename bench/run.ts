// `make bench`: edgedns side by side with Unbound (one thread, same zone, same upstream, a cache)
// and a minimal Node.js responder (the platform's ceiling; in miss, a minimal Node.js forwarder with
// a socket per query, the platform's floor for forwarding), on loopback, measured alternately over
// several rounds with dnsperf. Prints a table with the ratios and writes bench-report.json.
//
//   node --import tsx bench/run.ts [--rounds 3] [--seconds 5] [--workloads zone,zone-signed,zone-nx,zone-wild,hit,miss,tcp,mix,hostile] [--cpu-qps 30000] [--attacks tcp-slots,...]
//
// The growth curves (bench/growth-servers.ts): hit-1k, hit-100k, hit-1m are cache hits over 1k,
// 100k and 1M distinct cached names (edgedns and Unbound, each size a server of its own, warmed
// until every name is cached); zone-10, zone-100k, zone-1m are zone answers from zones of 10, 100k
// and 1M names with one A record each (edgedns and Knot DNS). The 1M ones take minutes to set up
// (a million distinct names asked until every one is cached): asked for by name in --workloads.
// load is the zone load times, CPU and peak RSS of bench/zone-load.ts (load-100k, load-1m), edgedns
// and Knot DNS loading the same file, alternating, after the other servers are stopped.
//
// dnsdist with its packet cache in front of the same upstream is a third server in hit and miss.
//
// hostile is the table of attacks (bench/hostile.ts): each attack of the hostile tests against a
// fresh edgedns while a legitimate client asks; --attacks picks some of them (all by default).
//
// zone-signed asks the zone answers' kind of questions with DO=1 of a zone signed with NSEC3 (made
// here by dnssec-signzone, RFC 9276 parameters): every answer carries its RRSIGs and proofs.
//
// dot and doh ask the zone answers over DNS over TLS and over HTTPS of edgedns and of Unbound
// (tls-port, https-port), with a certificate made here: dot with dnsperf -m dot, doh with h2load
// (GET ?dns=, one URI per zone question; dnsperf 2.10's DoH client completes 1% of its queries
// against Node's HTTP/2, the minimal responder's too), and the minimal responder's HTTP/2 beside them.
//
// zone-nx and zone-wild are random-label floods under the hosted zone (1M distinct names each, a
// fresh name per query): NXDOMAIN and wildcard synthesis, the cheapest attack on an authority.
//
// Latency is measured at 10k q/s; CPU per query at 10k q/s and, for zone answers and hits, also at
// --cpu-qps (below every server's saturation here, where per-wakeup costs are shared by several
// queries). edgedns with `workers: 2` is measured beside it on zone answers and hits.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dnsdistArgs, dnsdistConfig, dnsdistInstalled } from './dnsdist.ts';
import { latenciesFromH2loadLog, latenciesFromVerbose, parseDnsperf, parseH2load, percentile } from './dnsperf.ts';
import { edgednsConfig } from './edgedns.ts';
import { run, stopTools, waitAnswer } from './exec.ts';
import type { GrowthWorkload } from './growth.ts';
import { HIT_SIZES, ZONE_SIZES } from './growth.ts';
import type { Growth, GrowthServer } from './growth-servers.ts';
import { startGrowth } from './growth-servers.ts';
import type { HostileRow } from './hostile.ts';
import { HOSTILE_ATTACKS, formatHostile, runHostile } from './hostile.ts';
import { Processes, cpuOfTree, freePort, rssOfTree } from './procs.ts';
import { unboundConfig, unboundServer } from './unbound.ts';
import type { LoadServer } from './zone-load.ts';
import { formatZoneLoad, measureZoneLoad } from './zone-load.ts';
import { signZone } from '../test/helpers/signed.ts';
import { makeCertificate } from '../test/helpers/tls.ts';
import { query, udpExchange } from '../test/helpers/wire.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] as string) : def;
};
const ROUNDS = Math.min(Number(arg('rounds', '3')), 10);
const SECONDS = Math.min(Number(arg('seconds', '5')), 30);
const KNOWN = [
  'zone',
  'zone-signed',
  'zone-nx',
  'zone-wild',
  'hit',
  'miss',
  'tcp',
  'dot',
  'doh',
  'mix',
  ...(Object.keys(HIT_SIZES) as (keyof typeof HIT_SIZES)[]),
  ...(Object.keys(ZONE_SIZES) as (keyof typeof ZONE_SIZES)[]),
  'load',
  'hostile',
] as const;
/** The 1M-name growth workloads take minutes to set up: asked for by name. */
const BY_NAME_ONLY: readonly string[] = ['hit-1m', 'zone-1m'];
const DEFAULT = KNOWN.filter((w) => !BY_NAME_ONLY.includes(w));
// `default` stands for the default workloads: `--workloads default,hit-1m,zone-1m` is all of them.
const ASKED = arg('workloads', 'default')
  .split(',')
  .flatMap((w) => (w === 'default' ? DEFAULT : [w]));
/** The workloads asked for, in the order of KNOWN (the table's order). */
const WORKLOADS: string[] = KNOWN.filter((w) => ASKED.includes(w));
const ATTACKS = arg('attacks', HOSTILE_ATTACKS.join(',')).split(',');
for (const [what, given, known] of [
  ['workload', ASKED, KNOWN],
  ['attack', ATTACKS, HOSTILE_ATTACKS],
] as const) {
  const bad = given.filter((x) => !(known as readonly string[]).includes(x));
  if (bad.length > 0) throw new Error(`unknown ${what} ${bad.join(', ')}: expected some of ${known.join(', ')}`);
}
/** The dnsperf workloads: all but hostile and load. */
const STANDARD = WORKLOADS.filter((w): w is Workload => w !== 'hostile' && w !== 'load');
const GROWTH = STANDARD.filter((w): w is GrowthWorkload => w in HIT_SIZES || w in ZONE_SIZES);
const FIXED_QPS = 10_000;
const CPU_QPS = Number(arg('cpu-qps', '30000'));
const OUT = process.env.BENCH_REPORT ?? join(ROOT, 'bench-report.json');
// The whole run is bounded: 40 minutes, 20 more with a 1M-name workload (their setup alone takes
// 5 to 10 minutes on a busy 2-core machine).
const DEADLINE = Date.now() + (WORKLOADS.some((w) => BY_NAME_ONLY.includes(w)) ? 60 : 40) * 60_000;

type Workload = Exclude<(typeof KNOWN)[number], 'hostile' | 'load'>;
type Server = 'edgedns' | 'unbound' | 'minimal' | 'dnsdist' | GrowthServer;
/** edgedns with `workers: 2`: measured for the scaling lines, not part of bench-report.json. */
type Measured = Server | 'edgedns-w2';
/** The servers started for every run (the growth workloads have servers of their own). */
type Standard = Exclude<Measured, 'knot'>;
/** A row of bench-report.json for a dnsperf workload (the hostile rows are HostileRow). */
interface Row {
  workload: Workload;
  server: Server;
  qps: number;
  qpsMin: number;
  qpsMax: number;
  avgMs: number | null;
  p99Ms: number | null;
  cpuPer1k: number | null;
  rssMb: number;
}
const dir = mkdtempSync(join(tmpdir(), 'edgedns-bench-'));
const procs = new Processes();
const log = (m: string): void => void process.stderr.write(`[bench] ${m}\n`);

const cleanup = (): void => {
  stopTools();
  procs.killAll();
  // The growth workloads write zone and query files of a million lines: never leave them behind.
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

const start = (cmd: string, argv: string[]): ChildProcess => procs.start(cmd, argv);
const cpu = cpuOfTree;
const rss = rssOfTree;

// --- data files ------------------------------------------------------------------------------
const zoneNames = [
  'www.example.test A',
  'example.test MX',
  'mail.example.test A',
  'www.example.test AAAA',
  'example.test SOA',
  'ns1.example.test A',
  'alias.example.test A',
  'x.wild.example.test A',
];
writeFileSync(join(dir, 'zone.txt'), `${zoneNames.join('\n')}\n`);
/** The signed zone (zone-signed): positive answers, NXDOMAIN, NODATA, a wildcard, a referral. */
const signed = WORKLOADS.includes('zone-signed') ? signZone(dir, 'signed3.test.', 'nsec3') : null;
const signedNames = [
  'www.signed3.test A',
  'signed3.test DNSKEY',
  'signed3.test SOA',
  'mail.signed3.test AAAA',
  'alias.signed3.test A',
  'x.wild.signed3.test A',
  'nothere.signed3.test A',
  'www.signed3.test MX',
  'host.secure.signed3.test A',
];
writeFileSync(join(dir, 'zone-signed.txt'), `${signedNames.join('\n')}\n`);
const hits = Array.from({ length: 1000 }, (_, i) => `h${i}.bench.test A`);
writeFileSync(join(dir, 'hit.txt'), `${hits.join('\n')}\n`);
/** 1M distinct random labels under `suffix`, written once: dnsperf reads the file in order. */
const RANDOM_NAMES = 1_000_000;
const randomFiles = new Map<string, string>();
function randomNamesFile(suffix: string): string {
  const known = randomFiles.get(suffix);
  if (known) return known;
  const f = join(dir, `random-${suffix}.txt`);
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const lines: string[] = [];
  for (let i = 0; i < RANDOM_NAMES; i++) {
    let label = '';
    for (let j = 0; j < 12; j++) label += alphabet[Math.floor(Math.random() * alphabet.length)];
    // The index keeps every name distinct even if two random labels collide.
    lines.push(`${label}${i.toString(36)}.${suffix} A`);
  }
  writeFileSync(f, `${lines.join('\n')}\n`);
  randomFiles.set(suffix, f);
  return f;
}
let missRound = 0;
function missFile(n: number): string {
  const f = join(dir, `miss-${missRound++}.txt`);
  writeFileSync(f, `${Array.from({ length: n }, (_, i) => `m${missRound}-${i}.bench.test A`).join('\n')}\n`);
  return f;
}
function mixFile(n: number): string {
  const f = join(dir, `mix-${missRound++}.txt`);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = i % 20;
    if (r < 17) lines.push(hits[i % hits.length] as string);
    else if (r < 19) lines.push(`x${missRound}-${i}.bench.test A`);
    else lines.push(`nx${i}.example.test A`);
  }
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
}

/** The standard workloads: start the servers, measure them in rounds, summarise. */
async function standardRun(): Promise<{ report: Row[]; lines: string[] }> {
  // --- processes -------------------------------------------------------------------------------
  const upstreamPort = await freePort();
  const unboundPort = await freePort();
  const edgePort = await freePort();
  const edge2Port = await freePort();
  const minimalPort = await freePort();
  /** The minimal responder's forwarder: the miss workload's floor on Node. */
  const minimalFwdPort = await freePort();
  const dnsdistPort = await freePort();
  const encrypted = WORKLOADS.includes('dot') || WORKLOADS.includes('doh');
  const cert = encrypted ? makeCertificate(dir, 'dns.example.test') : null;
  /** The DoT and DoH ports of edgedns and Unbound, and the minimal responder's DoH. */
  const enc = {
    edgedns: { dot: await freePort(), doh: await freePort() },
    unbound: { dot: await freePort(), doh: await freePort() },
    minimal: { dot: 0, doh: await freePort() },
  };
  // The upstream: Unbound answering every name under bench.test (a redirect zone), on loopback.
  writeFileSync(
    join(dir, 'upstream.conf'),
    `${unboundServer({ port: upstreamPort, dir })}  num-threads: 1
    module-config: "iterator"
    so-rcvbuf: 4m
    local-zone: "test." nodefault
    local-zone: "bench.test." redirect
    local-data: "bench.test. 3600 IN A 192.0.2.1"
  `,
  );
  writeFileSync(
    join(dir, 'unbound.conf'),
    unboundConfig({
      port: unboundPort,
      dir,
      zoneFile: join(ROOT, 'zones', 'example.test.zone'),
      zone: 'example.test.',
      upstreamPort,
      signed: signed && { zone: signed.origin, zoneFile: signed.file },
    }) +
      (cert
        ? `server:
  interface: 127.0.0.1@${enc.unbound.dot}
  interface: 127.0.0.1@${enc.unbound.doh}
  tls-port: ${enc.unbound.dot}
  https-port: ${enc.unbound.doh}
  tls-service-key: "${cert.key}"
  tls-service-pem: "${cert.cert}"
  http-notls-downstream: no
`
        : ''),
  );
  for (const [file, port, workers] of [
    ['edgedns.yaml', edgePort, 1],
    ['edgedns-w2.yaml', edge2Port, 2],
  ] as const) {
    const extra =
      cert && workers === 1
        ? [
            `dot: { listen: ["127.0.0.1:${enc.edgedns.dot}"] }`,
            `doh: { listen: ["127.0.0.1:${enc.edgedns.doh}"] }`,
            `tls: { certFile: ${JSON.stringify(cert.cert)}, keyFile: ${JSON.stringify(cert.key)} }`,
          ]
        : [];
    const zoneFiles = signed ? [{ file: signed.file, origin: signed.origin }] : [];
    writeFileSync(
      join(dir, file),
      edgednsConfig({ port, workers, zonesDir: join(ROOT, 'zones'), zoneFiles, upstreamPort, extra }),
    );
  }
  const withDnsdist = (WORKLOADS.includes('hit') || WORKLOADS.includes('miss')) && dnsdistInstalled();
  if (!withDnsdist && (WORKLOADS.includes('hit') || WORKLOADS.includes('miss')))
    log('dnsdist is not installed: hit and miss without it');
  writeFileSync(join(dir, 'dnsdist.conf'), dnsdistConfig({ port: dnsdistPort, upstreamPort }));
  start('unbound', ['-d', '-c', join(dir, 'upstream.conf')]);
  const servers: Partial<Record<Standard, { port: number; proc: ChildProcess }>> = {
    ...(withDnsdist && {
      dnsdist: { port: dnsdistPort, proc: start('dnsdist', dnsdistArgs(join(dir, 'dnsdist.conf'))) },
    }),
    unbound: { port: unboundPort, proc: start('unbound', ['-d', '-c', join(dir, 'unbound.conf')]) },
    edgedns: {
      port: edgePort,
      proc: start(process.execPath, [join(ROOT, 'dist', 'main.js'), 'serve', '--config', join(dir, 'edgedns.yaml')]),
    },
    'edgedns-w2': {
      port: edge2Port,
      proc: start(process.execPath, [join(ROOT, 'dist', 'main.js'), 'serve', '--config', join(dir, 'edgedns-w2.yaml')]),
    },
  };
  await waitAnswer(upstreamPort, 'a.bench.test');
  // dnsdist answers only what the upstream does: a bench.test name.
  for (const [s, t] of Object.entries(servers)) await waitAnswer(t.port, s === 'dnsdist' ? 'a.bench.test' : undefined);
  // The minimal responder answers each zone and hit question with the bytes edgedns answers it with
  // (asked here as dnsperf asks: RD, no EDNS), so that the ceiling sends the same answers.
  const answers: string[] = [];
  for (const line of [...zoneNames, ...hits]) {
    const [name, type] = line.split(' ') as [string, string];
    const a = await udpExchange(edgePort, query(name, type), 5000);
    if (!a) throw new Error(`edgedns did not answer ${line}: no answers for the minimal responder`);
    answers.push(a.toString('hex'));
  }
  writeFileSync(join(dir, 'minimal-answers.json'), JSON.stringify(answers));
  servers.minimal = {
    port: minimalPort,
    proc: start(process.execPath, [
      '--import',
      'tsx',
      join(ROOT, 'bench', 'minimal.ts'),
      String(minimalPort),
      ...(cert ? [String(enc.minimal.doh), cert.cert, cert.key] : []),
      '--forward',
      String(minimalFwdPort),
      String(upstreamPort),
      '--answers',
      join(dir, 'minimal-answers.json'),
    ]),
  };
  await waitAnswer(minimalPort);
  log(
    `servers up: edgedns :${edgePort}, edgedns workers 2 :${edge2Port}, unbound :${unboundPort}, minimal :${minimalPort}, ${withDnsdist ? `dnsdist :${dnsdistPort}, ` : ''}upstream :${upstreamPort}`,
  );
  const growth: Growth | null =
    GROWTH.length > 0 ? await startGrowth({ workloads: GROWTH, dir, root: ROOT, upstreamPort, procs, log }) : null;

  // Warm the caches with the hit names (each worker has a cache of its own: several passes), then
  // every server for a few seconds so that no measurement pays for JIT compilation.
  for (const s of ['edgedns', 'edgedns-w2', 'unbound', 'dnsdist'] as const) {
    const t = servers[s];
    if (t)
      await run(
        'dnsperf',
        ['-s', '127.0.0.1', '-p', String(t.port), '-d', join(dir, 'hit.txt'), '-n', '4', '-c', '4'],
        60_000,
      );
  }
  for (const s of Object.values(servers))
    await run(
      'dnsperf',
      ['-s', '127.0.0.1', '-p', String(s.port), '-d', join(dir, 'hit.txt'), '-l', '3', '-c', '4'],
      60_000,
    );

  interface Round {
    qps: number;
    avgMs: number;
    p99Ms: number | null;
    cpuPer1k: number;
    /** CPU per 1k queries at CPU_QPS (zone and hit), else null. */
    cpuHighPer1k: number | null;
    rssMb: number;
  }

  const isGrowth = (w: Workload): w is GrowthWorkload => w in HIT_SIZES || w in ZONE_SIZES;
  /** The server measured as `s` in workload `w`: a growth workload's own, else the run's. */
  const targetFor = (w: Workload, s: Measured): { port: number; proc: ChildProcess } => {
    const t = isGrowth(w) ? growth?.targets.get(`${w}|${s}`) : s === 'knot' ? undefined : servers[s];
    if (!t) throw new Error(`no server ${s} for ${w}`);
    return t;
  };
  /** Where `s` answers workload `w`: its DoT or DoH port for those, the minimal forwarder's for miss, else its UDP/TCP port. */
  const portFor = (w: Workload, s: Measured): number =>
    (w === 'dot' || w === 'doh') && (s === 'edgedns' || s === 'unbound' || s === 'minimal')
      ? enc[s][w]
      : w === 'miss' && s === 'minimal'
        ? minimalFwdPort
        : targetFor(w, s).port;
  const serversFor = (w: Workload): Server[] => {
    if (isGrowth(w)) return growth?.servers(w).filter((s) => growth.targets.has(`${w}|${s}`)) ?? [];
    const dnsdist = withDnsdist && (w === 'hit' || w === 'miss') ? (['dnsdist'] as const) : [];
    return w === 'zone' || w === 'hit' || w === 'doh' || w === 'miss'
      ? ['edgedns', 'unbound', 'minimal', ...dnsdist]
      : ['edgedns', 'unbound', ...dnsdist];
  };
  const measuredFor = (w: Workload): Measured[] =>
    w === 'zone' || w === 'hit' ? [...serversFor(w), 'edgedns-w2'] : serversFor(w);
  const dataFor = (w: Workload, n: number): string => {
    if (isGrowth(w)) return growth?.queries.get(w) ?? '';
    if (w === 'zone') return join(dir, 'zone.txt');
    if (w === 'zone-signed') return join(dir, 'zone-signed.txt');
    if (w === 'dot') return join(dir, 'zone.txt');
    if (w === 'zone-nx') return randomNamesFile('example.test');
    if (w === 'zone-wild') return randomNamesFile('wild.example.test');
    return w === 'hit' || w === 'tcp' ? join(dir, 'hit.txt') : w === 'miss' ? missFile(n) : mixFile(n);
  };
  /** A direct measurement of the upstream for the miss workload: the ceiling for forwarding. */
  let upstreamDirectQps: number[] = [];

  /** CPU milliseconds per 1k queries while offering `qps` for SECONDS; also returns dnsperf's output. */
  async function cpuAt(
    w: Workload,
    s: Measured,
    qps: number,
    extra: string[],
  ): Promise<{ per1k: number; out: string }> {
    const { proc } = targetFor(w, s);
    const port = portFor(w, s);
    const c0 = cpu(proc.pid as number);
    const out = await run(
      'dnsperf',
      [
        '-s',
        '127.0.0.1',
        '-p',
        String(port),
        '-d',
        dataFor(w, qps * SECONDS + 1000),
        '-l',
        String(SECONDS),
        '-Q',
        String(qps),
        '-c',
        '4',
        ...extra,
      ],
      (SECONDS + 30) * 1000,
    );
    const c1 = cpu(proc.pid as number);
    return { per1k: ((c1 - c0) / Math.max(1, parseDnsperf(out).completed)) * 1e6, out };
  }

  /** h2load for SECONDS against `port` with the zone questions as GET URIs; latencies of 2xx answers. */
  async function h2load(port: number, extra: string[]): Promise<{ qps: number; completed: number; ms: number[] }> {
    const uris = join(dir, `doh-${port}.txt`);
    writeFileSync(
      uris,
      zoneNames
        .map((line) => {
          const [name, type] = line.split(' ') as [string, string];
          return `https://127.0.0.1:${port}/dns-query?dns=${query(name, type, { id: 0 }).toString('base64url')}\n`;
        })
        .join(''),
    );
    const logFile = join(dir, `h2load-${port}.log`);
    const out = await run(
      'h2load',
      ['-D', String(SECONDS), '-i', uris, '--log-file', logFile, ...extra],
      (SECONDS + 30) * 1000,
    );
    const sum = parseH2load(out);
    return { qps: sum.qps, completed: sum.completed, ms: latenciesFromH2loadLog(readFileSync(logFile, 'utf8')) };
  }

  /** doh: the most h2load gets (8 connections, 25 streams each), then 10k q/s (4 × 2,500) for latency and CPU. */
  async function measureDoh(s: Measured): Promise<Round> {
    const pid = targetFor('doh', s).proc.pid as number;
    const port = portFor('doh', s);
    const max = await h2load(port, ['-c', '8', '-m', '25']);
    const c0 = cpu(pid);
    const fixed = await h2load(port, ['-c', '4', '-m', '25', '--rps', String(FIXED_QPS / 4)]);
    const c1 = cpu(pid);
    const avg = fixed.ms.reduce((a, b) => a + b, 0) / Math.max(1, fixed.ms.length);
    return {
      qps: max.qps,
      avgMs: avg,
      p99Ms: percentile(fixed.ms, 99),
      cpuPer1k: ((c1 - c0) / Math.max(1, fixed.completed)) * 1e6,
      cpuHighPer1k: null,
      rssMb: rss(pid),
    };
  }

  async function measure(w: Workload, s: Measured): Promise<Round> {
    if (w === 'doh') return measureDoh(s);
    const { proc } = targetFor(w, s);
    const port = portFor(w, s);
    const pid = proc.pid as number;
    // zone-signed: EDNS with DO=1 on every query (dnsperf -D).
    const mode =
      w === 'tcp'
        ? ['-m', 'tcp', '-O', 'num-queries-per-conn=1000']
        : w === 'zone-signed'
          ? ['-D']
          : w === 'dot'
            ? ['-m', w]
            : [];
    // Max QPS: 8 clients, 200 outstanding.
    const max = parseDnsperf(
      await run(
        'dnsperf',
        [
          '-s',
          '127.0.0.1',
          '-p',
          String(port),
          '-d',
          dataFor(w, 60_000 * SECONDS),
          '-l',
          String(SECONDS),
          '-c',
          '8',
          '-q',
          '200',
          ...mode,
        ],
        (SECONDS + 30) * 1000,
      ),
    );
    // A fixed offered load below saturation: latency (p99 from per-query lines) and CPU per query.
    const fixed = await cpuAt(w, s, FIXED_QPS, ['-v', ...mode]);
    const f = parseDnsperf(fixed.out);
    const high = w === 'zone' || w === 'hit' ? (await cpuAt(w, s, CPU_QPS, mode)).per1k : null;
    return {
      qps: max.qps,
      avgMs: f.avgMs,
      p99Ms: percentile(latenciesFromVerbose(fixed.out), 99),
      cpuPer1k: fixed.per1k,
      cpuHighPer1k: high,
      rssMb: rss(pid),
    };
  }

  const results = new Map<string, Round[]>();
  for (let r = 0; r < ROUNDS && Date.now() < DEADLINE; r++) {
    for (const w of STANDARD) {
      // Alternate the order each round so no server always runs on a warmer machine.
      const order = r % 2 === 0 ? measuredFor(w) : [...measuredFor(w)].reverse();
      for (const s of order) {
        // A growth server that stopped answering costs its row, not the run.
        const m = await measure(w, s).catch((e: unknown) => {
          if (!isGrowth(w)) throw e;
          log(`round ${r + 1} ${w} ${s}: ${(e as Error).message}`);
          return null;
        });
        if (!m) continue;
        results.set(`${w}|${s}`, [...(results.get(`${w}|${s}`) ?? []), m]);
        log(
          `round ${r + 1} ${w} ${s}: ${Math.round(m.qps)} q/s, p99 ${m.p99Ms?.toFixed(3)} ms, ${m.cpuPer1k.toFixed(1)} ms CPU per 1k${m.cpuHighPer1k === null ? '' : ` (${m.cpuHighPer1k.toFixed(1)} at ${CPU_QPS} q/s)`}, RSS ${Math.round(m.rssMb)} MB`,
        );
      }
      if (w === 'miss') {
        const d = parseDnsperf(
          await run(
            'dnsperf',
            [
              '-s',
              '127.0.0.1',
              '-p',
              String(upstreamPort),
              '-d',
              missFile(60_000 * SECONDS),
              '-l',
              String(SECONDS),
              '-c',
              '8',
              '-q',
              '200',
            ],
            (SECONDS + 30) * 1000,
          ),
        );
        upstreamDirectQps = [...upstreamDirectQps, d.qps];
      }
    }
  }

  const med = (xs: number[]): number => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length % 2
      ? (v[(v.length - 1) / 2] as number)
      : ((v[v.length / 2 - 1] as number) + (v[v.length / 2] as number)) / 2;
  };
  const round2 = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);
  const report: Row[] = [];
  for (const w of STANDARD) {
    for (const s of serversFor(w)) {
      const rs = results.get(`${w}|${s}`) ?? [];
      if (rs.length === 0) continue;
      const q = rs.map((x) => x.qps);
      report.push({
        workload: w,
        server: s,
        qps: Math.round(med(q)),
        qpsMin: Math.round(Math.min(...q)),
        qpsMax: Math.round(Math.max(...q)),
        avgMs: round2(med(rs.map((x) => x.avgMs))),
        p99Ms: round2(med(rs.flatMap((x) => (x.p99Ms === null ? [] : [x.p99Ms])))),
        cpuPer1k: round2(med(rs.map((x) => x.cpuPer1k))),
        rssMb: Math.round(med(rs.map((x) => x.rssMb))),
      });
    }
  }

  // Cache memory per entry, 1M typical answers.
  const mem = JSON.parse(
    await run(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench', 'cache-memory.ts'), '1000000'],
      300_000,
    ),
  ) as { countedPerEntry: number; heapPerEntry: number; arrayBuffersPerEntry: number; rssPerEntry: number };

  const get = (w: Workload, s: Server) => report.find((x) => x.workload === w && x.server === s);
  const ratio = (a?: number | null, b?: number | null): string => (a && b ? (a / b).toFixed(2) : '-');
  const lines = [
    'workload    server   qps (median [min-max])   avg ms@10k  p99 ms@10k  CPU ms/1k  RSS MB  ×unbound  ×minimal',
  ];
  for (const x of report) {
    const qps = `${x.qps} [${x.qpsMin}-${x.qpsMax}]`;
    lines.push(
      `${x.workload.padEnd(11)} ${x.server.padEnd(8)} ${qps.padEnd(24)} ${String(x.avgMs).padEnd(11)} ${String(x.p99Ms).padEnd(11)} ${String(x.cpuPer1k).padEnd(10)} ${String(x.rssMb).padEnd(7)} ${x.server === 'edgedns' ? ratio(x.qps, get(x.workload, 'unbound')?.qps) : ''}${x.server === 'edgedns' ? `  ${ratio(x.qps, get(x.workload, 'minimal')?.qps)}` : ''}`,
    );
  }
  if (upstreamDirectQps.length)
    lines.push(
      `miss: the upstream queried directly: ${Math.round(med(upstreamDirectQps))} q/s; edgedns/direct ${ratio(get('miss', 'edgedns')?.qps, med(upstreamDirectQps))}`,
    );
  const medOf = (w: Workload, s: Measured, f: (r: Round) => number | null): number | null => {
    const xs = (results.get(`${w}|${s}`) ?? []).flatMap((r) => (f(r) === null ? [] : [f(r) as number]));
    return xs.length > 0 ? med(xs) : null;
  };
  for (const w of ['zone', 'hit'] as const) {
    const e = medOf(w, 'edgedns', (r) => r.cpuHighPer1k);
    const u = medOf(w, 'unbound', (r) => r.cpuHighPer1k);
    const m = medOf(w, 'minimal', (r) => r.cpuHighPer1k);
    const d = medOf(w, 'dnsdist', (r) => r.cpuHighPer1k);
    if (e === null) continue;
    lines.push(
      `CPU per query, ${w} at ${FIXED_QPS} q/s: edgedns/unbound ${ratio(get(w, 'edgedns')?.cpuPer1k, get(w, 'unbound')?.cpuPer1k)}; at ${CPU_QPS} q/s: edgedns ${e.toFixed(1)}, unbound ${u?.toFixed(1)}, minimal ${m?.toFixed(1)}${d === null ? '' : `, dnsdist ${d.toFixed(1)}`} ms/1k, edgedns/unbound ${ratio(e, u)}, minimal/unbound ${ratio(m, u)}`,
    );
  }
  const missCpu = (s: Server): number | null | undefined => get('miss', s)?.cpuPer1k;
  if (missCpu('edgedns'))
    lines.push(
      `CPU per miss at ${FIXED_QPS} q/s: edgedns ${missCpu('edgedns')}, unbound ${missCpu('unbound')}, minimal forwarder ${missCpu('minimal')}${withDnsdist ? `, dnsdist ${missCpu('dnsdist')}` : ''} ms/1k; edgedns/unbound ${ratio(missCpu('edgedns'), missCpu('unbound'))}, edgedns/minimal ${ratio(missCpu('edgedns'), missCpu('minimal'))}, minimal/unbound ${ratio(missCpu('minimal'), missCpu('unbound'))}`,
    );
  for (const w of ['zone', 'hit'] as const) {
    const one = medOf(w, 'edgedns', (r) => r.qps);
    const two = medOf(w, 'edgedns-w2', (r) => r.qps);
    if (one === null || two === null) continue;
    lines.push(
      `workers, ${w}: 1 worker ${Math.round(one)} q/s, 2 workers ${Math.round(two)} q/s (×${ratio(two, one)}); CPU at ${FIXED_QPS} q/s ${medOf(w, 'edgedns', (r) => r.cpuPer1k)?.toFixed(1)} → ${medOf(w, 'edgedns-w2', (r) => r.cpuPer1k)?.toFixed(1)} ms/1k`,
    );
  }
  const signedQps = get('zone-signed', 'edgedns')?.qps;
  if (signedQps !== undefined)
    lines.push(
      `signed zone, DO=1: edgedns ${signedQps} q/s, ×${ratio(signedQps, get('zone', 'edgedns')?.qps)} of zone (unsigned, no DO); CPU at ${FIXED_QPS} q/s ${get('zone-signed', 'edgedns')?.cpuPer1k} against ${get('zone', 'edgedns')?.cpuPer1k} ms/1k`,
    );
  for (const w of ['zone-nx', 'zone-wild'] as const) {
    const x = get(w, 'edgedns')?.qps;
    if (x !== undefined)
      lines.push(
        `random names, ${w}: edgedns ${x} q/s, ×${ratio(x, get('zone', 'edgedns')?.qps)} of zone (precompiled answers) in the same run`,
      );
  }
  for (const w of ['hit', 'miss'] as const) {
    const d = get(w, 'dnsdist')?.qps;
    if (d !== undefined)
      lines.push(
        `dnsdist, ${w}: ${d} q/s; edgedns/dnsdist ${ratio(get(w, 'edgedns')?.qps, d)}, CPU at ${FIXED_QPS} q/s edgedns/dnsdist ${ratio(get(w, 'edgedns')?.cpuPer1k, get(w, 'dnsdist')?.cpuPer1k)}`,
      );
  }
  lines.push(...growthLines(report));
  lines.push(
    `cache memory, 1M A answers, bytes per entry: counted ${mem.countedPerEntry}, heap ${mem.heapPerEntry}, arrayBuffers ${mem.arrayBuffersPerEntry}, RSS ${mem.rssPerEntry}`,
  );
  return { report, lines };
}

/**
 * The growth curves: per server, QPS at each size as a ratio of the smallest, and the RSS each
 * added name costs (the largest size's server against the smallest's).
 */
function growthLines(report: readonly Row[]): string[] {
  const lines: string[] = [];
  for (const [kind, sizes, what] of [
    ['hit', HIT_SIZES, 'cached name'],
    ['zone', ZONE_SIZES, 'zone name'],
  ] as const) {
    for (const s of ['edgedns', 'unbound', 'knot'] as const) {
      const pts = Object.entries(sizes).flatMap(([w, n]) => {
        const row = report.find((x) => x.workload === w && x.server === s);
        return row ? [{ w, n, row }] : [];
      });
      const [first] = pts;
      const last = pts[pts.length - 1];
      if (!first || !last) continue;
      const curve = pts.map(
        (p) =>
          `${p.w.slice(kind.length + 1)} ${p.row.qps}${p === first ? '' : ` (×${(p.row.qps / first.row.qps).toFixed(2)})`}`,
      );
      const perName =
        last.n > first.n ? Math.round(((last.row.rssMb - first.row.rssMb) * 1048576) / (last.n - first.n)) : null;
      lines.push(
        `growth, ${kind}, ${s}: ${curve.join(', ')} q/s${perName === null ? '' : `; RSS ${perName} bytes per ${what} (${last.w} against ${first.w})`}`,
      );
    }
  }
  return lines;
}

/** A row of bench-report.json for the load workload: how long until a server answers a zone of N records, its RSS then. */
interface LoadRow {
  workload: string;
  server: LoadServer;
  seconds: number;
  secondsMin: number;
  secondsMax: number;
  cpuSeconds: number;
  rssMb: number;
}

/** load-100k, load-1m: bench/zone-load.ts, ROUNDS rounds with the servers alternating, within the run's deadline. */
async function zoneLoadRows(): Promise<{ rows: LoadRow[]; table: string }> {
  const left = DEADLINE - Date.now();
  if (left <= 0) return { rows: [], table: 'load: the run is past its deadline: no load rows' };
  const measured = await measureZoneLoad({ rounds: ROUNDS, timeoutMs: Math.min(300_000, left), log });
  const rows = measured.map(({ workload, server, seconds, cpuSeconds, rssMb, rounds }) => ({
    workload,
    server,
    seconds: Math.round(seconds * 100) / 100,
    secondsMin: Math.round(Math.min(...rounds.map((m) => m.seconds)) * 100) / 100,
    secondsMax: Math.round(Math.max(...rounds.map((m) => m.seconds)) * 100) / 100,
    cpuSeconds: Math.round(cpuSeconds * 100) / 100,
    rssMb: Math.round(rssMb),
  }));
  return { rows, table: formatZoneLoad(measured) };
}

const standard = STANDARD.length > 0 ? await standardRun() : { report: [], lines: [] };
// Nothing else runs beside a zone load or an attacked node: the standard servers are stopped first.
procs.killAll();
const load = WORKLOADS.includes('load') ? await zoneLoadRows() : { rows: [], table: '' };
const hostile: HostileRow[] = WORKLOADS.includes('hostile')
  ? await runHostile({ only: ATTACKS, deadline: DEADLINE, log, track: (c) => procs.adopt(c) })
  : [];
writeFileSync(OUT, `${JSON.stringify([...standard.report, ...load.rows, ...hostile], null, 2)}\n`);
const lines = [
  ...standard.lines,
  ...(load.table ? ['', load.table] : []),
  ...(hostile.length > 0 ? ['', ...formatHostile(hostile)] : []),
];
process.stdout.write(`${lines.join('\n')}\n\nwritten to ${OUT}\n`);
cleanup();
