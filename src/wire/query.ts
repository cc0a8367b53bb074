// Sorting and parsing an incoming query from its bytes: header, the one question, and the OPT
// record (RFC 1035 §4.1, RFC 6891 §6). Bad packets are data: the result says what to do.

import { EDNS_DO, FLAG_QR, HEADER_LEN, MAX_LABEL_LEN, MAX_NAME_LEN, OPCODE_MASK, OPCODE_SHIFT, OPT_COOKIE, OPT_NSID, OPT_TYPE, Opcode, Rcode } from './constants.js';
import { nameKey, skipName } from './name.js';
import type { ResponseOpt } from './opt.js';
import { OPT_FIXED_LEN, writeOpt } from './opt.js';

/** What the pipeline should do with a packet. */
export const QueryStatus = {
  OK: 0,
  /** No answer at all: shorter than a header, or a response (QR set). */
  DROP: 1,
  /** Answer with `rcode` (FORMERR, NOTIMP, BADVERS) and whatever was parsed. */
  ERROR: 2,
} as const;
export type QueryStatus = (typeof QueryStatus)[keyof typeof QueryStatus];

export interface Edns {
  /** Requestor's UDP payload size, at least 512 (RFC 6891 §6.2.3). */
  udpSize: number;
  version: number;
  dnssecOk: boolean;
  /** RFC 5001 §2.1: the query carried an (empty) NSID option. */
  nsid: boolean;
  /** RFC 7873 §4: where the COOKIE option's data starts in the message (0: no cookie) and its length (8, or 16 to 40). */
  cookieAt: number;
  cookieLen: number;
}

export interface Query {
  status: QueryStatus;
  rcode: number;
  id: number;
  flags: number;
  opcode: number;
  /** Offset just after the question; 12 when no question could be parsed. */
  questionEnd: number;
  /** Lower-case key of the question name ("" when none was parsed). */
  key: string;
  qtype: number;
  qclass: number;
  edns: Edns | null;
}

const NO_EDNS = null;

/**
 * Parse a query. Never throws: every malformed input maps to DROP or ERROR with the rcode the
 * server should answer.
 */
export function parseQuery(msg: Uint8Array): Query {
  const q: Query = { status: QueryStatus.OK, rcode: Rcode.NOERROR, id: 0, flags: 0, opcode: 0, questionEnd: HEADER_LEN, key: '', qtype: 0, qclass: 0, edns: NO_EDNS };
  // RFC 1035 §4.1.1: too short for a header, or not a query → nothing to answer.
  if (msg.length < HEADER_LEN) return drop(q);
  const flags = ((msg[2] as number) << 8) | (msg[3] as number);
  if (flags & FLAG_QR) return drop(q);
  q.id = ((msg[0] as number) << 8) | (msg[1] as number);
  q.flags = flags;
  q.opcode = (flags & OPCODE_MASK) >> OPCODE_SHIFT;
  const qd = u16(msg, 4);
  const an = u16(msg, 6);
  const ns = u16(msg, 8);
  const ar = u16(msg, 10);
  let i = HEADER_LEN;
  if (qd === 1) {
    // The question name: plain labels only (nothing precedes it that a pointer could refer to).
    for (;;) {
      if (i >= msg.length) return error(q, Rcode.FORMERR);
      const len = msg[i] as number;
      if (len > MAX_LABEL_LEN) return error(q, Rcode.FORMERR);
      if (i + len + 1 > msg.length) return error(q, Rcode.FORMERR);
      if (len === 0) break;
      i += len + 1;
      if (i - HEADER_LEN >= MAX_NAME_LEN) return error(q, Rcode.FORMERR);
    }
    i += 1;
    if (i + 4 > msg.length) return error(q, Rcode.FORMERR);
    q.key = nameKey(msg, HEADER_LEN, i);
    q.qtype = u16(msg, i);
    q.qclass = u16(msg, i + 2);
    q.questionEnd = i + 4;
    i += 4;
  } else {
    // Not one question: FORMERR, but still look for the OPT so the error can carry EDNS.
    for (let n = 0; n < qd; n++) {
      i = skipName(msg, i);
      if (i < 0 || i + 4 > msg.length) return error(q, Rcode.FORMERR);
      i += 4;
    }
  }

  // Skip answer and authority records (a query normally has none), then look for OPT.
  for (let n = 0; n < an + ns; n++) {
    i = skipRecord(msg, i);
    if (i < 0) return error(q, Rcode.FORMERR);
  }
  for (let n = 0; n < ar; n++) {
    const start = i;
    i = skipName(msg, i);
    if (i < 0 || i + 10 > msg.length) return error(q, Rcode.FORMERR);
    const type = u16(msg, i);
    const rdlen = u16(msg, i + 8);
    const rdStart = i + 10;
    if (rdStart + rdlen > msg.length) return error(q, Rcode.FORMERR);
    if (type === OPT_TYPE) {
      // RFC 6891 §6.1.1: at most one OPT, owned by the root.
      if (q.edns || msg[start] !== 0 || i !== start + 1) return error(q, Rcode.FORMERR);
      const edns = parseOpt(msg, i, rdStart, rdlen);
      if (!edns) return error(q, Rcode.FORMERR);
      q.edns = edns;
    }
    i = rdStart + rdlen;
  }
  if (q.opcode !== Opcode.QUERY) return error(q, Rcode.NOTIMP);
  if (qd !== 1) return error(q, Rcode.FORMERR);
  if (q.edns && q.edns.version > 0) return error(q, Rcode.BADVERS); // RFC 6891 §6.1.3
  return q;
}

