// SipHash-2-4 (64-bit output) against the reference vectors, and against a plain BigInt
// implementation for random keys, lengths and offsets.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { siphash24 } from '../../../src/core/index.ts';

/** The reference vectors of the SipHash paper and its C code (vectors.h): key 00..0f, message 00..(n-1), n = 0..63. */
const VECTORS = [
  '310e0edd47db6f72',
  'fd67dc93c539f874',
  '5a4fa9d909806c0d',
  '2d7efbd796666785',
  'b7877127e09427cf',
  '8da699cd64557618',
  'cee3fe586e46c9cb',
  '37d1018bf50002ab',
  '6224939a79f5f593',
  'b0e4a90bdf82009e',
  'f3b9dd94c5bb5d7a',
  'a7ad6b22462fb3f4',
  'fbe50e86bc8f1e75',
  '903d84c02756ea14',
  'eef27a8e90ca23f7',
  'e545be4961ca29a1',
  'db9bc2577fcc2a3f',
  '9447be2cf5e99a69',
  '9cd38d96f0b3c14b',
  'bd6179a71dc96dbb',
  '98eea21af25cd6be',
  'c7673b2eb0cbf2d0',
  '883ea3e395675393',
  'c8ce5ccd8c030ca8',
  '94af49f6c650adb8',
  'eab8858ade92e1bc',
  'f315bb5bb835d817',
  'adcf6b0763612e2f',
  'a5c91da7acaa4dde',
  '716595876650a2a6',
  '28ef495c53a387ad',
  '42c341d8fa92d832',
  'ce7cf2722f512771',
  'e37859f94623f3a7',
  '381205bb1ab0e012',
  'ae97a10fd434e015',
  'b4a31508beff4d31',
  '81396229f0907902',
  '4d0cf49ee5d4dcca',
  '5c73336a76d8bf9a',
  'd0a704536ba93e0e',
  '925958fcd6420cad',
  'a915c29bc8067318',
  '952b79f3bc0aa6d4',
  'f21df2e41d4535f9',
  '87577519048f53a9',
  '10a56cf5dfcd9adb',
  'eb75095ccd986cd0',
  '51a9cb9ecba312e6',
  '96afadfc2ce666c7',
  '72fe52975a4364ee',
  '5a1645b276d592a1',
  'b274cb8ebf87870a',
  '6f9bb4203de7b381',
  'eaecb2a30b22a87f',
  '9924a43cc1315724',
  'bd838d3aafbf8db7',
  '0b1a2a3265d51aea',
  '135079a3231ce660',
  '932b2846e4d70666',
  'e1915f5cb1eca46c',
  'f325965ca16d629f',
  '575ff28e60381be5',
  '724506eb4c328a95',
];

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The textbook algorithm on 64-bit BigInts: slow, obviously right, independent of the code under test. */
function reference(key: Uint8Array, msg: Uint8Array): string {
  const M = (1n << 64n) - 1n;
  const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & M;
  const word = (b: Uint8Array, i: number, n = 8): bigint => {
    let w = 0n;
    for (let j = n - 1; j >= 0; j--) w = (w << 8n) | BigInt(b[i + j] as number);
    return w;
  };
  const k0 = word(key, 0);
  const k1 = word(key, 8);
  const v = [k0 ^ 0x736f6d6570736575n, k1 ^ 0x646f72616e646f6dn, k0 ^ 0x6c7967656e657261n, k1 ^ 0x7465646279746573n];
  const round = (): void => {
    const [a, b, c, d] = v as [bigint, bigint, bigint, bigint];
    let v0 = a,
      v1 = b,
      v2 = c,
      v3 = d;
    v0 = (v0 + v1) & M;
    v1 = rotl(v1, 13n);
    v1 ^= v0;
    v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M;
    v3 = rotl(v3, 16n);
    v3 ^= v2;
    v0 = (v0 + v3) & M;
    v3 = rotl(v3, 21n);
    v3 ^= v0;
    v2 = (v2 + v1) & M;
    v1 = rotl(v1, 17n);
    v1 ^= v2;
    v2 = rotl(v2, 32n);
    v.splice(0, 4, v0, v1, v2, v3);
  };
  const full = msg.length - (msg.length % 8);
  const words: bigint[] = [];
  for (let i = 0; i < full; i += 8) words.push(word(msg, i));
  words.push((BigInt(msg.length & 0xff) << 56n) | word(msg, full, msg.length - full));
  for (const m of words) {
    v[3] = (v[3] as bigint) ^ m;
    round();
    round();
    v[0] = (v[0] as bigint) ^ m;
  }
  v[2] = (v[2] as bigint) ^ 0xffn;
  for (let i = 0; i < 4; i++) round();
  const h = (v[0] as bigint) ^ (v[1] as bigint) ^ v[2] ^ (v[3] as bigint);
  return Buffer.from(Array.from({ length: 8 }, (_, i) => Number((h >> BigInt(8 * i)) & 0xffn))).toString('hex');
}

describe('siphash24', () => {
  const msg = Uint8Array.from({ length: 64 }, (_, i) => i);
  for (const n of [0, 1, 7, 8, 15, 16, 63]) {
    it(`matches the reference vector for a ${n}-byte message`, () => {
      const out = new Uint8Array(8);
      siphash24(KEY, msg, 0, n, out, 0);
      assert.equal(hex(out), VECTORS[n]);
    });
  }

  it('matches all 64 reference vectors', () => {
    const out = new Uint8Array(8);
    const got = VECTORS.map((_, n) => (siphash24(KEY, msg, 0, n, out, 0), hex(out)));
    assert.deepEqual(got, VECTORS);
  });

  it('the BigInt oracle agrees with the reference vectors', () => {
    assert.deepEqual(
      VECTORS.map((_, n) => reference(KEY, msg.subarray(0, n))),
      VECTORS,
    );
  });

  it('reads the message at an offset and writes the result at an offset, touching nothing else', () => {
    const buf = new Uint8Array(80).fill(0xee);
    buf.set(msg.subarray(0, 15), 9);
    const out = new Uint8Array(20).fill(0xaa);
    siphash24(KEY, buf, 9, 15, out, 5);
    assert.equal(hex(out.subarray(5, 13)), VECTORS[15]);
    assert.ok(out.subarray(0, 5).every((b) => b === 0xaa) && out.subarray(13).every((b) => b === 0xaa));
  });

  it('agrees with the BigInt oracle on random keys and messages (every high bit exercised)', () => {
    const out = new Uint8Array(8);
    for (let i = 0; i < 300; i++) {
      const key = randomBytes(16);
      const len = i % 50;
      const data = randomBytes(len + 3);
      siphash24(key, data, 3, len, out, 0);
      assert.equal(hex(out), reference(key, data.subarray(3)), `key ${hex(key)} message ${hex(data.subarray(3))}`);
    }
    const ones = new Uint8Array(40).fill(0xff);
    siphash24(ones, ones, 0, 40, out, 0);
    assert.equal(hex(out), reference(ones, ones));
  });
});
