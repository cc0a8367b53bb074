// The Forwarder on a manual clock with a fake resolver the test settles: identical questions in
// flight share one resolution, serve-stale and its recheck (RFC 8767), prefetch in the last 10% of
// a TTL. No sockets, no sleeps. (Fetch limits and remembered failures: fetch-limits.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import type { CacheEntry, CacheObserver } from '../../../src/cache/index.ts';
import type { LogFields, Logger } from '../../../src/core/index.ts';
import { ManualClock } from '../../../src/core/index.ts';
import { ResolveError } from '../../../src/resolver/index.ts';
import { EDE, Forwarder } from '../../../src/server/index.ts';
import { testCache } from '../../helpers/cache.ts';
import type { Forwarded } from '../../../src/server/index.ts';
import { buildResponse, parseQuery } from '../../../src/wire/index.ts';
import { FakeResolver, upstreamReply } from '../../helpers/fake-resolver.ts';
import { decode } from '../../helpers/wire.ts';

const TIMEOUT = (): ResolveError => new ResolveError('timeout', 'no reply from 192.0.2.53:53 within 700 ms');

/** A query's bytes: type A unless said, RD set; DO and CD when asked. */
function queryBytes(name: string, o: { type?: string; dnssecOk?: boolean; cd?: boolean } = {}): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED | (o.cd ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ name, type: (o.type ?? 'A') as 'A', class: 'IN' }],
    additionals: o.dnssecOk
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: 1232,
            flags: dnsPacket.DNSSEC_OK,
            options: [],
          } as unknown as dnsPacket.Answer,
        ]
      : [],
  });
}

/** What a cache observer saw. */
interface CacheSeen {
  prefetch: number;
  staleServed: number;
}

/** A forwarder on a manual clock; `ask` does what the pipeline does with a question. */
function setup(o: { prefetch?: boolean; inFlight?: number } = {}) {
  const clock = new ManualClock();
  const seen: CacheSeen = { prefetch: 0, staleServed: 0 };
  const observer: CacheObserver = {
    hit: () => {},
    miss: () => {},
    staleServed: () => void seen.staleServed++,
    prefetch: () => void seen.prefetch++,
    evicted: () => {},
    dropped: () => {},
  };
  const cache = testCache(clock, { prefetch: o.prefetch ?? true, observer });
  const resolver = new FakeResolver();
  const errors: { msg: string; fields: LogFields | undefined }[] = [];
  const log: Logger = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (msg, fields) => void errors.push({ msg, fields }),
    child: () => log,
  };
  const fwd = new Forwarder(cache, resolver, log, { inFlight: o.inFlight ?? 100, perZone: 100, clock });
  /** A fresh hit (with the address it answers and the TTL it gives), or what fetch gave. */
  const ask = (
    name: string,
    q: Parameters<typeof queryBytes>[1] = {},
  ): { hit: { a: unknown; ttl: number | undefined } } | Forwarded | Promise<Forwarded> => {
    const msg = queryBytes(name, q);
    const parsed = parseQuery(msg);
    const key = fwd.keyOf(parsed);
    const found = fwd.lookup(key, parsed);
    if (found.kind === 'fresh') {
      const r = decode(
        buildResponse(msg, parsed, {
          rcode: found.entry.rcode,
          flags: 0,
          sections: found.entry,
          opt: null,
          limit: 65535,
          ttl: { age: found.age, fixed: -1 },
        }),
      );
      return { hit: { a: r.answers[0]?.data, ttl: r.answers[0]?.ttl } };
    }
    return fwd.fetch(parsed, key, found);
  };
  return { clock, cache, resolver, fwd, seen, errors, ask };
}

type Asked = ReturnType<ReturnType<typeof setup>['ask']>;

function pending(a: Asked): Promise<Forwarded> {
  assert.ok(a instanceof Promise, `the upstreams are asked (got ${JSON.stringify(a)})`);
  return a;
}

