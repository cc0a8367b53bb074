// What every hostile-traffic test (and the bench's hostile table) measures while an attack runs: a
// legitimate client on another loopback address (its success rate and latency), the node's
// memory, its announcement and its worker restarts. Everything here is bounded in count and time
// and sends only to loopback.

import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import dnsPacket from 'dns-packet';
import { parseProm, value } from './prom.js';
import type { RunningServer } from './server.ts';
import { ZONES, startServer } from './server.ts';
import { tempDir } from './tmp.ts';

export interface LegitResult {
  sent: number;
  answered: number;
  /** answered / sent */
  rate: number;
  p50Ms: number;
  p99Ms: number;
  /** The slowest answer (of those not lost): the longest stall a client saw. */
  maxMs: number;
}

export interface LegitClient {
  /** Stop sending, wait for the last answers, and report. */
  stop(): Promise<LegitResult>;
}

/** A query later than this counts as lost. */
const LOST_AFTER_MS = 1000;

/**
 * A query with EDNS and a COOKIE option, as a resolver with DNS cookies sends it (BIND and
 * Unbound do): the client cookie, and the server's once it is known.
 */
function cookieQuery(name: string, type: string, id: number, cookie: Buffer): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as 'A', class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        options: [{ code: 10, data: cookie }],
      } as unknown as dnsPacket.Answer,
    ],
  });
}

/** Learn the node's server cookie for this socket's address (RFC 7873 §5.3): a few tries, 2 s each. */
async function learnCookie(
  sock: dgram.Socket,
  port: number,
  host: string,
  name: string,
  type: string,
): Promise<Buffer> {
  const client = randomBytes(8);
  for (let attempt = 0; attempt < 3; attempt++) {
    const reply = once(sock, 'message') as Promise<[Buffer]>;
    sock.send(cookieQuery(name, type, 0xffff - attempt, client), port, host);
    const got = await Promise.race([reply, sleep(2000).then(() => null)]);
    if (!got) continue;
    const opt = (dnsPacket.decode(got[0]).additionals ?? []).find((a) => a.type === 'OPT') as
      { options?: { code: number; data: Buffer }[] } | undefined;
    const cookie = opt?.options?.find((o) => o.code === 10)?.data;
    if (cookie && cookie.length > 8) return cookie;
  }
  throw new Error(`no server cookie from ${host}:${port}`);
}

/**
 * Send `rate` queries a second for `name` from `from` (a loopback address other than the
 * attacker's) to host:port until stopped (at most `maxMs`), matching answers by ID. The client
 * uses DNS cookies, as a real resolver does: the rate limiter exempts it once it has the server's
 * (the attacker, spoofing or not, shares its /24).
 */
export async function legitClient(opts: {
  port: number;
  host?: string;
  from?: string;
  name?: string;
  type?: string;
  rate?: number;
  maxMs?: number;
}): Promise<LegitClient> {
  const host = opts.host ?? '127.0.0.1';
  const rate = opts.rate ?? 100;
  const maxMs = opts.maxMs ?? 60_000;
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, opts.from ?? '127.0.0.2', () => resolve());
  });
  const cookie = await learnCookie(sock, opts.port, host, opts.name ?? 'www.example.test', opts.type ?? 'A');
  const sentAt = new Map<number, number>();
  const rtts: number[] = [];
  let sent = 0;
  let id = 1;
  sock.on('message', (msg) => {
    if (msg.length < 2) return;
    const t = sentAt.get(msg.readUInt16BE(0));
    if (t === undefined) return;
    sentAt.delete(msg.readUInt16BE(0));
    const rtt = performance.now() - t;
    if (rtt <= LOST_AFTER_MS) rtts.push(rtt);
  });
  const started = performance.now();
  let stopped = false;
  const loop = (async () => {
    const every = 1000 / rate;
    while (!stopped && performance.now() - started < maxMs) {
      // Catch up to the schedule so the rate holds when the event loop is late.
      const due = Math.floor((performance.now() - started) / every) + 1;
      while (sent < due) {
        id = (id % 65535) + 1;
        sentAt.set(id, performance.now());
        sock.send(cookieQuery(opts.name ?? 'www.example.test', opts.type ?? 'A', id, cookie), opts.port, host);
        sent++;
      }
      await sleep(every);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      await sleep(LOST_AFTER_MS);
      sock.close();
      const sorted = [...rtts].sort((a, b) => a - b);
      const pct = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Infinity;
      return {
        sent,
        answered: rtts.length,
        rate: sent === 0 ? 0 : rtts.length / sent,
        p50Ms: pct(0.5),
        p99Ms: pct(0.99),
        maxMs: sorted.at(-1) ?? Infinity,
      };
    },
  };
}

