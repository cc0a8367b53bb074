// Names: presentation <-> wire, keys, and reading compressed names safely.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NameError, isSubdomain, nameFromText, nameKey, nameToText, readName } from '../../../src/wire/index.ts';

const origin = nameFromText('example.test.', null);

describe('nameFromText / nameToText', () => {
  const table: [string, string][] = [
    ['www', 'www.example.test.'],
    ['@', 'example.test.'],
    ['a.b.c.', 'a.b.c.'],
    ['.', '.'],
    ['a\\.b', 'a\\.b.example.test.'],
    ['sp\\032ace', 'sp\\032ace.example.test.'],
    ['Mixed.CASE.', 'Mixed.CASE.'],
    ['\\065bc.', 'Abc.'],
    ['', 'example.test.'],
    ['a\\.', 'a\\..example.test.'],
    [`${'x'.repeat(63)}.`, `${'x'.repeat(63)}.`],
  ];
  for (const [text, shown] of table) {
    it(`${text} -> ${shown}`, () => assert.equal(nameToText(nameFromText(text, origin)), shown));
  }
  const bad: [string, RegExp][] = [
    ['a..b.', /empty label/],
    [`${'x'.repeat(64)}.`, /longer than 63/],
    [`${'abcdefghi.'.repeat(26)}`, /longer than 255/],
    ['bad\\999.', /out of range/],
    ['trailing\\', /dangling/],
    ['.a.', /empty label/],
    [`${'x'.repeat(600)}`, /longer than 63/],
    [`${'a.'.repeat(300)}`, /longer than 255/],
    ['caf\u00e9\u0101.', /non-ASCII/],
  ];
  for (const [text, re] of bad) {
    it(`rejects ${text.slice(0, 20)}`, () =>
      assert.throws(
        () => nameFromText(text, null),
        (e: unknown) => e instanceof NameError && re.test(e.message),
      ));
  }
  it('each name is its own bytes: a later name does not change an earlier one', () => {
    const a = nameFromText('first', origin);
    const long = nameFromText(`${'y'.repeat(60)}.${'z'.repeat(60)}.${'w'.repeat(60)}`, origin);
    assert.equal(nameToText(a), 'first.example.test.');
    assert.equal(long.length, 3 * 61 + origin.length);
    // 255 octets exactly is a name; one more is not.
    const max = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}.`;
    assert.equal(nameFromText(max, null).length, 255);
    assert.throws(() => nameFromText(max.replace(/\.$/, 'e.'), null), /longer than 255/);
  });

  it('keys fold only ASCII case', () => {
    assert.equal(nameKey(nameFromText('WWW.Example.', null)), nameKey(nameFromText('www.example.', null)));
    assert.notEqual(nameKey(nameFromText('\\196.', null)), nameKey(nameFromText('\\228.', null)));
  });
  it('isSubdomain compares at label boundaries', () => {
    const k = (s: string): string => nameKey(nameFromText(s, null));
    assert.ok(isSubdomain(k('a.example.test.'), k('example.test.')));
    assert.ok(isSubdomain(k('example.test.'), k('example.test.')));
    assert.ok(!isSubdomain(k('badexample.test.'), k('example.test.')));
  });
});

describe('readName', () => {
  it('follows backward compression pointers', () => {
    const msg = Uint8Array.from([0, 0, 1, 0x61, 4, 0x74, 0x65, 0x73, 0x74, 0, 3, 0x77, 0x77, 0x77, 0xc0, 2]);
    const r = readName(msg, 10);
    assert.ok(r);
    assert.equal(nameToText(r.wire), 'www.a.test.');
    assert.equal(r.next, 16);
  });
  it('rejects pointer loops, forward pointers and overlong names', () => {
    assert.equal(readName(Uint8Array.from([0xc0, 0]), 0), undefined);
    assert.equal(readName(Uint8Array.from([0xc0, 2, 0]), 0), undefined);
    assert.equal(readName(Uint8Array.from([1, 0x61, 0xc0, 0]), 0), undefined);
    assert.equal(readName(Uint8Array.from([0x40, 0]), 0), undefined);
    const long: number[] = [];
    for (let i = 0; i < 50; i++) long.push(5, 1, 2, 3, 4, 5);
    long.push(0);
    assert.equal(readName(Uint8Array.from(long), 0), undefined);
  });
});
