// Shedding at once on a flood, on mocked timers and a manual clock: over the drop rate it sheds
// within one reading, over the queue at the second reading in a row, holds for `holdMs` after the
// last burst, then stops; close() stops the shedding it started.
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
  const calls: boolean[] = [];
  const w = watchBursts({
    backlog: () => ({ drops, queued }),
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
  return { w, step, calls };
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

  it('close stops the shedding it started', () => {
    const s = setup();
    s.step(1000);
    s.w.close();
    assert.deepEqual(s.calls, [true, false]);
  });
});
