// Level-triggered announcement: the desired state (from health) and the confirmed state (the last
// successful adapter call) are both kept. One adapter call at a time; a newer desired state
// replaces a pending one; the desired state is re-asserted every `reconcileMs` and retried with
// back-off after a failure. 'deprefer' is a third state beside announce and withdraw: the adapter
// moves between it and 'announce' without withdrawing.
//
//   set(desired) ──▶ [pending] ──▶ adapter.apply ──ok──▶ confirmed = desired
//                        ▲              │ fail
//                        └── retry ◀────┘ (1 s, 2 s, … up to maxRetryMs)

import type { Logger } from '../core/index.js';
import { EdgeError, ErrorCode, errorMessage } from '../core/index.js';
import type { Action, Adapter, Deprefer } from './adapter.js';
import { AdapterError, depreferProblems, describeDeprefer } from './adapter.js';

export interface AnnounceObserver {
  desired(action: Action): void;
  confirmed(action: Action | null): void;
  transition(action: Action, reason: string): void;
  call(adapter: string, seconds: number, ok: boolean): void;
}

const NOOP: AnnounceObserver = { desired: () => {}, confirmed: () => {}, transition: () => {}, call: () => {} };

export interface AnnouncerOptions {
  adapter: Adapter;
  prefixes: readonly string[];
  siteId: string;
  reconcileMs: number;
  /** The worse path of 'deprefer' (announce.deprefer); null or absent: set('deprefer') is refused. */
  deprefer?: Deprefer | null;
  retryMs?: number;
  maxRetryMs?: number;
  log: Logger;
  observer?: AnnounceObserver;
}

export interface AnnounceStatus {
  adapter: string;
  prefixes: readonly string[];
  desired: Action | null;
  confirmed: Action | null;
  reason: string;
  seq: number;
  lastError: string | null;
  lastCallAt: string | null;
  calls: number;
  failures: number;
}

type Options = Required<Omit<AnnouncerOptions, 'observer' | 'deprefer'>> & {
  observer: AnnounceObserver;
  deprefer: Deprefer | null;
};

const DOING: Record<Action, string> = { announce: 'announcing', deprefer: 'depreferring', withdraw: 'withdrawing' };
const DONE: Record<Action, string> = { announce: 'announced', deprefer: 'depreferred', withdraw: 'withdrawn' };

export class Announcer {
  readonly #o: Options;
  #desired: Action | null = null;
  #reason = '';
  #seq = 0;
  #confirmed: Action | null = null;
  /** seq of the desired state the last successful call applied. */
  #appliedSeq = -1;
  #running = false;
  #forceReassert = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay: number;
  #reconcileTimer: NodeJS.Timeout | undefined;
  #lastError: string | null = null;
  #lastCallAt: number | null = null;
  #calls = 0;
  #failures = 0;
  #waiters: (() => void)[] = [];
  #stopped = false;

  constructor(o: AnnouncerOptions) {
    this.#o = { retryMs: 1000, maxRetryMs: 30_000, observer: NOOP, ...o, deprefer: o.deprefer ?? null };
    const problems = this.#o.deprefer ? depreferProblems(this.#o.deprefer, 'announce.deprefer') : [];
    if (problems.length > 0) throw new EdgeError(ErrorCode.CONFIG_INVALID, problems.join('; '), problems);
    this.#retryDelay = this.#o.retryMs;
    if (o.reconcileMs > 0) {
      this.#reconcileTimer = setInterval(() => this.reassert(), o.reconcileMs);
      this.#reconcileTimer.unref();
    }
  }