function atOnce(a: Asked): Forwarded {
  assert.ok(!(a instanceof Promise), 'answered at once, without asking the upstreams');
  assert.ok(!('hit' in a), 'not a fresh hit');
  return a;
}

function hit(a: Asked): { a: unknown; ttl: number | undefined } {
  assert.ok(
    !(a instanceof Promise) && 'hit' in a,
    `a fresh hit (got ${a instanceof Promise ? 'a promise' : JSON.stringify(a)})`,
  );
  return a.hit;
}

/** The address an entry answers with. */
function address(e: CacheEntry | null): unknown {
  assert.ok(e, 'an entry to answer from');
  const msg = queryBytes('x.example.org');
  return decode(buildResponse(msg, parseQuery(msg), { rcode: e.rcode, flags: 0, sections: e, opt: null, limit: 65535 }))
    .answers[0]?.data;
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Fill the cache for `name` with an A record (TTL 300 s) through one resolution. */
async function fill(s: ReturnType<typeof setup>, name: string, a = '192.0.2.1'): Promise<void> {
  const p = pending(s.ask(name));
  s.resolver.settleAll((n) => upstreamReply(n, { a }));
  assert.equal((await p).source, 'upstream');
}

describe('Forwarder: identical questions in flight', () => {
  it('share one upstream resolution and its answer; the next one is a cache hit', async () => {
    const s = setup();
    const askers = [s.ask('www.example.org.'), s.ask('www.example.org.'), s.ask('WWW.Example.ORG.')].map(pending);
    assert.equal(s.resolver.total, 1, 'one resolution for three clients (names compared case-insensitively)');
    assert.equal(s.fwd.inFlight, 1);
    s.resolver.settleAll((n) => upstreamReply(n, { a: '192.0.2.1' }));
    const got = await Promise.all(askers);
    assert.deepEqual(
      got.map((f) => f.source),
      ['upstream', 'upstream', 'upstream'],
    );
    assert.ok(
      got.every((f) => f.entry === got[0]?.entry),
      'the same entry',
    );
    assert.equal(address(got[0]?.entry ?? null), '192.0.2.1');
    await flush();
    assert.equal(s.fwd.inFlight, 0);
    assert.deepEqual(hit(s.ask('www.example.org.')), { a: '192.0.2.1', ttl: 300 });
    assert.equal(s.resolver.total, 1);
  });

  it('are not shared across type, DO or CD: each is its own question', () => {
    const s = setup();
    for (const q of [{}, { type: 'AAAA' }, { dnssecOk: true }, { cd: true }, {}])
      void pending(s.ask('www.example.org.', q));
    assert.equal(s.resolver.total, 4, 'A, AAAA, A with DO, A with CD; the second plain A joined the first');
    assert.deepEqual(
      s.resolver.asked.map((a) => [a.q.qtype, a.q.dnssecOk, a.q.checkingDisabled]),
      [
        [1, false, false],
        [28, false, false],
        [1, true, false],
        [1, false, true],
      ],
    );
  });

  it('a shared failure: every client gets SERVFAIL with EDE 22, and it is remembered once (1 s, not doubled)', async () => {
    const s = setup();
    const askers = [s.ask('down.example.org.'), s.ask('down.example.org.'), s.ask('down.example.org.')].map(pending);
    s.resolver.settleAll(TIMEOUT);
    for (const f of await Promise.all(askers)) {
      assert.equal(f.rcode, 2);
      assert.deepEqual(f.ede, [EDE.NO_REACHABLE_AUTHORITY, 'no reply from 192.0.2.53:53 within 700 ms']);
    }
    await flush();
    s.clock.advance(999);
    assert.equal(atOnce(s.ask('down.example.org.')).ede?.[0], EDE.CACHED_ERROR);
    s.clock.advance(1);
    void pending(s.ask('down.example.org.'));
    assert.equal(s.resolver.total, 2);
  });

  it('an error that is not a ResolveError is logged and answered SERVFAIL with EDE 22', async () => {
    const s = setup();
    const p = pending(s.ask('bug.example.org.'));
    s.resolver.settleAll(() => new TypeError('a bug'));
    const f = await p;
    assert.deepEqual([f.source, f.rcode, f.ede], ['error', 2, [EDE.NO_REACHABLE_AUTHORITY, 'a bug']]);
    assert.deepEqual(s.errors, [{ msg: 'forwarding failed', fields: { error: 'a bug' } }]);
  });
});

describe('Forwarder: serve-stale (RFC 8767)', () => {
  it('an expired entry is refreshed when the upstreams answer: no stale answer', async () => {
    const s = setup();
    await fill(s, 'www.example.org.');
    s.clock.advance(299_999);
    assert.equal(hit(s.ask('www.example.org.')).ttl, 1);
    s.clock.advance(1);
    const p = pending(s.ask('www.example.org.'));
    s.resolver.settleAll((n) => upstreamReply(n, { a: '192.0.2.2' }));
    const f = await p;
    assert.deepEqual([f.source, f.ede, address(f.entry)], ['upstream', null, '192.0.2.2']);
    assert.equal(s.seen.staleServed, 0);
  });

  it('upstreams failing: the stale answer with EDE 3; asked again only after the 30 s recheck', async () => {
    const s = setup();
    await fill(s, 'www.example.org.');
    s.clock.advance(301_000);
    const p = pending(s.ask('www.example.org.'));
    s.resolver.settleAll(TIMEOUT);
    const f = await p;
    assert.deepEqual([f.source, f.rcode, f.age, f.ede], ['stale', 0, -1, [EDE.STALE_ANSWER, '']]);
    assert.equal(address(f.entry), '192.0.2.1');
    // RFC 8767 §4: after a failed refresh, stale for a while without asking.
    s.clock.advance(29_999);
    assert.equal(atOnce(s.ask('www.example.org.')).source, 'stale');
    assert.equal(s.resolver.total, 2, 'not asked within the recheck window');
    assert.equal(s.seen.staleServed, 2);
    s.clock.advance(1);
    const again = pending(s.ask('www.example.org.'));
    s.resolver.settleAll((n) => upstreamReply(n, { a: '192.0.2.2' }));
    assert.deepEqual([(await again).source, address((await again).entry)], ['upstream', '192.0.2.2']);
    assert.deepEqual(hit(s.ask('www.example.org.')), { a: '192.0.2.2', ttl: 300 });
  });

  it('an upstream SERVFAIL does not replace the stale answer, and starts the recheck window too', async () => {
    const s = setup();
    await fill(s, 'www.example.org.');
    s.clock.advance(301_000);
    const p = pending(s.ask('www.example.org.'));
    s.resolver.settleAll((n) => upstreamReply(n, { servfail: true }));
    const f = await p;
    assert.deepEqual([f.source, address(f.entry)], ['stale', '192.0.2.1']);
    s.clock.advance(10_000);
    assert.equal(atOnce(s.ask('www.example.org.')).source, 'stale');
    assert.equal(s.resolver.total, 2);
  });

  it('clients asking while a stale refresh runs share it, and all get the stale answer when it fails', async () => {
    const s = setup();
    await fill(s, 'www.example.org.');
    s.clock.advance(400_000);
    const askers = [s.ask('www.example.org.'), s.ask('www.example.org.'), s.ask('www.example.org.')].map(pending);
    assert.equal(s.resolver.total, 2, 'one refresh');
    s.resolver.settleAll(TIMEOUT);
    assert.deepEqual(
      (await Promise.all(askers)).map((f) => f.source),
      ['stale', 'stale', 'stale'],
    );
  });

  it('past maxStale the entry is gone: SERVFAIL when the upstreams fail', async () => {
    const s = setup();
    await fill(s, 'www.example.org.');
    s.clock.advance((300 + 86_400) * 1000);
    const p = pending(s.ask('www.example.org.'));
    s.resolver.settleAll(TIMEOUT);
    const f = await p;
    assert.deepEqual([f.source, f.rcode, f.ede?.[0]], ['error', 2, EDE.NO_REACHABLE_AUTHORITY]);
    assert.equal(s.seen.staleServed, 0);
  });
});

describe('Forwarder: prefetch', () => {
  it('a hit in the last 10% of the TTL is answered from the cache and refreshed once in the background', async () => {
    const s = setup();
    await fill(s, 'www.example.org.');
    s.clock.advance(269_999);
    assert.deepEqual(hit(s.ask('www.example.org.')), { a: '192.0.2.1', ttl: 31 });
    assert.equal(s.resolver.total, 1, 'no refresh before 90% of the TTL');
    s.clock.advance(1);
    assert.deepEqual(hit(s.ask('www.example.org.')), { a: '192.0.2.1', ttl: 30 });
    assert.equal(s.resolver.total, 2, 'refreshing');
    assert.equal(s.seen.prefetch, 1);
    assert.equal(s.fwd.inFlight, 1);
    hit(s.ask('www.example.org.'));
    assert.equal(s.resolver.total, 2, 'once');
    s.resolver.settleAll((n) => upstreamReply(n, { a: '192.0.2.2' }));
    await flush();
    assert.equal(s.fwd.inFlight, 0);
    // Past the old entry's end: the refreshed one answers, counted from the refresh.
    s.clock.advance(60_000);
    assert.deepEqual(hit(s.ask('www.example.org.')), { a: '192.0.2.2', ttl: 240 });
    assert.equal(s.resolver.total, 2);
  });

  it('a client asking after the entry expired joins the refresh still running', async () => {
    const s = setup();
    await fill(s, 'www.example.org.');
    s.clock.advance(280_000);
    hit(s.ask('www.example.org.'));
    assert.equal(s.resolver.total, 2);
    s.clock.advance(25_000);
    const p = pending(s.ask('www.example.org.'));
    assert.equal(s.resolver.total, 2, 'joined the prefetch');
    s.resolver.settleAll((n) => upstreamReply(n, { a: '192.0.2.2' }));
    assert.equal(address((await p).entry), '192.0.2.2');
  });

  it('a failed refresh leaves the entry answering until its end, without another refresh', async () => {
    const s = setup();
    await fill(s, 'www.example.org.');
    s.clock.advance(290_000);
    hit(s.ask('www.example.org.'));
    s.resolver.settleAll(TIMEOUT);
    await flush();
    s.clock.advance(9_999);
    assert.deepEqual(hit(s.ask('www.example.org.')), { a: '192.0.2.1', ttl: 1 });
    assert.equal(s.resolver.total, 2);
    // Expired 10 s after the failed refresh: inside the recheck window, stale at once.
    s.clock.advance(1);
    assert.equal(atOnce(s.ask('www.example.org.')).source, 'stale');
    assert.equal(s.resolver.total, 2);
  });

  it('off: no refresh, the entry expires', async () => {
    const s = setup({ prefetch: false });
    await fill(s, 'www.example.org.');
    s.clock.advance(299_000);
    hit(s.ask('www.example.org.'));
    assert.equal(s.resolver.total, 1);
    assert.equal(s.seen.prefetch, 0);
  });

  it('skipped while the fetch limit is full: the entry is still fresh, and clients asking are answered from it', async () => {
    const s = setup({ inFlight: 1 });
    await fill(s, 'www.example.org.');
    void pending(s.ask('other.example.net.'));
    s.clock.advance(280_000);
    assert.equal(hit(s.ask('www.example.org.')).a, '192.0.2.1');
    assert.equal(s.resolver.total, 2, 'only the other question is out');
    assert.equal(s.fwd.inFlight, 1);
  });
});