function parseOpt(msg: Uint8Array, at: number, rdStart: number, rdlen: number): Edns | undefined {
  const udp = u16(msg, at + 2);
  const version = msg[at + 5] as number;
  const flags = u16(msg, at + 6);
  let nsid = false;
  let cookieAt = 0;
  let cookieLen = 0;
  let o = rdStart;
  const end = rdStart + rdlen;
  while (o < end) {
    if (o + 4 > end) return undefined;
    const code = u16(msg, o);
    const len = u16(msg, o + 2);
    if (o + 4 + len > end) return undefined;
    if (code === OPT_NSID) nsid = true;
    else if (code === OPT_COOKIE && cookieAt === 0) {
      // RFC 7873 §5.2.2: a client cookie of 8 bytes, and a server cookie of 8 to 32 if any.
      if (len !== 8 && (len < 16 || len > 40)) return undefined;
      cookieAt = o + 4;
      cookieLen = len;
    }
    o += 4 + len;
  }
  return { udpSize: Math.max(udp, 512), version, dnssecOk: (flags & EDNS_DO) !== 0, nsid, cookieAt, cookieLen };
}

function skipRecord(msg: Uint8Array, at: number): number {
  const i = skipName(msg, at);
  if (i < 0 || i + 10 > msg.length) return -1;
  const end = i + 10 + u16(msg, i + 8);
  return end <= msg.length ? end : -1;
}

function drop(q: Query): Query {
  q.status = QueryStatus.DROP;
  return q;
}

function error(q: Query, rcode: number): Query {
  q.status = QueryStatus.ERROR;
  q.rcode = rcode;
  return q;
}

function u16(b: Uint8Array, i: number): number {
  return ((b[i] as number) << 8) | (b[i + 1] as number);
}

/** A query to send: one question, header flags (RD, CD), and an OPT record or none. */
export interface OutgoingQuery {
  id: number;
  flags: number;
  /** Uncompressed wire name. */
  qname: Uint8Array;
  qtype: number;
  qclass: number;
  edns: ResponseOpt | null;
}

/** Encode a query (RFC 1035 §4.1): upstream queries, health probes, drill streams. */
export function encodeQuery(q: OutgoingQuery): Buffer {
  const qend = HEADER_LEN + q.qname.length + 4;
  const out = Buffer.alloc(qend + (q.edns ? OPT_FIXED_LEN + q.edns.options.length : 0));
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(q.flags, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(q.edns ? 1 : 0, 10);
  out.set(q.qname, HEADER_LEN);
  out.writeUInt16BE(q.qtype, qend - 4);
  out.writeUInt16BE(q.qclass, qend - 2);
  if (q.edns) writeOpt(out, qend, q.edns, 0);
  return out;
}
