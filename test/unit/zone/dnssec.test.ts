// Signed zones served as signed: canonical order (RFC 4034 §6.1), NSEC3 hashes (RFC 5155 App. A),
// which NSEC records prove a name or a type absent, the DO=1 answers compiled at load, and the same
// answers from a zone image. The comparison with Knot and a validating Unbound, on zones signed by
// dnssec-signzone, is test/integration/dnssec.test.ts.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import {
  absoluteName,
  buildResponse,
  nameFromText,
  nameKey,
  parseQuery,
  shiftPointers,
} from '../../../src/wire/index.ts';
import type { ZoneStore } from '../../../src/zone/index.ts';
import { loadZones, openStore, synthCounts } from '../../../src/zone/index.ts';
import { compareCanonical, hashedKey } from '../../../src/zone/dnssec.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { query } from '../../helpers/wire.ts';

const key = (name: string): string => nameKey(absoluteName(name));
const dir = tempDir('edgedns-dnssec-');

/** A fake signature over `type` (the bytes do not matter here: the zone is served as it is). */
const sig = (type: string, ttl: number): string =>
  `RRSIG ${type} 13 2 ${ttl} 20361231000000 20200101000000 1 example. AAAA`;

// example. < *.example. < a.example. < c.example. < w.example. < *.w.example. (canonical order)
const NSEC_ZONE = `$TTL 3600
@ SOA ns host 7 2 3 4 300
@ ${sig('SOA', 3600)}
@ NS ns.w
@ ${sig('NS', 3600)}
@ 300 NSEC a NS SOA RRSIG NSEC
@ 300 ${sig('NSEC', 300)}
a A 192.0.2.1
a ${sig('A', 3600)}
a 300 NSEC c A RRSIG NSEC
a 300 ${sig('NSEC', 300)}
c TXT "c"
c ${sig('TXT', 3600)}
c 300 NSEC w TXT RRSIG NSEC
c 300 ${sig('NSEC', 300)}
w 300 NSEC *.w RRSIG NSEC
w 300 ${sig('NSEC', 300)}
*.w A 192.0.2.9
*.w ${sig('A', 3600)}
*.w 300 NSEC @ A RRSIG NSEC
*.w 300 ${sig('NSEC', 300)}
ns.w A 192.0.2.53
`;

interface Rr {
  name: string;
  type: string;
  ttl: number;
  covers?: string;
}

function ask(
  store: ZoneStore,
  name: string,
  type: number,
  dnssec: boolean,
): { rcode: number; answer: Rr[]; authority: Rr[] } {
  const a = store.answer(key(name), type, dnssec);
  assert.ok(a, `${name} is in a zone`);
  const q = absoluteName(name);
  // A whole message around the sections, for dns-packet to read.
  const header = Buffer.alloc(12);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(a.sections.an, 6);
  header.writeUInt16BE(a.sections.ns, 8);
  header.writeUInt16BE(a.sections.ar, 10);
  const question = Buffer.concat([Buffer.from(q), Buffer.from([type >> 8, type & 0xff, 0, 1])]);
  const body = Buffer.from(a.sections.bytes);
  // A template (a name that is not a node, without DO) points into a stand-in question: moved here
  // as the response builder moves it.
  const shift = a.sections.shift;
  if (shift) shiftPointers(body, 0, body.length, shift, q.length - shift.qnameLen);
  const msg = dnsPacket.decode(Buffer.concat([header, question, body]));
  const rr = (r: dnsPacket.Answer): Rr => {
    const out: Rr = { name: r.name, type: r.type, ttl: 'ttl' in r ? (r.ttl ?? 0) : 0 };
    if (r.type === 'RRSIG') out.covers = (r.data as { typeCovered: string }).typeCovered;
    return out;
  };
  return { rcode: a.rcode, answer: (msg.answers ?? []).map(rr), authority: (msg.authorities ?? []).map(rr) };
}

const show = (rrs: Rr[]): string[] => rrs.map((r) => `${r.name} ${r.ttl} ${r.type}${r.covers ? ` ${r.covers}` : ''}`);

describe('canonical order and hashes', () => {
  it('sorts names as RFC 4034 §6.1 lists them', () => {
    const ordered = [
      'example.',
      'a.example.',
      'yljkjljk.a.example.',
      'Z.a.example.',
      'zABC.a.EXAMPLE.',
      'z.example.',
      '\\001.z.example.',
      '*.z.example.',
      '\\200.z.example.',
    ];
    const keys = ordered.map((n) => nameKey(nameFromText(n, null)));
    const shuffled = [...keys].reverse().sort(() => 0);
    shuffled.sort(compareCanonical);
    assert.deepEqual(shuffled, keys);
  });

  it('hashes names as RFC 5155 Appendix A does (SHA-1, salt aabbccdd, 12 iterations)', () => {
    const p = { algorithm: 1, iterations: 12, salt: Buffer.from('aabbccdd', 'hex') };
    const label = (name: string): string => hashedKey(key(name), p, '').slice(2);
    assert.equal(label('example.'), '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom');
    assert.equal(label('a.example.'), '35mthgpgcu1qg68fab165klnsnk3dpvl');
    assert.equal(label('*.w.example.'), 'r53bq7cc2uvmubfu5ocmm6pers9tk9en');
    assert.equal(label('xx.example.'), 't644ebqk9bibcna874givr6joj62mlhv');
  });
});

