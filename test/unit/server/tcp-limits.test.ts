// The TCP limits without sockets: admission by client prefix with the probes' reserve, deadlines on
// a fake clock (a trickle cannot push them back), the write budget, and linear reassembly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientPrefix } from '../../../src/core/index.ts';
import { Admission, Deadlines, WriteBudget } from '../../../src/server/index.ts';
import type { Deadline, Timers } from '../../../src/server/index.ts';
import { FrameReader, frame } from '../../../src/wire/index.ts';

/** Timers on a clock that moves only when told; due timers fire in order. */
class FakeTimers implements Timers {
  t = 0;
  #due: { at: number; fn: () => void; live: boolean }[] = [];
  now(): number {
    return this.t;
  }
  set(fn: () => void, ms: number): { cancel(): void } {
    const e = { at: this.t + ms, fn, live: true };
    this.#due.push(e);
    return { cancel: () => void (e.live = false) };
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.#due.filter((e) => e.live && e.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      next.live = false;
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

const LIMITS = { firstQueryTimeoutMs: 5000, messageTimeoutMs: 5000, idleTimeoutMs: 10_000, drainTimeoutMs: 5000 };

function deadlines(): { d: Deadlines; clock: FakeTimers; fired: Deadline[] } {
  const clock = new FakeTimers();
  const fired: Deadline[] = [];
  return { d: new Deadlines(LIMITS, clock, (why) => fired.push(why)), clock, fired };
}

describe('clientPrefix', () => {
  for (const [addr, key] of [
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2:aaaa::1', '20010db800010002/64'],
    ['2001:db8:1:2:bbbb:cccc:dddd:eeee', '20010db800010002/64'],
    ['::1', '0000000000000000/64'],
    ['not an address', ''],
  ] as const)
    it(`${addr} → ${key}`, () => assert.equal(clientPrefix(addr), key));
});

describe('Admission', () => {
  it('caps each client (IPv6 by /64) and the total, and says which cap refused', () => {
    const a = new Admission({ maxConnections: 3, maxPerClient: 2 }, ['192.0.2.53'], 1);
    assert.equal(a.admit('2001:db8::1').ok, true);
    assert.equal(a.admit('2001:db8::2').ok, true);
    assert.deepEqual(a.admit('2001:db8::3'), { ok: false, reason: 'per_client' });
    const third = a.admit('198.51.100.1');
    assert.equal(third.ok, true);
    assert.deepEqual(a.admit('198.51.100.2'), { ok: false, reason: 'total' });
    if (third.ok) {
      third.release();
      third.release(); // twice is once
    }
    assert.equal(a.admit('198.51.100.2').ok, true);
    assert.deepEqual(a.counts, { total: 3, reserved: 0, clients: 2 });
  });

  it('admits the node itself beyond the caps, within its reserve', () => {
    const a = new Admission({ maxConnections: 1, maxPerClient: 1 }, ['192.0.2.53'], 2);
    assert.equal(a.admit('198.51.100.1').ok, true);
    assert.deepEqual(a.admit('198.51.100.9'), { ok: false, reason: 'total' });
    const own = [a.admit('192.0.2.53'), a.admit('192.0.2.53')];
    assert.deepEqual(
      own.map((x) => x.ok && x.reserved),
      [true, true],
    );
    // The reserve is full: the node's own address is then an ordinary client.
    assert.deepEqual(a.admit('192.0.2.53'), { ok: false, reason: 'total' });
  });
});

describe('Deadlines', () => {
  it('closes a connection that sends no query at the first-query deadline, however it trickles', () => {
    const { d, clock, fired } = deadlines();
    for (let i = 0; i < 9; i++) {
      clock.advance(500);
      d.reading(true); // one more byte of a message that never completes
    }
    assert.deepEqual(fired, []);
    clock.advance(500);
    assert.deepEqual(fired, ['first_query']);
  });

  it('gives each message its own deadline from its first byte: a trickle cannot extend it', () => {
    const { d, clock, fired } = deadlines();
    d.query();
    clock.advance(1000);
    d.reading(true);
    for (let i = 0; i < 9; i++) {
      clock.advance(499);
      d.reading(true);
    }
    assert.deepEqual(fired, []);
    clock.advance(600); // 5 s after the message's first byte, whatever came since
    assert.deepEqual(fired, ['message']);
  });

  it('idles out between queries, not while an answer is awaited, and after the last activity', () => {
    const { d, clock, fired } = deadlines();
    d.query();
    d.busy(true);
    clock.advance(20_000);
    assert.deepEqual(fired, []);
    d.busy(false);
    clock.advance(9000);
    d.activity(); // an answer written
    clock.advance(9000);
    assert.deepEqual(fired, []);
    clock.advance(1000);
    assert.deepEqual(fired, ['idle']);
  });

  it('closes a client that stays over its unwritten cap past the drain deadline', () => {
    const { d, clock, fired } = deadlines();
    d.query();
    d.busy(true);
    d.backlogged(true);
    clock.advance(3000);
    d.backlogged(true); // still over: the deadline does not move
    clock.advance(2000);
    assert.deepEqual(fired, ['drain']);
  });

  it('does nothing once stopped', () => {
    const { d, clock, fired } = deadlines();
    d.stop();
    clock.advance(60_000);
    assert.deepEqual(fired, []);
  });
});

describe('WriteBudget', () => {
  it('is over past its cap and wakes the waiting at half of it', () => {
    const seen: number[] = [];
    const b = new WriteBudget(100, (n) => seen.push(n));
    let woken = 0;
    b.add(150);
    assert.equal(b.over(), true);
    b.wait(() => woken++);
    const cancel = b.wait(() => (woken += 10));
    cancel();
    b.release(60);
    assert.equal(woken, 0);
    b.release(40);
    assert.equal(woken, 1);
    assert.deepEqual(seen, [150, 90, 50]);
  });
});

describe('FrameReader', () => {
  it('reassembles a 64 KB message sent one byte at a time, and whatever follows it', () => {
    const big = Buffer.alloc(65535, 7);
    const small = Buffer.from([1, 2, 3]);
    const stream = Buffer.concat([frame(big), frame(small)]);
    const r = new FrameReader();
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      r.push(stream.subarray(i, i + 1));
      if (i === 100) assert.equal(r.partial, true);
      for (let m = r.next(); m; m = r.next()) got.push(m);
    }
    assert.equal(got.length, 2);
    assert.ok(got[0]?.equals(big));
    assert.ok(got[1]?.equals(small));
    assert.equal(r.pending, 0);
    assert.equal(r.partial, false);
  });

  it('hands out several messages of one chunk, keeps a split length, and takes nothing early', () => {
    const r = new FrameReader();
    const stream = Buffer.concat([frame(Buffer.from('ab')), frame(Buffer.from('')), frame(Buffer.from('cde'))]);
    r.push(stream.subarray(0, 7));
    assert.deepEqual([r.next()?.toString(), r.next()?.toString(), r.next()], ['ab', '', null]);
    assert.equal(r.partial, true);
    r.push(stream.subarray(7, 9));
    assert.equal(r.next(), null);
    r.push(stream.subarray(9));
    assert.equal(r.next()?.toString(), 'cde');
    assert.equal(r.partial, false);
  });

  it('takes a zero-length message that ends the bytes received (it threw once, out of a socket callback)', () => {
    const r = new FrameReader();
    r.push(Buffer.concat([frame(Buffer.from('ab')), frame(Buffer.alloc(0))]));
    assert.equal(r.next()?.toString(), 'ab');
    assert.equal(r.next()?.length, 0);
    assert.equal(r.next(), null);
    r.push(frame(Buffer.alloc(0)));
    assert.equal(r.next()?.length, 0);
    r.push(frame(Buffer.from('c')));
    assert.equal(r.next()?.toString(), 'c');
    assert.equal(r.pending, 0);
  });
});
