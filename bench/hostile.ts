// The bench's hostile table: each attack of the hostile tests (test/helpers/attacks.ts, the same
// code) against a fresh edgedns (`workers: 1`, default limits unless a row says otherwise), bounded
// in time, while a legitimate client asks 100 times a second over UDP from 127.0.0.2 (with DNS
// cookies; www.example.test, or in the water-torture rows a forwarded name already cached). Per attack:
// the client's success rate and latency, the node's RSS, whether it stayed announced, and one
// figure of the attack's own. Loopback only; every node is stopped by its pid.

import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  portZero,
  randomNames,
  reflection,
  reloadFlood,
  tcpSegments,
  tcpSlots,
  tcpTrickle,
  tcpUnread,
  uniqueNames,
  writeBigZone,
  zoneNames,
} from '../test/helpers/attacks.ts';
import type { AttackOutcome, HostileNode } from '../test/helpers/hostile.ts';
import { metric, peakSampler, runUnderAttack, startNode, synthAnswers } from '../test/helpers/hostile.ts';
import { parseProm, value } from '../test/helpers/prom.ts';
import { ZONES } from '../test/helpers/server.ts';
import type { Mode } from '../test/helpers/upstream.ts';
import { FakeUpstream } from '../test/helpers/upstream.ts';
import { query, udpExchange } from '../test/helpers/wire.ts';
import { cpuSecondsFromStat } from './dnsperf.ts';

/** One row of the table, as written to bench-report.json. */
export interface HostileRow {
  workload: 'hostile';
  server: 'edgedns';
  attack: string;
  /** How the attack was run, and what differs from the test or the defaults. */
  note: string;
  seconds: number;
  legitSent: number;
  /** Answered within 1 s / sent. */
  legitRate: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssAfterMb: number;
  /** Alive, the same process, ready and UP after the attack, never withdrawn. */
  announced: boolean;
  /** When not announced, which of those failed ("flaps 1", "not ready"…). */
  notAnnounced: string[];
  /** The attack's own figure (refusals, drops, template answers…), or what went wrong. */
  figure: string;
}

/** What a case hands back: how the node fared, and the attack's own figure. */
type Measured = [AttackOutcome<unknown>, string];

interface Case {
  attack: string;
  note: string;
  /** YAML lines for the node's config. */
  extra?: (up: FakeUpstream) => string[];
  /** Zones of its own (a folder to fill), instead of zones/. */
  zones?: (dir: string) => void;
  run(node: HostileNode, up: FakeUpstream, zonesDir: string): Promise<Measured>;
}

/** Every attack runs at least this long (health falls after 3 failed probes a second apart). */
const MIN_MS = 8000;
/** The node's RSS "after" is read this long after the legitimate client's last answer. */
const SETTLE_MS = 2000;
/** The reload case's zone, as the test's. */
const RELOAD_RECORDS = 50_000;
/** The zone-names case's zone, as the test's: more names than the compiled answers keep (2 × 16,384). */
const ZONE_NAMES_RECORDS = 200_000;

const under = <T>(node: HostileNode, attack: () => Promise<T>, maxMs = 60_000): Promise<AttackOutcome<T>> =>
  runUnderAttack(node, attack, { minMs: MIN_MS, maxMs, settleMs: SETTLE_MS });
/** `under`, with the legitimate client asking `name` instead of www.example.test. */
const underAsking = <T>(
  node: HostileNode,
  name: string,
  attack: () => Promise<T>,
  maxMs = 60_000,
): Promise<AttackOutcome<T>> => runUnderAttack(node, attack, { minMs: MIN_MS, maxMs, settleMs: SETTLE_MS, name });

/** Metrics of the node by name (label sets summed), or null for a metric it does not export. */
async function metricsOf(
  adminPort: number,
  names: readonly (readonly [string, Record<string, string>?])[],
): Promise<(number | null)[]> {
  const samples = parseProm(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text());
  return names.map(([n, labels]) => (samples.some((x) => x.name === n) ? value(samples, n, labels) : null));
}
const orNa = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : String(x));

