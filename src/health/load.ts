// How loaded the node is, and the check that turns it into "overloaded": event-loop utilisation and
// delay of every process that answers, and the UDP datagrams the kernel dropped on our sockets
// because we did not read them fast enough. Overloaded is not broken (fsm.ts): the node sheds load
// and keeps its route.

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

/** The node's load: the busiest answering process, and the kernel's drops on its UDP sockets. */
export interface LoadSample extends ProcessLoad {
  /** UDP datagrams dropped on the listening sockets since they were opened (a counter). */
  drops: number;
}

export interface OverloadLimits {
  maxUtilization: number;
  maxLagMs: number;
  /** Dropped datagrams per second. */
  maxDropRate: number;
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
 * Datagrams the kernel dropped on the UDP sockets bound to `ports`, from /proc/net/udp and udp6
 * (the last column, `drops`, per socket; the local address is ADDRESS:PORT in hex). 0 when /proc
 * cannot be read. Every socket of the port counts: the workers' sockets of `workers: N` too.
 */
export function udpDrops(ports: ReadonlySet<number>, read: (path: string) => string = readProc): number {
  let drops = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    const lines = read(file).split('\n');
    for (let i = 1; i < lines.length; i++) {
      const f = (lines[i] as string).trim().split(/\s+/);
      const local = f[1];
      if (!local || f.length < 13) continue;
      const port = parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (ports.has(port)) drops += Number(f[f.length - 1]) || 0;
    }
  }
  return drops;
}

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Fails (as "overloaded", never "broken") while utilisation, delay or the drop rate is over its
 * limit. Its detail names the figures either way, for /status.
 */
export function loadCheck(sample: () => Promise<LoadSample>, limits: OverloadLimits, clock: Clock): Check {
  let prev: { drops: number; at: number } | null = null;
  return {
    name: 'load',
    kind: 'load',
    async run() {
      const s = await sample();
      const at = clock.now();
      // A counter that went back (sockets reopened) starts a new baseline.
      const rate = prev && s.drops >= prev.drops && at > prev.at ? ((s.drops - prev.drops) * 1000) / (at - prev.at) : 0;
      prev = { drops: s.drops, at };
      const over = [
        s.utilization > limits.maxUtilization && `utilization ${pct(s.utilization)} > ${pct(limits.maxUtilization)}`,
        s.lagMs > limits.maxLagMs && `event-loop delay ${s.lagMs.toFixed(0)} ms > ${limits.maxLagMs} ms`,
        rate > limits.maxDropRate && `UDP drops ${rate.toFixed(0)}/s > ${limits.maxDropRate}/s`,
      ].filter((x): x is string => typeof x === 'string');
      const figures = `utilization ${pct(s.utilization)}, event-loop delay ${s.lagMs.toFixed(1)} ms, UDP drops ${rate.toFixed(0)}/s`;
      return over.length > 0 ? { ok: false, detail: `overloaded: ${over.join(', ')}` } : { ok: true, detail: figures };
    },
  };
}

const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
