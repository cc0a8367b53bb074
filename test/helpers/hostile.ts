// What every hostile-traffic test measures while an attack runs: a legitimate client on another
// loopback address (its success rate and latency), the node's memory, its announcement and its
// worker restarts. Everything here is bounded in count and time and sends only to loopback.

import * as dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseProm, value } from './prom.js';
import { query } from './wire.js';

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
 * Send `rate` queries a second for `name` from `from` (a loopback address other than the
 * attacker's) to host:port until stopped (at most `maxMs`), matching answers by ID.
 */
export async function legitClient(opts: { port: number; host?: string; from?: string; name?: string; type?: string; rate?: number; maxMs?: number }): Promise<LegitClient> {
  const host = opts.host ?? '127.0.0.1';
  const rate = opts.rate ?? 100;
  const maxMs = opts.maxMs ?? 60_000;
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, opts.from ?? '127.0.0.2', () => resolve());
  });
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
        sock.send(query(opts.name ?? 'www.example.test', opts.type ?? 'A', { id }), opts.port, host);
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
      return { sent, answered: rtts.length, rate: sent === 0 ? 0 : rtts.length / sent, p50Ms: pct(0.5), p99Ms: pct(0.99), maxMs: sorted.at(-1) ?? Infinity };
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
  /** The health state machine is UP. */
  up: boolean;
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
    up: value(samples, 'edgedns_health_state', { state: 'UP' }) === 1,
    flaps: value(samples, 'edgedns_health_flaps_total'),
    workerRestarts: value(samples, 'edgedns_worker_restarts_total'),
  };
}

/** Format a result for the test log. */
export function describe(r: LegitResult): string {
  return `${r.answered}/${r.sent} answered (${(r.rate * 100).toFixed(2)}%), p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, max ${r.maxMs.toFixed(1)} ms`;
}
