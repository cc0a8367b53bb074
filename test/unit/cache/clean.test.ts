// The response cleaner: what is kept of an upstream reply (the chain from the question name, the
// answering zone's authority records, in-bailiwick addresses of kept targets) and what is dropped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { AnswerCache, MAX_CHAIN, cleanMessage } from '../../../src/cache/index.ts';
import type { CacheObserver, Cleaned, DropSection } from '../../../src/cache/index.ts';
import { ManualClock } from '../../../src/core/index.ts';
import type { Message, WireRecord } from '../../../src/wire/index.ts';
import { nameFromText, nameKey, nameToText, parseMessage } from '../../../src/wire/index.ts';

type Rec = dnsPacket.Answer;
const rr = (name: string, type: string, data: unknown, ttl = 300): Rec =>
  ({ name, type, class: 'IN', ttl, data }) as Rec;
const soa = (zone: string, minimum = 60, ttl = 3600): Rec =>
  rr(
    zone,
    'SOA',
    { mname: `ns.${zone}`, rname: `h.${zone}`, serial: 1, refresh: 2, retry: 3, expire: 4, minimum },
    ttl,
  );
const sig = (name: string, covered: string, signer = 'example.org'): Rec =>
  rr(name, 'RRSIG', {
    typeCovered: covered,
    algorithm: 13,
    labels: 2,
    originalTTL: 300,
    expiration: 2000000000,
    inception: 1,
    keyTag: 1,
    signersName: signer,
    signature: Buffer.from('c2ln', 'base64'),
  });
const nsec = (name: string, next: string): Rec =>
  rr(name, 'NSEC', { nextDomain: next, rrtypes: ['A', 'RRSIG', 'NSEC'] });
const nsec3 = (name: string): Rec =>
  rr(name, 'NSEC3', {
    algorithm: 1,
    flags: 0,
    iterations: 0,
    salt: Buffer.alloc(0),
    nextDomain: Buffer.alloc(20, 1),
    rrtypes: ['A'],
  });

function reply(qname: string, qtype: string, sections: { an?: Rec[]; ns?: Rec[]; ar?: Rec[] }, rcode = 0): Message {
  const m = parseMessage(
    dnsPacket.encode({
      type: 'response',
      id: 1,
      flags: 0x8180 | rcode,
      questions: [{ name: qname, type: qtype, class: 'IN' } as dnsPacket.Question],
      answers: sections.an ?? [],
      authorities: sections.ns ?? [],
      additionals: sections.ar ?? [],
    }),
  );
  assert.ok(m);
  return m;
}

/** "owner TYPE" of each record, the owner as received (case kept); RRSIGs as "owner RRSIG/covered". */
function show(rs: readonly WireRecord[]): string[] {
  return rs.map((r) => {
    const name = nameToText(r.owner);
    if (r.type === 46) return `${name} RRSIG/${covered(r)}`;
    return `${name} ${TYPES[r.type] ?? r.type}`;
  });
}
const TYPES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  39: 'DNAME',
  47: 'NSEC',
  50: 'NSEC3',
};
const covered = (r: WireRecord): string => TYPES[((r.rdata[0] as number) << 8) | (r.rdata[1] as number)] ?? '?';

function clean(m: Message, qname: string, qtype: number): Cleaned {
  return cleanMessage(m, nameFromText(qname, null), qtype);
}
const A = 1;

