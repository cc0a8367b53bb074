// Shedding at once on a flood: the health rounds take a second or more to call the node overloaded,
// and the first seconds of a flood are when a real client loses most. Every `everyMs` the listening
// sockets' UDP backlog is read; the pipeline sheds for at least `holdMs` when the kernel drops more
// than `maxRate` a second, or when more than `maxQueued` bytes wait in the receive queues at two
// readings in a row. The queue matters more than the drops: with the large receive buffers the
// listeners ask for, a node falling behind drops nothing for seconds, it answers late: the lab's
// attack drill saw 5 MB (~6000 queries) waiting, every answer seconds old, and no drop at all. Two
// readings, because a garbage collection also leaves a short queue behind it. The health state (and
// the route) is still the health rounds' call.

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
  now(): number;
  shed(on: boolean): void;
  log: Logger;
}

/** Watch the backlog; `close` stops it (and the shedding it started). */
export function watchBursts(o: BurstOptions): { close(): void } {
  let last = o.backlog().drops;
  let lastAt = o.now();
  let queuedBefore = false;
  let until = -Infinity;
  let on = false;
  const timer = setInterval(() => {
    const { drops, queued } = o.backlog();
    const at = o.now();
    const rate = ratePerSecond(drops, last, at, lastAt);
    last = drops;
    lastAt = at;
    const deep = queued > o.maxQueued;
    if (rate > o.maxRate || (deep && queuedBefore)) {
      until = at + o.holdMs;
      if (!on) o.log.warn('UDP backlog: shedding at once', { dropsPerSecond: Math.round(rate), queuedBytes: queued });
    }
    queuedBefore = deep;
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
