// The one reader of message structure (RFC 1035 §4.1, RFC 6891 §6.1): header fields, records and
// the OPT record's options. Every parser of received messages walks with these: queries on the
// hot path, upstream replies, probe and drill answers. Nothing here allocates per record.

import { EDNS_DO, HEADER_LEN, OPT_COOKIE, OPT_NSID, OPT_PADDING } from './constants.js';
import { nameLength, skipName } from './name.js';

export function u16(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 8) | (b[i + 1] as number);
}

export function u32(b: Uint8Array, i: number): number {
  return u16(b, i) * 0x10000 + u16(b, i + 2);
}

/** RFC 1035 §3.3.13: SERIAL, after MNAME and RNAME in an (uncompressed) SOA RDATA. */
export function soaSerial(rdata: Uint8Array): number {
  const mname = nameLength(rdata);
  return u32(rdata, mname + nameLength(rdata, mname));
}

/** RFC 1035 §3.3.13: MINIMUM, the last field of an (uncompressed) SOA RDATA; RFC 2308 §4 makes it the negative TTL. */
export function soaMinimum(rdata: Uint8Array): number {
  return u32(rdata, rdata.length - 4);
}

/** The header's section counts (RFC 1035 §4.1.1). */
export const QDCOUNT = 4;
export const ANCOUNT = 6;
export const NSCOUNT = 8;
export const ARCOUNT = 10;

/** Where one record's parts are; the caller keeps one and `readRecord` fills it in place. */
export interface RecordAt {
  /** Offset of the owner name (possibly compressed). */
  owner: number;
  type: number;
  class: number;
  ttl: number;
  /** Offset of the RDATA and its length; `end` is the offset after the record. */
  rdata: number;
  rdlen: number;
  end: number;
}

export function recordAt(): RecordAt {
  return { owner: 0, type: 0, class: 0, ttl: 0, rdata: 0, rdlen: 0, end: 0 };
}

/** Read the record at `i` into `r`; false when it runs past the message or its name is malformed. */
export function readRecord(msg: Uint8Array, i: number, r: RecordAt): boolean {
  const at = skipName(msg, i);
  if (at < 0 || at + 10 > msg.length) return false;
  r.owner = i;
  r.type = u16(msg, at);
  r.class = u16(msg, at + 2);
  r.ttl = u32(msg, at + 4);
  r.rdlen = u16(msg, at + 8);
  r.rdata = at + 10;
  r.end = r.rdata + r.rdlen;
  return r.end <= msg.length;
}

/** The offset after `count` questions from `i` (names possibly compressed), or -1. */
export function skipQuestions(msg: Uint8Array, i: number, count: number): number {
  for (let n = 0; n < count; n++) {
    i = skipName(msg, i);
    if (i < 0 || i + 4 > msg.length) return -1;
    i += 4;
  }
  return i;
}

/** The offset of the first record after the question section, or -1 (the header included). */
export function firstRecord(msg: Uint8Array): number {
  return msg.length < HEADER_LEN ? -1 : skipQuestions(msg, HEADER_LEN, u16(msg, QDCOUNT));
}

/** What an OPT record says (RFC 6891 §6.1.2); options are located, not copied. */
export interface Edns {
  /** The sender's UDP payload size, at least 512 (RFC 6891 §6.2.3). */
  udpSize: number;
  version: number;
  dnssecOk: boolean;
  /** RFC 5001: where the NSID option's data starts (0: no NSID; empty in a query, its length is the two bytes before). */
  nsidAt: number;
  /** RFC 7873 §4: where the COOKIE option's data starts in the message (0: no cookie) and its length (8, or 16 to 40). */
  cookieAt: number;
  cookieLen: number;
  /** RFC 7830: the query carries a Padding option (an encrypted transport pads the response). */
  padded: boolean;
}

/** An Edns to fill (readOpt's `into`). */
export function newEdns(): Edns {
  return { udpSize: 512, version: 0, dnssecOk: false, nsidAt: 0, cookieAt: 0, cookieLen: 0, padded: false };
}

/**
 * Read the OPT record `r` into `into` (the pipeline's reused one: no object per query) or a new
 * Edns; undefined when its options overrun it or a COOKIE has a bad length.
 */
export function readOpt(msg: Uint8Array, r: RecordAt, into: Edns = newEdns()): Edns | undefined {
  const e = into;
  e.udpSize = Math.max(r.class, 512);
  e.version = (r.ttl >>> 16) & 0xff;
  e.dnssecOk = (r.ttl & EDNS_DO) !== 0;
  e.nsidAt = 0;
  e.cookieAt = 0;
  e.cookieLen = 0;
  e.padded = false;
  for (let o = r.rdata; o < r.end;) {
    if (o + 4 > r.end) return undefined;
    const code = u16(msg, o);
    const len = u16(msg, o + 2);
    if (o + 4 + len > r.end) return undefined;
    if (code === OPT_NSID && e.nsidAt === 0) e.nsidAt = o + 4;
    else if (code === OPT_PADDING) e.padded = true;
    else if (code === OPT_COOKIE && e.cookieAt === 0) {
      // RFC 7873 §5.2.2: a client cookie of 8 bytes, and a server cookie of 8 to 32 if any.
      if (len !== 8 && (len < 16 || len > 40)) return undefined;
      e.cookieAt = o + 4;
      e.cookieLen = len;
    }
    o += 4 + len;
  }
  return e;
}

/** RFC 8484 §5.1: the smallest TTL among a response's answer and authority records; null for none. */
export function answerTtlMin(msg: Uint8Array): number | null {
  let i = firstRecord(msg);
  if (i < 0) return null;
  const r = recordAt();
  let min: number | null = null;
  for (let n = u16(msg, ANCOUNT) + u16(msg, NSCOUNT); n > 0 && readRecord(msg, i, r); n--) {
    min = min === null ? r.ttl : Math.min(min, r.ttl);
    i = r.end;
  }
  return min;
}

/** Where the RDLENGTH of a message's last record (the OPT of our responses) is; -1 without records. */
export function lastRecordRdlen(msg: Uint8Array): number {
  let i = firstRecord(msg);
  const r = recordAt();
  let at = -1;
  for (
    let n = u16(msg, ANCOUNT) + u16(msg, NSCOUNT) + u16(msg, ARCOUNT);
    i >= 0 && n > 0 && readRecord(msg, i, r);
    n--
  ) {
    at = r.rdata - 2;
    i = r.end;
  }
  return at;
}
