// Domain names: presentation text <-> uncompressed wire, lower-case lookup keys, reading names
// (with compression) out of a message.
//
// A name key is the lower-cased wire form as a latin1 string, e.g. "\x03www\x07example\x04test\x00".
// Suffixes of a key at label boundaries are the keys of its ancestors, so zone lookups walk a key
// with plain string slices.

import { EdgeError, ErrorCode } from '../core/index.js';
import { MAX_LABEL_LEN, MAX_NAME_LEN } from './constants.js';

export class NameError extends EdgeError {
  constructor(message: string) {
    super(ErrorCode.NAME_INVALID, message);
  }
}

export const ROOT: Uint8Array = Uint8Array.of(0);

/** A name from text that is absolute whether or not it ends in a dot (config, command line). */
export function absoluteName(text: string): Uint8Array {
  return nameFromText(text.endsWith('.') ? text : `${text}.`, null);
}

/**
 * Parse a presentation-form name (RFC 1035 §5.1: `\X` and `\DDD` escapes). A name without a
 * trailing dot is relative to `origin` (a wire name); "@" is the origin itself.
 */
export function nameFromText(text: string, origin: Uint8Array | null): Uint8Array {
  if (text === '@') {
    if (!origin) throw new NameError('"@" used with no origin');
    return origin;
  }
  if (text === '.') return ROOT;
  // The name is built in a scratch buffer (a byte per character at most, plus a length byte per
  // label and the origin) and copied out once: no array per label.
  const room = text.length + 2 + (origin?.length ?? 0);
  if (scratch.length < room) scratch = new Uint8Array(Math.max(room, scratch.length * 2));
  const out = scratch;
  let start = 0; // the current label's length byte
  let len = 1;
  let absolute = false;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c === 0x2e /* . */) {
      if (len === start + 1) throw new NameError(`empty label in "${text}"`);
      endLabel(out, start, len, text);
      start = len++;
      if (i === text.length - 1) absolute = true;
      continue;
    }
    if (c === 0x5c /* \ */) {
      if (i + 1 >= text.length) throw new NameError(`dangling backslash in "${text}"`);
      const d = text.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(d)) {
        c = Number(d);
        if (c > 255) throw new NameError(`escape \\${d} out of range in "${text}"`);
        i += 3;
      } else {
        if (/^\d/.test(d)) throw new NameError(`bad escape \\${d} in "${text}" (expected \\DDD)`);
        c = text.charCodeAt(++i);
      }
    }
    if (c > 255) throw new NameError(`non-ASCII character in "${text}"`);
    out[len++] = c;
  }
  if (len > start + 1) endLabel(out, start, len, text);
  else len = start; // the text ended with a dot: no label open
  if (absolute) {
    out[len++] = 0;
  } else {
    if (!origin) throw new NameError(`relative name "${text}" with no origin`);
    for (let i = 0; i < origin.length; i++) out[len++] = origin[i] as number;
  }
  if (len > MAX_NAME_LEN) throw new NameError(`name "${text}" longer than 255 octets`);
  // A copy by hand: TypedArray#slice and #set cost more than the loop for names this short.
  const name = new Uint8Array(len);
  for (let i = 0; i < len; i++) name[i] = out[i] as number;
  return name;
}

/** Where nameFromText builds names (grown for a longer text). */
let scratch = new Uint8Array(512);

/** Write the length byte of the label `out[start + 1, len)`. */
function endLabel(out: Uint8Array, start: number, len: number, text: string): void {
  const n = len - start - 1;
  if (n > MAX_LABEL_LEN) throw new NameError(`label longer than 63 octets in "${text}"`);
  out[start] = n;
}

/** Presentation form of a wire name starting at `offset` (uncompressed), with a trailing dot. */
export function nameToText(wire: Uint8Array, offset = 0): string {
  let s = '';
  let i = offset;
  for (;;) {
    const len = wire[i] ?? 0;
    if (len === 0) break;
    for (let j = i + 1; j <= i + len; j++) s += escapeLabelByte(wire[j] as number);
    s += '.';
    i += len + 1;
  }
  return s === '' ? '.' : s;
}

function escapeLabelByte(b: number): string {
  if (b <= 0x20 || b >= 0x7f) return `\\${String(b).padStart(3, '0')}`;
  const ch = String.fromCharCode(b);
  return '."\\();@$'.includes(ch) ? `\\${ch}` : ch;
}

