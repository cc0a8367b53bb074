// The fetch limits, the zone a name is counted under, and remembered failures, on their own and
// in the Forwarder (with a fake resolver whose answers the test releases, and a manual clock).
// No test sleeps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock, silentLogger } from '../../../src/core/index.ts';
import { ResolveError } from '../../../src/resolver/index.ts';
import { EDE, FailureCache, FetchLimits, Forwarder, ZoneCuts } from '../../../src/server/index.ts';
import type { FetchLimit, Forwarded } from '../../../src/server/index.ts';
import { keyToText, nameFromText, nameKey, parseQuery } from '../../../src/wire/index.ts';
import { testCache } from '../../helpers/cache.ts';
import { FakeResolver, upstreamReply } from '../../helpers/fake-resolver.ts';
import { query } from '../../helpers/wire.ts';

const key = (name: string): string => nameKey(nameFromText(name, null));
const text = (k: string): string => keyToText(k);

describe('ZoneCuts', () => {
  it('without a cut seen: the last two labels', () => {
    const z = new ZoneCuts(100);
    assert.equal(text(z.zoneOf(key('a.b.victim.example.org.'))), 'example.org.');
    assert.equal(text(z.zoneOf(key('example.org.'))), 'example.org.');
    assert.equal(text(z.zoneOf(key('org.'))), 'org.');
    assert.equal(text(z.zoneOf(key('.'))), '.');
  });

  it('learns cuts from SOA and NS owners of the name asked: the longest one counts', () => {
    const z = new ZoneCuts(100);
    z.learn(key('x.victim.example.org.'), upstreamReply('x.victim.example.org', { nxZone: 'victim.example.org' }));
    assert.equal(text(z.zoneOf(key('r1.victim.example.org.'))), 'victim.example.org.');
    assert.equal(text(z.zoneOf(key('a.b.victim.example.org.'))), 'victim.example.org.');
    assert.equal(text(z.zoneOf(key('other.example.org.'))), 'example.org.');
    z.learn(
      key('www.deep.victim.example.org.'),
      upstreamReply('www.deep.victim.example.org', { a: '192.0.2.1', ns: 'deep.victim.example.org' }),
    );
    assert.equal(text(z.zoneOf(key('q.deep.victim.example.org.'))), 'deep.victim.example.org.');
    assert.equal(text(z.zoneOf(key('q.victim.example.org.'))), 'victim.example.org.');
  });

  it('ignores cuts that are not above the name asked, and those of two labels or fewer', () => {
    const z = new ZoneCuts(100);
    z.learn(key('x.example.org.'), upstreamReply('x.example.org', { nxZone: 'evil.example.net' }));
    z.learn(key('x.sub.example.org.'), upstreamReply('x.sub.example.org', { nxZone: 'org' }));
    // "ub.example.org" ends the name's text but is not one of its ancestors.
    z.learn(key('x.sub.example.org.'), upstreamReply('x.sub.example.org', { nxZone: 'ub.example.org' }));
    assert.equal(z.size, 0);
    assert.equal(text(z.zoneOf(key('a.evil.example.net.'))), 'example.net.');
  });

  it('is bounded: the least recently used cut is forgotten first', () => {
    const z = new ZoneCuts(2);
    for (const n of ['a', 'b', 'c'])
      z.learn(key(`x.${n}.example.org.`), upstreamReply(`x.${n}.example.org`, { nxZone: `${n}.example.org` }));
    assert.equal(z.size, 2);
    assert.equal(text(z.zoneOf(key('y.a.example.org.'))), 'example.org.');
    assert.equal(text(z.zoneOf(key('y.c.example.org.'))), 'c.example.org.');
  });
});

describe('FetchLimits', () => {
  it('caps in flight per zone and in total, and gives slots back', () => {
    const l = new FetchLimits(3, 2);
    assert.equal(l.acquire('a'), null);
    assert.equal(l.acquire('a'), null);
    assert.equal(l.acquire('a'), 'per_zone');
    assert.equal(l.acquire('b'), null);
    assert.equal(l.acquire('c'), 'in_flight');
    assert.equal(l.inFlight, 3);
    l.release('a');
    assert.equal(l.inZone('a'), 1);
    assert.equal(l.acquire('c'), null);
    for (const z of ['a', 'b', 'c']) l.release(z);
    assert.equal(l.inFlight, 0);
    assert.equal(l.inZone('a'), 0);
  });
});

