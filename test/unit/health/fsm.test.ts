// The health state machine by tables: every transition, hold-down growth and decay, drain over
// every state, stop, and stalls.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Event, FsmParams, HealthState } from '../../../src/health/index.ts';
import { State, holdDownFor, initialState, nextInterval, shouldAnnounce, step } from '../../../src/health/index.ts';

const P: FsmParams = {
  rise: 3,
  fall: 2,
  intervalMs: 1000,
  fastIntervalMs: 250,
  holdDown: { initialMs: 10_000, maxMs: 40_000, decayMs: 60_000 },
};
const ok = (now: number): Event => ({ type: 'check', verdict: 'ok', now });
const bad = (now: number): Event => ({ type: 'check', verdict: 'broken', now });
const busy = (now: number): Event => ({ type: 'check', verdict: 'overloaded', now });
const run = (events: Event[], from: HealthState = initialState): HealthState =>
  events.reduce((s, e) => step(s, e, P), from);
const at = (state: HealthState['state'], over: Partial<HealthState> = {}): HealthState => ({
  ...initialState,
  state,
  ...over,
});

describe('transitions', () => {
  const table: [string, HealthState, Event, HealthState['state'], number?][] = [
    ['INIT ok → RISING', at(State.INIT), ok(0), State.RISING, 1],
    ['INIT fail → DOWN', at(State.INIT), bad(0), State.DOWN],
    ['DOWN ok → RISING', at(State.DOWN), ok(0), State.RISING, 1],
    ['DOWN fail → DOWN', at(State.DOWN), bad(0), State.DOWN],
    ['RISING ok (below rise) → RISING', at(State.RISING, { count: 1 }), ok(0), State.RISING, 2],
    ['RISING ok (reaches rise) → UP', at(State.RISING, { count: 2 }), ok(0), State.UP],
    ['RISING fail → DOWN', at(State.RISING, { count: 2 }), bad(0), State.DOWN],
    ['UP ok → UP', at(State.UP), ok(0), State.UP],
    ['UP fail → FALLING', at(State.UP), bad(0), State.FALLING, 1],
    ['FALLING ok → UP (no flap)', at(State.FALLING, { count: 1 }), ok(0), State.UP],
    ['FALLING fail (reaches fall) → DOWN', at(State.FALLING, { count: 1 }), bad(0), State.DOWN],
    ['DISABLED ok → DISABLED', at(State.DISABLED), ok(0), State.DISABLED],
    ['DISABLED fail → DISABLED', at(State.DISABLED), bad(0), State.DISABLED],
    ['STOPPING is final', at(State.STOPPING), ok(0), State.STOPPING],
    // Overloaded is not broken: it sheds and keeps the route.
    ['INIT overloaded → RISING', at(State.INIT), busy(0), State.RISING, 1],
    ['DOWN overloaded → RISING', at(State.DOWN), busy(0), State.RISING, 1],
    ['RISING overloaded (below rise) → RISING', at(State.RISING, { count: 1 }), busy(0), State.RISING, 2],
    ['RISING overloaded (reaches rise) → SHEDDING', at(State.RISING, { count: 2 }), busy(0), State.SHEDDING, 0],
    ['UP overloaded (below fall) → UP, counting', at(State.UP), busy(0), State.UP, 1],
    ['UP overloaded (reaches fall) → SHEDDING', at(State.UP, { count: 1 }), busy(0), State.SHEDDING, 0],
    ['UP ok after overloaded → UP, count back to 0', at(State.UP, { count: 1 }), ok(0), State.UP, 0],
    ['UP broken after overloaded → FALLING 1', at(State.UP, { count: 1 }), bad(0), State.FALLING, 1],
    ['FALLING overloaded → SHEDDING', at(State.FALLING, { count: 1 }), busy(0), State.SHEDDING, 0],
    ['SHEDDING overloaded → SHEDDING (count back to 0)', at(State.SHEDDING, { count: 2 }), busy(0), State.SHEDDING, 0],
    ['SHEDDING ok (below rise) → SHEDDING', at(State.SHEDDING, { count: 1 }), ok(0), State.SHEDDING, 2],
    ['SHEDDING ok (reaches rise) → UP', at(State.SHEDDING, { count: 2 }), ok(0), State.UP, 0],
    ['SHEDDING broken → FALLING', at(State.SHEDDING, { count: 2 }), bad(0), State.FALLING, 1],
    ['DISABLED overloaded → DISABLED', at(State.DISABLED), busy(0), State.DISABLED],
  ];
  for (const [name, from, e, to, count] of table) {
    it(name, () => {
      const s = step(from, e, P);
      assert.equal(s.state, to);
      if (count !== undefined) assert.equal(s.count, count);
    });
  }

  it('announces only in UP, FALLING and SHEDDING', () => {
    for (const st of Object.values(State))
      assert.equal(shouldAnnounce(at(st)), st === State.UP || st === State.FALLING || st === State.SHEDDING, st);
  });
  it('sheds after `fall` overloaded checks in a row and stops only after `rise` ok ones', () => {
    assert.equal(run([busy(0), ok(1), busy(2)], at(State.UP)).state, State.UP, 'not in a row');
    const shedding = run([busy(0), busy(1)], at(State.UP));
    assert.equal(shedding.state, State.SHEDDING);
    assert.equal(run([ok(1), ok(2), busy(3), ok(4), ok(5)], shedding).state, State.SHEDDING);
    assert.equal(run([ok(1), ok(2), busy(3), ok(4), ok(5), ok(6)], shedding).state, State.UP);
  });
  it('withdraws from SHEDDING only after `fall` broken checks, and counts the flap', () => {
    const s = run([bad(1), bad(2)], at(State.SHEDDING));
    assert.equal(s.state, State.DOWN);
    assert.equal(s.flaps, 1);
    assert.equal(run([bad(1), busy(2)], at(State.SHEDDING)).state, State.SHEDDING);
  });
  it('a node that stays overloaded while it rises does not withdraw and keeps its okStreak', () => {
    const s = run([busy(0), busy(1), busy(2), busy(3)]);
    assert.equal(s.state, State.SHEDDING);
    assert.equal(s.okStreak, 4);
  });
  it('checks fast while RISING or FALLING', () => {
    for (const st of Object.values(State))
      assert.equal(nextInterval(at(st), P), st === State.RISING || st === State.FALLING ? 250 : 1000, st);
  });
  it('needs exactly `rise` good checks from INIT, and `fall` bad ones from UP', () => {
    assert.equal(run([ok(0), ok(1)]).state, State.RISING);
    assert.equal(run([ok(0), ok(1), ok(2)]).state, State.UP);
    const up = run([ok(0), ok(1), ok(2)]);
    assert.equal(run([bad(3)], up).state, State.FALLING);
    assert.equal(run([bad(3), bad(4)], up).state, State.DOWN);
  });
});