describe('an NSEC-signed zone', () => {
  const file = join(dir, 'example.zone');
  writeFileSync(file, NSEC_ZONE);
  const store = loadZones([{ file, origin: 'example.' }]);

  it('without DO, answers carry no DNSSEC records', () => {
    assert.deepEqual(show(ask(store, 'a.example.', 1, false).answer), ['a.example 3600 A']);
    assert.deepEqual(show(ask(store, 'b.example.', 1, false).authority), ['example 300 SOA']);
  });

  it('with DO, an RRset comes with the RRSIGs that cover it, at its TTL', () => {
    assert.deepEqual(show(ask(store, 'a.example.', 1, true).answer), ['a.example 3600 A', 'a.example 3600 RRSIG A']);
    // QTYPE=RRSIG: every signature, each at the TTL of the RRset it covers.
    assert.deepEqual(show(ask(store, 'a.example.', 46, true).answer).sort(), [
      'a.example 300 RRSIG NSEC',
      'a.example 3600 RRSIG A',
    ]);
  });

  it('NXDOMAIN: the NSEC that covers the name and the one that covers the wildcard *.example', () => {
    const r = ask(store, 'b.example.', 1, true);
    assert.equal(r.rcode, 3);
    assert.deepEqual(show(r.authority).sort(), [
      'a.example 300 NSEC', // a < b < c
      'a.example 300 RRSIG NSEC',
      'example 300 NSEC', // example < *.example < a
      'example 300 RRSIG NSEC',
      'example 300 RRSIG SOA',
      'example 300 SOA',
    ]);
  });

  it('NODATA: the NSEC of the name itself', () => {
    const r = ask(store, 'c.example.', 1, true);
    assert.equal(r.rcode, 0);
    assert.deepEqual(show(r.authority).sort(), [
      'c.example 300 NSEC',
      'c.example 300 RRSIG NSEC',
      'example 300 RRSIG SOA',
      'example 300 SOA',
    ]);
  });

  it('a wildcard answer: signed as the wildcard, with the NSEC that proves the name itself absent', () => {
    const r = ask(store, 'x.w.example.', 1, true);
    assert.deepEqual(show(r.answer), ['x.w.example 3600 A', 'x.w.example 3600 RRSIG A']);
    // w < x.w < *.w? No: *.w < x.w (0x2a < 0x78), so the NSEC of *.w covers x.w (up to the apex).
    assert.deepEqual(show(r.authority).sort(), ['*.w.example 300 NSEC', '*.w.example 300 RRSIG NSEC']);
  });

  it('wildcard NODATA: the NSEC of *.w (no such type) and the one covering the name', () => {
    const r = ask(store, 'x.w.example.', 16, true);
    assert.deepEqual(show(r.authority).sort(), [
      '*.w.example 300 NSEC',
      '*.w.example 300 RRSIG NSEC',
      'example 300 RRSIG SOA',
      'example 300 SOA',
    ]);
  });
});

