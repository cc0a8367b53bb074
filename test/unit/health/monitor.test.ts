// The health monitor on a manual clock, its timers mocked (node:test's MockTimers) and moved with
// the clock: the drain file at start and while running, drains and drills that end by the clock,
// hold-downs, stalls and late ticks. No real sleeps: only setImmediate to let a tick's promises
// settle. (The pure state machine's tables: fsm.test.ts.)
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { LogFields, Logger } from '../../../src/core/index.ts';
import { ManualClock } from '../../../src/core/index.ts';
import type { ChangeReason, Check, FsmParams } from '../../../src/health/index.ts';
import { HealthMonitor, State } from '../../../src/health/index.ts';
import { tempDir } from '../../helpers/tmp.ts';

const P: FsmParams = {
  rise: 3,
  fall: 2,
  intervalMs: 1000,
  fastIntervalMs: 250,
  holdDown: { initialMs: 10_000, maxMs: 40_000, decayMs: 60_000 },
};
/** The clock and the timers move together in steps this long (ms). */
const STEP = 10;

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Desired {
  announce: boolean;
  reason: ChangeReason;
  /** Monotonic time of the call. */
  at: number;
  shedding: boolean;
}

let dir: string;
beforeEach(() => {
  dir = tempDir('edgedns-monitor-');
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
});
afterEach(() => {
  mock.timers.reset();
  rmSync(dir, { recursive: true, force: true });
});

/** A monitor with one local check the test turns on and off, and everything it reports recorded. */
function setup(
  o: {
    drainFile?: boolean;
    params?: Partial<FsmParams>;
    shared?: { ok: boolean; withdraw: boolean };
    /** A load check and a load-sensitive probe the test turns on and off. */
    load?: { overloaded: boolean; probeOk: boolean };
    /** The withdraw budget's answer. */
    budget?: { allow: boolean };
  } = {},
) {
  const clock = new ManualClock();
  /** `hold`: the next run waits for the test to call `release()` (a probe that has not come back yet). */
  const check = { ok: true, runs: 0, hold: false, release: () => {} };
  const outcome = () => (check.ok ? { ok: true, detail: 'fine' } : { ok: false, detail: 'broken' });
  const checks: Check[] = [
    {
      name: 'local',
      kind: 'local',
      run: () => {
        check.runs++;
        if (!check.hold) return outcome();
        check.hold = false;
        return new Promise((r) => (check.release = () => r(outcome())));
      },
    },
  ];
  if (o.shared) {
    const shared = o.shared;
    checks.push({
      name: 'upstreams',
      kind: 'shared',
      run: () => ({ ok: shared.ok, detail: shared.ok ? 'reachable' : 'unreachable' }),
    });
  }
  if (o.load) {
    const load = o.load;
    checks.push(
      { name: 'load', kind: 'load', run: () => ({ ok: !load.overloaded, detail: load.overloaded ? 'busy' : 'idle' }) },
      {
        name: 'probe',
        kind: 'local',
        loadSensitive: true,
        run: () => ({ ok: load.probeOk, detail: load.probeOk ? 'answered' : 'no answer' }),
      },
    );
  }
  const desired: Desired[] = [];
  let reasserts = 0;
  const logs: { msg: string; fields: LogFields | undefined }[] = [];
  const record = (msg: string, fields?: LogFields): void => void logs.push({ msg, fields });
  const log: Logger = { debug: () => {}, info: record, warn: record, error: record, child: () => log };
  const drainFile = o.drainFile ? join(dir, 'drain') : null;
  const m = new HealthMonitor({
    params: { ...P, ...o.params },
    checks,
    sharedWithdraw: o.shared?.withdraw ?? false,
    drainFile,
    clock,
    log,
    onDesired: (announce, reason, _detail, shedding) =>
      void desired.push({ announce, reason, at: clock.now(), shedding }),
    onReassert: () => void reasserts++,
    ...(o.budget && { budget: () => ({ allow: o.budget?.allow === true, detail: 'fake budget' }) }),
  });
  /** Time passes: the clock and the timers, `STEP` ms at a time, each tick's promises settled. */
  const advance = async (ms: number): Promise<void> => {
    for (let left = ms; left > 0; left -= STEP) {
      const d = Math.min(STEP, left);
      clock.advance(d);
      mock.timers.tick(d);
      await flush();
    }
  };
  /** The process is frozen for `ms` (SIGSTOP, a paused VM): the clock moves, no timer runs; then it runs again. */
  const freeze = async (ms: number): Promise<void> => {
    clock.advance(ms);
    mock.timers.tick(ms);
    await flush();
  };
  /** Start, and stop the time just after the tick that announced (the first runs at +STEP). */
  const start = async (): Promise<void> => {
    m.start();
    await advance(P.fastIntervalMs * (P.rise - 1) + STEP);
    assert.equal(m.state.state, State.UP, 'announced after rise');
  };
  return {
    m,
    clock,
    check,
    desired,
    logs,
    drainFile,
    advance,
    freeze,
    start,
    reasserts: () => reasserts,
    t0: clock.now(),
    load: o.load,
    shared: o.shared,
  };
}