/** Length of the uncompressed wire name at `offset`. */
export function nameLength(wire: Uint8Array, offset = 0): number {
  let i = offset;
  while ((wire[i] ?? 0) !== 0) i += (wire[i] as number) + 1;
  return i - offset + 1;
}

/** ASCII A-Z to lower case, every other byte unchanged (RFC 4343 §3: DNS compares names so). */
export function lowerByte(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 32 : b;
}

/** Scratch space for building keys: a name is at most 255 bytes. */
const SCRATCH = Buffer.alloc(256);

/**
 * Lower-case lookup key of an uncompressed wire name (only A-Z fold: RFC 4343 §3). Built in one
 * piece (a flat string), not character by character: keys live long in maps and caches.
 */
export function nameKey(wire: Uint8Array, start = 0, end = wire.length): string {
  const n = Math.min(end - start, SCRATCH.length);
  for (let i = 0; i < n; i++) {
    SCRATCH[i] = lowerByte(wire[start + i] as number);
  }
  return SCRATCH.toString('latin1', 0, n);
}

export function keyToWire(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

export function keyToText(key: string): string {
  return nameToText(keyToWire(key));
}

/** The key with its first label removed (the parent), or undefined for the root. */
export function parentKey(key: string): string | undefined {
  const len = key.charCodeAt(0);
  return len === 0 ? undefined : key.slice(len + 1);
}

/** True when `key` equals `ancestor` or lies below it. */
export function isSubdomain(key: string, ancestor: string): boolean {
  if (!key.endsWith(ancestor)) return false;
  if (key.length === ancestor.length) return true;
  // The match must start at a label boundary of `key`.
  const cut = key.length - ancestor.length;
  for (let i = 0; i < cut; i += key.charCodeAt(i) + 1) if (i + key.charCodeAt(i) + 1 === cut) return true;
  return false;
}

/** Replace the suffix `oldSuffix` of wire name `name` by `newSuffix` (DNAME, RFC 6672 §2.2). */
export function replaceSuffix(name: Uint8Array, oldSuffixLen: number, newSuffix: Uint8Array): Uint8Array | undefined {
  const headLen = name.length - oldSuffixLen;
  const len = headLen + newSuffix.length;
  if (len > MAX_NAME_LEN) return undefined;
  const out = new Uint8Array(len);
  out.set(name.subarray(0, headLen), 0);
  out.set(newSuffix, headLen);
  return out;
}

export interface ReadName {
  /** The uncompressed name. */
  wire: Uint8Array;
  /** Offset just after the name where it was read (after the first pointer, if any). */
  next: number;
}

/**
 * Read a possibly compressed name from a message (RFC 1035 §4.1.4). Returns undefined for a
 * malformed name: out of bounds, a forward or self pointer (loops), a reserved label type, or
 * longer than 255 octets. Never throws.
 */
export function readName(msg: Uint8Array, offset: number): ReadName | undefined {
  const out: number[] = [];
  let i = offset;
  let next = -1;
  let minPtr = offset;
  for (;;) {
    if (i >= msg.length) return undefined;
    const len = msg[i] as number;
    if (len === 0) {
      out.push(0);
      if (next < 0) next = i + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (i + 1 >= msg.length) return undefined;
      const ptr = ((len & 0x3f) << 8) | (msg[i + 1] as number);
      // Only strictly backward pointers: this makes loops impossible.
      if (ptr >= minPtr) return undefined;
      if (next < 0) next = i + 2;
      minPtr = ptr;
      i = ptr;
      continue;
    }
    if (kind !== 0) return undefined;
    if (i + 1 + len > msg.length) return undefined;
    if (out.length + len + 2 > MAX_NAME_LEN) return undefined;
    out.push(len);
    for (let j = i + 1; j <= i + len; j++) out.push(msg[j] as number);
    i += len + 1;
  }
  return { wire: Uint8Array.from(out), next };
}

/** Offset after the (possibly compressed) name at `offset`, without decoding it; -1 if malformed. */
export function skipName(msg: Uint8Array, offset: number): number {
  let i = offset;
  for (let guard = 0; guard < 128; guard++) {
    if (i >= msg.length) return -1;
    const len = msg[i] as number;
    if (len === 0) return i + 1;
    if ((len & 0xc0) === 0xc0) return i + 2 <= msg.length ? i + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    i += len + 1;
  }
  return -1;
}