  /**
   * Ask for a state. Changing it replaces whatever was pending. 'deprefer' needs the `deprefer`
   * option: without it, it throws (the caller decides what shedding does when none is configured).
   */
  set(action: Action, reason: string): void {
    if (action === 'deprefer' && this.#o.deprefer === null)
      throw new EdgeError(
        ErrorCode.CONFIG_INVALID,
        "announcer: set('deprefer') needs the deprefer option (announce.deprefer), got null",
      );
    if (this.#stopped) return;
    if (action === this.#desired) return;
    this.#desired = action;
    this.#reason = reason;
    this.#seq++;
    this.#o.observer.desired(action);
    this.#o.observer.transition(action, reason);
    this.#o.log.info(DOING[action], {
      prefixes: this.#o.prefixes,
      ...(action === 'deprefer' && this.#o.deprefer && { deprefer: describeDeprefer(this.#o.deprefer) }),
      reason,
      seq: this.#seq,
      adapter: this.#o.adapter.name,
    });
    this.#kick();
  }

  /** Apply the desired state again even if it is confirmed (periodic, level-triggered). */
  reassert(): void {
    if (this.#desired === null || this.#stopped) return;
    this.#forceReassert = true;
    this.#kick();
  }

  get desired(): Action | null {
    return this.#desired;
  }

  get confirmed(): Action | null {
    return this.#confirmed;
  }

  /** Resolves true once the desired state is confirmed, false after `timeoutMs`. */
  settled(timeoutMs: number): Promise<boolean> {
    if (this.#isSettled()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  status(): AnnounceStatus {
    return {
      adapter: this.#o.adapter.name,
      prefixes: this.#o.prefixes,
      desired: this.#desired,
      confirmed: this.#confirmed,
      reason: this.#reason,
      seq: this.#seq,
      lastError: this.#lastError,
      lastCallAt: this.#lastCallAt === null ? null : new Date(this.#lastCallAt).toISOString(),
      calls: this.#calls,
      failures: this.#failures,
    };
  }

  /** No more calls after the one running (if any). */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#reconcileTimer);
    clearTimeout(this.#retryTimer);
  }

  #isSettled(): boolean {
    return this.#desired !== null && this.#appliedSeq === this.#seq;
  }

  #kick(): void {
    if (this.#running) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    void this.#loop();
  }

  async #loop(): Promise<void> {
    this.#running = true;
    try {
      while (this.#desired !== null && (this.#appliedSeq !== this.#seq || this.#forceReassert)) {
        this.#forceReassert = false;
        const seq = this.#seq;
        const action = this.#desired;
        const t0 = performance.now();
        this.#calls++;
        this.#lastCallAt = Date.now();
        try {
          const out = await this.#o.adapter.apply({
            action,
            prefixes: this.#o.prefixes,
            siteId: this.#o.siteId,
            reason: this.#reason,
            seq,
            deprefer: action === 'deprefer' ? this.#o.deprefer : null,
          });
          this.#o.observer.call(this.#o.adapter.name, (performance.now() - t0) / 1000, true);
          const changed = this.#confirmed !== action;
          this.#confirmed = action;
          this.#appliedSeq = seq;
          this.#lastError = null;
          this.#retryDelay = this.#o.retryMs;
          this.#o.observer.confirmed(action);
          if (changed)
            this.#o.log.info(DONE[action], {
              prefixes: this.#o.prefixes,
              seq,
              adapter: this.#o.adapter.name,
              ms: Math.round(performance.now() - t0),
              output: out,
            });
          if (this.#isSettled()) for (const w of this.#waiters.splice(0)) w();
        } catch (e) {
          this.#failures++;
          this.#o.observer.call(this.#o.adapter.name, (performance.now() - t0) / 1000, false);
          this.#lastError = errorMessage(e);
          const later = e instanceof AdapterError && e.retryLater;
          this.#o.log[later ? 'info' : 'error'](`${action} failed; retrying`, {
            error: this.#lastError,
            retryInMs: this.#retryDelay,
            seq,
            adapter: this.#o.adapter.name,
          });
          if (!this.#stopped && this.#appliedSeq !== this.#seq) {
            const delay = this.#retryDelay;
            this.#retryDelay = Math.min(this.#retryDelay * 2, this.#o.maxRetryMs);
            this.#retryTimer = setTimeout(() => this.#kick(), delay);
            this.#retryTimer.unref();
          }
          return;
        }
        if (this.#stopped) return;
      }
    } finally {
      this.#running = false;
    }
  }
}
