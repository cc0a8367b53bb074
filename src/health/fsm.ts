// The health state machine: pure, no I/O, no clock of its own. It turns check verdicts and operator
// actions into a state, whether the address should be announced, and when to check next.
//
// A tick's verdict is ok, overloaded or broken. Broken (the node cannot answer) withdraws after
// `fall`; overloaded (it answers, but is being hit) keeps the route and sheds load: withdrawing
// under load only moves the load to the next site.
//
//          ok×rise (and hold-down over)          broken               broken×fall
//   INIT ──ok──▶ RISING ─────────────────▶ UP ──────────▶ FALLING ─────────────▶ DOWN (a flap)
//    │ broken     │ broken                 ▲ ▲ ◀─────ok──────┘                    │ ok
//    ▼            ▼                        │ │ overloaded (×fall from UP; FALLING) ▼
//   DOWN         DOWN               ok×rise│ ▼                                   RISING
//                                       SHEDDING ──broken──▶ FALLING
//   drain: every state → DISABLED (withdrawn, checks go on) ─undrain─▶ UP if healthy, else RISING
//   stop:  every state → STOPPING (withdrawn, final)
//
// UP enters SHEDDING after `fall` overloaded rounds in a row (a GC pause or one busy second is not
// an attack); FALLING (broken rounds seen) at the first. Overloaded counts as healthy while rising
// (the node answers), and a rise that ends overloaded enters SHEDDING. Leaving SHEDDING takes `rise`
// ok rounds at the normal interval, so that a load near the limit does not toggle the shedding (or
// a de-preferred route).
//
// Hold-down: the first withdrawal for health (a flap) waits only for `rise`; the second inside the
// decay window holds re-announcing for `initial`, each further one doubles it up to `max`. An
// operator's drain and undrain are not flaps.

export const State = {
  INIT: 'INIT',
  RISING: 'RISING',
  UP: 'UP',
  FALLING: 'FALLING',
  DOWN: 'DOWN',
  /** Announced (or de-preferred) and shedding load: overloaded, not broken. */
  SHEDDING: 'SHEDDING',
  DISABLED: 'DISABLED',
  STOPPING: 'STOPPING',
} as const;
export type State = (typeof State)[keyof typeof State];

export interface FsmParams {
  rise: number;
  fall: number;
  intervalMs: number;
  fastIntervalMs: number;
  holdDown: { initialMs: number; maxMs: number; decayMs: number };
}

export interface HealthState {
  state: State;
  /** Consecutive results counted toward rise (RISING, and SHEDDING's way back to UP) or fall (FALLING). */
  count: number;
  /** Consecutive results that were not broken, kept while DISABLED so an undrain knows the health. */
  okStreak: number;
  /** Flaps inside the decay window. */
  flaps: number;
  lastFlapAt: number;
  /** Not announced again before this time (ms). */
  holdUntil: number;
  /** Why the state is what it is, for logs and metrics. */
  reason: string;
}

export const initialState: HealthState = {
  state: State.INIT,
  count: 0,
  okStreak: 0,
  flaps: 0,
  lastFlapAt: -Infinity,
  holdUntil: 0,
  reason: 'starting',
};

/** What one round of checks says: the node answers normally, answers under too much load, or cannot answer. */
export type Verdict = 'ok' | 'overloaded' | 'broken';

export type Event =
  | { type: 'check'; verdict: Verdict; now: number; detail?: string }
  | { type: 'drain'; now: number; reason?: string }
  | { type: 'undrain'; now: number }
  | { type: 'stop'; now: number }
  /** The process was not running for longer than its fall window (SIGSTOP, a frozen VM). */
  | { type: 'stalled'; now: number; ms: number };

/** Whether the address should be announced in this state. */
export function shouldAnnounce(s: HealthState): boolean {
  return s.state === State.UP || s.state === State.FALLING || s.state === State.SHEDDING;
}

/** How long until the next check. */
export function nextInterval(s: HealthState, p: FsmParams): number {
  return s.state === State.RISING || s.state === State.FALLING ? p.fastIntervalMs : p.intervalMs;
}

/** The hold-down after the n-th flap in the window: none for the first, then initial·2^(n-2). */
export function holdDownFor(flaps: number, p: FsmParams): number {
  if (flaps < 2) return 0;
  return Math.min(p.holdDown.initialMs * 2 ** (flaps - 2), p.holdDown.maxMs);
}

