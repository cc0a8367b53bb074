// Answer rules (RFC 1034 §4.3.2, 4592, 2308, 6672, 8482) on the zone store, decoded by dns-packet.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildResponse, nameFromText, parseQuery } from '../../../src/wire/index.ts';
import { ZoneStore, buildZone, parseZoneText, resolve } from '../../../src/zone/index.ts';
import type { Rec } from '../../helpers/wire.ts';
import { decode, query } from '../../helpers/wire.ts';

const zone = (origin: string, text: string) => {
  const o = nameFromText(origin, null);
  return buildZone(parseZoneText(text, o, origin), o, origin);
};

const store = new ZoneStore([
  zone(
    'example.test.',
    `$TTL 3600
@ SOA ns1 host 7 2 3 4 300
@ NS ns1
@ NS ns2.example.org.
@ MX 10 mail
ns1 A 192.0.2.1
mail A 192.0.2.25
mail AAAA 2001:db8::25
www A 192.0.2.80
www TXT "web"
a 60 CNAME b
b CNAME www
loop1 CNAME loop2
loop2 CNAME loop1
out CNAME www.example.org.
toother CNAME host.other.test.
tonx CNAME nothere
*.wild A 192.0.2.42
*.wild MX 5 mail
host.ent A 192.0.2.7
explicit.wild A 192.0.2.43
sub NS ns.sub
sub NS ns.example.org.
sub DS 1 8 2 ABCDEF
ns.sub A 192.0.2.53
old DNAME new.example.org.
_sip._udp SRV 1 1 5060 mail
`,
  ),
  zone('other.test.', '$TTL 100\n@ SOA ns host 1 2 3 4 50\n@ NS ns\nns A 192.0.2.99\nhost A 192.0.2.100\n'),
]);

function ask(name: string, type: string) {
  const msg = query(name, type);
  const q = parseQuery(msg);
  const a = store.answer(q.key, q.qtype);
  if (!a) return undefined;
  const d = decode(buildResponse(msg, q, { ...a, opt: null, limit: 65535 }));
  const rr = (xs: Rec[] | undefined) =>
    (xs ?? []).map(
      (r) =>
        `${r.name.toLowerCase()} ${r.ttl} ${r.type} ${typeof r.data === 'object' && !Buffer.isBuffer(r.data) && !Array.isArray(r.data) ? JSON.stringify(r.data) : String(r.data as string | number)}`,
    );
  return {
    rcode: d.rcode,
    aa: d.flag_aa,
    answer: rr(d.answers),
    authority: rr(d.authorities),
    additional: rr(d.additionals),
  };
}

