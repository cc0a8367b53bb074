// The builder's NameTable: packed names found through an open-addressing index that grows, and
// hidden ids that let a key be inserted again (an NSEC3 node moved aside).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nameFromText, nameKey } from '../../../src/wire/index.ts';
import { NameTable } from '../../../src/zone/build.ts';

const wire = (text: string): Buffer => Buffer.from(nameFromText(text, null));
const lower = (b: Buffer): Buffer => Buffer.from(nameKey(b), 'latin1');

describe('NameTable', () => {
  it('finds every name inserted, with its key and original-case name, past several growths', () => {
    const t = new NameTable(4);
    const names = Array.from({ length: 5000 }, (_, i) => wire(`Host${i}.Example.TEST.`));
    const ids = names.map((n) => {
      const k = lower(n);
      assert.equal(t.find(k, 0, k.length), -1);
      return t.insert(k, 0, k.length, n, 0);
    });
    assert.equal(t.size, 5000);
    names.forEach((n, i) => {
      const k = lower(n);
      assert.equal(t.find(k, 0, k.length), ids[i]);
      assert.deepEqual(t.key(ids[i] as number), k);
      assert.deepEqual(t.name(ids[i] as number), n);
    });
    // A name that differs in one byte, or is a suffix of one inserted, is not found.
    const other = lower(wire('host5000.example.test.'));
    assert.equal(t.find(other, 0, other.length), -1);
    const suffix = lower(wire('example.test.'));
    assert.equal(t.find(suffix, 0, suffix.length), -1);
  });

  it('finds a key inside a larger buffer (a parent of a name, by offset)', () => {
    const t = new NameTable();
    const parent = lower(wire('example.test.'));
    const id = t.insert(parent, 0, parent.length, parent, 0);
    const child = lower(wire('www.example.test.'));
    assert.equal(t.find(child, 4, child.length - 4), id);
  });

  it('a hidden id is not found, and its key can be inserted again as another id', () => {
    const t = new NameTable();
    const k = lower(wire('abc.example.test.'));
    const first = t.insert(k, 0, k.length, k, 0);
    t.hide(first);
    assert.equal(t.find(k, 0, k.length), -1);
    const second = t.insert(k, 0, k.length, k, 0);
    assert.notEqual(second, first);
    assert.equal(t.find(k, 0, k.length), second);
  });
});
