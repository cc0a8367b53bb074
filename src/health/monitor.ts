// Runs the checks on their interval (fast while RISING/FALLING), sorts their results into a verdict
// (ok, overloaded, broken), feeds the state machine, and tells the announcer what to do. A
// withdrawal for shared checks only asks the fleet's withdraw budget first. Also: the drain (file-backed, so it survives a restart), drills
// (an injected local failure that reverts by itself), and noticing that the process was stalled.
// Intervals, drill deadlines, hold-downs and stalls are monotonic time (`clock.now()`); a drain's
// end written to the drain file is wall time, since the file outlives the process and people edit it.

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Clock, Logger } from '../core/index.js';
import { errorMessage } from '../core/index.js';
import type { Check, CheckResult } from './checks.js';
import { runChecks } from './checks.js';
import type { Event, FsmParams, HealthState, Verdict } from './fsm.js';
import { State, initialState, nextInterval, shouldAnnounce, step } from './fsm.js';

/** Why the announcement changed, as a bounded label. */
export type ChangeReason =
  'healthy' | 'unhealthy' | 'overloaded' | 'drained' | 'undrained' | 'stalled' | 'stopping' | 'startup';

export interface HealthObserver {
  state(s: HealthState, announce: boolean): void;
  checks(results: readonly CheckResult[]): void;
  flap(): void;
  /** Whether a withdrawal for shared checks is being held back by the fleet's withdraw budget. */
  held(held: boolean): void;
}

/** The fleet's answer to "may this node withdraw for a shared cause?" (or stay withdrawn, when it is). */
export interface BudgetDecision {
  allow: boolean;
  detail: string;
}

export interface MonitorOptions {
  params: FsmParams;
  checks: readonly Check[];
  /** Shared checks withdraw too (off by default: every site shares them). */
  sharedWithdraw: boolean;
  drainFile: string | null;
  clock: Clock;
  log: Logger;
  /**
   * Called when the desired announcement or the shedding changes: `shedding` is true in SHEDDING
   * (announced, de-preferred when so configured, shedding load).
   */
  onDesired(announce: boolean, reason: ChangeReason, detail: string, shedding: boolean): void;
  /** Called after a stall too short to count as a failure: re-assert the announcement. */
  onReassert(): void;
  /**
   * The withdraw budget (fleet/): asked when only shared checks fail (with `sharedWithdraw`), told
   * whether the node is announced now. Without it, a shared failure withdraws as a local one does.
   */
  budget?(announced: boolean): BudgetDecision;
  observer?: HealthObserver;
}

const MIN_STALL_MS = 1000;
const REASON_OF: Record<Verdict, ChangeReason> = { ok: 'healthy', overloaded: 'overloaded', broken: 'unhealthy' };

interface DrainInfo {
  /** When the drain ends, or null for "until undrained"; see `clock`. */
  until: number | null;
  /**
   * What `until` is measured on. A drain file's end is wall time: it must mean the same after a
   * restart (monotonic time starts again) and to an operator who writes one by hand, so a step of
   * the wall clock moves it, as it would move any date. A drain held in memory ends by monotonic time.
   */
  clock: 'wall' | 'monotonic';
  reason: string;
  /** Wall time of the drain (ms), 0 when unknown. */
  at: number;
}

export class HealthMonitor {
  readonly #o: MonitorOptions;
  #s: HealthState = initialState;
  #timer: NodeJS.Timeout | undefined;
  #lastTick = 0;
  #expected = 0;
  /**
   * The watchdog: a timer every fastInterval that only notices its own lateness. It is always
   * pending, also while a tick waits for its checks, so a stop at any moment shows (a tick's own
   * timer is not pending then: the stall would pass unseen, and a guard's withdrawal with it).
   */
  #watch: NodeJS.Timeout | undefined;
  #beatAt = 0;
  #results: CheckResult[] = [];
  #verdict: Verdict = 'ok';
  /** Shared checks fail and would withdraw: a budgeted withdrawal is wanted (told to the fleet). */
  #budgeted = false;
  /** Why the budget holds the withdrawal back, or null. */
  #held: string | null = null;
  /** The budget let this node withdraw for shared checks at the last round: it is on its way out. */
  #leaving = false;
  #drillUntil = 0;
  #memoryDrain: DrainInfo | null = null;
  #running = false;
  #stopped = false;