describe('FailureCache', () => {
  it('holds 1 s, doubling while the question keeps failing, at most 5 min; an answer ends it', () => {
    const clock = new ManualClock();
    const f = new FailureCache({ max: 100, minMs: 1000, maxMs: 300_000, againWithinMs: 60_000, clock });
    const holds: number[] = [];
    for (let i = 0; i < 11; i++) {
      const h = f.failed('q', 'timeout');
      holds.push(h);
      assert.ok(f.held('q'));
      clock.advance(h - 1);
      assert.ok(f.held('q'), `still held 1 ms before the end of ${h} ms`);
      clock.advance(1);
      assert.equal(f.held('q'), null, `asked again after ${h} ms`);
    }
    assert.deepEqual(holds, [1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000]);
    f.answered('q');
    assert.equal(f.failed('q', 'timeout'), 1000, 'an answer reset it');
  });

  it('a failure long after the last one starts again from 1 s', () => {
    const clock = new ManualClock();
    const f = new FailureCache({ max: 100, minMs: 1000, maxMs: 300_000, againWithinMs: 60_000, clock });
    f.failed('q', 'x');
    clock.advance(1000 + 59_999);
    assert.equal(f.failed('q', 'x'), 2000, 'within a minute of the hold: again');
    clock.advance(2000 + 60_000);
    assert.equal(f.failed('q', 'x'), 1000);
  });

  it('is bounded', () => {
    const clock = new ManualClock();
    const f = new FailureCache({ max: 10, minMs: 1000, maxMs: 300_000, againWithinMs: 60_000, clock });
    for (let i = 0; i < 100; i++) f.failed(`q${i}`, 'x');
    assert.equal(f.size, 10);
    assert.ok(f.held('q99') && !f.held('q0'));
  });
});

function forwarder(limits: { inFlight: number; perZone: number }) {
  const clock = new ManualClock();
  const cache = testCache(clock);
  const resolver = new FakeResolver();
  const seen: { limited: FetchLimit[]; failureCached: number } = { limited: [], failureCached: 0 };
  const observer = {
    limited: (l: FetchLimit) => void seen.limited.push(l),
    failureCached: () => void seen.failureCached++,
  };
  const fwd = new Forwarder(cache, resolver, silentLogger, { ...limits, clock, observer });
  /** Ask as the pipeline does: a fresh hit, or fetch (at once, or a promise). */
  const ask = (name: string): { hit: true } | Forwarded | Promise<Forwarded> => {
    const q = parseQuery(query(name, 'A'));
    const k = fwd.keyOf(q);
    const found = fwd.lookup(k, q);
    if (found.kind === 'fresh') return { hit: true };
    return fwd.fetch(q, k, found);
  };
  return { fwd, resolver, clock, seen, ask };
}

const settleNow = (f: ReturnType<typeof forwarder>['ask'] extends (n: string) => infer R ? R : never): Forwarded => {
  assert.ok(!(f instanceof Promise) && !('hit' in f), 'answered at once');
  return f;
};
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Forwarder: fetch limits', () => {
  it('over the per-zone cap: SERVFAIL with EDE 0 at once, other zones still asked; coalesced questions count once', async () => {
    const { fwd, resolver, seen, ask } = forwarder({ inFlight: 10, perZone: 3 });
    const pending = [
      ask('a1.victim.example.'),
      ask('a2.victim.example.'),
      ask('a3.victim.example.'),
      ask('a1.victim.example.'),
      ask('a1.victim.example.'),
    ];
    assert.ok(pending.every((p) => p instanceof Promise));
    assert.equal(resolver.asked.length, 3, 'the two repeats of a1 joined its resolution');
    assert.equal(fwd.inFlight, 3);
    const over = settleNow(ask('a4.victim.example.'));
    assert.equal(over.rcode, 2);
    assert.deepEqual(over.ede, [EDE.OTHER, 'fetch limit: 3 upstream resolutions in flight for this zone']);
    assert.deepEqual(seen.limited, ['per_zone']);
    assert.ok(ask('www.other.example.') instanceof Promise, 'another zone is not limited');
    resolver.settleAll((n) => upstreamReply(n, { a: '192.0.2.1' }));
    await Promise.all(pending);
    await flush();
    assert.equal(fwd.inFlight, 0, 'slots given back');
    assert.ok(ask('a4.victim.example.') instanceof Promise);
  });

  it('over the total cap: SERVFAIL with EDE 0 naming it', () => {
    const { seen, ask } = forwarder({ inFlight: 2, perZone: 2 });
    void ask('a.one.example.');
    void ask('b.two.example.');
    const over = settleNow(ask('c.three.example.'));
    assert.deepEqual(over.ede, [EDE.OTHER, 'fetch limit: 2 upstream resolutions in flight']);
    assert.deepEqual(seen.limited, ['in_flight']);
  });

  it('over a cap with a stale answer in the cache: the stale answer (EDE 3), at once', async () => {
    const { resolver, clock, ask } = forwarder({ inFlight: 10, perZone: 1 });
    const first = ask('www.example.org.');
    resolver.settleAll((n) => upstreamReply(n, { a: '192.0.2.1' }));
    await first;
    clock.advance(301_000); // expired: stale from now on
    const refresh = ask('other.example.org.'); // holds the zone's one slot
    assert.ok(refresh instanceof Promise);
    const f = settleNow(ask('www.example.org.'));
    assert.equal(f.source, 'stale');
    assert.deepEqual(f.ede, [EDE.STALE_ANSWER, '']);
  });

  it('the zone cut taught by an NXDOMAIN answer narrows the zone counted', async () => {
    const { fwd, resolver, ask } = forwarder({ inFlight: 10, perZone: 1 });
    const p = ask('r0.victim.example.org.');
    resolver.settleAll((n) => upstreamReply(n, { nxZone: 'victim.example.org' }));
    await p;
    assert.equal(text(fwd.zoneOf(key('r1.victim.example.org.'))), 'victim.example.org.');
    assert.ok(ask('r1.victim.example.org.') instanceof Promise);
    assert.equal(settleNow(ask('r2.victim.example.org.')).rcode, 2, 'the victim zone is at its cap');
    assert.ok(ask('www.example.org.') instanceof Promise, 'its parent zone is not');
  });
});

