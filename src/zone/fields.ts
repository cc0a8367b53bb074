// The field kinds RDATA is made of, each able to read its presentation form from tokens and to
// print itself from wire bytes. Most RR types are a list of these (see the LAYOUT table of rdata.ts).

import { nameFromText, nameLength, nameToText, typeFromText, typeName, u16 } from '../wire/index.js';
import type { Token } from './lexer.js';
import {
  Bytes,
  RdataError,
  charString,
  formatIPv4,
  formatIPv6,
  parseBase32Hex,
  parseBase64,
  parseHex,
  parseIPv4,
  parseIPv6,
  parseTtl,
  parseUint,
  quoteBytes,
  toBase32Hex,
  toBase64,
  toHex,
  unescapeBytes,
} from './text.js';

/** Reads RDATA tokens in order; every read names what it expected when it fails. */
export class TokenReader {
  readonly #tokens: readonly Token[];
  #i: number;
  readonly origin: Uint8Array;
  /** `start`: the first token to read (the RDATA's, in a record's tokens). */
  constructor(tokens: readonly Token[], origin: Uint8Array, start = 0) {
    this.#tokens = tokens;
    this.origin = origin;
    this.#i = start;
  }
  next(what: string): Token {
    const t = this.#tokens[this.#i++];
    if (!t) throw new RdataError(`missing ${what}`);
    return t;
  }
  text(what: string): string {
    return this.next(what).text;
  }
  /** An unquoted token, or an error. */
  bare(what: string): string {
    const t = this.next(what);
    if (t.quoted) throw new RdataError(`${what}: expected an unquoted value, got "${t.text}"`);
    return t.text;
  }
  peek(): Token | undefined {
    return this.#tokens[this.#i];
  }
  get done(): boolean {
    return this.#i >= this.#tokens.length;
  }
  /** The remaining tokens' texts joined (base64/hex split over several tokens). */
  rest(): string {
    let s = '';
    while (!this.done) s += this.bare('data');
    return s;
  }
  name(what: string): Uint8Array {
    const t = this.next(what);
    try {
      return nameFromText(t.text, this.origin);
    } catch (e) {
      throw new RdataError(`${what}: ${(e as Error).message}`);
    }
  }
}

