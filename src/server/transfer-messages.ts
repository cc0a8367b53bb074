// The messages of an outgoing transfer (RFC 5936 §2.2): the zone's SOA, every record, the SOA
// again, as many records a message as fit in 64 KiB (names compressed by the section writer), and
// with TSIG every message signed (RFC 8945 §5.3.1): the first over the request's MAC, each next
// one over the MAC before it and the timers only, as dig, kdig and client/transfer.ts check them.
//
//   message = header · question (the request's) · answer: records · OPT (when asked) · TSIG
//             └─ AA, the request's ID ─┘                         └─ room kept for both ─┘

import { EdgeError, ErrorCode } from '../core/index.js';
import type { Query, ResponseOpt, TsigKey, WireRecord } from '../wire/index.js';
import {
  FLAG_AA,
  HEADER_LEN,
  OPT_FIXED_LEN,
  Rcode,
  Section,
  SectionWriter,
  buildResponse,
  tsigLength,
  tsigSign,
} from '../wire/index.js';

/** The largest DNS message over TCP (RFC 1035 §4.2.2: a 16-bit length). */
export const MAX_MESSAGE = 65535;

/** Signs the messages of one answer in order; `overhead` is what it adds to each. */
export interface Signer {
  readonly overhead: number;
  sign(msg: Buffer): Buffer;
}

export const UNSIGNED: Signer = { overhead: 0, sign: (m) => m };

/**
 * RFC 8945 §5.3.1: the first message signed over the request's MAC with every TSIG variable, each
 * later one over the previous message's MAC with the timers only. Every message is signed (the
 * RFC allows up to 99 unsigned in between; signing each costs one HMAC over bytes already built).
 */
export function tsigSigner(key: TsigKey, requestMac: Uint8Array, now: () => number): Signer {
  let prior = requestMac;
  let first = true;
  return {
    overhead: tsigLength(key),
    sign(msg) {
      const s = tsigSign(msg, key, { now: now(), priorMac: prior, timersOnly: !first });
      prior = s.mac;
      first = false;
      return s.message;
    },
  };
}

/** What every message of an answer shares: the request it answers, its OPT, its signer. */
export interface Answering {
  /** The request's bytes and what parseQuery read of them. */
  query: Uint8Array;
  q: Query;
  opt: ResponseOpt | null;
  signer: Signer;
}

/** One message with `records` in the answer section (an SOA alone, or none with an error rcode). */
export function singleMessage(a: Answering, rcode: number, records: readonly WireRecord[]): Buffer {
  const w = new SectionWriter(a.query.subarray(HEADER_LEN, a.q.questionEnd - 4));
  for (const rr of records) w.addRRset(Section.ANSWER, [rr], true);
  return a.signer.sign(build(a, rcode, w));
}

/**
 * The messages of a whole zone (AXFR, or IXFR answered as AXFR, RFC 1995 §4): `soa`, `records`,
 * `soa`, each message at most `max` bytes with its OPT and TSIG. Lazy: a message is built when the
 * one before it has been taken. Throws EdgeError for a record that cannot fit in any message.
 */
export function* zoneMessages(
  a: Answering,
  soa: WireRecord,
  records: Iterable<WireRecord>,
  max = MAX_MESSAGE,
): Generator<Buffer> {
  const qname = a.query.subarray(HEADER_LEN, a.q.questionEnd - 4);
  const room = max - a.q.questionEnd - (a.opt ? OPT_FIXED_LEN + a.opt.options.length : 0) - a.signer.overhead;
  let w = new SectionWriter(qname);
  let n = 0;
  const take = function* (rr: WireRecord): Generator<Buffer> {
    // Uncompressed size: what the record adds at most.
    const size = rr.owner.length + 10 + rr.rdata.length;
    if (n > 0 && w.length + size > room) {
      yield a.signer.sign(build(a, Rcode.NOERROR, w));
      w = new SectionWriter(qname);
      n = 0;
    }
    if (size > room) throw new EdgeError(ErrorCode.ZONE_READ, `a record of ${size} bytes does not fit in a message`);
    w.addRRset(Section.ANSWER, [rr], true);
    n++;
  };
  yield* take(soa);
  for (const rr of records) yield* take(rr);
  yield* take(soa);
  yield a.signer.sign(build(a, Rcode.NOERROR, w));
}

function build(a: Answering, rcode: number, w: SectionWriter): Buffer {
  return buildResponse(a.query, a.q, {
    rcode,
    flags: rcode === Rcode.NOERROR ? FLAG_AA : 0,
    sections: w.finish(),
    opt: a.opt,
    limit: MAX_MESSAGE,
    ttl: null,
  });
}