  /** The configured checks and the drill's, run on every tick. */
  readonly #checks: readonly Check[];

  constructor(o: MonitorOptions) {
    this.#o = o;
    this.#checks = [...o.checks, this.#drillCheck()];
  }

  get state(): HealthState {
    return this.#s;
  }

  /** The desired announcement now. */
  get announce(): boolean {
    return shouldAnnounce(this.#s);
  }

  /** The last round's verdict. */
  get verdict(): Verdict {
    return this.#verdict;
  }

  /** Whether shared checks fail with `sharedWithdraw` on: this node wants a budgeted withdrawal. */
  get budgeted(): boolean {
    return this.#budgeted;
  }

  /** The budget let this node go for shared checks at the last round (told to the fleet: it goes first). */
  get leaving(): boolean {
    return this.#leaving;
  }

  /** Check now rather than at the next interval (what the checks see has changed). */
  recheck(): void {
    if (!this.#running) this.#schedule(0);
  }

  /** Begin checking; a drain left on disk is honoured at once. */
  start(): void {
    const d = this.#readDrain();
    if (d) this.#apply({ type: 'drain', now: this.#o.clock.now(), reason: `drained (${d.reason})` }, 'drained');
    this.#o.onDesired(false, 'startup', 'startup: withdraw until the checks pass', false);
    this.#lastTick = this.#o.clock.now();
    this.#expected = 0;
    this.#beatAt = this.#lastTick;
    this.#watch = setInterval(() => void this.#watchdog(), this.#o.params.fastIntervalMs);
    this.#watch.unref();
    this.#schedule(0);
  }

  /** STOPPING: withdrawn from now on; no more checks. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#watch);
    this.#apply({ type: 'stop', now: this.#o.clock.now() }, 'stopping');
  }

  /** Drain for `forMs` (or until undrained). Written to the drain file when there is one. */
  drain(forMs: number | null, reason = 'operator drain'): string {
    const now = this.#o.clock.now();
    const wall = this.#o.clock.wall();
    const untilWall = forMs === null ? null : wall + forMs;
    let persisted = false;
    if (this.#o.drainFile) {
      writeFileSync(
        this.#o.drainFile,
        `${JSON.stringify({ until: untilWall === null ? null : new Date(untilWall).toISOString(), reason, at: new Date(wall).toISOString() })}\n`,
      );
      persisted = true;
    } else this.#memoryDrain = { until: forMs === null ? null : now + forMs, clock: 'monotonic', reason, at: wall };
    this.#o.log.warn('drain', {
      reason,
      until: untilWall === null ? null : new Date(untilWall).toISOString(),
      file: this.#o.drainFile,
    });
    this.#apply({ type: 'drain', now, reason: `drained (${reason})` }, 'drained');
    const until = untilWall === null ? 'until undrained' : `until ${new Date(untilWall).toISOString()}`;
    return `drained ${until}${persisted ? `; recorded in ${this.#o.drainFile}` : '; not persistent (no health.drainFile)'}`;
  }

  undrain(): string {
    this.#clearDrain();
    this.#o.log.warn('undrain', {});
    const was = this.#s.state;
    this.#apply({ type: 'undrain', now: this.#o.clock.now() }, 'undrained');
    return was === State.DISABLED ? `undrained: now ${this.#s.state}` : `was not drained (${was})`;
  }

  /** Drill: make the local checks fail for `forMs`, then pass again by themselves. */
  drillFail(forMs: number): string {
    this.#drillUntil = this.#o.clock.now() + forMs;
    const wall = this.#o.clock.wall();
    const untilIso = new Date(wall + forMs).toISOString();
    this.#o.log.warn('drill: injected local failure', {
      from: new Date(wall).toISOString(),
      until: untilIso,
      ms: forMs,
    });
    const t = setTimeout(
      () => this.#o.log.warn('drill: injected failure over', { at: new Date(this.#o.clock.wall()).toISOString() }),
      forMs,
    );
    t.unref();
    this.#schedule(0);
    return `injected a local check failure until ${untilIso}`;
  }

  /** The drill check: fails while an injected failure lasts. */
  #drillCheck(): Check {
    return {
      name: 'drill',
      kind: 'local',
      run: () => {
        const left = this.#drillUntil - this.#o.clock.now();
        return left > 0
          ? { ok: false, detail: `injected failure for ${left} ms more` }
          : { ok: true, detail: 'no drill' };
      },
    };
  }

  status(): Record<string, unknown> {
    const s = this.#s;
    const now = this.#o.clock.now();
    return {
      state: s.state,
      announce: shouldAnnounce(s),
      reason: s.reason,
      flaps: s.flaps,
      holdDownMs: Math.max(0, s.holdUntil - now),
      drain: this.#drainStatus(now),
      drillMs: Math.max(0, this.#drillUntil - now),
      verdict: this.#verdict,
      heldByBudget: this.#held,
      checks: this.#results,
      summary: `${s.state}${shouldAnnounce(s) ? ' (announced)' : ' (withdrawn)'}: ${s.reason}`,
    };
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#expected = ms;
    this.#timer = setTimeout(() => void this.#tick(), ms);
  }

  async #tick(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    try {
      const p = this.#o.params;
      const now = this.#o.clock.now();
      // A late tick: the process did not run for a while. Long enough, it is a stall (whichever of
      // the two timers runs first reports it); shorter, someone may have withdrawn for us
      // meanwhile: say again what we want.
      const stalled = this.#watchdog();
      const gap = now - this.#lastTick - this.#expected;
      if (!stalled && gap > 2 * Math.max(this.#expected, p.fastIntervalMs)) this.#o.onReassert();
      this.#syncDrain(now);
      // The load is read after the probes are back, so that its window holds the time they took:
      // a probe lost in a flood is then judged with the load that lost it.
      const results = await runChecks(this.#checks.filter((c) => c.kind !== 'load'));
      results.push(...(await runChecks(this.#checks.filter((c) => c.kind === 'load'))));
      this.#results = results;
      this.#o.observer?.checks(results);
      const { verdict, detail } = this.#judge(results);
      this.#verdict = verdict;
      this.#apply({ type: 'check', verdict, now: this.#o.clock.now(), detail }, REASON_OF[verdict]);
    } catch (e) {
      this.#o.log.error('health tick failed', { error: errorMessage(e) });
    } finally {
      this.#running = false;
      this.#lastTick = this.#o.clock.now();
      this.#schedule(nextInterval(this.#s, this.#o.params));
    }
  }

  /**
   * The verdict of a round: broken when a local check fails (a load-sensitive one only while the
   * node is not overloaded) or a shared one with `sharedWithdraw` (or that `withdraws` alone) that the budget lets withdraw;
   * else overloaded when a load check fails; else ok.
   */
  #judge(results: readonly CheckResult[]): { verdict: Verdict; detail: string } {
    const load = results.filter((r) => !r.ok && r.kind === 'load');
    const overloaded = load.length > 0;
    const local = results.filter((r) => !r.ok && r.kind === 'local' && !(overloaded && r.loadSensitive));
    let shared = results.filter((r) => !r.ok && r.kind === 'shared');
    if (!this.#o.sharedWithdraw) {
      for (const r of shared)
        if (!r.withdraws)
          this.#o.log.debug('shared check failing (not withdrawing)', { check: r.name, detail: r.detail });
      shared = shared.filter((r) => r.withdraws);
    }
    this.#budgeted = shared.length > 0;
    let held: string | null = null;
    if (local.length === 0 && shared.length > 0 && this.#o.budget) {
      const b = this.#o.budget(shouldAnnounce(this.#s));
      if (!b.allow) {
        held = `${shared.map((r) => `${r.name}: ${r.detail}`).join('; ')}; not withdrawing: ${b.detail}`;
        shared = [];
      }
    }
    if ((held === null) !== (this.#held === null)) {
      if (held) this.#o.log.warn('withdraw budget: keeping the announcement', { detail: held });
      else this.#o.log.info('withdraw budget: no longer holding', {});
      this.#o.observer?.held(held !== null);
    }
    this.#held = held;
    this.#leaving = shared.length > 0;
    const broken = [...local, ...shared];
    const names = (rs: readonly CheckResult[]): string => rs.map((r) => `${r.name}: ${r.detail}`).join('; ');
    if (broken.length > 0) return { verdict: 'broken', detail: names(broken) };
    if (overloaded) {
      const lost = results.filter((r) => !r.ok && r.kind === 'local');
      return { verdict: 'overloaded', detail: names([...load, ...lost]) };
    }
    return { verdict: 'ok', detail: held ?? 'checks pass' };
  }

  /** A late watchdog means the whole process was stopped (SIGSTOP, a frozen VM); true when it reports a stall. */
  #watchdog(): boolean {
    if (this.#stopped) return false;
    const p = this.#o.params;
    const now = this.#o.clock.now();
    const late = now - this.#beatAt - p.fastIntervalMs;
    this.#beatAt = now;
    // Shorter than a second is scheduling noise on a loaded machine, not a stall.
    if (late <= Math.max(p.fall * p.intervalMs, MIN_STALL_MS)) return false;
    this.#o.log.warn('stalled: the process did not run for a while', { ms: late });
    this.#apply({ type: 'stalled', now, ms: late }, 'stalled');
    return true;
  }

  #apply(e: Event, reason: ChangeReason): void {
    const before = this.#s;
    const after = step(before, e, this.#o.params);
    this.#s = after;
    if (after.lastFlapAt !== before.lastFlapAt) this.#o.observer?.flap();
    const wasUp = shouldAnnounce(before);
    const isUp = shouldAnnounce(after);
    this.#o.observer?.state(after, isUp);
    if (after.state !== before.state) {
      const level =
        after.state === State.DOWN || after.state === State.FALLING || after.state === State.SHEDDING ? 'warn' : 'info';
      this.#o.log[level]('health state', {
        from: before.state,
        to: after.state,
        reason: after.reason,
        holdDownMs: Math.max(0, after.holdUntil - this.#o.clock.now()),
        flaps: after.flaps,
      });
    }
    const wasShedding = before.state === State.SHEDDING;
    const isShedding = after.state === State.SHEDDING;
    if (wasUp !== isUp || wasShedding !== isShedding) this.#o.onDesired(isUp, reason, after.reason, isShedding);
  }

  /** The drain for people: its end as an ISO time, whichever clock it is kept on. */
  #drainStatus(now: number): Record<string, unknown> | null {
    const d = this.#readDrain();
    if (!d) return null;
    const left = d.until === null ? null : d.until - (d.clock === 'wall' ? this.#o.clock.wall() : now);
    return {
      reason: d.reason,
      at: d.at ? new Date(d.at).toISOString() : null,
      until: left === null ? null : new Date(this.#o.clock.wall() + left).toISOString(),
      leftMs: left === null ? null : Math.max(0, left),
    };
  }

  /** Follow the drain file: created by hand → drain; removed or expired → undrain. */
  #syncDrain(now: number): void {
    const d = this.#readDrain();
    if (d && d.until !== null && d.until <= (d.clock === 'wall' ? this.#o.clock.wall() : now)) {
      this.#o.log.warn('drain expired', { reason: d.reason });
      this.#clearDrain();
      if (this.#s.state === State.DISABLED) this.#apply({ type: 'undrain', now }, 'undrained');
      return;
    }
    if (d && this.#s.state !== State.DISABLED)
      this.#apply({ type: 'drain', now, reason: `drained (${d.reason})` }, 'drained');
    else if (!d && this.#s.state === State.DISABLED) this.#apply({ type: 'undrain', now }, 'undrained');
  }

  #readDrain(): DrainInfo | null {
    if (!this.#o.drainFile) return this.#memoryDrain;
    let text: string;
    try {
      text = readFileSync(this.#o.drainFile, 'utf8');
    } catch {
      return null;
    }
    // Any file drains (an operator's `touch` works); ours carries the reason and an end time.
    try {
      const j = JSON.parse(text) as { until?: string | null; reason?: string; at?: string };
      return {
        until: j.until ? Date.parse(j.until) : null,
        clock: 'wall',
        reason: j.reason ?? 'drain file',
        at: j.at ? Date.parse(j.at) : 0,
      };
    } catch {
      return { until: null, clock: 'wall', reason: `drain file ${this.#o.drainFile}`, at: 0 };
    }
  }

  #clearDrain(): void {
    this.#memoryDrain = null;
    if (this.#o.drainFile) rmSync(this.#o.drainFile, { force: true });
  }
}