describe('DO=1 answers from a zone image', () => {
  it('are the bytes of the store compiled in place, for NSEC and NSEC3 zones', () => {
    const nsec = join(dir, 'image-nsec.zone');
    writeFileSync(nsec, NSEC_ZONE);
    const nsec3 = join(dir, 'image-nsec3.zone');
    writeFileSync(
      nsec3,
      `$TTL 3600
@ SOA ns host 7 2 3 4 300
@ NS ns
@ ${sig('SOA', 3600).replace('example.', 'example3.')}
@ 0 NSEC3PARAM 1 0 0 -
ns A 192.0.2.53
ns ${sig('A', 3600).replace('example.', 'example3.')}
${hashedKey(key('example3.'), { algorithm: 1, iterations: 0, salt: new Uint8Array(0) }, '').slice(2)} 300 NSEC3 1 0 0 - ${hashedKey(key('ns.example3.'), { algorithm: 1, iterations: 0, salt: new Uint8Array(0) }, '').slice(2)} NS SOA RRSIG NSEC3PARAM
${hashedKey(key('ns.example3.'), { algorithm: 1, iterations: 0, salt: new Uint8Array(0) }, '').slice(2)} 300 NSEC3 1 0 0 - ${hashedKey(key('example3.'), { algorithm: 1, iterations: 0, salt: new Uint8Array(0) }, '').slice(2)} A RRSIG
`,
    );
    const specs = [
      { file: nsec, origin: 'example.' },
      { file: nsec3, origin: 'example3.' },
    ];
    const direct = loadZones(specs, 1000);
    const opened = openStore(direct.image());
    for (const name of [
      'example.',
      'a.example.',
      'b.example.',
      'x.w.example.',
      'example3.',
      'ns.example3.',
      'nx.example3.',
    ])
      for (const type of [1, 2, 6, 16, 43, 46, 47, 50, 51, 255])
        for (const dnssec of [false, true]) {
          const a = direct.answer(key(name), type, dnssec);
          const b = opened.answer(key(name), type, dnssec);
          assert.deepEqual(
            Buffer.from(b?.sections.bytes ?? []),
            Buffer.from(a?.sections.bytes ?? []),
            `${name} ${type} ${dnssec}`,
          );
        }
    // The NSEC3 records are no names: their owner is NXDOMAIN, proved by the chain.
    const hashed = `${hashedKey(key('ns.example3.'), { algorithm: 1, iterations: 0, salt: new Uint8Array(0) }, '').slice(2)}.example3.`;
    const r = ask(direct, hashed, 50, true);
    assert.equal(r.rcode, 3);
    assert.ok(
      show(r.authority).some((s) => s.endsWith(' NSEC3')),
      show(r.authority).join(', '),
    );
  });
});

/** An NSEC3 zone (no extra iterations, no salt) over `names`, every name's NSEC3 in the chain. */
function nsec3Zone(origin: string, names: string[]): string {
  const p = { algorithm: 1, iterations: 0, salt: new Uint8Array(0) };
  const all = [origin, ...names.map((n) => `${n}.${origin}`)];
  // Empty non-terminals have NSEC3 records too (RFC 5155 §7.1).
  for (const n of [...all])
    for (let k = n.slice(n.indexOf('.') + 1); k.length > origin.length; k = k.slice(k.indexOf('.') + 1))
      if (!all.includes(k)) all.push(k);
  const hashes = all.map((n) => hashedKey(key(n), p, '').slice(2)).sort();
  const lines = hashes.map(
    (h, i) => `${h} 300 NSEC3 1 0 0 - ${hashes[(i + 1) % hashes.length]} A RRSIG\n${h} 300 ${sig('NSEC3', 300)}`,
  );
  return `$TTL 3600
@ SOA ns host 7 2 3 4 300
@ ${sig('SOA', 3600)}
@ NS ns
@ 0 NSEC3PARAM 1 0 0 -
ns A 192.0.2.53
${names.map((n) => `${n} A 192.0.2.1\n${n} ${sig('A', 3600)}`).join('\n')}
${lines.join('\n')}
`;
}

describe('DO=1 answers for names that are not nodes', () => {
  it('come from templates per covering record, with the bytes of the per-name answer', () => {
    const nsec = join(dir, 'tpl-nsec.zone');
    writeFileSync(nsec, NSEC_ZONE);
    const nsec3 = join(dir, 'tpl-nsec3.zone');
    writeFileSync(nsec3, nsec3Zone('example3.', ['a', 'b.c', '*.w', 'x.y.z', 'm']));
    const store = loadZones([
      { file: nsec, origin: 'example.' },
      { file: nsec3, origin: 'example3.' },
    ]);
    const before = { ...synthCounts };
    let n = 0;
    for (const parent of ['example.', 'w.example.', 'example3.', 'c.example3.', 'w.example3.', 'y.z.example3.'])
      for (let i = 0; i < 40; i++) {
        const name = `${(i * 7919).toString(36)}${i % 3 === 0 ? '.deep' : ''}.${parent}`;
        for (const type of ['A', 'TXT', 'DS', 'ANY']) {
          const msg = query(name, type, { edns: true, id: 9 });
          const q = parseQuery(msg);
          const ans = store.answer(q.key, q.qtype, true);
          const ref = store.answerPerName(q.key, q.qtype, true);
          assert.ok(ans && ref, `${name} ${type}`);
          const opt = { udpSize: 1232, dnssecOk: true, options: new Uint8Array(0) };
          const build = (a: NonNullable<typeof ans>): Buffer =>
            buildResponse(msg, q, { ...a, opt, limit: 65535, ttl: null });
          assert.deepEqual(build(ans), build(ref), `${name} ${type}`);
          n++;
        }
      }
    // Most names are answered from a template, not one compile per name.
    const templates = synthCounts.template - before.template;
    const perName = synthCounts.perName - before.perName - n; // answerPerName above counts one each
    assert.ok(templates > perName * 3, `${templates} template answers, ${perName} per name`);
  });
});
