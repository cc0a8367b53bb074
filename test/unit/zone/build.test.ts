// The builder: its NameTable (packed names found through an open-addressing index that grows, and
// hidden ids that let a key be inserted again: an NSEC3 node moved aside), the nodes it writes
// straight from its record log, and the key order its digest uses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { T, nameFromText, nameKey } from '../../../src/wire/index.ts';
import { compareKeys } from '../../../src/zone/build.ts';
import { NameTable, OwnerBatch } from '../../../src/zone/names.ts';
import { buildZone, parseZoneText } from '../../../src/zone/index.ts';

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

  it('tells apart keys of one hash (the hash beside each id is only a filter), past growths', () => {
    // n162789.d.test. and n379192.d.test. have one FNV-1a hash (image.test.ts checks it).
    const t = new NameTable(4);
    const a = lower(wire('n162789.d.test.'));
    const b = lower(wire('n379192.d.test.'));
    const ia = t.insert(a, 0, a.length, a, 0);
    assert.equal(t.find(b, 0, b.length), -1);
    const ib = t.insert(b, 0, b.length, b, 0);
    for (let i = 0; i < 3000; i++) {
      const k = lower(wire(`filler${i}.d.test.`));
      t.insert(k, 0, k.length, k, 0);
    }
    assert.equal(t.find(a, 0, a.length), ia);
    assert.equal(t.find(b, 0, b.length), ib);
    assert.notEqual(ia, ib);
  });

  it('keeps an original-case name only where it differs from its key, past growths either way', () => {
    const t = new NameTable(4);
    const ids = new Map<string, number>();
    const add = (text: string): void => {
      const n = wire(text);
      const k = lower(n);
      ids.set(text, t.insert(k, 0, k.length, n, 0));
    };
    for (let i = 0; i < 3000; i++) add(`low${i}.example.test.`); // grown with no name kept apart
    add('Upper.Example.TEST.');
    for (let i = 0; i < 3000; i++) add(i % 2 ? `Mixed${i}.example.test.` : `plain${i}.example.test.`);
    for (const [text, id] of ids) {
      assert.deepEqual(t.name(id), wire(text));
      assert.deepEqual(t.nameBytesOf(id).subarray(t.offset(id), t.offset(id) + t.length(id)), wire(text));
      assert.deepEqual(t.key(id), lower(wire(text)));
    }
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

describe('OwnerBatch', () => {
  it('gives each record the id one lookup per record would, across flushes and repeated owners', () => {
    const table = new NameTable(4);
    const batch = new OwnerBatch(table);
    const log = Buffer.alloc(4 * 3000);
    const owners = Array.from({ length: 3000 }, (_, i) => `o${(i * 7919) % 1200}.example.test.`);
    const expected = new Map<string, number>();
    let queued = 0;
    owners.forEach((text, r) => {
      if (!expected.has(text)) expected.set(text, expected.size); // ids in order of first sight
      if (batch.full) batch.flush(log);
      const k = lower(wire(text));
      batch.needs(4 * r, batch.queue(k, k, k.length));
      queued++;
    });
    batch.flush(log);
    assert.ok(queued > 256); // more than one batch
    owners.forEach((text, r) => assert.equal(log.readUInt32BE(4 * r), expected.get(text), text));
    assert.equal(table.size, expected.size);
  });
});

describe('nodes written from the record log', () => {
  const origin = nameFromText('log.test.', null);
  const many = Array.from({ length: 40 }, (_, i) => `big A 192.0.2.${i}`);
  const types = Array.from({ length: 20 }, (_, i) => `wide TYPE${65280 + i} \\# 1 ${i.toString(16).padStart(2, '0')}`);
  const text = [
    '$TTL 60',
    '@ SOA ns host 1 2 3 4 5',
    '@ NS ns',
    'ns A 192.0.2.1',
    'Mixed 300 A 192.0.2.1',
    'mixed 100 TXT "a"',
    'MIXED 200 A 192.0.2.2',
    // A duplicate is left out before its TTL is looked at (RFC 2181 §5).
    'mixed 50 A 192.0.2.1',
    'other A 192.0.2.9',
    'mixed 150 TXT "b"',
    ...many,
    'big A 192.0.2.0',
    ...types,
  ].join('\n');
  const zone = buildZone(parseZoneText(text, origin, 'log.zone'), origin, 'log.zone');
  const node = (name: string): ReturnType<typeof zone.nodes.get> => zone.nodes.get(nameKey(nameFromText(name, origin)));
  const address = (a: string): Uint8Array => Uint8Array.from(a.split('.').map(Number));

  it('groups the records of a name by type in the order of their first record, each RRset at its smallest TTL', () => {
    const n = node('mixed');
    assert.ok(n);
    assert.deepEqual(Buffer.from(n.name), Buffer.from(nameFromText('Mixed', origin)));
    assert.deepEqual([...n.rrsets.keys()], [T.A, T.TXT]);
    const a = n.rrsets.get(T.A);
    assert.equal(a?.ttl, 200);
    assert.deepEqual(
      a?.rdatas.map((d) => [...d]),
      [[...address('192.0.2.1')], [...address('192.0.2.2')]],
    );
    const txt = n.rrsets.get(T.TXT);
    assert.equal(txt?.ttl, 100);
    assert.deepEqual(
      txt?.rdatas.map((d) => Buffer.from(d).toString('latin1')),
      ['\x01a', '\x01b'],
    );
  });

  it('writes a name of one record with its type, class, TTL and RDATA', () => {
    const n = node('other');
    assert.deepEqual([...(n?.rrsets.keys() ?? [])], [T.A]);
    const a = n?.rrsets.get(T.A);
    assert.equal(a?.class, 1);
    assert.equal(a?.ttl, 60);
    assert.deepEqual(
      a?.rdatas.map((d) => [...d]),
      [[...address('192.0.2.9')]],
    );
  });

  it('keeps every distinct record of a large RRset and every type of a name with many', () => {
    assert.equal(node('big')?.rrsets.get(T.A)?.rdatas.length, 40);
    const wide = node('wide');
    assert.deepEqual(
      [...(wide?.rrsets.keys() ?? [])],
      Array.from({ length: 20 }, (_, i) => 65280 + i),
    );
    assert.deepEqual([...(wide?.rrsets.get(65299)?.rdatas[0] ?? [])], [0x13]);
  });

  it('counts the records kept, duplicates left out', () => {
    // SOA, NS, ns, mixed (2 A, 2 TXT), other, big (40), wide (20)
    assert.equal(zone.recordCount, 3 + 4 + 1 + 40 + 20);
  });
});

describe('owners given again', () => {
  const origin = nameFromText('own.test.', null);
  const head = '$TTL 60\n@ SOA ns host 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n';

  it('a record whose owner is inherited joins the node of the record before it', () => {
    const text = `${head}a A 192.0.2.2\n TXT "x"\n\tA 192.0.2.3\nb A 192.0.2.4\n AAAA 2001:db8::1\n`;
    const zone = buildZone(parseZoneText(text, origin, 'own.zone'), origin, 'own.zone');
    const a = zone.nodes.get(nameKey(nameFromText('a', origin)));
    assert.deepEqual([...(a?.rrsets.keys() ?? [])], [T.A, T.TXT]);
    assert.equal(a?.rrsets.get(T.A)?.rdatas.length, 2);
    assert.deepEqual([...(zone.nodes.get(nameKey(nameFromText('b', origin)))?.rrsets.keys() ?? [])], [T.A, T.AAAA]);
  });

  it('every record of an owner outside the zone is reported, inherited or not', () => {
    const text = `${head}x.example.org. A 192.0.2.5\n TXT "x"\nc A 192.0.2.6\n`;
    assert.throws(
      () => buildZone(parseZoneText(text, origin, 'own.zone'), origin, 'own.zone'),
      (e: Error & { problems?: string[] }) => {
        assert.deepEqual(e.problems, [
          'own.zone:5: x.example.org. is outside the zone own.test.',
          'own.zone:6: x.example.org. is outside the zone own.test.',
        ]);
        return true;
      },
    );
  });
});

describe('compareKeys', () => {
  const data = Buffer.concat([
    Buffer.from([2, 0x61, 0x62]),
    Buffer.from([3, 0x61, 0x62, 0x63]),
    Buffer.from([2, 0x61, 0x63]),
  ]);
  it('orders keys by their bytes, a prefix first, as latin1 strings compare', () => {
    assert.ok(compareKeys(data, 0, 3) < 0); // "ab" before "abc"
    assert.ok(compareKeys(data, 3, 0) > 0);
    assert.ok(compareKeys(data, 3, 7) < 0); // "abc" before "ac"
    assert.equal(compareKeys(data, 7, 7), 0);
  });
});