export function step(s: HealthState, e: Event, p: FsmParams): HealthState {
  if (s.state === State.STOPPING) return s;
  switch (e.type) {
    case 'stop':
      return { ...s, state: State.STOPPING, count: 0, reason: 'stopping' };
    case 'drain':
      return { ...s, state: State.DISABLED, count: 0, reason: e.reason ?? 'drained' };
    case 'undrain': {
      if (s.state !== State.DISABLED) return s;
      // Not a flap: back to UP at once when the checks were good all along, else rise as usual.
      if (s.okStreak >= p.rise) return { ...s, state: State.UP, count: 0, reason: 'undrained' };
      return {
        ...s,
        state: s.okStreak > 0 ? State.RISING : State.DOWN,
        count: s.okStreak,
        reason: 'undrained, waiting for rise',
      };
    }
    case 'check':
      return check(s, e.verdict, e.now, e.detail, p);
    case 'stalled': {
      // Whoever watched from outside may have withdrawn us meanwhile: count it as failing `fall`
      // checks, so announcing again waits for `rise`.
      const why = `stalled for ${e.ms} ms`;
      if (shouldAnnounce(s)) return falling({ ...s, okStreak: 0 }, p.fall, e.now, p, why);
      if (s.state === State.DISABLED) return { ...s, okStreak: 0 };
      return { ...s, state: State.DOWN, count: 0, okStreak: 0, reason: why };
    }
  }
}

function check(s: HealthState, verdict: Verdict, now: number, detail: string | undefined, p: FsmParams): HealthState {
  // Overloaded is not broken: it counts toward rise and against nothing.
  const answers = verdict !== 'broken';
  const okStreak = answers ? s.okStreak + 1 : 0;
  const why =
    detail ?? (verdict === 'ok' ? 'checks pass' : verdict === 'overloaded' ? 'overloaded' : 'a local check failed');
  switch (s.state) {
    case State.DISABLED:
      return { ...s, okStreak };
    case State.INIT:
    case State.DOWN:
      if (!answers) return { ...s, state: State.DOWN, count: 0, okStreak, reason: why };
      return rising({ ...s, okStreak }, 1, verdict, now, p, why);
    case State.RISING:
      if (!answers) return { ...s, state: State.DOWN, count: 0, okStreak, reason: why };
      return rising({ ...s, okStreak }, s.count + 1, verdict, now, p, why);
    case State.UP:
      if (verdict === 'ok') return { ...s, count: 0, okStreak, reason: why };
      // Overload must last `fall` rounds: a GC pause or one busy second is not worth shedding for.
      if (verdict === 'overloaded') {
        if (s.count + 1 >= p.fall) return { ...s, state: State.SHEDDING, count: 0, okStreak, reason: why };
        return { ...s, count: s.count + 1, okStreak, reason: `${why} (${s.count + 1} of ${p.fall} rounds)` };
      }
      return falling({ ...s, okStreak }, 1, now, p, why);
    case State.FALLING:
      if (verdict === 'ok') return { ...s, state: State.UP, count: 0, okStreak, reason: why };
      if (verdict === 'overloaded') return { ...s, state: State.SHEDDING, count: 0, okStreak, reason: why };
      return falling({ ...s, okStreak }, s.count + 1, now, p, why);
    case State.SHEDDING:
      if (verdict === 'broken') return falling({ ...s, okStreak }, 1, now, p, why);
      if (verdict === 'overloaded') return { ...s, count: 0, okStreak, reason: why };
      if (s.count + 1 >= p.rise)
        return { ...s, state: State.UP, count: 0, okStreak, reason: `${why}; load back to normal` };
      return {
        ...s,
        count: s.count + 1,
        okStreak,
        reason: `${why}; load normal for ${s.count + 1} of ${p.rise} checks`,
      };
    default:
      return s;
  }
}

function rising(s: HealthState, count: number, verdict: Verdict, now: number, p: FsmParams, why: string): HealthState {
  if (count >= p.rise && now >= s.holdUntil)
    return { ...s, state: verdict === 'overloaded' ? State.SHEDDING : State.UP, count: 0, reason: why };
  // holdUntil is monotonic time, not a date: say how long is left.
  const held = count >= p.rise ? `; hold-down for ${Math.ceil((s.holdUntil - now) / 1000)} s more` : '';
  return { ...s, state: State.RISING, count, reason: `${why}${held}` };
}

function falling(s: HealthState, count: number, now: number, p: FsmParams, why: string): HealthState {
  if (count < p.fall) return { ...s, state: State.FALLING, count, reason: why };
  // A withdrawal for health: a flap. Flaps older than the decay window are forgotten.
  const flaps = now - s.lastFlapAt <= p.holdDown.decayMs ? s.flaps + 1 : 1;
  return {
    ...s,
    state: State.DOWN,
    count: 0,
    flaps,
    lastFlapAt: now,
    holdUntil: now + holdDownFor(flaps, p),
    reason: why,
  };
}