describe('cleanMessage: the answer chain (RFC 1034 §4.3.2)', () => {
  it('drops answer records for other names and other types', () => {
    const c = clean(
      reply('www.example.org', 'A', {
        an: [
          rr('www.example.org', 'A', '192.0.2.1'),
          rr('other.example.org', 'A', '192.0.2.66'),
          rr('www.example.org', 'TXT', ['x']),
          rr('www.victim.test', 'A', '192.0.2.66'),
        ],
      }),
      'www.example.org.',
      A,
    );
    assert.deepEqual(show(c.message.answer), ['www.example.org. A']);
    assert.deepEqual(c.dropped, { answer: 3, authority: 0, additional: 0 });
    assert.equal(c.answered, true);
  });

  it('follows CNAMEs to the data; data off the chain and a second CNAME are dropped', () => {
    const c = clean(
      reply('www.example.org', 'A', {
        an: [
          rr('www.example.org', 'CNAME', 'web.example.net'),
          rr('www.example.org', 'CNAME', 'evil.example.net'),
          rr('web.example.net', 'CNAME', 'cdn.example.com'),
          rr('cdn.example.com', 'A', '192.0.2.1'),
          rr('evil.example.net', 'A', '192.0.2.66'),
          rr('web.example.net', 'A', '192.0.2.67'),
        ],
      }),
      'www.example.org.',
      A,
    );
    assert.deepEqual(show(c.message.answer), [
      'www.example.org. CNAME',
      'web.example.net. CNAME',
      'cdn.example.com. A',
    ]);
    assert.equal(c.dropped.answer, 3);
    assert.equal(c.last, nameKey(nameFromText('cdn.example.com.', null)));
  });

  it('a CNAME question stops at the CNAME', () => {
    const c = clean(
      reply('www.example.org', 'CNAME', {
        an: [rr('www.example.org', 'CNAME', 'web.example.net'), rr('web.example.net', 'A', '192.0.2.1')],
      }),
      'www.example.org.',
      5,
    );
    assert.deepEqual(show(c.message.answer), ['www.example.org. CNAME']);
    assert.equal(c.answered, true);
  });

  it('ANY keeps every RRset at the name, nothing elsewhere', () => {
    const c = clean(
      reply('example.org', 'ANY', {
        an: [
          rr('example.org', 'A', '192.0.2.1'),
          rr('example.org', 'TXT', ['t']),
          rr('x.example.org', 'A', '192.0.2.2'),
        ],
      }),
      'example.org.',
      255,
    );
    assert.deepEqual(show(c.message.answer), ['example.org. A', 'example.org. TXT']);
  });

  it('DNAME (RFC 6672): the DNAME at an ancestor, the CNAME synthesized from it, the data at the substituted name', () => {
    const c = clean(
      reply('www.a.example.org', 'A', {
        an: [
          rr('a.example.org', 'DNAME', 'b.example.net'),
          rr('www.a.example.org', 'CNAME', 'www.b.example.net'),
          rr('www.b.example.net', 'A', '192.0.2.1'),
          rr('z.example.org', 'DNAME', 'evil.test'),
          rr('www.evil.test', 'A', '192.0.2.66'),
        ],
      }),
      'www.a.example.org.',
      A,
    );
    assert.deepEqual(show(c.message.answer), [
      'a.example.org. DNAME',
      'www.a.example.org. CNAME',
      'www.b.example.net. A',
    ]);
    assert.equal(c.dropped.answer, 2);
  });

  it('DNAME: a synthesized CNAME that disagrees with the DNAME is dropped, and so is its target data', () => {
    const c = clean(
      reply('www.a.example.org', 'A', {
        an: [
          rr('a.example.org', 'DNAME', 'b.example.net'),
          rr('www.a.example.org', 'CNAME', 'www.evil.test'),
          rr('www.evil.test', 'A', '192.0.2.66'),
          rr('www.b.example.net', 'A', '192.0.2.1'),
          rr('a.example.org', 'A', '192.0.2.67'),
        ],
      }),
      'www.a.example.org.',
      A,
    );
    assert.deepEqual(show(c.message.answer), ['a.example.org. DNAME', 'www.b.example.net. A']);
  });

  it('a DNAME at the question name itself is not applied (only to names below it)', () => {
    const c = clean(
      reply('a.example.org', 'A', {
        an: [rr('a.example.org', 'DNAME', 'b.example.net'), rr('a.example.org', 'A', '192.0.2.1')],
      }),
      'a.example.org.',
      A,
    );
    assert.deepEqual(show(c.message.answer), ['a.example.org. A']);
  });

  it('a CNAME loop stops; a chain longer than MAX_CHAIN is cut', () => {
    const loop = clean(
      reply('a.example.org', 'A', {
        an: [rr('a.example.org', 'CNAME', 'b.example.org'), rr('b.example.org', 'CNAME', 'a.example.org')],
      }),
      'a.example.org.',
      A,
    );
    assert.deepEqual(show(loop.message.answer), ['a.example.org. CNAME', 'b.example.org. CNAME']);
    assert.equal(loop.answered, false);
    const an = Array.from({ length: MAX_CHAIN + 4 }, (_, i) =>
      rr(`c${i}.example.org`, 'CNAME', `c${i + 1}.example.org`),
    );
    an.push(rr(`c${MAX_CHAIN + 4}.example.org`, 'A', '192.0.2.1'));
    const long = clean(reply('c0.example.org', 'A', { an }), 'c0.example.org.', A);
    assert.equal(long.message.answer.length, MAX_CHAIN);
    assert.equal(long.answered, false);
    assert.equal(long.dropped.answer, 5);
  });

  it('RRSIGs are kept with the RRsets they cover, dropped otherwise', () => {
    const c = clean(
      reply('www.example.org', 'A', {
        an: [
          rr('www.example.org', 'A', '192.0.2.1'),
          sig('www.example.org', 'A'),
          sig('www.example.org', 'TXT'),
          sig('other.example.org', 'A'),
        ],
        ns: [
          rr('example.org', 'NS', 'ns1.example.org'),
          sig('example.org', 'NS'),
          sig('example.org', 'SOA'),
          rr('bank.test', 'NS', 'ns.evil.test'),
          sig('bank.test', 'NS', 'bank.test'),
        ],
        ar: [rr('ns1.example.org', 'A', '192.0.2.53'), sig('ns1.example.org', 'A'), sig('ns1.example.org', 'AAAA')],
      }),
      'www.example.org.',
      A,
    );
    assert.deepEqual(show(c.message.answer), ['www.example.org. A', 'www.example.org. RRSIG/A']);
    assert.deepEqual(show(c.message.authority), ['example.org. NS', 'example.org. RRSIG/NS']);
    assert.deepEqual(show(c.message.additional), ['ns1.example.org. A', 'ns1.example.org. RRSIG/A']);
    assert.deepEqual(c.dropped, { answer: 2, authority: 3, additional: 1 });
  });
});