/**
 * legitClient in a child process of its own (killed by pid at the latest 30 s after `maxMs`), so
 * that an attacker running in this process cannot delay the client's sends or its reading of the
 * answers: what it measures is the node.
 */
export async function legitClientProcess(opts: Parameters<typeof legitClient>[0]): Promise<LegitClient> {
  const child = fork(fileURLToPath(new URL('./legit-process.ts', import.meta.url)), [JSON.stringify(opts)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), (opts.maxMs ?? 60_000) + 30_000);
  const exited = once(child, 'exit').then(() => clearTimeout(killer));
  const next = (): Promise<unknown> =>
    Promise.race([
      once(child, 'message').then(([m]) => m as unknown),
      exited.then(() => Promise.reject(new Error('the legitimate client exited early'))),
    ]);
  try {
    await next(); // "ready": bound and sending
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    stop: async () => {
      child.send('stop');
      const r = (await next()) as { [K in keyof LegitResult]: number | null };
      await exited;
      // JSON has no Infinity: a percentile of no answers comes back as null.
      const num = (x: number | null): number => x ?? Infinity;
      return {
        sent: num(r.sent),
        answered: num(r.answered),
        rate: num(r.rate),
        p50Ms: num(r.p50Ms),
        p99Ms: num(r.p99Ms),
        maxMs: num(r.maxMs),
      };
    },
  };
}

/** Resident set size of a process, in MiB (Linux). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** What a hostile test asserts of the node after the attack: announced, and no worker restarted. */
export interface NodeHealth {
  ready: boolean;
  /** In service: UP, or SHEDDING (overloaded: announced, shedding load, as a node under attack should be). */
  up: boolean;
  /** SHEDDING now. */
  shedding: boolean;
  /** Health withdrawals so far (edgedns_health_flaps_total). */
  flaps: number;
  workerRestarts: number;
}