const forwarding = (up: FakeUpstream): string[] => [
  `upstreams: ["127.0.0.1:${up.port}"]`,
  'recursion: { allow: ["127.0.0.0/8"] }',
];
const cpuOf = (pid: number): number => cpuSecondsFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));

/** Reflection: queries per attack, their rate, and the answer asked for (about 700 bytes, EDNS 1232). */
const AMP_QUERIES = 25_000;
const AMP_RATE = 2500;
const AMP_NAME = 'big.example.test';
/** Water torture: unique names a second for 10 s; the upstream's delay when it answers. */
const TORTURE_RATE = 2000;
const TORTURE_DELAY_MS = 100;
/** The legitimate client's name in the water-torture rows: forwarded, and in the cache before. */
const HOT_NAME = 'www.example.org';
const PORT_QUERIES = 1000;

/** One source (127.0.0.1, the victim an attacker spoofs) asking for a big answer, the limiter on or off. */
function amplification(on: boolean): Case {
  return {
    attack: on ? 'amp-rrl-on' : 'amp-rrl-off',
    note: `${AMP_QUERIES.toLocaleString('en')} identical ${AMP_NAME} TXT queries (EDNS 1232) from 127.0.0.1, the spoofed victim, ${AMP_RATE.toLocaleString('en')} a second; rate limiter ${on ? 'on (the defaults: 20/s, slip 2, /24)' : 'off (rateLimit: null)'}`,
    ...(on ? {} : { extra: () => ['rateLimit: null'] }),
    run: async (node) => {
      const o = await under(node, () =>
        reflection({
          port: node.srv.port,
          from: '127.0.0.1',
          name: AMP_NAME,
          type: 'TXT',
          udpSize: 1232,
          count: AMP_QUERIES,
          rate: AMP_RATE,
          ms: 12_000,
        }),
      );
      const a = o.attack;
      const limited = async (action: string): Promise<number> =>
        metric(node.adminPort, 'edgedns_rate_limited_total', { action, mode: 'enforce' });
      return [
        o,
        `amplification ×${(a.bytesReceived / a.bytesSent).toFixed(2)} (${a.bytesReceived} B to the victim / ${a.bytesSent} B from it); ${a.answers}/${a.sent} answered, ${a.truncated} TC=1; limiter dropped ${await limited('drop')}, slipped ${await limited('slip')}`,
      ];
    },
  };
}

/**
 * Water torture: unique names under one zone (flood.example.org) to forward, against an upstream
 * that answers slowly or not at all, while the legitimate client asks a name already cached.
 */
