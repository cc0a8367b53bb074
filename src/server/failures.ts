// Resolution failures remembered (RFC 9520 §3.2): a question whose resolution failed (timeout,
// unreachable, SERVFAIL from every upstream) is answered SERVFAIL, or stale, at once for a while
// instead of being asked again; the while doubles each time the same question fails again soon
// after, up to a cap, and an answer ends it. Bounded (least recently used forgotten first).
//
//   failed at t, hold h:  [t ── held (h) ──▶ t+h ── "again soon": max(h, againWithinMs) ──▶ ]
//   fails again in either → hold 2h (at most maxMs);  later → hold minMs;  an answer → forgotten
//
// "Again soon" outlasts the hold so that a question the cache's own short SERVFAIL entry (5 s)
// keeps from being asked every second still counts as failing persistently.

import { LRUCache } from 'lru-cache';
import type { Clock } from '../core/index.js';

export interface FailureOptions {
  /** Questions remembered at most. */
  max: number;
  /** The first hold (RFC 9520 §3.2: at least 1 s). */
  minMs: number;
  /** The longest hold (RFC 9520 §3.2: at most 5 minutes). */
  maxMs: number;
  /** A failure this long after the last hold ended still counts as the same failure again. */
  againWithinMs: number;
  clock: Clock;
}

interface Failure {
  /** Held until this time (ms, monotonic). */
  until: number;
  holdMs: number;
  /** Why it failed, for the extended error's text. */
  reason: string;
}

export class FailureCache {
  readonly #o: FailureOptions;
  readonly #lru: LRUCache<string, Failure>;

  constructor(opts: FailureOptions) {
    this.#o = opts;
    this.#lru = new LRUCache<string, Failure>({ max: opts.max });
  }

  get size(): number {
    return this.#lru.size;
  }

  /** The failure holding `key` now (with its ms left), or null when the question may be asked. */
  held(key: string): { leftMs: number; reason: string } | null {
    const f = this.#lru.peek(key);
    if (!f) return null;
    const left = f.until - this.#o.clock.now();
    return left > 0 ? { leftMs: left, reason: f.reason } : null;
  }

  /** The resolution of `key` failed: hold it, longer when it failed again soon after; returns the hold (ms). */
  failed(key: string, reason: string): number {
    const now = this.#o.clock.now();
    const prev = this.#lru.get(key);
    const again = prev !== undefined && now < prev.until + Math.max(prev.holdMs, this.#o.againWithinMs);
    const holdMs = again ? Math.min(prev.holdMs * 2, this.#o.maxMs) : this.#o.minMs;
    this.#lru.set(key, { until: now + holdMs, holdMs, reason });
    return holdMs;
  }

  /** The question got an answer: forget its failures. */
  answered(key: string): void {
    this.#lru.delete(key);
  }
}
