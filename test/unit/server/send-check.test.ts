// Which UDP answers get a completion callback: one in CHECK_EVERY while none fails; every one for
// CHECK_ALL_MS after a failure (mocked timers), each failure counted.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { CHECK_ALL_MS, CHECK_EVERY, SendCheck } from '../../../src/server/send-check.ts';

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

/** How many of the next `n` sends get a callback. */
const checked = (c: SendCheck, n: number): number => {
  let k = 0;
  for (let i = 0; i < n; i++) if (c.next() !== undefined) k++;
  return k;
};

describe('SendCheck', () => {
  it('checks one send in CHECK_EVERY while none fails; a success changes nothing', () => {
    let failures = 0;
    const c = new SendCheck(() => failures++);
    assert.equal(checked(c, CHECK_EVERY * 100), 100);
    for (let i = 0; i < CHECK_EVERY - 1; i++) assert.equal(c.next(), undefined);
    const done = c.next();
    assert.ok(done);
    done(null);
    assert.equal(checked(c, CHECK_EVERY * 10), 10);
    assert.equal(failures, 0);
  });

  it('after a failure checks every send for CHECK_ALL_MS, counting each failure, then samples again', () => {
    let failures = 0;
    const c = new SendCheck(() => failures++);
    let done = c.next();
    while (!done) done = c.next();
    done(new Error('send EPERM'));
    assert.equal(failures, 1);
    assert.equal(checked(c, 1000), 1000, 'every send checked');
    mock.timers.tick(CHECK_ALL_MS - 1);
    const again = c.next();
    assert.ok(again);
    again(new Error('send ENOBUFS'));
    assert.equal(failures, 2);
    mock.timers.tick(CHECK_ALL_MS - 1);
    assert.equal(checked(c, 100), 100, 'the second failure restarted the window');
    mock.timers.tick(1);
    assert.equal(checked(c, CHECK_EVERY * 10), 10, 'sampling again');
  });
});
