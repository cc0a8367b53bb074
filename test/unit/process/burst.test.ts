// Shedding at once on a burst of kernel drops, on mocked timers and a manual clock: over the rate
// it sheds within one reading, holds for `holdMs` after the last burst, then stops; close() stops
// the shedding it started.
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
  const calls: boolean[] = [];
  const w = watchBursts({
    drops: () => drops,
    maxRate: 100,
    everyMs: 100,
    holdMs: 1000,
    now: () => clock.now(),
    shed: (on) => void calls.push(on),
    log: quiet,
  });
  /** `n` drops happen during the next reading interval. */
  const step = (n: number): void => {
    drops += n;
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

  it('close stops the shedding it started', () => {
    const s = setup();
    s.step(1000);
    s.w.close();
    assert.deepEqual(s.calls, [true, false]);
  });
});