type Setup = ReturnType<typeof setup>;
/** Change what the load check and the load-sensitive probe say from now on. */
const setLoad = (s: Setup, v: { overloaded: boolean; probeOk: boolean }): void => void Object.assign(s.load ?? {}, v);
const setShared = (s: Setup, ok: boolean): void => void Object.assign(s.shared ?? {}, { ok });

const calls = (d: Desired[]): string[] => d.map((x) => `${x.announce ? 'announce' : 'withdraw'} ${x.reason}`);

describe('HealthMonitor: start', () => {
  it('withdraws first, then announces after `rise` passing checks at the fast interval', async () => {
    const s = setup();
    s.m.start();
    assert.deepEqual(calls(s.desired), ['withdraw startup']);
    await s.advance(P.fastIntervalMs * (P.rise - 1));
    assert.equal(s.m.state.state, State.RISING);
    await s.advance(STEP);
    assert.equal(s.m.state.state, State.UP);
    assert.deepEqual(calls(s.desired), ['withdraw startup', 'announce healthy']);
    // Then checked at the normal interval.
    const runs = s.check.runs;
    await s.advance(P.intervalMs * 5);
    assert.equal(s.check.runs - runs, 5);
  });
});

describe('HealthMonitor: drain file', () => {
  it('left on disk is honoured at start: never announced until it is removed; then announced at once', async () => {
    const s = setup({ drainFile: true });
    writeFileSync(
      s.drainFile as string,
      `${JSON.stringify({ until: null, reason: 'maintenance', at: new Date(s.clock.wall()).toISOString() })}\n`,
    );
    s.m.start();
    assert.equal(s.m.state.state, State.DISABLED, 'drained before the first check');
    await s.advance(10_000);
    assert.deepEqual(calls(s.desired), ['withdraw startup']);
    assert.equal(s.m.state.state, State.DISABLED);
    assert.equal((s.m.status().drain as { reason: string }).reason, 'maintenance');
    assert.ok(s.check.runs >= 10, 'checks go on while drained');
    rmSync(s.drainFile as string);
    await s.advance(P.intervalMs);
    // The checks passed all along: undrained straight to UP, no rise to wait for.
    assert.deepEqual(calls(s.desired), ['withdraw startup', 'announce undrained']);
    assert.equal(s.m.state.state, State.UP);
  });

  it('created by hand while running (any content) drains at the next check; removed, undrains', async () => {
    const s = setup({ drainFile: true });
    await s.start();
    writeFileSync(s.drainFile as string, '');
    await s.advance(P.intervalMs);
    assert.deepEqual(calls(s.desired), ['withdraw startup', 'announce healthy', 'withdraw drained']);
    assert.equal((s.m.status().drain as { reason: string }).reason, `drain file ${s.drainFile}`);
    rmSync(s.drainFile as string);
    await s.advance(P.intervalMs);
    assert.deepEqual(calls(s.desired).slice(3), ['announce undrained']);
  });

  it('whose end passed while the node was down is removed at the first check; the node rises as usual', async () => {
    const s = setup({ drainFile: true });
    writeFileSync(
      s.drainFile as string,
      JSON.stringify({ until: new Date(s.clock.wall() - 1000).toISOString(), reason: 'old' }),
    );
    await s.start();
    assert.ok(s.logs.some((l) => l.msg === 'drain expired'));
    assert.equal(s.m.status().drain, null);
    await s.advance(P.fastIntervalMs);
    assert.deepEqual(calls(s.desired), ['withdraw startup', 'announce healthy']);
  });
});

