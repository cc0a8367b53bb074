// Answers compiled on first use: the HotCache's bound and recency, and a store whose cache holds a
// handful of nodes answering every node of a larger zone as the per-name path does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nameFromText, nameKey } from '../../../src/wire/index.ts';
import type { ZoneAnswer } from '../../../src/zone/index.ts';
import { HotCache, ZoneStore, buildZone, parseZoneText } from '../../../src/zone/index.ts';

describe('HotCache', () => {
  it('holds at most twice its bound, however many keys pass through', () => {
    const c = new HotCache<number, string>(100);
    for (let i = 0; i < 10_000; i++) {
      c.set(i, `v${i}`);
      assert.ok(c.size <= 200, `size ${c.size} after ${i + 1} keys`);
    }
    // The newest keys are there, the oldest are gone.
    assert.equal(c.get(9999), 'v9999');
    assert.equal(c.get(0), undefined);
  });

  it('keeps a key that is asked for while others come and go', () => {
    const c = new HotCache<string, number>(10);
    c.set('hot', 1);
    for (let i = 0; i < 1000; i++) {
      c.set(`k${i}`, i);
      if (i % 5 === 0) assert.equal(c.get('hot'), 1, `after ${i} other keys`);
    }
  });

  it('drops a key nobody asks for after two generations', () => {
    const c = new HotCache<string, number>(10);
    c.set('cold', 1);
    for (let i = 0; i < 20; i++) c.set(`k${i}`, i);
    assert.equal(c.get('cold'), undefined);
  });

  it('refuses a bound that is not a positive integer', () => {
    assert.throws(() => new HotCache(0), RangeError);
    assert.throws(() => new HotCache(1.5), RangeError);
  });
});

const ORIGIN = 'lazy.test.';
const NAMES = 60;
function zoneText(): string {
  const lines = ['$TTL 300', '@ SOA ns1 hostmaster 1 2 3 4 60', '@ NS ns1', 'ns1 A 192.0.2.1', '@ MX 10 mail'];
  lines.push('mail A 192.0.2.25', 'alias CNAME www', 'www A 192.0.2.80', 'www AAAA 2001:db8::80', 'sub NS ns.sub');
  lines.push('ns.sub A 192.0.2.53', 'ent.deep A 192.0.2.7');
  for (let i = 0; i < NAMES; i++) lines.push(`h${i} A 198.51.100.${i}`, `h${i} TXT "t${i}"`);
  return `${lines.join('\n')}\n`;
}
const bytes = (a: ZoneAnswer | null | undefined): string =>
  a
    ? `${a.rcode}/${a.flags}/${Buffer.from(a.sections.bytes).toString('hex')}/${a.sections.an},${a.sections.ns},${a.sections.ar}/${JSON.stringify(a.sections.cuts)}/${a.sections.ttlOffsets.join(',')}`
    : 'none';

describe('answers compiled on first use', () => {
  const o = nameFromText(ORIGIN, null);
  const zone = (): ReturnType<typeof buildZone> => buildZone(parseZoneText(zoneText(), o, ORIGIN), o, ORIGIN);
  const names = [
    ORIGIN,
    'ns1',
    'mail',
    'alias',
    'www',
    'sub',
    'ns.sub',
    'deep',
    'ent.deep',
    ...Array.from({ length: NAMES }, (_, i) => `h${i}`),
  ].map((n) => nameKey(nameFromText(n, o)));
  const TYPES = [1, 2, 6, 15, 16, 28, 43, 255, 5, 99];

  it('a store keeping 4 nodes answers every node as the per-name path does, within its bound', () => {
    const small = new ZoneStore([zone()], 1000, false, 4);
    const ref = new ZoneStore([zone()], 1000);
    for (let round = 0; round < 2; round++)
      for (const k of names)
        for (const t of TYPES) {
          assert.equal(bytes(small.answer(k, t)), bytes(ref.answerPerName(k, t)), `${JSON.stringify(k)} type ${t}`);
          assert.ok(small.compiledNodes <= 8, `${small.compiledNodes} nodes kept`);
        }
  });

  it('compiles a node and type once while it is asked for', () => {
    const store = new ZoneStore([zone()]);
    const www = nameKey(nameFromText('www', o));
    const first = store.answer(www, 1);
    assert.ok(first);
    assert.equal(store.answer(www, 1), first);
    // Every type the node does not hold shares one NODATA answer.
    assert.equal(store.answer(www, 15), store.answer(www, 16));
    assert.notEqual(store.answer(www, 28), first);
    assert.equal(store.compiledNodes, 1);
  });
});
