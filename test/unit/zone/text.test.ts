// Byte helpers of zone loading: dotted-quad addresses, the RDATA byte builder, the image writer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChunkWriter } from '../../../src/zone/chunks.ts';
import { Bytes, parseIPv4 } from '../../../src/zone/text.ts';

describe('parseIPv4', () => {
  const good: [string, number[]][] = [
    ['192.0.2.1', [192, 0, 2, 1]],
    ['0.0.0.0', [0, 0, 0, 0]],
    ['255.255.255.255', [255, 255, 255, 255]],
    ['010.001.2.3', [10, 1, 2, 3]], // leading zeros, as BIND reads them
  ];
  for (const [text, bytes] of good) it(`${text} -> ${bytes.join(',')}`, () => assert.deepEqual(parseIPv4(text), bytes));
  const bad = [
    '',
    '1.2.3',
    '1.2.3.4.',
    '.1.2.3',
    '1..2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.0256',
    '1.2.3.a',
    '1.2.3.-1',
    '1.2.3.٣',
    ' 1.2.3.4',
  ];
  for (const text of bad) it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseIPv4(text), undefined));
});

describe('Bytes', () => {
  it('grows past its first room and keeps every byte, big-endian', () => {
    const b = new Bytes();
    for (let i = 0; i < 100; i++) b.u8(i + 0x100); // kept to 8 bits
    b.u16(0x1234);
    b.u32(0xdeadbeef);
    b.bytes([7, 8, 9]);
    const out = b.toUint8Array();
    assert.equal(out.length, 109);
    assert.equal(b.length, 109);
    assert.deepEqual([...out.subarray(0, 3)], [0, 1, 2]);
    assert.deepEqual([...out.subarray(100)], [0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 7, 8, 9]);
  });

  it('set patches a byte written earlier; reset starts an RDATA that shares nothing with the last', () => {
    const b = new Bytes();
    b.u16(0);
    b.u8(5);
    b.set(0, 0x1ff);
    const first = b.toUint8Array();
    assert.deepEqual([...first], [0xff, 0, 5]);
    b.reset();
    assert.equal(b.length, 0);
    b.u8(1);
    assert.deepEqual([...b.toUint8Array()], [1]);
    assert.deepEqual([...first], [0xff, 0, 5]);
  });
});

describe('ChunkWriter#take', () => {
  it('hands over the bytes written, as written, and starts the writer again empty', () => {
    const w = new ChunkWriter(4);
    w.u16(0x0102);
    w.copy(Uint8Array.of(9, 8, 7, 6, 5), 1, 4);
    w.u32(0x0a0b0c0d);
    const out = w.take();
    assert.deepEqual([...out], [1, 2, 8, 7, 6, 0x0a, 0x0b, 0x0c, 0x0d]);
    assert.equal(w.length, 0);
    w.u8(3); // a later write goes to a buffer of its own
    assert.deepEqual([...out], [1, 2, 8, 7, 6, 0x0a, 0x0b, 0x0c, 0x0d]);
  });
});
