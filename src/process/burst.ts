// Shedding at once on a burst of kernel drops: the health rounds take a second or more to call the
// node overloaded, and the first seconds of a flood are when a real client loses most. Every
// `everyMs` the UDP drops of the listening ports are read; over `maxRate` a second, the pipeline
// sheds for at least `holdMs`. The health state (and the route) is still the health rounds' call.

import type { Logger } from '../core/index.js';

export interface BurstOptions {
  /** The drop counter of the listening sockets (health's udpDrops). */
  drops(): number;
  /** Drops a second above which the pipeline sheds (health.overload.maxDropRate). */
  maxRate: number;
  everyMs: number;
  holdMs: number;
  now(): number;
  shed(on: boolean): void;
  log: Logger;
}

/** Watch the drops; `close` stops it (and the shedding it started). */
export function watchBursts(o: BurstOptions): { close(): void } {
  let last = o.drops();
  let lastAt = o.now();
  let until = -Infinity;
  let on = false;
  const timer = setInterval(() => {
    const d = o.drops();
    const at = o.now();
    const rate = d >= last && at > lastAt ? ((d - last) * 1000) / (at - lastAt) : 0;
    last = d;
    lastAt = at;
    if (rate > o.maxRate) {
      until = at + o.holdMs;
      if (!on) o.log.warn('UDP drops: shedding at once', { dropsPerSecond: Math.round(rate) });
    }
    if (on !== at < until) {
      on = at < until;
      o.shed(on);
      if (!on) o.log.info('UDP drops over: no longer shedding for them', {});
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
