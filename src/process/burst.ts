// Shedding at once on a flood: the health rounds take a second or more to call the node overloaded,
// and the first seconds of a flood are when a real client loses most. Every `everyMs` the listening
// sockets' UDP backlog is read; the pipeline sheds for at least `holdMs` when the kernel drops more
// than `maxRate` a second, or when more than `maxQueued` bytes wait in the receive queues at two
// readings in a row. The queue matters more than the drops: with the large receive buffers the
// listeners ask for, a node falling behind drops nothing for seconds, it answers late: the lab's
// attack drill saw 5 MB (~6000 queries) waiting, every answer seconds old, and no drop at all. Two
// readings, because a garbage collection also leaves a short queue behind it. The health state (and
// the route) is still the health rounds' call.
//
// The backlog is read only after an interval in which the event loop was at least `minBusy` busy: a
// loop with idle time has read its sockets dry (libuv reads while they are readable), so nothing
// queues and nothing drops. Reading /proc/net/udp lists every UDP socket of the host, each upstream
// query's among them: milliseconds per read under a load of cache misses, 10 times a second. The
// first reading after a quiet interval is the drop counter's new baseline.

import { performance } from 'node:perf_hooks';
import type { Logger } from '../core/index.js';
import type { UdpBacklog } from '../health/index.js';
import { ratePerSecond } from '../health/index.js';

export interface BurstOptions {
  /** The listening sockets' drops and queues (health's udpBacklog). */
  backlog(): UdpBacklog;
  /** Drops a second above which the pipeline sheds (health.overload.maxDropRate). */
  maxRate: number;
  /** Bytes waiting above which, twice in a row, the pipeline sheds (health.overload.maxUdpQueue). */
  maxQueued: number;
  everyMs: number;
  holdMs: number;
  /** The event loop's utilization (0–1) since the previous call. */
  busy(): number;
  /** Below this utilization over an interval, the backlog is not read (nothing can wait). */
  minBusy: number;
  now(): number;
  shed(on: boolean): void;
  log: Logger;
}

/** The event loop's utilization since the previous call of the function returned. */
export function loopBusy(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return u;
  };
}

/** Watch the backlog; `close` stops it (and the shedding it started). */
export function watchBursts(o: BurstOptions): { close(): void } {
  /** The drop counter at the last reading; null after a quiet interval (no baseline). */
  let last: number | null = null;
  let lastAt = 0;
  let queuedBefore = false;
  let until = -Infinity;
  let on = false;
  const timer = setInterval(() => {
    const at = o.now();
    if (o.busy() < o.minBusy) {
      last = null;
      queuedBefore = false;
    } else {
      const { drops, queued } = o.backlog();
      const rate = last === null ? 0 : ratePerSecond(drops, last, at, lastAt);
      last = drops;
      lastAt = at;
      const deep = queued > o.maxQueued;
      if (rate > o.maxRate || (deep && queuedBefore)) {
        until = at + o.holdMs;
        if (!on) o.log.warn('UDP backlog: shedding at once', { dropsPerSecond: Math.round(rate), queuedBytes: queued });
      }
      queuedBefore = deep;
    }
    if (on !== at < until) {
      on = at < until;
      o.shed(on);
      if (!on) o.log.info('UDP backlog over: no longer shedding for it', {});
    }
  }, o.everyMs);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
      if (on) o.shed(false);
    },
  };
}