describe('zone answers', () => {
  it('exact answer with AA', () => {
    const r = ask('www.example.test', 'A');
    assert.deepEqual(r, {
      rcode: 'NOERROR',
      aa: true,
      answer: ['www.example.test 3600 A 192.0.2.80'],
      authority: [],
      additional: [],
    });
  });
  it('is case-insensitive', () =>
    assert.deepEqual(ask('WWW.EXAMPLE.TEST', 'a')?.answer, ['www.example.test 3600 A 192.0.2.80']));
  it('follows a CNAME chain inside the zones', () => {
    assert.deepEqual(ask('a.example.test', 'A')?.answer, [
      'a.example.test 60 CNAME b.example.test',
      'b.example.test 3600 CNAME www.example.test',
      'www.example.test 3600 A 192.0.2.80',
    ]);
  });
  it('follows a CNAME into another local zone', () => {
    assert.deepEqual(ask('toother.example.test', 'A')?.answer, [
      'toother.example.test 3600 CNAME host.other.test',
      'host.other.test 100 A 192.0.2.100',
    ]);
  });
  it('stops at a CNAME leaving the local zones', () => {
    const r = ask('out.example.test', 'A');
    assert.equal(r?.rcode, 'NOERROR');
    assert.deepEqual(r?.answer, ['out.example.test 3600 CNAME www.example.org']);
  });
  it('answers a CNAME query with the CNAME only', () =>
    assert.deepEqual(ask('a.example.test', 'CNAME')?.answer, ['a.example.test 60 CNAME b.example.test']));
  it('ends a CNAME loop', () => assert.equal(ask('loop1.example.test', 'A')?.answer.length, 2));
  it('NXDOMAIN at the end of a chain keeps the CNAME (RFC 6604)', () => {
    const r = ask('tonx.example.test', 'A');
    assert.equal(r?.rcode, 'NXDOMAIN');
    assert.deepEqual(r?.answer, ['tonx.example.test 3600 CNAME nothere.example.test']);
  });
  it('NXDOMAIN with the SOA at min(TTL, MINIMUM)', () => {
    const r = ask('nope.example.test', 'A');
    assert.equal(r?.rcode, 'NXDOMAIN');
    assert.equal(r?.aa, true);
    assert.deepEqual(r?.answer, []);
    assert.match(r?.authority[0] ?? '', /^example\.test 300 SOA /);
  });
  it('NODATA with the SOA', () => {
    const r = ask('www.example.test', 'AAAA');
    assert.equal(r?.rcode, 'NOERROR');
    assert.deepEqual(r?.answer, []);
    assert.match(r?.authority[0] ?? '', /^example\.test 300 SOA /);
  });
  it('an empty non-terminal is NODATA, not NXDOMAIN', () => {
    const r = ask('ent.example.test', 'A');
    assert.equal(r?.rcode, 'NOERROR');
    assert.equal(r?.authority.length, 1);
  });
  it('wildcard synthesizes the owner from the question', () => {
    assert.deepEqual(ask('anything.wild.example.test', 'A')?.answer, ['anything.wild.example.test 3600 A 192.0.2.42']);
    assert.deepEqual(ask('a.b.wild.example.test', 'A')?.answer, ['a.b.wild.example.test 3600 A 192.0.2.42']);
  });
  it('wildcard: an existing name is not synthesized; no type is NODATA', () => {
    assert.deepEqual(ask('explicit.wild.example.test', 'A')?.answer, ['explicit.wild.example.test 3600 A 192.0.2.43']);
    assert.equal(ask('explicit.wild.example.test', 'MX')?.answer.length, 0);
    const r = ask('x.wild.example.test', 'TXT');
    assert.equal(r?.rcode, 'NOERROR');
    assert.equal(r?.answer.length, 0);
  });
  it('wildcard does not match below an existing closest encloser without "*" (RFC 4592 §2.2.1)', () => {
    assert.equal(ask('x.host.ent.example.test', 'A')?.rcode, 'NXDOMAIN');
  });
  it('referral below a cut: NS in authority, glue in additional, AA clear', () => {
    const r = ask('deep.sub.example.test', 'A');
    assert.equal(r?.aa, false);
    assert.deepEqual(r?.answer, []);
    assert.deepEqual(
      r?.authority.map((x) => x.split(' ')[2]),
      ['NS', 'NS'],
    );
    assert.deepEqual(r?.additional, ['ns.sub.example.test 3600 A 192.0.2.53']);
    assert.equal(ask('sub.example.test', 'A')?.aa, false);
    assert.equal(ask('ns.sub.example.test', 'A')?.aa, false, 'glue is not authoritative');
  });
  it('DS at the cut is answered by the parent with AA', () => {
    const r = ask('sub.example.test', 'DS');
    assert.equal(r?.aa, true);
    assert.equal(r?.answer.length, 1);
  });
  it('DNAME: the DNAME plus a synthesized CNAME with its TTL', () => {
    const r = ask('a.b.old.example.test', 'A');
    assert.deepEqual(r?.answer, [
      'old.example.test 3600 DNAME new.example.org',
      'a.b.old.example.test 3600 CNAME a.b.new.example.org',
    ]);
  });
  it('DNAME owner itself is answered normally', () =>
    assert.deepEqual(ask('old.example.test', 'DNAME')?.answer, ['old.example.test 3600 DNAME new.example.org']));
  it('adds addresses of MX, NS and SRV targets', () => {
    assert.deepEqual(ask('example.test', 'MX')?.additional, [
      'mail.example.test 3600 A 192.0.2.25',
      'mail.example.test 3600 AAAA 2001:db8::25',
    ]);
    assert.deepEqual(ask('example.test', 'NS')?.additional, ['ns1.example.test 3600 A 192.0.2.1']);
    assert.equal(ask('_sip._udp.example.test', 'SRV')?.additional.length, 2);
  });
  it('ANY gets one RRset (RFC 8482)', () => {
    const r = ask('www.example.test', 'ANY');
    assert.deepEqual(r?.answer, ['www.example.test 3600 A 192.0.2.80']);
  });
  it('names under no local zone are not answered here', () => {
    assert.equal(ask('www.example.org', 'A'), undefined);
    assert.equal(ask('test', 'A'), undefined);
  });
  it('a child zone wins over the parent (longest match)', () => {
    assert.deepEqual(ask('host.other.test', 'A')?.answer, ['host.other.test 100 A 192.0.2.100']);
  });
});

describe('zones whose nodes are decoded on demand', () => {
  it('an address named twice is added once, even when its node is decoded twice', () => {
    const built = zone(
      'dup.test.',
      `$TTL 60
@ SOA ns1 host 1 2 3 4 5
@ NS ns1
ns1 A 192.0.2.1
mail A 192.0.2.25
srv SRV 0 0 25 mail
srv SRV 0 0 53 ns1
srv SRV 1 0 26 mail
`,
    );
    // As a zone opened from an image may: a new node object on every lookup.
    const fresh = {
      ...built,
      nodes: {
        get: (k: string) => {
          const n = built.nodes.get(k);
          return n && { ...n, rrsets: new Map([...n.rrsets].map(([t, s]) => [t, { ...s }])) };
        },
        has: (k: string) => built.nodes.has(k),
      },
    };
    const res = resolve({ findZone: () => fresh }, nameFromText('srv.dup.test.', null), 33);
    assert.ok(res);
    assert.deepEqual(
      res.additional.map((s) => `${Buffer.from(s.owner).toString('hex')}/${s.type}`).length,
      2,
      'mail A and ns1 A, each once',
    );
  });
});