function waterTorture(mode: Extract<Mode, 'answer' | 'drop'>): Case {
  return {
    attack: mode === 'answer' ? 'torture' : 'torture-down',
    note: `${TORTURE_RATE.toLocaleString('en')} q/s of unique names under flood.example.org for 10 s from 127.0.0.3, the upstream ${mode === 'answer' ? `answering (NXDOMAIN) after ${TORTURE_DELAY_MS} ms` : 'black-holed (drops all)'}; the legitimate client asks ${HOT_NAME} (cached before)`,
    extra: forwarding,
    run: async (node, up) => {
      const hot = await udpExchange(node.srv.port, query(HOT_NAME, 'A', { id: 7 }));
      if (!hot || ((hot[3] as number) & 0x0f) !== 0 || hot.readUInt16BE(6) === 0)
        throw new Error(`${HOT_NAME} was not answered before the attack`);
      const q0 = up.udpQueries;
      // Queries the upstream holds unanswered (its delay) at most: what reached it at once.
      const base = up.outstanding;
      up.peakOutstanding = base;
      const inFlight = peakSampler(
        async () => (await metricsOf(node.adminPort, [['edgedns_upstream_queries_in_flight']]))[0] ?? 0,
        0,
      );
      let o: AttackOutcome<{ sent: number; answered: number }>;
      let peak: number;
      try {
        up.mode = mode;
        up.delayMs = mode === 'answer' ? TORTURE_DELAY_MS : 0;
        o = await underAsking(node, HOT_NAME, () =>
          uniqueNames({ port: node.srv.port, from: '127.0.0.3', ms: 10_000, rate: TORTURE_RATE }),
        );
      } finally {
        up.mode = 'answer';
        up.delayMs = 0;
        peak = inFlight.stop();
      }
      // The legitimate client counts any reply; the node's cache hits say its were real answers.
      const [byInFlight, byZone, failures, present, hits] = await metricsOf(node.adminPort, [
        ['edgedns_fetch_limited_total', { limit: 'in_flight' }],
        ['edgedns_fetch_limited_total', { limit: 'per_zone' }],
        ['edgedns_resolution_failures_cached_total'],
        ['edgedns_upstream_queries_in_flight'],
        ['edgedns_responses_total', { rcode: 'NOERROR', source: 'cache' }],
      ]);
      return [
        o,
        `${o.attack.answered}/${o.attack.sent} flood answered, ${orNa(hits)} NOERROR from the cache (the legitimate client's); upstream saw ${up.udpQueries - q0}${mode === 'answer' ? ` (at most ${up.peakOutstanding - base} at once)` : ''}; fetch limited ${orNa(byInFlight)} in_flight, ${orNa(byZone)} per_zone; failures cached ${orNa(failures)}; in flight peak ${orNa(present === null ? null : peak)} (sampled 5/s)`,
      ];
    },
  };
}