describe('cleanMessage: authority and additional (RFC 2181 §5.4.1)', () => {
  it("drops NS of other zones from authority, keeps the answering zone's", () => {
    const c = clean(
      reply('www.victim.example', 'A', {
        an: [rr('www.victim.example', 'A', '192.0.2.1')],
        ns: [
          rr('victim.example', 'NS', 'ns.victim.example'),
          rr('bank.example', 'NS', 'ns.evil.example'),
          rr('example', 'NS', 'ns.evil.example'),
          rr('sub.victim.example', 'NS', 'ns.evil.example'),
        ],
        ar: [rr('ns.victim.example', 'A', '192.0.2.53'), rr('ns.evil.example', 'A', '192.0.2.66')],
      }),
      'www.victim.example.',
      A,
    );
    // victim.example is the closest NS owner over the name: the zone; "example" is above it, not it.
    assert.deepEqual(show(c.message.authority), ['victim.example. NS']);
    assert.deepEqual(show(c.message.additional), ['ns.victim.example. A']);
    assert.deepEqual(c.dropped, { answer: 0, authority: 3, additional: 1 });
  });

  it('drops glue out of bailiwick even for a kept NS target', () => {
    const c = clean(
      reply('www.example.org', 'A', {
        an: [rr('www.example.org', 'A', '192.0.2.1')],
        ns: [rr('example.org', 'NS', 'ns1.example.org'), rr('example.org', 'NS', 'ns.provider.test')],
        ar: [
          rr('ns1.example.org', 'A', '192.0.2.53'),
          rr('ns1.example.org', 'AAAA', '2001:db8::53'),
          rr('ns.provider.test', 'A', '192.0.2.66'),
        ],
      }),
      'www.example.org.',
      A,
    );
    assert.deepEqual(show(c.message.authority), ['example.org. NS', 'example.org. NS']);
    assert.deepEqual(show(c.message.additional), ['ns1.example.org. A', 'ns1.example.org. AAAA']);
  });

  it('drops additional records for names nothing kept points to, and non-address types', () => {
    const c = clean(
      reply('example.org', 'MX', {
        an: [
          rr('example.org', 'MX', { preference: 10, exchange: 'mail.example.org' }),
          rr('example.org', 'SRV', { priority: 0, weight: 0, port: 5060, target: 'sip.example.org' }),
        ],
        ns: [rr('example.org', 'NS', 'ns1.example.org')],
        ar: [
          rr('mail.example.org', 'A', '192.0.2.25'),
          rr('mail.example.org', 'TXT', ['x']),
          rr('random.example.org', 'A', '192.0.2.66'),
          rr('sip.example.org', 'A', '192.0.2.60'),
          rr('ns1.example.org', 'A', '192.0.2.53'),
        ],
      }),
      'example.org.',
      15,
    );
    assert.deepEqual(show(c.message.answer), ['example.org. MX']);
    // sip.example.org was the target of a dropped SRV: not referenced any more.
    assert.deepEqual(show(c.message.additional), ['mail.example.org. A', 'ns1.example.org. A']);
    assert.equal(c.dropped.additional, 3);
  });

  it('without an answering zone in authority there is no additional section', () => {
    const c = clean(
      reply('example.org', 'MX', {
        an: [rr('example.org', 'MX', { preference: 10, exchange: 'mail.example.org' })],
        ns: [rr('bank.test', 'NS', 'ns.evil.test')],
        ar: [rr('mail.example.org', 'A', '192.0.2.25')],
      }),
      'example.org.',
      15,
    );
    assert.deepEqual(c.message.authority, []);
    assert.deepEqual(c.message.additional, []);
    assert.deepEqual(c.dropped, { answer: 0, authority: 1, additional: 1 });
  });

  it("a negative answer keeps the zone's SOA, its NSEC/NSEC3 and their RRSIGs; denials from elsewhere go", () => {
    const c = clean(
      reply(
        'nx.example.org',
        'A',
        {
          ns: [
            soa('example.org'),
            sig('example.org', 'SOA'),
            nsec('example.org', 'a.example.org'),
            sig('example.org', 'NSEC'),
            nsec('m.example.org', 'z.example.org'),
            sig('m.example.org', 'NSEC'),
            nsec3('abcdef.example.org'),
            soa('evil.test'),
            nsec('evil.test', 'a.evil.test'),
            sig('evil.test', 'NSEC', 'evil.test'),
            nsec('org', 'zz.org'),
          ],
        },
        3,
      ),
      'nx.example.org.',
      A,
    );
    assert.deepEqual(show(c.message.authority), [
      'example.org. SOA',
      'example.org. RRSIG/SOA',
      'example.org. NSEC',
      'example.org. RRSIG/NSEC',
      'm.example.org. NSEC',
      'm.example.org. RRSIG/NSEC',
      'abcdef.example.org. NSEC3',
    ]);
    assert.equal(c.dropped.authority, 4);
    assert.equal(c.answered, false);
  });

  it("NODATA after a CNAME: the zone is the one of the chain's last name", () => {
    const c = clean(
      reply('www.example.org', 'AAAA', {
        an: [rr('www.example.org', 'CNAME', 'web.example.net')],
        ns: [soa('example.org'), soa('example.net')],
      }),
      'www.example.org.',
      28,
    );
    assert.deepEqual(show(c.message.answer), ['www.example.org. CNAME']);
    assert.deepEqual(show(c.message.authority), ['example.net. SOA']);
    assert.equal(c.answered, false);
  });

  it('a negative answer whose SOA is not over the name loses its whole authority section', () => {
    const c = clean(
      reply(
        'nx.example.org',
        'A',
        { ns: [soa('evil.test'), rr('evil.test', 'NS', 'ns.evil.test')], ar: [rr('ns.evil.test', 'A', '192.0.2.66')] },
        3,
      ),
      'nx.example.org.',
      A,
    );
    assert.deepEqual(c.message.authority, []);
    assert.deepEqual(c.message.additional, []);
    assert.deepEqual(c.dropped, { answer: 0, authority: 2, additional: 1 });
  });

  it('compares names without regard to case and keeps the case received', () => {
    const c = clean(
      reply('WWW.Example.ORG', 'A', {
        an: [
          rr('www.EXAMPLE.org', 'CNAME', 'Web.Example.NET'),
          rr('WEB.example.net', 'A', '192.0.2.1'),
          sig('web.EXAMPLE.net', 'A', 'example.net'),
          rr('OTHER.example.net', 'A', '192.0.2.66'),
        ],
        ns: [rr('EXAMPLE.NET', 'NS', 'Ns1.Example.Net'), rr('Example.Org', 'NS', 'ns1.example.org')],
        ar: [rr('NS1.example.NET', 'A', '192.0.2.53')],
      }),
      'WWW.Example.ORG.',
      A,
    );
    assert.deepEqual(show(c.message.answer), [
      'www.EXAMPLE.org. CNAME',
      'WEB.example.net. A',
      'web.EXAMPLE.net. RRSIG/A',
    ]);
    assert.deepEqual(show(c.message.authority), ['EXAMPLE.NET. NS']);
    assert.deepEqual(show(c.message.additional), ['NS1.example.NET. A']);
  });

  it('a clean reply is kept whole', () => {
    const m = reply('www.example.org', 'A', {
      an: [rr('www.example.org', 'A', '192.0.2.1')],
      ns: [rr('example.org', 'NS', 'ns1.example.org')],
      ar: [rr('ns1.example.org', 'A', '192.0.2.53')],
    });
    const c = clean(m, 'www.example.org.', A);
    assert.deepEqual(c.dropped, { answer: 0, authority: 0, additional: 0 });
    assert.deepEqual(c.message.answer, m.answer);
  });
});