describe('drain and stop', () => {
  for (const st of Object.values(State)) {
    it(`drain from ${st}`, () => {
      const s = step(at(st), { type: 'drain', now: 0 }, P);
      assert.equal(s.state, st === State.STOPPING ? State.STOPPING : State.DISABLED);
      assert.equal(shouldAnnounce(s), false);
    });
    it(`stop from ${st}`, () => assert.equal(step(at(st), { type: 'stop', now: 0 }, P).state, State.STOPPING));
  }
  it('undrain of a healthy node announces at once and is not a flap', () => {
    const up = run([ok(0), ok(1), ok(2)]);
    const drained = run([{ type: 'drain', now: 3 }, ok(4), ok(5), ok(6)], up);
    const back = step(drained, { type: 'undrain', now: 7 }, P);
    assert.equal(back.state, State.UP);
    assert.equal(back.flaps, 0);
    assert.equal(back.holdUntil, 0);
  });
  it('undrain of a node that failed while drained goes through rise', () => {
    const drained = run([{ type: 'drain', now: 0 }, ok(1), bad(2), ok(3)]);
    const back = step(drained, { type: 'undrain', now: 4 }, P);
    assert.equal(back.state, State.RISING);
    assert.equal(back.count, 1);
    assert.equal(
      step(at(State.UP), { type: 'undrain', now: 0 }, P).state,
      State.UP,
      'undrain when not drained changes nothing',
    );
  });
});

describe('hold-down', () => {
  it('grows: none for the first flap, then initial, doubling, capped', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => holdDownFor(n, P)),
      [0, 10_000, 20_000, 40_000, 40_000, 40_000],
    );
  });
  /** Bring the node up, then fail it `fall` times at `t`: one flap. */
  const flap = (s: HealthState, t: number): HealthState => {
    let x = s;
    for (let i = 0; x.state !== State.UP && i < 100; i++) x = step(x, ok(t + i), P);
    return run([bad(t + 100), bad(t + 101)], x);
  };
  it('the first recovery waits only for rise', () => {
    const s = flap(initialState, 0);
    assert.equal(s.flaps, 1);
    assert.equal(s.holdUntil, 101);
    assert.equal(run([ok(200), ok(201), ok(202)], s).state, State.UP);
  });
  it('the second flap in the window holds re-announcing; rise alone is not enough', () => {
    const s = flap(flap(initialState, 0), 1000);
    assert.equal(s.flaps, 2);
    assert.equal(s.holdUntil, 1101 + 10_000);
    const risen = run([ok(2000), ok(2001), ok(2002), ok(5000)], s);
    assert.equal(risen.state, State.RISING, 'held');
    assert.equal(shouldAnnounce(risen), false);
    assert.equal(step(risen, ok(11_200), P).state, State.UP, 'announced once the hold-down is over');
  });
  it('a third flap doubles it', () => {
    let s = flap(initialState, 0);
    s = flap(s, 1000);
    s = run([ok(11_200), ok(11_201), ok(11_202)], s);
    s = flap(s, 12_000);
    assert.equal(s.flaps, 3);
    assert.equal(s.holdUntil - s.lastFlapAt, 20_000);
  });
  it('decays: a flap after a quiet decay window counts as the first again', () => {
    let s = flap(flap(initialState, 0), 1000);
    s = run([ok(20_000), ok(20_001), ok(20_002)], s);
    assert.equal(s.state, State.UP);
    s = flap(s, 200_000);
    assert.equal(s.flaps, 1);
    assert.equal(s.holdUntil, s.lastFlapAt);
  });
});

describe('stalls', () => {
  it('a stalled announced node goes DOWN as a flap and must rise again', () => {
    const up = run([ok(0), ok(1), ok(2)]);
    const s = step(up, { type: 'stalled', now: 5000, ms: 4000 }, P);
    assert.equal(s.state, State.DOWN);
    assert.equal(s.flaps, 1);
    assert.equal(run([ok(5001), ok(5002)], s).state, State.RISING);
    assert.equal(run([ok(5001), ok(5002), ok(5003)], s).state, State.UP);
  });
  it('a stall while drained keeps it drained', () => {
    assert.equal(step(at(State.DISABLED), { type: 'stalled', now: 0, ms: 9000 }, P).state, State.DISABLED);
  });
});