const CASES: Case[] = [
  {
    attack: 'udp-port0',
    note: '3 kinds × 100 datagrams from port 0 (raw socket), 100 ms apart',
    extra: forwarding,
    run: async (node) => {
      const o = await under(node, () => portZero({ port: node.srv.port, count: 100, gapMs: 100 }));
      return [
        o,
        `bad_port drops ${await metric(node.adminPort, 'edgedns_send_errors_total', { transport: 'udp', reason: 'bad_port' })}/${o.attack.sent}`,
      ];
    },
  },
  {
    attack: 'tcp-slots',
    note: '70 clients × 20 idle connections, 2 rounds 6 s apart (default caps 1000, 16/client)',
    run: async (node) => {
      const o = await under(node, () =>
        tcpSlots({
          port: node.srv.port,
          groups: [
            [3, 4],
            [7, 66],
          ],
          perClient: 20,
          rounds: 2,
          pauseMs: 6000,
          maxMs: 20_000,
        }),
      );
      const refused = async (reason: string): Promise<number> =>
        metric(node.adminPort, 'edgedns_tcp_connections_refused_total', { reason });
      return [
        o,
        `${o.attack.connections} opened: refused ${await refused('per_client')} per client, ${await refused('total')} over the total; ${await metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline: 'first_query' })} closed at first_query`,
      ];
    },
  },
  {
    attack: 'tcp-trickle',
    note: '16 connections (8 after a query), 1 byte every 500 ms for 9 s',
    run: async (node) => {
      const o = await under(node, () =>
        tcpTrickle({ port: node.srv.port, from: '127.0.0.3', connections: 16, bytes: 18, gapMs: 500 }),
      );
      const closed = async (deadline: string): Promise<number> =>
        metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline });
      return [
        o,
        `closed at first_query ${await closed('first_query')}, at message ${await closed('message')}; still open at the end ${o.attack.stillOpen}/${o.attack.connections}`,
      ];
    },
  },
  {
    attack: 'tcp-unread',
    note: '4 clients × 4 connections × 2500 pipelined big TXT queries, never read',
    run: async (node) => {
      const o = await under(node, () =>
        tcpUnread({ port: node.srv.port, clients: 4, perClient: 4, queries: 2500, waitMs: 20_000 }),
      );
      const closed = async (deadline: string): Promise<number> =>
        metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline });
      return [
        o,
        `${(o.attack.bytesSent / 1e6).toFixed(1)} MB of queries on ${o.attack.connections} connections; closed by the node at drain ${await closed('drain')}, at idle ${await closed('idle')}`,
      ];
    },
  },
  {
    attack: 'tcp-segments',
    note: '64 KB messages in 1-byte segments on 4 connections, at most 20 s',
    run: async (node) => {
      const pid = node.srv.proc.pid as number; // started, so it has one
      const cpu0 = cpuOf(pid);
      const o = await under(node, () =>
        tcpSegments({ port: node.srv.port, from: '127.0.0.3', connections: 4, maxMs: 20_000 }),
      );
      return [
        o,
        `${o.attack.bytesPerConnection} bytes per connection; node CPU ${(cpuOf(pid) - cpu0).toFixed(2)} s in ${((o.ms + SETTLE_MS) / 1000).toFixed(1)} s`,
      ];
    },
  },
  {
    attack: 'random-names',
    note: '8,000 q/s of new random names under example.test (NXDOMAIN, wildcard, below a cut) for 20 s',
    run: async (node) => {
      const o = await under(node, () =>
        randomNames({ port: node.srv.port, from: '127.0.0.3', ms: 20_000, perTick: 80 }),
      );
      const s = await synthAnswers(node.adminPort);
      return [o, `${o.attack.answered}/${o.attack.sent} answered; ${s.template} from templates, ${s.perName} per name`];
    },
  },
  {
    attack: 'zone-names',
    note: `6,000 q/s of distinct names that exist in a ${ZONE_NAMES_RECORDS / 1000}k-name zone, none asked twice, for 20 s`,
    zones: (dir) => {
      copyFileSync(join(ZONES, 'example.test.zone'), join(dir, 'example.test.zone'));
      writeBigZone(dir, ZONE_NAMES_RECORDS);
    },
    run: async (node) => {
      const compiled = peakSampler(() => metric(node.adminPort, 'edgedns_zone_compiled_nodes'), 0, 500);
      const o = await under(node, () =>
        zoneNames({ port: node.srv.port, from: '127.0.0.3', ms: 20_000, perTick: 60, records: ZONE_NAMES_RECORDS }),
      );
      return [o, `${o.attack.answered}/${o.attack.sent} answered; at most ${compiled.stop()} nodes compiled`];
    },
  },
  {
    attack: 'cache-fill',
    note: '1,000 q/s of unique names to forward for 20 s, fake upstream on loopback, cache.maxBytes 4MiB (as the test)',
    extra: (up) => [...forwarding(up), 'cache: { maxBytes: 4MiB, maxEntries: 1000000 }'],
    run: async (node, up) => {
      const o = await under(node, () =>
        uniqueNames({ port: node.srv.port, from: '127.0.0.3', ms: 20_000, rate: 1000 }),
      );
      const m = async (name: string): Promise<number> => metric(node.adminPort, name);
      return [
        o,
        `${o.attack.answered}/${o.attack.sent} answered, upstream saw ${up.udpQueries}; cache ${((await m('edgedns_cache_bytes')) / 1048576).toFixed(2)} MiB counted, ${await m('edgedns_cache_evictions_total')} evicted`,
      ];
    },
  },
  {
    attack: 'reload-flood',
    note: `20 SIGHUPs 100 ms apart, a ${RELOAD_RECORDS / 1000}k-record zone changed each time (as the test)`,
    zones: (dir) => {
      copyFileSync(join(ZONES, 'example.test.zone'), join(dir, 'example.test.zone'));
      writeBigZone(dir, RELOAD_RECORDS);
    },
    run: async (node, _up, zonesDir) => {
      const soaFile = join(zonesDir, 'soa.inc'); // written by writeBigZone
      const o = await under(node, () =>
        reloadFlood({ srv: node.srv, soaFile, sighups: 20, gapMs: 100, waitMs: 20_000 }),
      );
      const reloads = await metric(node.adminPort, 'edgedns_config_reloads_total', { result: 'ok' });
      return [
        o,
        `20 SIGHUPs → ${reloads} reloads; last serial ${o.attack.served === o.attack.lastSerial ? '' : 'NOT '}served`,
      ];
    },
  },
  amplification(true),
  amplification(false),
  waterTorture('answer'),
  waterTorture('drop'),
  {
    attack: 'query-ports',
    note: `${PORT_QUERIES.toLocaleString('en')} distinct names to forward, 200 a second, then ${PORT_QUERIES.toLocaleString('en')} at once (names in distinct zones, the upstream answering after 300 ms); the fake upstream records the source port of each query`,
    extra: forwarding,
    run: async (node, up) => {
      const first = up.sourcePorts.length;
      const o = await under(node, () =>
        uniqueNames({ port: node.srv.port, from: '127.0.0.3', ms: (PORT_QUERIES / 200) * 1000, rate: 200 }),
      );
      const ports = up.sourcePorts.slice(first);
      const ids = up.ids.slice(first);
      // One after another, ports drawn at random from the kernel's ephemeral range repeat by the
      // birthday bound: n·(1 − (1 − 1/n)^k) distinct of k, about 983 of 1,000 over Linux's 28,232.
      const [lo = 32768, hi = 60999] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
        .trim()
        .split(/\s+/)
        .map(Number);
      const n = hi - lo + 1;
      const expected = n * (1 - (1 - 1 / n) ** ports.length);
      // In flight together, no two share a port: the kernel never hands out one in use.
      const burst = up.sourcePorts.length;
      up.delayMs = 300;
      try {
        await Promise.all(
          Array.from({ length: PORT_QUERIES }, (_, i) =>
            udpExchange(node.srv.port, query(`p${i}.z${i}-ports.example`, 'A', { id: i + 1 }), 5000),
          ),
        );
      } finally {
        up.delayMs = 0;
      }
      const together = new Set(up.sourcePorts.slice(burst)).size;
      return [
        o,
        `${o.attack.answered}/${o.attack.sent} answered; one after another: ${ports.length} upstream queries from ${new Set(ports).size} distinct source ports (random over ${lo}-${hi} gives ≈${expected.toFixed(0)}), ${new Set(ids).size} distinct IDs; ${up.sourcePorts.length - burst} in flight together: ${together} distinct ports`,
      ];
    },
  },
];

