// The answer cache with a manual clock: TTLs counting down, negative and SERVFAIL caching,
// serve-stale, prefetch marks and the bounds. No test sleeps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { AnswerCache } from '../../../src/cache/index.ts';
import { ManualClock } from '../../../src/core/index.ts';
import { buildResponse, nameFromText, nameKey, parseMessage, parseQuery } from '../../../src/wire/index.ts';
import { testCacheOptions } from '../../helpers/cache.ts';
import { decode, query } from '../../helpers/wire.ts';

const opts = testCacheOptions;

function upstreamReply(name: string, answers: { type: string; ttl: number; data: unknown }[], rcode = 0, soaMin = 60) {
  const authorities =
    answers.length === 0 && rcode !== 2
      ? [
          {
            name: 'example.org',
            type: 'SOA',
            ttl: 3600,
            class: 'IN',
            data: {
              mname: 'ns.example.org',
              rname: 'h.example.org',
              serial: 1,
              refresh: 2,
              retry: 3,
              expire: 4,
              minimum: soaMin,
            },
          },
        ]
      : [];
  const msg = dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: rcode,
    questions: [{ name, type: 'A', class: 'IN' }],
    answers: answers.map((a) => ({ name, class: 'IN', ...a })) as dnsPacket.Answer[],
    authorities: authorities as dnsPacket.Answer[],
  });
  const m = parseMessage(msg);
  assert.ok(m);
  return m;
}

function serve(cache: AnswerCache, name: string) {
  const msg = query(name, 'A');
  const q = parseQuery(msg);
  const key = AnswerCache.key(q.key, q.qtype, q.qclass, false);
  const l = cache.get(key);
  if (l.kind !== 'fresh') return l.kind;
  return decode(
    buildResponse(msg, q, {
      rcode: l.entry.rcode,
      flags: 0,
      sections: l.entry,
      opt: null,
      limit: 65535,
      ttl: { age: l.age, fixed: -1 },
    }),
  );
}

const qn = (s: string): Uint8Array => nameFromText(s, null);
const key = (s: string): string => AnswerCache.key(nameKey(qn(s)), 1, 1, false);

