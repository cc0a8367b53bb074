// A step of the wall clock (backwards or forwards) changes no TTL given to clients and no
// deadline: the real systemClock is used with Date.now stepped under it. Where time must not pass
// for the answer to be exact, performance.now (the monotonic clock under systemClock) is frozen
// too, so no bound depends on how fast this machine runs the test.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it, mock } from 'node:test';
import dnsPacket from 'dns-packet';
import { AnswerCache } from '../../../src/cache/index.ts';
import { ManualClock, silentLogger, systemClock } from '../../../src/core/index.ts';
import { HealthMonitor } from '../../../src/health/index.ts';
import { ResolveError, Resolver } from '../../../src/resolver/index.ts';
import { buildResponse, nameFromText, nameKey, parseMessage, parseQuery } from '../../../src/wire/index.ts';
import { testCache } from '../../helpers/cache.ts';
import { FakeUpstream } from '../../helpers/upstream.ts';
import { decode, query } from '../../helpers/wire.ts';

const HOUR = 3_600_000;
const realNow = Date.now.bind(Date);

/** Set the wall clock `ms` away from the real one (Date.now only: monotonic time is untouched). */
function stepWall(ms: number): void {
  mock.method(Date, 'now', () => realNow() + ms);
}

/** Stop both clocks under systemClock where they are; returns a step of the (stopped) wall clock. */
function freeze(): (ms: number) => void {
  const mono = performance.now();
  const wall = realNow();
  mock.method(performance, 'now', () => mono);
  const dateNow = mock.method(Date, 'now', () => wall);
  return (ms) => dateNow.mock.mockImplementation(() => wall + ms);
}

afterEach(() => mock.restoreAll());

function servedTtl(cache: AnswerCache, name: string): number | string {
  const msg = query(name, 'A');
  const q = parseQuery(msg);
  const l = cache.get(AnswerCache.key(q.key, q.qtype, q.qclass, false));
  if (l.kind !== 'fresh') return l.kind;
  return (
    decode(
      buildResponse(msg, q, {
        rcode: l.entry.rcode,
        flags: 0,
        sections: l.entry,
        opt: null,
        limit: 65535,
        ttl: { age: l.age, fixed: -1 },
      }),
    ).answers[0]?.ttl ?? 'no answer'
  );
}

describe('systemClock', () => {
  it('is monotonic and apart from the wall clock', () => {
    const a0 = systemClock.now();
    const a1 = systemClock.now();
    assert.ok(a1 >= a0, 'monotonic time never goes back');
    const step = freeze();
    const a = systemClock.now();
    const w = systemClock.wall();
    step(-HOUR);
    assert.equal(systemClock.now(), a, 'monotonic time did not follow the wall clock back');
    assert.equal(systemClock.wall(), w - HOUR, 'wall() is the wall clock');
  });

  it('ManualClock steps its wall clock alone', () => {
    const c = new ManualClock(1000);
    c.stepWall(-500);
    assert.deepEqual([c.now(), c.wall()], [1000, 500]);
    c.advance(100);
    assert.deepEqual([c.now(), c.wall()], [1100, 600]);
  });
});

describe('a wall-clock step', () => {
  for (const step of [-HOUR, HOUR]) {
    it(`of ${step / HOUR} h changes no cached TTL`, () => {
      const stepWallClock = freeze();
      const c = testCache(systemClock, { maxEntries: 100 });
      const wire = dnsPacket.encode({
        type: 'response',
        id: 1,
        flags: 0x8180,
        questions: [{ name: 'www.example.org', type: 'A', class: 'IN' }],
        answers: [{ name: 'www.example.org', type: 'A', class: 'IN', ttl: 300, data: '192.0.2.1' }],
      });
      const msg = parseMessage(wire);
      assert.ok(msg);
      const qname = nameFromText('www.example.org.', null);
      c.store(AnswerCache.key(nameKey(qname), 1, 1, false), qname, msg, false);
      stepWallClock(step);
      // A wall-clock age would give 3900 (step back) or an expired entry (step forward).
      assert.equal(servedTtl(c, 'www.example.org'), 300);
    });
  }

  describe('resolver deadline', () => {
    let silent: FakeUpstream;
    before(async () => {
      silent = await FakeUpstream.start();
      silent.mode = 'drop';
    });
    after(async () => {
      await silent.close();
    });

    it('forwards: every try within the deadline is still made', async () => {
      // A deadline far beyond the two tries (2 × 100 ms), however slow this machine runs them.
      const r = new Resolver({
        upstreams: [{ host: '127.0.0.1', port: silent.port }],
        timeoutMs: 100,
        deadlineMs: 30_000,
        udpPayload: 1232,
        clock: systemClock,
      });
      const before = silent.queries;
      const p = r.resolve({
        qname: nameFromText('www.example.org.', null),
        qtype: 1,
        qclass: 1,
        dnssecOk: false,
        checkingDisabled: false,
      });
      // After the first try is sent: a wall-clock deadline would have passed an hour ago.
      stepWall(HOUR);
      await assert.rejects(p, (e: unknown) => e instanceof ResolveError && e.reason === 'timeout');
      r.close();
      // One upstream: tried twice (once, then again while time is left).
      assert.equal(silent.queries - before, 2);
    });
  });

  for (const step of [-HOUR, HOUR]) {
    it(`of ${step / HOUR} h moves no drill deadline or memory drain`, () => {
      const stepWallClock = freeze();
      const m = new HealthMonitor({
        params: {
          rise: 1,
          fall: 1,
          intervalMs: 1000,
          fastIntervalMs: 250,
          holdDown: { initialMs: 10_000, maxMs: 40_000, decayMs: 60_000 },
        },
        checks: [],
        sharedWithdraw: false,
        drainFile: null,
        clock: systemClock,
        log: silentLogger,
        onDesired: () => {},
        onReassert: () => {},
      });
      m.drillFail(60_000);
      m.drain(120_000, 'test');
      stepWallClock(step);
      const s = m.status();
      m.stop();
      // Exact, but for the rounding of monotonic times near 1.7e12 ms (sub-millisecond).
      const drillMs = s.drillMs as number;
      assert.ok(Math.abs(drillMs - 60_000) < 1, `drill left ${drillMs} ms`);
      const drain = s.drain as { leftMs: number; until: string };
      assert.ok(Math.abs(drain.leftMs - 120_000) < 1, `drain left ${drain.leftMs} ms`);
      // Shown to people on the wall clock as it is now (ISO times have whole milliseconds).
      const shown = Date.parse(drain.until) - Date.now();
      assert.ok(Math.abs(shown - drain.leftMs) < 1, `drain until ${drain.until}`);
    });
  }
});