describe('Forwarder: remembered failures', () => {
  it('a failed question is answered SERVFAIL with EDE 13 at once for 1 s, then 2 s; an answer resets it', async () => {
    const { fwd, resolver, clock, seen, ask } = forwarder({ inFlight: 10, perZone: 10 });
    const fail = async (): Promise<Forwarded> => {
      const p = ask('down.example.org.');
      assert.ok(p instanceof Promise);
      resolver.settleAll(() => new ResolveError('timeout', 'no reply from 192.0.2.53:53 within 700 ms'));
      return p;
    };
    const f1 = await fail();
    assert.deepEqual(f1.ede, [EDE.NO_REACHABLE_AUTHORITY, 'no reply from 192.0.2.53:53 within 700 ms']);
    const held = settleNow(ask('down.example.org.'));
    assert.equal(held.rcode, 2);
    assert.deepEqual(held.ede, [EDE.CACHED_ERROR, 'no reply from 192.0.2.53:53 within 700 ms (remembered 1 s more)']);
    assert.equal(seen.failureCached, 1);
    assert.equal(resolver.asked.length, 0, 'not asked');
    clock.advance(1000);
    await fail(); // asked again after 1 s, failed again: 2 s
    clock.advance(1999);
    settleNow(ask('down.example.org.'));
    clock.advance(1);
    const p = ask('down.example.org.');
    assert.ok(p instanceof Promise);
    resolver.settleAll((n) => upstreamReply(n, { a: '192.0.2.1' }));
    assert.equal((await p).source, 'upstream');
    fwd.cache.flush();
    assert.equal((await fail()).rcode, 2);
    clock.advance(1000);
    assert.ok(ask('down.example.org.') instanceof Promise, 'after the answer, the hold is 1 s again');
  });

  it('SERVFAIL from every upstream is remembered too; a failure without asking (all down) is not', async () => {
    const { resolver, clock, ask } = forwarder({ inFlight: 10, perZone: 10 });
    const p = ask('sf.example.org.');
    assert.ok(p instanceof Promise);
    resolver.settleAll((n) => upstreamReply(n, { servfail: true }));
    assert.equal((await p).rcode, 2);
    clock.advance(5000); // past the cache's own SERVFAIL entry (servfailTtl)
    const again = ask('sf.example.org.');
    resolver.settleAll((n) => upstreamReply(n, { servfail: true }));
    await again;
    clock.advance(5000);
    // Failed again within a minute: held 2 s, then 4 s: shorter than the cache's 5 s entry, asked.
    const third = ask('sf.example.org.');
    assert.ok(third instanceof Promise);
    resolver.settleAll((n) => upstreamReply(n, { servfail: true }));
    await third;
    clock.advance(5000);
    const fourth = ask('sf.example.org.');
    resolver.settleAll((n) => upstreamReply(n, { servfail: true }));
    await fourth;
    clock.advance(5000); // the fourth failure holds 8 s: still held after the cache entry's 5 s
    assert.equal(settleNow(ask('sf.example.org.')).ede?.[0], EDE.CACHED_ERROR);

    const q = ask('notasked.example.org.');
    assert.ok(q instanceof Promise);
    resolver.settleAll(() => new ResolveError('unreachable', 'every upstream is down', false));
    assert.deepEqual((await q).ede, [EDE.NO_REACHABLE_AUTHORITY, 'every upstream is down']);
    assert.ok(ask('notasked.example.org.') instanceof Promise, 'asked again at once');
  });

  it('every upstream down (none due for a probe): SERVFAIL with EDE 22 at once, or stale; nothing remembered', async () => {
    const { resolver, clock, ask } = forwarder({ inFlight: 10, perZone: 10 });
    const p = ask('cached.example.org.');
    resolver.settleAll((n) => upstreamReply(n, { a: '192.0.2.1' }));
    await p;
    clock.advance(301_000);
    resolver.down = new ResolveError('unreachable', 'every upstream is down (192.0.2.53:53)', false);
    const f = settleNow(ask('new.example.org.'));
    assert.deepEqual(f.ede, [EDE.NO_REACHABLE_AUTHORITY, 'every upstream is down (192.0.2.53:53)']);
    assert.equal(settleNow(ask('cached.example.org.')).source, 'stale');
    assert.equal(resolver.asked.length, 0);
    resolver.down = null;
    assert.ok(ask('new.example.org.') instanceof Promise, 'asked as soon as an upstream may be');
  });
});