describe('AnswerCache', () => {
  it('serves stored bytes with TTLs counted down by the time in cache', () => {
    const clock = new ManualClock();
    const c = new AnswerCache(opts(clock));
    c.store(
      key('www.example.org.'),
      qn('www.example.org.'),
      upstreamReply('www.example.org', [{ type: 'A', ttl: 300, data: '192.0.2.1' }]),
      false,
    );
    clock.advance(42_500);
    const r = serve(c, 'WWW.example.org');
    assert.ok(typeof r !== 'string');
    assert.equal(r.answers[0]?.ttl, 258);
    assert.equal(r.answers[0]?.data, '192.0.2.1');
    assert.equal(r.questions[0]?.name, 'WWW.example.org');
  });

  it('caps every record at the smallest answer TTL and clamps by min/max', () => {
    const clock = new ManualClock();
    const c = new AnswerCache(opts(clock, { maxTtl: 100, minTtl: 10 }));
    const e = c.store(
      key('a.example.org.'),
      qn('a.example.org.'),
      upstreamReply('a.example.org', [{ type: 'A', ttl: 5000, data: '192.0.2.1' }]),
      false,
    );
    assert.equal(e.ttl, 100);
    const e2 = c.store(
      key('b.example.org.'),
      qn('b.example.org.'),
      upstreamReply('b.example.org', [{ type: 'A', ttl: 1, data: '192.0.2.1' }]),
      false,
    );
    assert.equal(e2.ttl, 10);
  });

  it('caches a negative answer for min(SOA TTL, SOA MINIMUM) (RFC 2308 §5)', () => {
    const clock = new ManualClock();
    const c = new AnswerCache(opts(clock));
    const e = c.store(key('nx.example.org.'), qn('nx.example.org.'), upstreamReply('nx.example.org', [], 3, 45), false);
    assert.equal(e.ttl, 45);
    clock.advance(44_000);
    const r = serve(c, 'nx.example.org');
    assert.ok(typeof r !== 'string');
    assert.equal(r.rcode, 'NXDOMAIN');
    assert.equal(r.authorities[0]?.ttl, 1);
    clock.advance(2000);
    assert.equal(serve(c, 'nx.example.org'), 'stale');
  });

  it('caches SERVFAIL briefly, and never over a good answer', () => {
    const clock = new ManualClock();
    const c = new AnswerCache(opts(clock));
    c.store(key('sf.example.org.'), qn('sf.example.org.'), upstreamReply('sf.example.org', [], 2), false);
    assert.equal(c.get(key('sf.example.org.')).kind, 'fresh');
    clock.advance(5000);
    assert.equal(c.get(key('sf.example.org.')).kind, 'miss');
    c.store(
      key('ok.example.org.'),
      qn('ok.example.org.'),
      upstreamReply('ok.example.org', [{ type: 'A', ttl: 10, data: '192.0.2.9' }]),
      false,
    );
    clock.advance(11_000);
    c.store(key('ok.example.org.'), qn('ok.example.org.'), upstreamReply('ok.example.org', [], 2), false);
    const l = c.get(key('ok.example.org.'));
    assert.equal(l.kind, 'stale');
    assert.ok(l.kind === 'stale' && l.recentlyFailed, 'the failed refresh is remembered for the recheck interval');
  });

  it('keeps expired entries for serve-stale up to maxStale, then forgets them', () => {
    const clock = new ManualClock();
    const c = new AnswerCache(opts(clock, { maxStale: 100, staleRecheck: 30 }));
    c.store(
      key('s.example.org.'),
      qn('s.example.org.'),
      upstreamReply('s.example.org', [{ type: 'A', ttl: 10, data: '192.0.2.1' }]),
      false,
    );
    clock.advance(50_000);
    const l = c.get(key('s.example.org.'));
    assert.equal(l.kind, 'stale');
    assert.equal(l.kind === 'stale' && l.recentlyFailed, false);
    c.markFailed(key('s.example.org.'));
    clock.advance(29_000);
    const again = c.get(key('s.example.org.'));
    assert.ok(again.kind === 'stale' && again.recentlyFailed);
    clock.advance(2000);
    const later = c.get(key('s.example.org.'));
    assert.ok(
      later.kind === 'stale' && !later.recentlyFailed,
      'after the recheck interval the upstream is asked again',
    );
    clock.advance(100_000);
    assert.equal(c.get(key('s.example.org.')).kind, 'miss');
  });

  it('marks prefetch once, in the last 10% of the TTL', () => {
    const clock = new ManualClock();
    const c = new AnswerCache(opts(clock));
    c.store(
      key('p.example.org.'),
      qn('p.example.org.'),
      upstreamReply('p.example.org', [{ type: 'A', ttl: 100, data: '192.0.2.1' }]),
      false,
    );
    clock.advance(85_000);
    const a = c.get(key('p.example.org.'));
    assert.ok(a.kind === 'fresh' && !a.prefetch);
    clock.advance(6000);
    const b = c.get(key('p.example.org.'));
    assert.ok(b.kind === 'fresh' && b.prefetch);
    const d = c.get(key('p.example.org.'));
    assert.ok(d.kind === 'fresh' && !d.prefetch, 'only once');
  });

  it('is bounded by entries and by bytes, counting evictions', () => {
    const clock = new ManualClock();
    let evicted = 0;
    const observer = {
      hit: () => {},
      miss: () => {},
      staleServed: () => {},
      prefetch: () => {},
      evicted: () => evicted++,
      dropped: () => {},
    };
    const c = new AnswerCache(opts(clock, { maxEntries: 10, observer }));
    for (let i = 0; i < 25; i++)
      c.store(
        key(`n${i}.example.org.`),
        qn(`n${i}.example.org.`),
        upstreamReply(`n${i}.example.org`, [{ type: 'A', ttl: 100, data: '192.0.2.1' }]),
        false,
      );
    assert.equal(c.entries, 10);
    assert.equal(evicted, 15);
    const small = new AnswerCache(opts(clock, { maxBytes: 2000 }));
    for (let i = 0; i < 50; i++)
      small.store(
        key(`n${i}.example.org.`),
        qn(`n${i}.example.org.`),
        upstreamReply(`n${i}.example.org`, [{ type: 'A', ttl: 100, data: '192.0.2.1' }]),
        false,
      );
    assert.ok(small.bytes <= 2000);
    assert.ok(small.entries < 50 && small.entries > 0);
  });

  it('flushes one name or everything', () => {
    const clock = new ManualClock();
    const c = new AnswerCache(opts(clock));
    for (const n of ['a', 'b'])
      c.store(
        key(`${n}.example.org.`),
        qn(`${n}.example.org.`),
        upstreamReply(`${n}.example.org`, [{ type: 'A', ttl: 100, data: '192.0.2.1' }]),
        false,
      );
    assert.equal(c.flush(nameKey(qn('a.example.org.'))), 1);
    assert.equal(c.get(key('a.example.org.')).kind, 'miss');
    assert.equal(c.get(key('b.example.org.')).kind, 'fresh');
    assert.equal(c.flush(), 1);
    assert.equal(c.entries, 0);
  });

  it('keeps DO and CD answers apart in the key', () => {
    // The key's format: made from cached suffixes for types under 256 in class IN, else in full.
    assert.equal(AnswerCache.key('k', 1, 1, false), 'k|1|1|0');
    assert.equal(AnswerCache.key('k', 28, 1, true), 'k|28|1|1');
    assert.equal(AnswerCache.key('k', 28, 1, true, true), 'k|28|1|1|cd');
    assert.equal(AnswerCache.key('k', 28, 1, false, true), 'k|28|1|0|cd');
    assert.equal(AnswerCache.key('k', 65280, 1, false), 'k|65280|1|0');
    assert.equal(AnswerCache.key('k', 16, 3, true), 'k|16|3|1');
    assert.equal(AnswerCache.key('j', 1, 1, false), 'j|1|1|0', 'a cached suffix serves another name');
    assert.notEqual(AnswerCache.key('k', 1, 1, false), AnswerCache.key('k', 1, 1, true));
    assert.notEqual(AnswerCache.key('k', 1, 1, false), AnswerCache.key('k', 1, 1, false, true));
  });
});
