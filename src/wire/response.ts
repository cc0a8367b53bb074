// Assembling a response from the query's bytes and pre-encoded sections: header, copied question,
// the sections (cut at an RRset boundary when they do not fit), and the OPT record last.

import { FLAG_CD, FLAG_QR, FLAG_RD, FLAG_TC, HEADER_LEN, OPCODE_MASK, OPT_PADDING, OPT_TYPE } from './constants.js';
import type { ResponseOpt } from './opt.js';
import { OPT_FIXED_LEN, writeOpt } from './opt.js';
import type { Query } from './query.js';
import { lastRecordRdlen, u16 } from './reader.js';
import type { PointerShift, Sections } from './writer.js';

/** The 2-byte length in front of a message over TCP (RFC 1035 §4.2.2). */
const FRAME_LEN = 2;

/** Sections up to this many bytes are copied byte by byte (no view allocated). */
const SMALL_COPY = 256;

/** How to rewrite the TTLs of cached sections: counted down by `age` seconds, or all set to `fixed`. */
export interface TtlPatch {
  age: number;
  /** A fixed TTL for every record (serve-stale), or -1. */
  fixed: number;
}

/** What a response is made of besides the query it answers. */
export interface ResponseParts {
  rcode: number;
  /** AA, RA, AD, TC (the rest comes from the query). */
  flags: number;
  sections: Sections;
  opt: ResponseOpt | null;
  /** The largest message allowed: the UDP payload size, or 65535 over TCP. */
  limit: number;
  /** Patches the copied TTLs in place (cache ages, stale answers). */
  ttl?: TtlPatch | null;
}

/**
 * Build a response to `query` (parsed as `q`). Sections compiled for a stand-in question name get
 * their compression pointers moved. `framed`: with its 2-byte length in front, as it goes over TCP
 * (RFC 1035 §4.2.2), built in place rather than copied behind the length afterwards.
 *
 *   framed:  [len hi][len lo][header (12) | question | sections | OPT]
 *             0       1       F = 2 …                 (F = 0 unframed)
 */
export function buildResponse(query: Uint8Array, q: Query, r: ResponseParts, framed = false): Buffer {
  const { rcode, flags, sections, opt, limit } = r;
  const ttl = r.ttl ?? null;
  const qlen = q.questionEnd - HEADER_LEN;
  const optLen = opt ? OPT_FIXED_LEN + opt.options.length : 0;
  let body = sections.bytes.length;
  let an = sections.an;
  let ns = sections.ns;
  let ar = sections.ar;
  let tc = false;
  const fixed = HEADER_LEN + qlen + optLen;
  if (fixed + body > limit) {
    // RFC 2181 §9: never a partial RRset. Keep the longest prefix of whole RRsets that fits;
    // TC only when an RRset the client needs was left out (dropping extra additional data is not
    // truncation).
    body = 0;
    an = ns = ar = 0;
    const cuts = sections.cuts;
    let k = 0;
    for (; k < cuts.length; k++) {
      const c = cuts[k] as (typeof cuts)[number];
      if (fixed + c.end > limit) break;
      body = c.end;
      an = c.an;
      ns = c.ns;
      ar = c.ar;
    }
    for (; k < cuts.length; k++) if ((cuts[k] as (typeof cuts)[number]).required) tc = true;
  }
  const size = fixed + body;
  const F = framed ? FRAME_LEN : 0;
  const out = Buffer.allocUnsafe(F + size);
  if (framed) {
    out[0] = size >> 8;
    out[1] = size & 0xff;
  }
  // RFC 8906 §8 / RFC 1035 §4.1.1: keep ID, opcode, RD and CD; Z and AD are not copied.
  const f = FLAG_QR | (q.flags & (OPCODE_MASK | FLAG_RD | FLAG_CD)) | flags | (tc ? FLAG_TC : 0) | (rcode & 0x0f);
  out[F] = q.id >> 8;
  out[F + 1] = q.id & 0xff;
  out[F + 2] = f >> 8;
  out[F + 3] = f & 0xff;
  out[F + 4] = 0;
  out[F + 5] = qlen > 0 ? 1 : 0;
  out[F + 6] = an >> 8;
  out[F + 7] = an & 0xff;
  out[F + 8] = ns >> 8;
  out[F + 9] = ns & 0xff;
  const arc = ar + (opt ? 1 : 0);
  out[F + 10] = arc >> 8;
  out[F + 11] = arc & 0xff;
  // Byte loops rather than subarray(): a view per copy costs more than copying a question.
  for (let i = HEADER_LEN; i < q.questionEnd; i++) out[F + i] = query[i] as number;
  let o = F + HEADER_LEN + qlen;
  if (body > 0) {
    const src = sections.bytes;
    if (body <= SMALL_COPY) for (let i = 0; i < body; i++) out[o + i] = src[i] as number;
    else out.set(body === src.length ? src : src.subarray(0, body), o);
    if (ttl) patchTtls(out, o, body, sections.ttlOffsets, ttl);
    const shift = sections.shift;
    if (shift !== undefined) shiftPointers(out, o, body, shift, qlen - 4 - shift.qnameLen);
  }
  o += body;
  if (opt) writeOpt(out, o, opt, rcode);
  return out;
}

/** Move the template's pointers by `delta` (the question name is that much longer than the stand-in). */
export function shiftPointers(out: Uint8Array, base: number, body: number, shift: PointerShift, delta: number): void {
  const at = shift.at;
  // A pointer lies wholly inside or outside a cut (cuts fall between RRsets): stop at the first one
  // past the body.
  for (let k = 0; k < at.length; k++) {
    const i = base + (at[k] as number);
    if (i >= base + body) break;
    // RFC 1035 §4.1.4: 0b11 then a 14-bit offset; the template was refused if this could overflow.
    const v = u16(out, i) + delta;
    out[i] = v >> 8;
    out[i + 1] = v & 0xff;
  }
}

function patchTtls(out: Buffer, base: number, body: number, offsets: readonly number[], ttl: TtlPatch): void {
  for (const off of offsets) {
    if (off >= body) break;
    const at = base + off;
    const v = ttl.fixed >= 0 ? ttl.fixed : Math.max(0, out.readUInt32BE(at) - ttl.age);
    out.writeUInt32BE(v, at);
  }
}

/** RFC 8467 §4.1: responses over an encrypted transport are padded to a multiple of 468 octets. */
export const PADDING_BLOCK = 468;

/**
 * `out` (a response whose last record is its OPT) with a Padding option (RFC 7830) that brings
 * its length to a multiple of `block`; `out` itself when it has no OPT.
 */
export function padResponse(out: Buffer, block = PADDING_BLOCK): Buffer {
  const rdlenAt = lastRecordRdlen(out);
  if (rdlenAt < 0 || u16(out, rdlenAt - 8) !== OPT_TYPE) return out;
  const pad = (block - ((out.length + 4) % block)) % block;
  if (out.length + 4 + pad > 65535) return out;
  const padded = Buffer.alloc(out.length + 4 + pad);
  out.copy(padded);
  padded.writeUInt16BE(OPT_PADDING, out.length);
  padded.writeUInt16BE(pad, out.length + 2);
  padded.writeUInt16BE(u16(out, rdlenAt) + 4 + pad, rdlenAt);
  return padded;
}