describe('AnswerCache with the cleaner', () => {
  const opts = (clock: ManualClock, observer: CacheObserver) => ({
    maxEntries: 100,
    maxBytes: 1 << 20,
    minTtl: 0,
    maxTtl: 86400,
    maxNegativeTtl: 3600,
    servfailTtl: 5,
    maxStale: 0,
    staleRecheck: 30,
    prefetch: false,
    clock,
    observer,
  });
  const counting = () => {
    const n: Record<DropSection, number> = { answer: 0, authority: 0, additional: 0 };
    const observer: CacheObserver = {
      hit: () => {},
      miss: () => {},
      staleServed: () => {},
      prefetch: () => {},
      evicted: () => {},
      dropped: (s, k) => void (n[s] += k),
    };
    return { n, observer };
  };
  const qn = (s: string): Uint8Array => nameFromText(s, null);
  const key = (s: string, t = A): string => AnswerCache.key(nameKey(qn(s)), t, 1, false);

  it('stores only the clean records, counts the dropped ones, and takes the lifetime from what is kept', () => {
    const { n, observer } = counting();
    const c = new AnswerCache(opts(new ManualClock(), observer));
    const e = c.store(
      key('www.example.org.'),
      qn('www.example.org.'),
      reply('www.example.org', 'A', {
        an: [rr('www.example.org', 'A', '192.0.2.1', 300), rr('bank.test', 'A', '192.0.2.66', 5)],
        ns: [rr('bank.test', 'NS', 'ns.evil.test', 5)],
        ar: [rr('ns.evil.test', 'A', '192.0.2.66', 5)],
      }),
      false,
    );
    assert.equal(e.ttl, 300, "the unrelated record's TTL of 5 does not count");
    assert.deepEqual([e.an, e.ns, e.ar], [1, 0, 0]);
    assert.deepEqual(n, { answer: 1, authority: 1, additional: 1 });
  });

  it("NXDOMAIN after a CNAME lives no longer than the CNAME; without the zone's SOA it is not cached", () => {
    const c = new AnswerCache(opts(new ManualClock(), counting().observer));
    const chained = c.store(
      key('www.example.org.'),
      qn('www.example.org.'),
      reply(
        'www.example.org',
        'A',
        { an: [rr('www.example.org', 'CNAME', 'nx.example.net', 20)], ns: [soa('example.net', 60)] },
        3,
      ),
      false,
    );
    assert.equal(chained.ttl, 20);
    assert.equal(c.entries, 1);
    const forged = c.store(
      key('nx.example.org.'),
      qn('nx.example.org.'),
      reply('nx.example.org', 'A', { ns: [soa('evil.test', 60)] }, 3),
      false,
    );
    assert.equal(forged.ttl, 0);
    assert.equal(forged.ns, 0);
    assert.equal(c.entries, 1);
  });
});