describe('HealthMonitor: drains that end by themselves', () => {
  it('in memory: ends by the monotonic clock, a step of the wall clock does not end it', async () => {
    const s = setup();
    await s.start();
    const t = s.clock.now();
    assert.match(s.m.drain(5000, 'test'), /not persistent/);
    assert.deepEqual(calls(s.desired).slice(2), ['withdraw drained']);
    s.clock.stepWall(3_600_000);
    await s.advance(4990);
    assert.equal(s.m.state.state, State.DISABLED);
    assert.equal((s.m.status().drain as { leftMs: number }).leftMs, 5000 - (s.clock.now() - t));
    await s.advance(P.intervalMs + STEP);
    assert.equal(s.m.state.state, State.UP);
    assert.deepEqual(calls(s.desired).slice(3), ['announce undrained']);
    const back = s.desired.at(-1) as Desired;
    assert.ok(back.at >= t + 5000 && back.at <= t + 5000 + P.intervalMs, `undrained at +${back.at - t} ms`);
    assert.ok(s.logs.some((l) => l.msg === 'drain expired' && l.fields?.reason === 'test'));
  });

  it('in the drain file: ends by the wall clock the file is written in', async () => {
    const s = setup({ drainFile: true });
    await s.start();
    assert.match(s.m.drain(60_000, 'file'), /recorded in/);
    await s.advance(P.intervalMs * 3);
    assert.equal(s.m.state.state, State.DISABLED);
    // The file means a date: an operator (or NTP) moving the wall clock past it ends the drain.
    s.clock.stepWall(60_000);
    await s.advance(P.intervalMs + STEP);
    assert.equal(s.m.state.state, State.UP);
    assert.deepEqual(calls(s.desired).slice(2), ['withdraw drained', 'announce undrained']);
  });

  it('undrain before the end announces at once', async () => {
    const s = setup();
    await s.start();
    s.m.drain(null);
    assert.match(s.m.undrain(), /undrained: now UP/);
    assert.deepEqual(calls(s.desired).slice(2), ['withdraw drained', 'announce undrained']);
    assert.match(s.m.undrain(), /was not drained/);
  });
});

describe('HealthMonitor: drills and hold-down', () => {
  it('a drill fails the local checks for its time: withdrawn after `fall`, announced after `rise` once it is over', async () => {
    const s = setup();
    await s.start();
    const t = s.clock.now();
    s.m.drillFail(2000);
    await s.advance(P.fastIntervalMs + STEP);
    assert.deepEqual(calls(s.desired).slice(2), ['withdraw unhealthy']);
    assert.equal(s.m.state.flaps, 1);
    assert.equal(s.m.state.holdUntil, (s.desired.at(-1) as Desired).at, 'the first flap: no hold-down');
    assert.equal(s.m.status().drillMs, 2000 - (s.clock.now() - t));
    await s.advance(2000 - (s.clock.now() - t) - STEP);
    assert.equal(s.desired.length, 3, 'still failing until the drill is over');
    await s.advance(STEP + P.intervalMs + P.fastIntervalMs * P.rise);
    assert.deepEqual(calls(s.desired).slice(3), ['announce healthy']);
    assert.ok(s.logs.some((l) => l.msg === 'drill: injected failure over'));
    assert.equal(s.m.status().drillMs, 0);
  });

  it('a second flap inside the decay window holds re-announcing for the hold-down, by the clock', async () => {
    const s = setup();
    await s.start();
    for (let flap = 1; flap <= 2; flap++) {
      s.m.drillFail(500);
      await s.advance(P.fastIntervalMs + STEP);
      assert.equal((s.desired.at(-1) as Desired).reason, 'unhealthy');
      const down = (s.desired.at(-1) as Desired).at;
      const hold = flap === 1 ? 0 : P.holdDown.initialMs;
      assert.equal(s.m.state.holdUntil, down + hold);
      // Healthy again after 500 ms; held until the hold-down is over.
      await s.advance(Math.max(hold, 500 + P.intervalMs + P.fastIntervalMs * P.rise) - STEP);
      if (hold > 0) {
        assert.equal(s.m.state.state, State.RISING, 'rise reached, hold-down not over');
        assert.match(s.m.state.reason, /hold-down for 1 s more/);
        assert.equal((s.desired.at(-1) as Desired).announce, false);
      }
      await s.advance(P.fastIntervalMs + STEP);
      const up = s.desired.at(-1) as Desired;
      assert.deepEqual([up.announce, up.reason], [true, 'healthy']);
      assert.ok(up.at >= down + hold, `announced ${up.at - down} ms after the withdrawal (hold-down ${hold})`);
    }
    assert.equal(s.m.state.flaps, 2);
  });
});

