// Template answers (NXDOMAIN, wildcard, below a cut) against the per-name path they replace: the
// same response bytes for every name and type tried, whole and truncated.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResponseOpt } from '../../../src/wire/index.ts';
import { buildResponse, nameFromText, parseQuery } from '../../../src/wire/index.ts';
import { ZoneStore, buildZone, parseZoneText, synthCounts } from '../../../src/zone/index.ts';
import { query } from '../../helpers/wire.ts';

const zone = (origin: string, text: string) => {
  const o = nameFromText(origin, null);
  return buildZone(parseZoneText(text, o, origin), o, origin);
};

const TXT_LONG = Array.from({ length: 6 }, (_, i) => `"${String(i).repeat(90)}"`).join(' ');
const zones = () => [
  zone(
    'example.test.',
    `$TTL 3600
@ SOA ns1 hostmaster 7 2 3 4 300
ns1 A 192.0.2.1
ns1 AAAA 2001:db8::1
@ NS ns1
@ NS ns2.example.org.
mail A 192.0.2.25
@ MX 10 mail
www A 192.0.2.80
www AAAA 2001:db8::80
host.lab.dc1 A 192.0.2.100
*.wild A 192.0.2.42
*.wild AAAA 2001:db8::42
*.wild TXT "wildcard"
*.wild MX 10 mail.wild
*.wild MX 20 mail
*.wild MX 30 mx.wild
mail.wild A 192.0.2.26
*.cn CNAME www
*.cn2 CNAME target.cn2
target.cn2 A 192.0.2.27
*.cn3 CNAME nothere.cn3
*.kids A 192.0.2.43
a.kids A 192.0.2.44
b.c.kids TXT "deep"
*.weird MX 10 *.weird
*.weird A 192.0.2.45
*.big TXT ${TXT_LONG}
*.big TXT "second"
*.ns NS ns1
*.srv SRV 1 1 5060 sip.srv
sip.srv A 192.0.2.60
sub NS ns1.sub
sub NS ns.example.org.
sub DS 1 8 2 ABCDEF
ns1.sub A 192.0.2.53
ns1.sub AAAA 2001:db8::53
sib NS ns1
sib NS ns.sub
sib NS other.example.org.
deep.x.y NS ns.deep.x.y
ns.deep.x.y A 192.0.2.54
old DNAME www.example.org.
`,
  ),
  // MNAME and RNAME outside the zone; a wildcard at the apex.
  zone(
    'wild.test.',
    `$TTL 60
@ SOA ns.example.org. admin.example.org. 1 2 3 4 30
@ NS ns.example.org.
* A 192.0.2.50
* TXT "apex wildcard"
exists A 192.0.2.51
`,
  ),
  // A child zone loaded beside its parent, and a zone whose apex is a DNAME.
  zone('child.example.test.', '$TTL 100\n@ SOA ns hostmaster 1 2 3 4 50\n@ NS ns\nns A 192.0.2.99\n'),
  zone(
    'moved.test.',
    '$TTL 100\n@ SOA ns.example.org. h.example.org. 1 2 3 4 50\n@ NS ns.example.org.\n@ DNAME example.test.\n',
  ),
];

/** A small deterministic generator, so that a failing name can be found again. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
const ALPHA = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-';
function randomLabels(r: () => number, count: number): string {
  const labels: string[] = [];
  for (let i = 0; i < count; i++) {
    let l = '';
    for (let j = 1 + Math.floor(r() * 20); j > 0; j--) l += ALPHA[Math.floor(r() * 62)];
    labels.push(l);
  }
  return labels.join('.');
}

const TYPES = ['A', 'AAAA', 'TXT', 'MX', 'NS', 'SOA', 'CNAME', 'DS', 'ANY', 'SRV', 'CAA', 'RRSIG', 'TYPE999'];
const LIMITS = [65535, 1232, 512, 200, 120, 80, 60];
const ENCLOSERS = [
  'example.test',
  'dc1.example.test',
  'lab.dc1.example.test',
  'host.lab.dc1.example.test',
  'www.example.test',
  'wild.example.test',
  'cn.example.test',
  'cn2.example.test',
  'cn3.example.test',
  'kids.example.test',
  'c.kids.example.test',
  'weird.example.test',
  'big.example.test',
  'ns.example.test',
  'srv.example.test',
  'sub.example.test',
  'ns1.sub.example.test',
  'sib.example.test',
  'deep.x.y.example.test',
  'x.y.example.test',
  'old.example.test',
  'wild.test',
  'exists.wild.test',
  'child.example.test',
  'moved.test',
];
/**
 * Names whose label directly above the encloser is used by a name in the answer (SOA RNAME, glue,
 * a wildcard's MX or CNAME target), with the types whose answers hold that name: per name.
 */
const ALL = TYPES;
const COLLISIONS: [string, string[]][] = [
  ['x.hostmaster.example.test', ALL],
  ['a.B.HostMaster.example.test', ALL],
  ['q.mx.wild.example.test', ['MX']],
  ['Q.MX.Wild.Example.Test', ['MX']],
  ['x.ns1.sub.example.test', ALL],
  ['x.NS1.sub.example.test', ALL],
  ['x.nothere.cn3.example.test', ALL.filter((t) => t !== 'RRSIG')],
  ['x.ns.deep.x.y.example.test', ALL],
  ['x.hostmaster.child.example.test', ALL],
];
/** Names that look like collisions but are not (the label's name is a node: it is the encloser). */
const NEAR = [
  'q.mail.wild.example.test',
  'x.target.cn2.example.test',
  'z.sip.srv.example.test',
  'y.ns.sub.example.test',
  'x.ns1.example.test',
];

