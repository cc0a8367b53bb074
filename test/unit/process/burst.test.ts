// Shedding at once on a flood, on mocked timers and a manual clock: over the drop rate it sheds
// within one reading, over the queue at the second reading in a row, holds for `holdMs` after the
// last burst, then stops; close() stops the shedding it started. After an interval with a quiet
// event loop nothing is read, and the next reading is a new baseline.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { Logger } from '../../../src/core/index.ts';
import { ManualClock } from '../../../src/core/index.ts';
import { watchBursts } from '../../../src/process/burst.ts';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };

beforeEach(() => mock.timers.enable({ apis: ['setInterval'] }));
afterEach(() => mock.timers.reset());

function setup() {
  const clock = new ManualClock();
  let drops = 0;
  let queued = 0;
  let busy = 1;
  let reads = 0;
  const calls: boolean[] = [];
  const w = watchBursts({
    backlog: () => {
      reads++;
      return { drops, queued };
    },
    busy: () => busy,
    minBusy: 0.5,
    maxRate: 100,
    maxQueued: 1000,
    everyMs: 100,
    holdMs: 1000,
    now: () => clock.now(),
    shed: (on) => void calls.push(on),
    log: quiet,
  });
  /** `n` drops happen during the next reading interval, and `q` bytes wait at its end. */
  const step = (n: number, q = 0): void => {
    drops += n;
    queued = q;
    clock.advance(100);
    mock.timers.tick(100);
  };
  return {
    w,
    step,
    calls,
    idle: (on: boolean) => void (busy = on ? 0.1 : 1),
    reads: () => reads,
  };
}

describe('watchBursts', () => {
  it('sheds within one reading of a burst, holds after the last one, then stops', () => {
    const s = setup();
    s.step(5); // 50/s: under the rate
    assert.deepEqual(s.calls, []);
    s.step(50); // 500/s
    assert.deepEqual(s.calls, [true]);
    for (let i = 0; i < 5; i++) s.step(50);
    assert.deepEqual(s.calls, [true], 'still on, not told again');
    for (let i = 0; i < 9; i++) s.step(0);
    assert.deepEqual(s.calls, [true], 'held for holdMs after the last burst');
    s.step(0);
    assert.deepEqual(s.calls, [true, false]);
  });

  it('sheds when the receive queue is over its limit at two readings in a row, not at one', () => {
    const s = setup();
    s.step(0, 5000); // a garbage collection's queue
    s.step(0, 200);
    s.step(0, 5000);
    assert.deepEqual(s.calls, [], 'one deep reading at a time');
    s.step(0, 1500);
    assert.deepEqual(s.calls, [true], 'behind for a reading interval: shedding, without a drop');
    for (let i = 0; i < 10; i++) s.step(0, 0);
    assert.deepEqual(s.calls, [true, false]);
  });

  it('reads nothing after a quiet interval; the first busy reading is the new baseline', () => {
    const s = setup();
    s.idle(true);
    for (let i = 0; i < 5; i++) s.step(1000, 5000);
    assert.equal(s.reads(), 0, 'a loop with idle time has no backlog to read');
    assert.deepEqual(s.calls, []);
    s.idle(false);
    s.step(1000);
    assert.equal(s.reads(), 1);
    assert.deepEqual(s.calls, [], "the quiet intervals' drops are not a rate");
    s.step(50);
    assert.deepEqual(s.calls, [true], 'a burst within the second busy reading');
    s.idle(true);
    s.step(0, 5000);
    s.idle(false);
    s.step(0, 5000);
    s.step(0, 5000);
    assert.equal(s.reads(), 4);
  });

  it('a deep queue counts twice in a row only across busy readings', () => {
    const s = setup();
    s.step(0, 5000);
    s.idle(true);
    s.step(0, 5000);
    s.idle(false);
    s.step(0, 5000);
    assert.deepEqual(s.calls, [], 'a quiet interval between two deep readings');
    s.step(0, 5000);
    assert.deepEqual(s.calls, [true]);
  });

  it('close stops the shedding it started', () => {
    const s = setup();
    s.step(0);
    s.step(1000);
    s.w.close();
    assert.deepEqual(s.calls, [true, false]);
  });
});
