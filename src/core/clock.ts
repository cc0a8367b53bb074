// The injected clock: monotonic time for ages, deadlines and timers, wall time only for people.

/**
 * Two clocks, kept apart on purpose. `now()` only moves forward at the rate of real time: a step of
 * the wall clock (NTP correcting a bad start, an operator's `date -s`, a VM resumed) must not grow a
 * cached TTL, end a deadline early, or look like a stall. `wall()` is for what people read.
 */
export interface Clock {
  /** Monotonic milliseconds. Comparable only within this process; not a date. */
  now(): number;
  /** Milliseconds since the epoch (wall clock): log times, ISO times in /status, the drain file. */
  wall(): number;
}

/**
 * performance.now() is CLOCK_MONOTONIC; adding the process's constant timeOrigin keeps values near
 * the epoch, so "0 = long ago" sentinels and ISO renderings in old logs still look sensible.
 */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  wall: () => Date.now(),
};

/** A clock that only moves when told to; its wall clock can also be stepped on its own. */
export class ManualClock implements Clock {
  #t: number;
  #wallOffset = 0;
  constructor(start = 1_700_000_000_000) {
    this.#t = start;
  }
  now(): number {
    return this.#t;
  }
  wall(): number {
    return this.#t + this.#wallOffset;
  }
  /** Real time passes: both clocks move. */
  advance(ms: number): void {
    this.#t += ms;
  }
  /** The wall clock is set (forwards or backwards); monotonic time does not move. */
  stepWall(ms: number): void {
    this.#wallOffset += ms;
  }
}