describe('HealthMonitor: a process that did not run', () => {
  it('not running for longer than fall × interval is a stall: withdrawn as a flap, announced again after `rise`', async () => {
    const s = setup();
    await s.start();
    await s.freeze(5000);
    // The monitor's timers last ran just before (the tick that announced); the watchdog, due a
    // fastInterval after that, ran 4750 ms late.
    assert.ok(
      s.logs.some(
        (l) => l.msg === 'stalled: the process did not run for a while' && l.fields?.ms === 5000 - P.fastIntervalMs,
      ),
      JSON.stringify(s.logs),
    );
    assert.deepEqual(calls(s.desired).slice(2), ['withdraw stalled']);
    assert.equal(s.m.state.flaps, 1);
    await s.advance(P.fastIntervalMs * P.rise);
    assert.deepEqual(calls(s.desired).slice(3), ['announce healthy']);
  });

  it('a stall while the checks run (a probe out when the process stopped) is a stall too', async () => {
    const s = setup();
    await s.start();
    s.check.hold = true;
    await s.advance(P.intervalMs);
    assert.equal(s.check.hold, false, 'a tick is waiting for its checks');
    await s.freeze(5000);
    s.check.release();
    await s.advance(STEP);
    assert.ok(
      s.logs.some((l) => l.msg === 'stalled: the process did not run for a while'),
      JSON.stringify(s.logs),
    );
    assert.deepEqual(calls(s.desired).slice(2), ['withdraw stalled']);
    await s.advance(P.fastIntervalMs * P.rise);
    assert.deepEqual(
      calls(s.desired).slice(3),
      ['announce healthy'],
      'the node announces again by itself (a guard may have withdrawn it)',
    );
  });

  it('a late tick short of a stall re-asserts the announcement instead', async () => {
    const s = setup({ params: { fall: 3 } });
    await s.start();
    // The tick is due 1 s after the last one and runs 2.2 s late: past twice the interval. The
    // watchdog, due 250 ms after that tick, runs 2950 ms late: not past fall × interval (3 s).
    await s.freeze(P.intervalMs + 2200);
    assert.equal(s.reasserts(), 1);
    assert.deepEqual(calls(s.desired), ['withdraw startup', 'announce healthy']);
    assert.equal(s.m.state.state, State.UP);
  });

  it('a tick late by under a second is never a stall, even when fall × interval is shorter', async () => {
    const s = setup({ params: { fall: 1, intervalMs: 300 } });
    await s.start();
    await s.freeze(300 + 900);
    assert.equal(s.reasserts(), 1, 'late enough to re-assert');
    assert.deepEqual(calls(s.desired), ['withdraw startup', 'announce healthy']);
    await s.freeze(300 + 1001);
    assert.deepEqual(calls(s.desired).slice(2), ['withdraw stalled'], 'a second and more is');
  });
});

describe('HealthMonitor: shared checks and stop', () => {
  it('a failing shared check does not withdraw by default; with sharedWithdraw it does', async () => {
    for (const withdraw of [false, true]) {
      const s = setup({ shared: { ok: false, withdraw } });
      s.m.start();
      await s.advance(P.intervalMs * 2);
      assert.deepEqual(
        calls(s.desired),
        withdraw ? ['withdraw startup'] : ['withdraw startup', 'announce healthy'],
        `sharedWithdraw ${withdraw}`,
      );
    }
  });

  it('stop: withdrawn, final, and no more checks', async () => {
    const s = setup();
    await s.start();
    s.m.stop();
    const runs = s.check.runs;
    await s.advance(5000);
    assert.equal(s.check.runs, runs);
    assert.deepEqual(calls(s.desired).slice(2), ['withdraw stopping']);
    s.m.drain(null);
    s.m.undrain();
    assert.equal(s.m.state.state, State.STOPPING);
  });
});