const OPT: ResponseOpt = { udpSize: 1232, dnssecOk: false, options: new Uint8Array(0) };

/** Both answers to one question, as response bytes under each size limit. */
function both(store: ZoneStore, name: string, type: string) {
  const msg = query(name, type, { edns: true, id: 77 });
  const q = parseQuery(msg);
  const ans = store.answer(q.key, q.qtype);
  const ref = store.answerPerName(q.key, q.qtype);
  assert.ok(ans && ref, `${name} ${type}: an answer from both paths`);
  const build = (a: NonNullable<typeof ans>, limit: number, opt: ResponseOpt | null) =>
    buildResponse(msg, q, { ...a, opt, limit });
  return {
    template: ans.sections.shift !== undefined,
    pairs: LIMITS.flatMap((limit) =>
      [null, OPT].map((opt) => [build(ans, limit, opt), build(ref, limit, opt), limit] as const),
    ),
  };
}

describe('template answers for names that are not nodes', () => {
  it('give the per-name bytes for random names below every encloser, every type, every size', () => {
    const store = new ZoneStore(zones());
    const r = rng(20261121);
    let templates = 0;
    let total = 0;
    for (const x of ENCLOSERS) {
      for (let i = 0; i < 12; i++) {
        const name = `${randomLabels(r, 1 + (i % 3))}.${x}`;
        for (const type of TYPES) {
          const { template, pairs } = both(store, name, type);
          for (const [a, b, limit] of pairs) assert.deepEqual(a, b, `${name} ${type} limit ${limit}`);
          total++;
          if (template) templates++;
        }
      }
    }
    // DNAME (old., moved.test) stays per name; everything else comes from templates.
    assert.ok(templates >= total * 0.85, `${templates} of ${total} answers from templates`);
  });

  it('answer NXDOMAIN, wildcards and referrals from templates, DNAME per name', () => {
    const store = new ZoneStore(zones());
    const kind = (name: string, type = 'A') => {
      const q = parseQuery(query(name, type));
      const a = store.answer(q.key, q.qtype);
      return a && `${a.rcode} ${a.sections.shift ? 'template' : 'per-name'}`;
    };
    assert.equal(kind('nope.example.test'), '3 template');
    assert.equal(kind('a.b.dc1.example.test'), '3 template');
    assert.equal(kind('x.wild.example.test', 'TXT'), '0 template');
    assert.equal(kind('x.y.kids.example.test'), '0 template');
    assert.equal(kind('any.cn.example.test'), '0 template');
    assert.equal(kind('deep.below.sub.example.test'), '0 template');
    assert.equal(kind('anything.wild.test', 'TXT'), '0 template');
    assert.equal(kind('x.old.example.test'), '0 per-name');
    assert.equal(kind('x.moved.test'), '3 per-name');
    // A "*" name in the sections would point at the stand-in *.X: that wildcard stays per name.
    assert.equal(kind('x.weird.example.test', 'MX'), '0 per-name');
    assert.equal(kind('not.ours.test'), undefined);
  });

  it('fall back to the per-name path when Q shares a label with a name in the sections', () => {
    const store = new ZoneStore(zones());
    for (const [name, perName] of COLLISIONS) {
      for (const type of TYPES) {
        const { template, pairs } = both(store, name, type);
        for (const [a, b, limit] of pairs) assert.deepEqual(a, b, `${name} ${type} limit ${limit}`);
        if (perName.includes(type)) assert.equal(template, false, `${name} ${type} should not use a template`);
      }
    }
    for (const name of NEAR) {
      for (const type of TYPES) {
        const { template, pairs } = both(store, name, type);
        for (const [a, b, limit] of pairs) assert.deepEqual(a, b, `${name} ${type} limit ${limit}`);
        assert.equal(template, true, `${name} ${type} should use a template`);
      }
    }
  });

  it('keep the question as the client wrote it, and count template and per-name answers', () => {
    const store = new ZoneStore(zones());
    const before = { ...synthCounts };
    const msg = query('XyZ.WiLd.Example.TEST', 'A');
    const q = parseQuery(msg);
    const a = store.answer(q.key, q.qtype);
    assert.ok(a?.sections.shift);
    const out = buildResponse(msg, q, { ...a, opt: null, limit: 512 });
    assert.ok(out.includes(Buffer.from('\x03XyZ\x04WiLd\x07Example\x04TEST\x00', 'latin1')));
    // The synthesized owner is a pointer to the question, offset 12.
    assert.equal(out.readUInt16BE(q.questionEnd), 0xc00c);
    store.answer(parseQuery(query('x.old.example.test', 'A')).key, 1);
    assert.deepEqual(
      { template: synthCounts.template - before.template, perName: synthCounts.perName - before.perName },
      { template: 1, perName: 1 },
    );
  });

  it('compile at most one template per encloser and type, whatever the number of names', () => {
    const store = new ZoneStore(zones());
    const r = rng(7);
    const seen = new Set<unknown>();
    for (let i = 0; i < 2000; i++) {
      const q = parseQuery(query(`${randomLabels(r, 1)}.wild.example.test`, i % 2 ? 'A' : 'TYPE1234'));
      seen.add(store.answer(q.key, q.qtype));
    }
    // A and every type the zones do not hold (folded together): two answer objects.
    assert.equal(seen.size, 2);
  });
});