/** Reads wire RDATA for printing; throws when it runs past the end. */
export class WireReader {
  readonly b: Uint8Array;
  pos = 0;
  constructor(b: Uint8Array) {
    this.b = b;
  }
  need(n: number): void {
    if (this.pos + n > this.b.length) throw new RdataError('RDATA too short');
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++] as number;
  }
  u16(): number {
    this.need(2);
    const v = u16(this.b, this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    return this.u16() * 0x10000 + this.u16();
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  rest(): Uint8Array {
    return this.bytes(this.b.length - this.pos);
  }
  name(): string {
    // Names in stored RDATA are uncompressed.
    let i = this.pos;
    for (;;) {
      if (i >= this.b.length) throw new RdataError('name runs past RDATA');
      const len = this.b[i] as number;
      if (len === 0) break;
      if (len > 63) throw new RdataError('bad label in RDATA name');
      i += len + 1;
    }
    const text = nameToText(this.b, this.pos);
    this.pos += nameLength(this.b, this.pos);
    return text;
  }
  charString(): Uint8Array {
    return this.bytes(this.u8());
  }
  get done(): boolean {
    return this.pos >= this.b.length;
  }
}

export interface Field {
  parse(r: TokenReader, out: Bytes): void;
  print(w: WireReader): string;
}

const uint = (bits: 8 | 16 | 32, what: string): Field => ({
  parse: (r, out) => {
    const v = parseUint(r.bare(what), bits, what);
    if (bits === 8) out.u8(v);
    else if (bits === 16) out.u16(v);
    else out.u32(v);
  },
  print: (w) => String(bits === 8 ? w.u8() : bits === 16 ? w.u16() : w.u32()),
});

export const F = {
  u8: (what = 'number') => uint(8, what),
  u16: (what = 'number') => uint(16, what),
  u32: (what = 'number') => uint(32, what),
  /** A 32-bit time value that may use TTL units (SOA timers). */
  period: (what: string): Field => ({
    parse: (r, out) => {
      const t = r.bare(what);
      const v = parseTtl(t);
      if (v === undefined) throw new RdataError(`${what}: expected a number of seconds, got "${t}"`);
      out.u32(v);
    },
    print: (w) => String(w.u32()),
  }),
  name: (what = 'name'): Field => ({
    parse: (r, out) => out.bytes(r.name(what)),
    print: (w) => w.name(),
  }),
  a: (): Field => ({
    parse: (r, out) => {
      const t = r.bare('IPv4 address');
      const v = parseIPv4(t);
      if (!v) throw new RdataError(`expected an IPv4 address, got "${t}"`);
      out.bytes(v);
    },
    print: (w) => formatIPv4(w.bytes(4)),
  }),
  aaaa: (): Field => ({
    parse: (r, out) => {
      const t = r.bare('IPv6 address');
      const v = parseIPv6(t);
      if (!v) throw new RdataError(`expected an IPv6 address, got "${t}"`);
      out.bytes(v);
    },
    print: (w) => formatIPv6(w.bytes(16)),
  }),
  str: (what = 'character string'): Field => ({
    parse: (r, out) => {
      const b = charString(r.text(what));
      out.u8(b.length);
      out.bytes(b);
    },
    print: (w) => quoteBytes(w.charString()),
  }),
  /** A character string that may be absent (ISDN subaddress). */
  strOpt: (): Field => ({
    parse: (r, out) => {
      if (r.done) return;
      const b = charString(r.text('character string'));
      out.u8(b.length);
      out.bytes(b);
    },
    print: (w) => (w.done ? '' : quoteBytes(w.charString())),
  }),
  /** One or more character strings to the end (TXT). */
  strs: (): Field => ({
    parse: (r, out) => {
      do {
        const b = charString(r.text('character string'));
        out.u8(b.length);
        out.bytes(b);
      } while (!r.done);
    },
    print: (w) => {
      const parts: string[] = [];
      do parts.push(quoteBytes(w.charString()));
      while (!w.done);
      return parts.join(' ');
    },
  }),
  /** The rest as one string without a length byte (CAA value, URI target). */
  raw: (what: string): Field => ({
    parse: (r, out) => out.bytes(unescapeBytes(r.text(what))),
    print: (w) => quoteBytes(w.rest()),
  }),
  b64: (what = 'base64 data', optional = false): Field => ({
    parse: (r, out) => {
      if (r.done && !optional) throw new RdataError(`missing ${what}`);
      out.bytes(parseBase64(r.rest(), what));
    },
    print: (w) => toBase64(w.rest()),
  }),
  hex: (what = 'hex data', optional = false): Field => ({
    parse: (r, out) => {
      if (r.done && !optional) throw new RdataError(`missing ${what}`);
      out.bytes(parseHex(r.rest(), what));
    },
    print: (w) => toHex(w.rest()),
  }),
  /** NSEC3 salt: "-" for none, else hex, with a length byte (RFC 5155 §3.3). */
  salt: (): Field => ({
    parse: (r, out) => {
      const t = r.bare('salt');
      const b = t === '-' ? [] : parseHex(t, 'salt');
      if (b.length > 255) throw new RdataError('salt longer than 255 bytes');
      out.u8(b.length);
      out.bytes(b);
    },
    print: (w) => {
      const b = w.charString();
      return b.length === 0 ? '-' : toHex(b);
    },
  }),
  b32: (): Field => ({
    parse: (r, out) => {
      const b = parseBase32Hex(r.bare('next hashed owner'), 'next hashed owner');
      out.u8(b.length);
      out.bytes(b);
    },
    print: (w) => toBase32Hex(w.charString()),
  }),
  /** RFC 4034 §4.1.2 type bitmap: the rest of the tokens are type mnemonics. */
  bitmap: (): Field => ({
    parse: (r, out) => {
      const types: number[] = [];
      while (!r.done) {
        const t = r.bare('type');
        const v = typeFromText(t);
        if (v === undefined) throw new RdataError(`unknown type "${t}" in type bitmap`);
        types.push(v);
      }
      out.bytes(encodeBitmap(types));
    },
    print: (w) => decodeBitmap(w.rest()).map(typeName).join(' '),
  }),
  /** RRSIG times: YYYYMMDDHHmmSS, or a plain number of seconds (RFC 4034 §3.2). */
  time: (what: string): Field => ({
    parse: (r, out) => out.u32(parseSigTime(r.bare(what), what)),
    print: (w) => formatSigTime(w.u32()),
  }),
  type: (what = 'type'): Field => ({
    parse: (r, out) => {
      const t = r.bare(what);
      const v = typeFromText(t);
      if (v === undefined) throw new RdataError(`${what}: unknown type "${t}"`);
      out.u16(v);
    },
    print: (w) => typeName(w.u16()),
  }),
  /** A number or a mnemonic from `table`. */
  mnemonic: (bits: 8 | 16, table: Readonly<Record<string, number>>, what: string): Field => ({
    parse: (r, out) => {
      const t = r.bare(what);
      const v = table[t.toUpperCase()] ?? parseUint(t, bits, what);
      if (bits === 8) out.u8(v);
      else out.u16(v);
    },
    print: (w) => String(bits === 8 ? w.u8() : w.u16()),
  }),
};

export function encodeBitmap(types: readonly number[]): number[] {
  const windows = new Map<number, number[]>();
  for (const t of types) {
    const win = t >> 8;
    const bits = windows.get(win) ?? new Array<number>(32).fill(0);
    const low = t & 0xff;
    bits[low >> 3] = (bits[low >> 3] as number) | (0x80 >> (low & 7));
    windows.set(win, bits);
  }
  const out: number[] = [];
  for (const win of [...windows.keys()].sort((x, y) => x - y)) {
    const bits = windows.get(win) as number[];
    let len = 32;
    while (len > 0 && bits[len - 1] === 0) len--;
    out.push(win, len, ...bits.slice(0, len));
  }
  return out;
}

export function decodeBitmap(b: Uint8Array): number[] {
  const types: number[] = [];
  let i = 0;
  while (i < b.length) {
    if (i + 2 > b.length) throw new RdataError('type bitmap truncated');
    const win = b[i] as number;
    const len = b[i + 1] as number;
    if (len < 1 || len > 32 || i + 2 + len > b.length) throw new RdataError('bad type bitmap window');
    for (let j = 0; j < len; j++) {
      const byte = b[i + 2 + j] as number;
      for (let k = 0; k < 8; k++) if (byte & (0x80 >> k)) types.push(win * 256 + j * 8 + k);
    }
    i += 2 + len;
  }
  return types;
}

function parseSigTime(t: string, what: string): number {
  if (/^\d{14}$/.test(t)) {
    const ms = Date.UTC(
      +t.slice(0, 4),
      +t.slice(4, 6) - 1,
      +t.slice(6, 8),
      +t.slice(8, 10),
      +t.slice(10, 12),
      +t.slice(12, 14),
    );
    if (Number.isNaN(ms)) throw new RdataError(`${what}: invalid time "${t}"`);
    return (ms / 1000) % 2 ** 32;
  }
  if (/^\d{1,10}$/.test(t) && Number(t) <= 0xffffffff) return Number(t);
  throw new RdataError(`${what}: expected YYYYMMDDHHmmSS, got "${t}"`);
}

function formatSigTime(v: number): string {
  const d = new Date(v * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** DNSSEC algorithm mnemonics (RFC 4034 Appendix A.1 and the IANA registry). */
export const ALGORITHMS: Readonly<Record<string, number>> = {
  RSAMD5: 1,
  DH: 2,
  DSA: 3,
  ECC: 4,
  RSASHA1: 5,
  'DSA-NSEC3-SHA1': 6,
  'RSASHA1-NSEC3-SHA1': 7,
  RSASHA256: 8,
  RSASHA512: 10,
  'ECC-GOST': 12,
  ECDSAP256SHA256: 13,
  ECDSAP384SHA384: 14,
  ED25519: 15,
  ED448: 16,
  INDIRECT: 252,
  PRIVATEDNS: 253,
  PRIVATEOID: 254,
};

/** KEY/DNSKEY flag mnemonics as BIND accepts them, joined with "|". */
const KEY_FLAGS: Readonly<Record<string, number>> = {
  NOCONF: 0x4000,
  NOAUTH: 0x8000,
  NOKEY: 0xc000,
  FLAG2: 0x2000,
  EXTEND: 0x1000,
  FLAG4: 0x0800,
  FLAG5: 0x0400,
  USER: 0x0000,
  ZONE: 0x0100,
  HOST: 0x0200,
  NTYP3: 0x0300,
  FLAG8: 0x0080,
  FLAG9: 0x0040,
  FLAG10: 0x0020,
  FLAG11: 0x0010,
  SIG0: 0,
  SIG1: 1,
  SIG2: 2,
  SIG3: 3,
  SIG4: 4,
  SIG5: 5,
  SIG6: 6,
  SIG7: 7,
  SIG8: 8,
  SIG9: 9,
  SIG10: 10,
  SIG11: 11,
  SIG12: 12,
  SIG13: 13,
  SIG14: 14,
  SIG15: 15,
  KSK: 0x0001,
  REVOKE: 0x0080,
};

export const keyFlags = (): Field => ({
  parse: (r, out) => {
    const t = r.bare('flags');
    if (/^\d+$/.test(t)) return out.u16(parseUint(t, 16, 'flags'));
    let v = 0;
    for (const part of t.split('|')) {
      const f = KEY_FLAGS[part.toUpperCase()];
      if (f === undefined) throw new RdataError(`flags: unknown flag "${part}"`);
      v |= f;
    }
    out.u16(v);
  },
  print: (w) => String(w.u16()),
});
