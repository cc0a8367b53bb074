// Presentation-format helpers shared by the RDATA codecs: character strings, numbers, addresses,
// base64/base32hex/hex, and a byte builder.

import { EdgeError, ErrorCode } from '../core/index.js';
import { u16 } from '../wire/index.js';

export class RdataError extends EdgeError {
  constructor(message: string) {
    super(ErrorCode.RDATA_INVALID, message);
  }
}

/** Growable byte buffer for encoding RDATA. */
export class Bytes {
  #a = new Uint8Array(64);
  #len = 0;
  get length(): number {
    return this.#len;
  }
  /** Start again, empty (the bytes are kept for the next RDATA). */
  reset(): void {
    this.#len = 0;
  }
  #room(n: number): void {
    if (this.#len + n <= this.#a.length) return;
    const next = new Uint8Array(Math.max(this.#a.length * 2, this.#len + n));
    next.set(this.#a.subarray(0, this.#len));
    this.#a = next;
  }
  u8(v: number): void {
    this.#room(1);
    this.#a[this.#len++] = v;
  }
  u16(v: number): void {
    this.#room(2);
    this.#a[this.#len++] = v >> 8;
    this.#a[this.#len++] = v;
  }
  u32(v: number): void {
    this.u16(Math.floor(v / 0x10000) & 0xffff);
    this.u16(v & 0xffff);
  }
  bytes(b: ArrayLike<number>): void {
    this.#room(b.length);
    for (let i = 0; i < b.length; i++) this.#a[this.#len++] = b[i] as number;
  }
  set(at: number, v: number): void {
    if (at >= this.#len) {
      this.#room(at + 1 - this.#len);
      this.#len = at + 1;
    }
    this.#a[at] = v;
  }
  toUint8Array(): Uint8Array {
    const n = this.#len;
    if (n > 64) return this.#a.slice(0, n);
    // Most RDATA is a few bytes: a copy by hand costs less than TypedArray#slice.
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#a[i] as number;
    return out;
  }
}

/** Unescape `\X` and `\DDD` (RFC 1035 §5.1) into bytes. Characters are taken as latin1 bytes. */
export function unescapeBytes(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x5c) {
      out.push(c & 0xff);
      continue;
    }
    if (i + 1 >= text.length) throw new RdataError(`dangling backslash in "${text}"`);
    const d = text.slice(i + 1, i + 4);
    if (/^\d{3}$/.test(d)) {
      const v = Number(d);
      if (v > 255) throw new RdataError(`escape \\${d} out of range`);
      out.push(v);
      i += 3;
    } else if (/^\d/.test(d)) {
      throw new RdataError(`bad escape \\${d} (expected \\DDD)`);
    } else {
      out.push(text.charCodeAt(++i) & 0xff);
    }
  }
  return out;
}

/** One <character-string> (RFC 1035 §3.3): at most 255 bytes. */
export function charString(text: string): number[] {
  const b = unescapeBytes(text);
  if (b.length > 255) throw new RdataError(`character string longer than 255 bytes (${b.length})`);
  return b;
}

/** Quoted presentation of bytes, escaping `"`, `\` and non-printable bytes. */
export function quoteBytes(b: Uint8Array): string {
  return `"${escapeBytes(b, '"\\')}"`;
}

export function escapeBytes(b: Uint8Array, special: string): string {
  let s = '';
  for (const c of b) {
    if (c < 0x20 || c > 0x7e) s += `\\${String(c).padStart(3, '0')}`;
    else {
      const ch = String.fromCharCode(c);
      s += special.includes(ch) ? `\\${ch}` : ch;
    }
  }
  return s;
}

export function parseUint(text: string, bits: 8 | 16 | 32, what: string): number {
  if (!/^\d+$/.test(text)) throw new RdataError(`${what}: expected an integer, got "${text}"`);
  const v = Number(text);
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (v > max) throw new RdataError(`${what}: ${text} is out of range 0..${max}`);
  return v;
}

const TTL_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** A TTL in seconds: digits, or units as in BIND (`1h30m`, `1W`); undefined when not a TTL. */
export function parseTtl(text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const v = Number(text);
    return v <= 0xffffffff ? v : undefined;
  }
  const m = /^(\d+[smhdw])+$/i.exec(text);
  if (!m) return undefined;
  let total = 0;
  for (const part of text.toLowerCase().matchAll(/(\d+)([smhdw])/g))
    total += Number(part[1]) * (TTL_UNITS[part[2] as string] as number);
  return total <= 0xffffffff ? total : undefined;
}

/** Dotted-quad IPv4: four parts of one to three digits, each at most 255 (leading zeros allowed). */
export function parseIPv4(text: string): number[] | undefined {
  const out = [0, 0, 0, 0];
  let part = 0;
  let digits = 0;
  let v = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || v > 255 || part > 3) return undefined;
      out[part++] = v;
      digits = 0;
      v = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      v = v * 10 + (c - 0x30);
      digits++;
    } else return undefined;
  }
  return part === 4 ? out : undefined;
}

export function parseIPv6(text: string): number[] | undefined {
  let s = text;
  const tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    tail.push(...v4);
    s = s.slice(0, lastColon + 1);
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const group = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      const v = parseInt(g, 16);
      out.push(v >> 8, v & 0xff);
    }
    return out;
  };
  const head = group(halves[0] as string);
  const rest = halves.length === 2 ? group(halves[1] as string) : [];
  if (!head || !rest) return undefined;
  const fixed = head.length + rest.length + tail.length;
  if (halves.length === 1) return fixed === 16 ? [...head, ...tail] : undefined;
  if (fixed > 14) return undefined;
  return [...head, ...new Array<number>(16 - fixed).fill(0), ...rest, ...tail];
}

export function formatIPv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 form: lower case, the longest run of zero groups (two or more) as "::". */
export function formatIPv6(b: Uint8Array, at = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(u16(b, at + 2 * i));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number[]): string => x.map((v) => v.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

export function parseHex(text: string, what: string): number[] {
  if (!/^([0-9a-fA-F]{2})*$/.test(text))
    throw new RdataError(`${what}: expected hex digits in pairs, got "${text.slice(0, 40)}"`);
  const out: number[] = [];
  for (let i = 0; i < text.length; i += 2) out.push(parseInt(text.slice(i, i + 2), 16));
  return out;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex').toUpperCase();
}

export function parseBase64(text: string, what: string): number[] {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0)
    throw new RdataError(`${what}: invalid base64 "${text.slice(0, 40)}"`);
  return [...Buffer.from(text, 'base64')];
}

export function toBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

const B32HEX = '0123456789abcdefghijklmnopqrstuv';

/** RFC 4648 §7 base32hex without padding (NSEC3 hashed owner names). */
export function parseBase32Hex(text: string, what: string): number[] {
  const s = text.toLowerCase();
  let bits = 0;
  let acc = 0;
  const out: number[] = [];
  for (const ch of s) {
    const v = B32HEX.indexOf(ch);
    if (v < 0) throw new RdataError(`${what}: invalid base32hex "${text}"`);
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0)
    throw new RdataError(`${what}: base32hex "${text}" has a bad length`);
  return out;
}

export function toBase32Hex(b: Uint8Array): string {
  let s = '';
  let acc = 0;
  let bits = 0;
  for (const x of b) {
    acc = ((acc << 8) | x) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      s += B32HEX[(acc >> bits) & 31];
    }
  }
  if (bits > 0) s += B32HEX[(acc << (5 - bits)) & 31];
  return s.toUpperCase();
}