describe('HealthMonitor: overloaded is not broken', () => {
  it('a failing load check sheds (SHEDDING, still announced) and stops after `rise` normal checks', async () => {
    const s = setup({ load: { overloaded: false, probeOk: true } });
    await s.start();
    s.desired.length = 0;
    setLoad(s, { overloaded: true, probeOk: true });
    await s.advance(P.intervalMs * (P.fall - 1));
    assert.equal(s.m.state.state, State.UP, 'not before `fall` overloaded rounds');
    await s.advance(P.intervalMs);
    assert.equal(s.m.state.state, State.SHEDDING);
    assert.equal(s.m.announce, true);
    assert.equal(s.m.verdict, 'overloaded');
    assert.deepEqual(
      s.desired.map((d) => [d.announce, d.reason, d.shedding]),
      [[true, 'overloaded', true]],
    );
    setLoad(s, { overloaded: false, probeOk: true });
    await s.advance(P.intervalMs * (P.rise - 1));
    assert.equal(s.m.state.state, State.SHEDDING, 'not yet: rise-1 normal checks');
    await s.advance(P.intervalMs);
    assert.equal(s.m.state.state, State.UP);
    assert.deepEqual(s.desired.at(-1), { announce: true, reason: 'healthy', at: s.clock.now(), shedding: false });
  });

  it('a probe lost while overloaded sheds; the same probe lost while idle withdraws', async () => {
    const busy = setup({ load: { overloaded: false, probeOk: true } });
    await busy.start();
    setLoad(busy, { overloaded: true, probeOk: false });
    await busy.advance(P.intervalMs * 5);
    assert.equal(busy.m.state.state, State.SHEDDING);
    assert.equal(
      busy.desired.some((d) => !d.announce && d.reason === 'unhealthy'),
      false,
    );

    const idle = setup({ load: { overloaded: false, probeOk: true } });
    await idle.start();
    setLoad(idle, { overloaded: false, probeOk: false });
    await idle.advance(P.intervalMs + P.fastIntervalMs * P.fall);
    assert.equal(idle.m.state.state, State.DOWN);
    assert.equal(idle.m.verdict, 'broken');
  });

  it('a local check that is not load-sensitive withdraws even while overloaded', async () => {
    const s = setup({ load: { overloaded: false, probeOk: true } });
    await s.start();
    setLoad(s, { overloaded: true, probeOk: true });
    s.check.ok = false;
    await s.advance(P.intervalMs + P.fastIntervalMs * P.fall);
    assert.equal(s.m.state.state, State.DOWN);
  });
});

describe('HealthMonitor: withdraw budget', () => {
  it('a shared failure that the budget holds keeps the announcement, and says why', async () => {
    const s = setup({ shared: { ok: true, withdraw: true }, budget: { allow: false } });
    await s.start();
    setShared(s, false);
    await s.advance(P.intervalMs * 5);
    assert.equal(s.m.state.state, State.UP);
    assert.equal(s.m.budgeted, true);
    assert.match(String(s.m.status().heldByBudget), /upstreams: unreachable; not withdrawing: fake budget/);
    assert.ok(s.logs.some((l) => l.msg === 'withdraw budget: keeping the announcement'));
  });

  it('a shared failure the budget allows withdraws; a local failure never asks it', async () => {
    const s = setup({ shared: { ok: true, withdraw: true }, budget: { allow: true } });
    await s.start();
    setShared(s, false);
    await s.advance(P.intervalMs + P.fastIntervalMs * P.fall);
    assert.equal(s.m.state.state, State.DOWN);

    const l = setup({ shared: { ok: true, withdraw: true }, budget: { allow: false } });
    await l.start();
    l.check.ok = false;
    await l.advance(P.intervalMs + P.fastIntervalMs * P.fall);
    assert.equal(l.m.state.state, State.DOWN, 'local reasons are not budgeted');
  });
});
