// How loaded the node is, and the check that turns it into "overloaded": event-loop utilisation and
// delay of every process that answers, the UDP datagrams waiting in our sockets' receive queues, and
// those the kernel dropped because we did not read them fast enough. Overloaded is not broken
// (fsm.ts): the node sheds load and keeps its route.

import { readFileSync } from 'node:fs';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Clock } from '../core/index.js';
import type { Check } from './checks.js';

/** One process's load since its previous sample. */
export interface ProcessLoad {
  /** Event-loop utilisation, 0..1: the share of the time the loop was busy. */
  utilization: number;
  /** The longest event-loop delay (ms). */
  lagMs: number;
}

/** What the kernel holds for the node's UDP listening sockets (udpBacklog). */
export interface UdpBacklog {
  /** Datagrams dropped since the sockets were opened (a counter). */
  drops: number;
  /** Bytes of datagrams waiting to be read now (the kernel's accounting: ~800 per small query). */
  queued: number;
}

/** The node's load: the busiest answering process, and the kernel's queues of its UDP sockets. */
export interface LoadSample extends ProcessLoad, UdpBacklog {
  /** Queries the node refused while shedding, since it started (a counter). */
  shed: number;
}

export interface OverloadLimits {
  maxUtilization: number;
  maxLagMs: number;
  /** Dropped datagrams per second. */
  maxDropRate: number;
  /** Bytes waiting in the UDP receive queues. */
  maxQueued: number;
}

/** This process's load, each call measuring since the previous one; `close` stops the sampler. */
export function processLoadSampler(): { sample(): ProcessLoad; close(): void } {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  return {
    sample() {
      const now = performance.eventLoopUtilization();
      const used = performance.eventLoopUtilization(now, last);
      last = now;
      const lagMs = delay.max / 1e6;
      delay.reset();
      return { utilization: used.utilization, lagMs };
    },
    close: () => delay.disable(),
  };
}

/**
 * The drops and receive queues of the UDP sockets bound to `ports`, from /proc/net/udp and udp6:
 * per socket, the local address is ADDRESS:PORT in hex, `tx_queue:rx_queue` bytes in hex, and
 * `drops` is the last column. Zeros when /proc cannot be read. Every socket of the port counts: the
 * workers' sockets of `workers: N` too.
 */
export function udpBacklog(ports: ReadonlySet<number>, read: (path: string) => string = readProc): UdpBacklog {
  const b: UdpBacklog = { drops: 0, queued: 0 };
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    const lines = read(file).split('\n');
    for (let i = 1; i < lines.length; i++) {
      const f = (lines[i] as string).trim().split(/\s+/);
      const local = f[1];
      if (!local || f.length < 13) continue;
      const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (!ports.has(port)) continue;
      b.drops += Number(f[f.length - 1]) || 0;
      b.queued += parseInt((f[4] as string).slice((f[4] as string).indexOf(':') + 1), 16) || 0;
    }
  }
  return b;
}

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Once overloaded, the figures must fall this far under their limits before the load counts as
 * normal again: shedding relieves the node, and the relief must not read as the end of the flood.
 */
export const RELEASE = 0.75;

/**
 * Fails (as "overloaded", never "broken") while utilisation, delay, the UDP queue, the drop rate or
 * the rate of queries shed is over its limit (maxDropRate for both rates), and then until all are
 * under RELEASE × their limits. Its detail names the figures either way, for /status.
 */
/**
 * A counter's rate a second between two readings (ms clock); 0 without an earlier reading or when
 * the counter went back (sockets reopened, a worker restarted: a new baseline).
 */
export function ratePerSecond(count: number, before: number | undefined, at: number, beforeAt: number): number {
  return before !== undefined && count >= before && at > beforeAt ? ((count - before) * 1000) / (at - beforeAt) : 0;
}

export function loadCheck(sample: () => Promise<LoadSample>, limits: OverloadLimits, clock: Clock): Check {
  let prev: { drops: number; shed: number; at: number } | null = null;
  let overloaded = false;
  const perSecond = (now: number, before: number | undefined, at: number): number =>
    ratePerSecond(now, before, at, prev?.at ?? at);
  return {
    name: 'load',
    kind: 'load',
    async run() {
      const s = await sample();
      const at = clock.now();
      const rate = perSecond(s.drops, prev?.drops, at);
      // Refusing this much a second, the node is still being hit: the relief of shedding is not
      // the end of the flood.
      const shedRate = perSecond(s.shed, prev?.shed, at);
      prev = { drops: s.drops, shed: s.shed, at };
      const k = overloaded ? RELEASE : 1;
      const over = [
        s.utilization > k * limits.maxUtilization &&
          `utilization ${pct(s.utilization)} > ${pct(k * limits.maxUtilization)}`,
        s.lagMs > k * limits.maxLagMs && `event-loop delay ${s.lagMs.toFixed(0)} ms > ${k * limits.maxLagMs} ms`,
        s.queued > k * limits.maxQueued && `UDP queue ${kib(s.queued)} > ${kib(k * limits.maxQueued)}`,
        rate > k * limits.maxDropRate && `UDP drops ${rate.toFixed(0)}/s > ${k * limits.maxDropRate}/s`,
        shedRate > k * limits.maxDropRate && `shedding ${shedRate.toFixed(0)} queries/s > ${k * limits.maxDropRate}/s`,
      ].filter((x): x is string => typeof x === 'string');
      overloaded = over.length > 0;
      const figures =
        `utilization ${pct(s.utilization)}, event-loop delay ${s.lagMs.toFixed(1)} ms, ` +
        `UDP queue ${kib(s.queued)}, UDP drops ${rate.toFixed(0)}/s`;
      if (!overloaded) return { ok: true, detail: figures };
      return {
        ok: false,
        detail: `overloaded: ${over.join(', ')}${k < 1 ? ` (still: ${RELEASE} × the limits to end it)` : ''}`,
      };
    },
  };
}

const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
