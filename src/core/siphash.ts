// SipHash-2-4 with a 64-bit output (Aumasson & Bernstein, 2012), in 32-bit integer arithmetic:
// the DNS cookie hash (RFC 9018 §4.4) is computed per query, so no BigInt and no allocation.
//
// Each 64-bit word is a pair of int32 locals (h = bits 63..32, l = bits 31..0):
//
//   v0 = (v0h, v0l)   v1 = (v1h, v1l)   v2 = (v2h, v2l)   v3 = (v3h, v3l)
//
// The message is read as little-endian 64-bit words; the last word carries the remaining 0..7
// bytes and the message length mod 256 in its top byte. The result is written little-endian, the
// byte order of the reference implementation (and of RFC 9018's Hash field).

/** Key length in bytes. */
export const SIPHASH_KEY_LEN = 16;
/** Output length in bytes. */
export const SIPHASH_OUT_LEN = 8;

function le32(b: Uint8Array, i: number): number {
  return (b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24);
}

/**
 * SipHash-2-4 of msg[off, off+len) under a 16-byte key; the 8 result bytes go to out[outOff, outOff+8).
 * The caller guarantees the ranges (key.length ≥ 16, off+len ≤ msg.length, outOff+8 ≤ out.length).
 */
export function siphash24(
  key: Uint8Array,
  msg: Uint8Array,
  off: number,
  len: number,
  out: Uint8Array,
  outOff: number,
): void {
  const k0l = le32(key, 0);
  const k0h = le32(key, 4);
  const k1l = le32(key, 8);
  const k1h = le32(key, 12);
  // The initial state: the key XOR "somepseudorandomlygeneratedbytes".
  let v0h = k0h ^ 0x736f6d65;
  let v0l = k0l ^ 0x70736575;
  let v1h = k1h ^ 0x646f7261;
  let v1l = k1l ^ 0x6e646f6d;
  let v2h = k0h ^ 0x6c796765;
  let v2l = k0l ^ 0x6e657261;
  let v3h = k1h ^ 0x74656462;
  let v3l = k1l ^ 0x79746573;

  const end = off + len;
  const fullEnd = end - (len & 7);
  let p = off;
  for (;;) {
    // The next word m: a full 8 bytes, or the last word (tail bytes and the length byte).
    let mh: number;
    let ml: number;
    const last = p >= fullEnd;
    if (!last) {
      ml = le32(msg, p);
      mh = le32(msg, p + 4);
      p += 8;
    } else {
      ml = 0;
      mh = (len & 0xff) << 24;
      const n = end - p;
      for (let i = 0; i < n; i++) {
        const byte = msg[p + i] as number;
        if (i < 4) ml |= byte << (8 * i);
        else mh |= byte << (8 * (i - 4));
      }
    }
    v3h ^= mh;
    v3l ^= ml;
    // Two compression rounds per word; after the last word's two, the four finalization rounds.
    const rounds = last ? 6 : 2;
    for (let r = 0; r < rounds; r++) {
      let s: number;
      let t: number;
      // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
      s = (v0l >>> 0) + (v1l >>> 0);
      v0h = (v0h + v1h + (s > 0xffffffff ? 1 : 0)) | 0;
      v0l = s | 0;
      t = (v1h << 13) | (v1l >>> 19);
      v1l = (v1l << 13) | (v1h >>> 19);
      v1h = t ^ v0h;
      v1l ^= v0l;
      t = v0h;
      v0h = v0l;
      v0l = t;
      // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
      s = (v2l >>> 0) + (v3l >>> 0);
      v2h = (v2h + v3h + (s > 0xffffffff ? 1 : 0)) | 0;
      v2l = s | 0;
      t = (v3h << 16) | (v3l >>> 16);
      v3l = (v3l << 16) | (v3h >>> 16);
      v3h = t ^ v2h;
      v3l ^= v2l;
      // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
      s = (v0l >>> 0) + (v3l >>> 0);
      v0h = (v0h + v3h + (s > 0xffffffff ? 1 : 0)) | 0;
      v0l = s | 0;
      t = (v3h << 21) | (v3l >>> 11);
      v3l = (v3l << 21) | (v3h >>> 11);
      v3h = t ^ v0h;
      v3l ^= v0l;
      // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
      s = (v2l >>> 0) + (v1l >>> 0);
      v2h = (v2h + v1h + (s > 0xffffffff ? 1 : 0)) | 0;
      v2l = s | 0;
      t = (v1h << 17) | (v1l >>> 15);
      v1l = (v1l << 17) | (v1h >>> 15);
      v1h = t ^ v2h;
      v1l ^= v2l;
      t = v2h;
      v2h = v2l;
      v2l = t;
      if (r === 1) {
        v0h ^= mh;
        v0l ^= ml;
        if (last) v2l ^= 0xff; // finalization: v2 ^= 0xff
      }
    }
    if (last) break;
  }
  const h = v0h ^ v1h ^ v2h ^ v3h;
  const l = v0l ^ v1l ^ v2l ^ v3l;
  out[outOff] = l;
  out[outOff + 1] = l >>> 8;
  out[outOff + 2] = l >>> 16;
  out[outOff + 3] = l >>> 24;
  out[outOff + 4] = h;
  out[outOff + 5] = h >>> 8;
  out[outOff + 6] = h >>> 16;
  out[outOff + 7] = h >>> 24;
}