/** The names of the attacks, in the order they run. */
export const HOSTILE_ATTACKS = CASES.map((c) => c.attack);

const ms = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);
const mb = (x: number): number => Math.round(x);

/** Run one case on a fresh node; a failure becomes a row that says so (and not announced). */
async function runCase(c: Case, up: FakeUpstream, opts: RunOptions): Promise<HostileRow> {
  const dir = mkdtempSync(join(tmpdir(), 'edgedns-bench-hostile-'));
  let node: HostileNode | undefined;
  try {
    c.zones?.(dir);
    node = await startNode({
      workers: 1,
      extra: c.extra?.(up) ?? [],
      ...(c.zones && { zonesDir: dir }),
      startMs: 60_000,
    });
    opts.track(node.srv.proc);
    const [o, figure] = await c.run(node, up, dir);
    const h = o.health;
    const failed = [
      [!o.alive, 'exited'],
      [!o.samePids, 'process replaced'],
      [!h.ready, 'not ready'],
      [!h.up, 'not UP'],
      [h.flaps !== 0, `flaps ${h.flaps}`],
      [h.workerRestarts !== 0, `worker restarts ${h.workerRestarts}`],
    ] as const;
    const notAnnounced = failed.filter(([bad]) => bad).map(([, what]) => what);
    return {
      workload: 'hostile',
      server: 'edgedns',
      attack: c.attack,
      note: c.note,
      seconds: Math.round(o.ms / 100) / 10,
      legitSent: o.legit.sent,
      legitRate: Math.round(o.legit.rate * 10000) / 10000,
      p50Ms: ms(o.legit.p50Ms),
      p99Ms: ms(o.legit.p99Ms),
      maxMs: ms(o.legit.maxMs),
      rssBeforeMb: mb(o.rss.before),
      rssPeakMb: mb(o.rss.peak),
      rssAfterMb: mb(o.rss.after),
      announced: notAnnounced.length === 0,
      notAnnounced,
      figure,
    };
  } catch (e) {
    opts.log(`hostile ${c.attack}: ${(e as Error).message}`);
    return {
      workload: 'hostile',
      server: 'edgedns',
      attack: c.attack,
      note: c.note,
      seconds: 0,
      legitSent: 0,
      legitRate: 0,
      p50Ms: null,
      p99Ms: null,
      maxMs: null,
      rssBeforeMb: 0,
      rssPeakMb: 0,
      rssAfterMb: 0,
      announced: false,
      notAnnounced: ['not measured'],
      figure: `error: ${(e as Error).message.split('\n')[0]}`,
    };
  } finally {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RunOptions {
  /** The attacks to run (all when absent). */
  only?: readonly string[];
  /** Epoch ms after which no further attack starts. */
  deadline: number;
  log(m: string): void;
  /** Told of every node started, so that the caller can kill it by pid if the run is cut short. */
  track(proc: ChildProcess): void;
}

/** Run the attacks, one fresh node each, in order, while the deadline allows. */
export async function runHostile(opts: RunOptions): Promise<HostileRow[]> {
  const up = await FakeUpstream.start();
  up.set('www.example.org', 'A', 300, '192.0.2.1');
  const rows: HostileRow[] = [];
  try {
    for (const c of CASES) {
      if (opts.only?.length && !opts.only.includes(c.attack)) continue;
      if (Date.now() > opts.deadline) {
        opts.log(`hostile ${c.attack}: skipped, the run's time is up`);
        continue;
      }
      const row = await runCase(c, up, opts);
      opts.log(
        `hostile ${c.attack}: legit ${(row.legitRate * 100).toFixed(2)}%, p99 ${row.p99Ms} ms, RSS ${row.rssBeforeMb}/${row.rssPeakMb}/${row.rssAfterMb} MiB, announced ${row.announced ? 'yes' : `NO (${row.notAnnounced.join(', ')})`}; ${row.figure}`,
      );
      rows.push(row);
    }
  } finally {
    await up.close();
  }
  return rows;
}

/** The table as printed. */
export function formatHostile(rows: readonly HostileRow[]): string[] {
  const lines = [
    'hostile: one fresh edgedns (workers: 1) per attack; legitimate client 100 q/s over UDP from 127.0.0.2 (a process of its own)',
    'attack        secs  legit ok  p50/p99/max ms         RSS before/peak/after MiB  announced  figure',
  ];
  for (const r of rows) {
    const lat = [r.p50Ms, r.p99Ms, r.maxMs].map((x) => (x === null ? '-' : x.toFixed(1))).join('/');
    lines.push(
      `${r.attack.padEnd(13)} ${r.seconds.toFixed(1).padStart(4)}  ${`${(r.legitRate * 100).toFixed(2)}%`.padStart(8)}  ${lat.padEnd(22)} ${`${r.rssBeforeMb}/${r.rssPeakMb}/${r.rssAfterMb}`.padEnd(26)} ${(r.announced ? 'yes' : 'NO').padEnd(10)} ${r.announced ? '' : `(${r.notAnnounced.join(', ')}) `}${r.figure}`,
    );
  }
  lines.push(...rows.map((r) => `  ${r.attack}: ${r.note}`));
  return lines;
}
