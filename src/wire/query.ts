// Sorting and parsing an incoming query from its bytes: header, the one question, and the OPT
// record (RFC 1035 §4.1, RFC 6891 §6). Bad packets are data: the result says what to do.

import {
  FLAG_QR,
  HEADER_LEN,
  MAX_LABEL_LEN,
  MAX_NAME_LEN,
  OPCODE_MASK,
  OPCODE_SHIFT,
  OPT_TYPE,
  Opcode,
  Rcode,
} from './constants.js';
import { nameKey } from './name.js';
import type { ResponseOpt } from './opt.js';
import { OPT_FIXED_LEN, writeOpt } from './opt.js';
import type { Edns } from './reader.js';
import type { WireRecord } from './writer.js';
import { ANCOUNT, ARCOUNT, NSCOUNT, QDCOUNT, readOpt, readRecord, recordAt, skipQuestions, u16 } from './reader.js';

/** What the pipeline should do with a packet. */
export const QueryStatus = {
  OK: 0,
  /** No answer at all: shorter than a header, or a response (QR set). */
  DROP: 1,
  /** Answer with `rcode` (FORMERR, NOTIMP, BADVERS) and whatever was parsed. */
  ERROR: 2,
} as const;
export type QueryStatus = (typeof QueryStatus)[keyof typeof QueryStatus];

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
/** The record being read: parseQuery runs to completion, so one serves every query. */
const RECORD = recordAt();

/** A Query before parsing: what `parseQuery` fills in. */
export function newQuery(): Query {
  return {
    status: QueryStatus.OK,
    rcode: Rcode.NOERROR,
    id: 0,
    flags: 0,
    opcode: 0,
    questionEnd: HEADER_LEN,
    key: '',
    qtype: 0,
    qclass: 0,
    edns: NO_EDNS,
  };
}

/** Put `q` back as `newQuery()` makes it, to parse another query into (the pipeline reuses one). */
export function resetQuery(q: Query): void {
  q.status = QueryStatus.OK;
  q.rcode = Rcode.NOERROR;
  q.id = 0;
  q.flags = 0;
  q.opcode = 0;
  q.questionEnd = HEADER_LEN;
  q.key = '';
  q.qtype = 0;
  q.qclass = 0;
  q.edns = NO_EDNS;
}

/**
 * Parse a query into `q` (a `newQuery()` or a `resetQuery()`d one, possibly a larger object that
 * starts as one: the pipeline's exchange), and its OPT into `edns` when given (else a new Edns).
 * Never throws: every malformed input maps to DROP or ERROR with the rcode the server should answer.
 */
export function parseQuery<Q extends Query>(msg: Uint8Array, q: Q, edns?: Edns): Q;
export function parseQuery(msg: Uint8Array): Query;
export function parseQuery(msg: Uint8Array, q: Query = newQuery(), into?: Edns): Query {
  // RFC 1035 §4.1.1: too short for a header, or not a query → nothing to answer.
  if (msg.length < HEADER_LEN) return drop(q);
  const flags = u16(msg, 2);
  if (flags & FLAG_QR) return drop(q);
  q.id = u16(msg, 0);
  q.flags = flags;
  q.opcode = (flags & OPCODE_MASK) >> OPCODE_SHIFT;
  const qd = u16(msg, QDCOUNT);
  const an = u16(msg, ANCOUNT);
  const ns = u16(msg, NSCOUNT);
  const ar = u16(msg, ARCOUNT);
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
    i = skipQuestions(msg, i, qd);
    if (i < 0) return error(q, Rcode.FORMERR);
  }

  // Skip answer and authority records (a query normally has none), then look for OPT.
  const r = RECORD;
  for (let n = 0; n < an + ns; n++) {
    if (!readRecord(msg, i, r)) return error(q, Rcode.FORMERR);
    i = r.end;
  }
  for (let n = 0; n < ar; n++) {
    if (!readRecord(msg, i, r)) return error(q, Rcode.FORMERR);
    if (r.type === OPT_TYPE) {
      // RFC 6891 §6.1.1: at most one OPT, owned by the root.
      if (q.edns || msg[i] !== 0 || r.rdata !== i + 11) return error(q, Rcode.FORMERR);
      const edns = readOpt(msg, r, into);
      if (!edns) return error(q, Rcode.FORMERR);
      q.edns = edns;
    }
    i = r.end;
  }
  if (q.opcode !== Opcode.QUERY) return error(q, Rcode.NOTIMP);
  if (qd !== 1) return error(q, Rcode.FORMERR);
  if (q.edns && q.edns.version > 0) return error(q, Rcode.BADVERS); // RFC 6891 §6.1.3
  return q;
}

function drop<Q extends Query>(q: Q): Q {
  q.status = QueryStatus.DROP;
  return q;
}

function error<Q extends Query>(q: Q, rcode: number): Q {
  q.status = QueryStatus.ERROR;
  q.rcode = rcode;
  return q;
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
  /** One record in the authority section, uncompressed: the SOA of an IXFR request (RFC 1995 §3). */
  authority?: WireRecord;
}

/** Encode a query (RFC 1035 §4.1): upstream queries, health probes, drill streams, transfers. */
export function encodeQuery(q: OutgoingQuery): Buffer {
  const qend = HEADER_LEN + q.qname.length + 4;
  const a = q.authority;
  const aLen = a ? a.owner.length + 10 + a.rdata.length : 0;
  const out = Buffer.alloc(qend + aLen + (q.edns ? OPT_FIXED_LEN + q.edns.options.length : 0));
  out.writeUInt16BE(q.id, 0);
  out.writeUInt16BE(q.flags, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(a ? 1 : 0, 8);
  out.writeUInt16BE(q.edns ? 1 : 0, 10);
  out.set(q.qname, HEADER_LEN);
  out.writeUInt16BE(q.qtype, qend - 4);
  out.writeUInt16BE(q.qclass, qend - 2);
  if (a) {
    let i = qend;
    out.set(a.owner, i);
    i += a.owner.length;
    out.writeUInt16BE(a.type, i);
    out.writeUInt16BE(a.class, i + 2);
    out.writeUInt32BE(a.ttl >>> 0, i + 4);
    out.writeUInt16BE(a.rdata.length, i + 8);
    out.set(a.rdata, i + 10);
  }
  if (q.edns) writeOpt(out, qend + aLen, q.edns, 0);
  return out;
}