/** Read /readyz and the metrics of the node's admin endpoint. */
export async function nodeHealth(adminPort: number): Promise<NodeHealth> {
  const ready = (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status === 200;
  const samples = parseProm(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text());
  return {
    ready,
    up:
      value(samples, 'edgedns_health_state', { state: 'UP' }) === 1 ||
      value(samples, 'edgedns_health_state', { state: 'SHEDDING' }) === 1,
    shedding: value(samples, 'edgedns_health_state', { state: 'SHEDDING' }) === 1,
    flaps: value(samples, 'edgedns_health_flaps_total'),
    workerRestarts: value(samples, 'edgedns_worker_restarts_total'),
  };
}

/** A metric of the node (the sum over the samples whose labels include `labels`). */
export async function metric(adminPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  return value(parseProm(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text()), name, labels);
}

/** Answers for names that are not nodes, by path: from the compiled templates, or built per name. */
export async function synthAnswers(adminPort: number): Promise<{ template: number; perName: number }> {
  return {
    template: await metric(adminPort, 'edgedns_zone_synth_answers_total', { path: 'template' }),
    perName: await metric(adminPort, 'edgedns_zone_synth_answers_total', { path: 'per_name' }),
  };
}

/** Format a result for the test log. */
export function describe(r: LegitResult): string {
  return `${r.answered}/${r.sent} answered (${(r.rate * 100).toFixed(2)}%), p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, max ${r.maxMs.toFixed(1)} ms`;
}

/** A running node as the hostile tests and the bench see it. */
export interface HostileNode {
  srv: RunningServer;
  adminPort: number;
  /** The processes answering DNS: the workers, or the node itself. */
  dnsPids(): Promise<number[]>;
  /** RSS of the answering processes, in MiB (the largest one). */
  rss(): Promise<number>;
  stop(): Promise<void>;
}

/** The hostile view of a node started with `workers` processes (its admin endpoint on TCP). */
export function hostileNode(srv: RunningServer, workers: number): HostileNode {
  const adminPort = srv.adminPort as number; // every node started by the helpers has one
  const dnsPids = async (): Promise<number[]> => {
    if (workers === 1) return [srv.proc.pid as number];
    const s = (await (await fetch(`http://127.0.0.1:${adminPort}/status`)).json()) as { workers: { pids: number[] } };
    return s.workers.pids;
  };
  return {
    srv,
    adminPort,
    dnsPids,
    rss: async () => Math.max(...(await dnsPids()).map(rssMb)),
    stop: async () => {
      await srv.stop();
    },
  };
}

/**
 * Start a node with `workers` processes, announcing through a no-op hook with health at its
 * production pace, and extra YAML lines (e.g. a `tcp:` block); wait (bounded) until it is UP.
 */
export async function startNode(opts: {
  workers: number;
  extra?: string[];
  zonesDir?: string;
  /** More keys of `zones` (flow YAML), e.g. `transferTo: [{ address: 127.0.0.0/8 }]`. */
  zoneKeys?: string;
  startMs?: number;
}): Promise<HostileNode> {
  const dir = tempDir('edgedns-hostile-');
  const cfg = join(dir, 'edgedns.yaml');
  writeFileSync(
    cfg,
    [
      'listen: ["127.0.0.1:0"]',
      `workers: ${opts.workers}`,
      `zones: { dir: ${JSON.stringify(opts.zonesDir ?? ZONES)}${opts.zoneKeys ? `, ${opts.zoneKeys}` : ''} }`,
      'site: { id: hostile }',
      'announce: { prefixes: [127.0.0.1/32], adapter: exec, exec: { command: /bin/true } }',
      ...(opts.extra ?? []),
      ...(opts.extra?.some((l) => l.startsWith('upstreams:')) ? [] : ['upstreams: []']),
    ].join('\n'),
  );
  const srv = await startServer({ config: cfg, args: [], timeoutMs: opts.startMs ?? 20_000 });
  const node = hostileNode(srv, opts.workers);
  const t0 = performance.now();
  while (!(await nodeHealth(node.adminPort)).up && performance.now() - t0 < 20_000) await sleep(200);
  if (!(await nodeHealth(node.adminPort)).up) {
    await node.stop();
    throw new Error(`the node is not UP 20 s after it started\n${srv.logs().slice(-2000)}`);
  }
  return node;
}

/** The largest value `read` returned, sampled every `everyMs` until stopped. */
export function peakSampler(read: () => Promise<number>, first: number, everyMs = 200): { stop(): number } {
  let peak = first;
  const timer = setInterval(
    () =>
      void read().then(
        (v) => (peak = Math.max(peak, v)),
        () => {},
      ),
    everyMs,
  );
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

/** What happened to a node while an attack ran. */
export interface AttackOutcome<T> {
  /** What the attack returned. */
  attack: T;
  /** From the start of the attack to its end (or `minMs`). */
  ms: number;
  legit: LegitResult;
  /** RSS of the answering processes (MiB, see HostileNode.rss): before, the peak (sampled every 200 ms), and after. */
  rss: { before: number; peak: number; after: number };
  /** The node's process has not exited. */
  alive: boolean;
  /** The answering processes are the ones from before the attack (no worker replaced). */
  samePids: boolean;
  health: NodeHealth;
}

/**
 * Run `attack` (which must end by itself, bounded) for at least `minMs` while a legitimate client
 * (a process of its own) asks 100 times a second from 127.0.0.2; report the client, the node's RSS and its health (read
 * `settleMs` after the client's last answer). Asserts nothing: the tests and the bench judge.
 */
export async function runUnderAttack<T>(
  node: HostileNode,
  attack: () => Promise<T>,
  opts: { minMs?: number; maxMs?: number; settleMs?: number; name?: string } = {},
): Promise<AttackOutcome<T>> {
  const pidsBefore = await node.dnsPids();
  const before = await node.rss();
  const sampler = peakSampler(() => node.rss(), before);
  let legit: LegitResult;
  let out: T;
  let ms: number;
  try {
    const client = await legitClientProcess({
      port: node.srv.port,
      rate: 100,
      maxMs: opts.maxMs ?? 60_000,
      ...(opts.name !== undefined && { name: opts.name }),
    });
    const t0 = performance.now();
    [out] = await Promise.all([attack(), sleep(opts.minMs ?? 0)]);
    ms = performance.now() - t0;
    legit = await client.stop();
  } finally {
    sampler.stop();
  }
  if (opts.settleMs) await sleep(opts.settleMs);
  const alive = node.srv.proc.exitCode === null && node.srv.proc.signalCode === null;
  const after = alive ? await node.rss() : NaN;
  const peak = Math.max(sampler.stop(), after);
  const samePids = alive && JSON.stringify(await node.dnsPids()) === JSON.stringify(pidsBefore);
  const health = alive
    ? await nodeHealth(node.adminPort)
    : { ready: false, up: false, shedding: false, flaps: NaN, workerRestarts: NaN };
  return { attack: out, ms, legit, rss: { before, peak, after }, alive, samePids, health };
}
