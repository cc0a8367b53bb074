// Building an upstream query and checking that a reply answers it (RFC 5452 §9.1: same ID, same
// question, name compared case-insensitively).

import { randomInt } from 'node:crypto';
import { FLAG_CD, FLAG_QR, FLAG_RD, HEADER_LEN, encodeQuery, nameKey, readName } from '../wire/index.js';

const NO_OPTIONS = new Uint8Array(0);

export interface Question {
  /** Uncompressed wire name. */
  qname: Uint8Array;
  qtype: number;
  qclass: number;
  dnssecOk: boolean;
  checkingDisabled: boolean;
}

/** RFC 5452 §4: an unpredictable ID from the crypto generator. */
export function randomId(): number {
  return randomInt(0x10000);
}

/** The upstream query: RD, CD as the client asked, an OPT with our payload size and the client's DO. */
export function buildQuery(q: Question, id: number, udpPayload: number): Buffer {
  const edns = { udpSize: udpPayload, dnssecOk: q.dnssecOk, options: NO_OPTIONS };
  return encodeQuery({ id, flags: FLAG_RD | (q.checkingDisabled ? FLAG_CD : 0), qname: q.qname, qtype: q.qtype, qclass: q.qclass, edns });
}

export type ReplyCheck = 'ok' | 'not-response' | 'id' | 'question';

/** Does `reply` answer the query with `id` for `q`? */
export function checkReply(reply: Uint8Array, id: number, q: Question): ReplyCheck {
  if (reply.length < HEADER_LEN) return 'question';
  if ((((reply[0] as number) << 8) | (reply[1] as number)) !== id) return 'id';
  if (((((reply[2] as number) << 8) | (reply[3] as number)) & FLAG_QR) === 0) return 'not-response';
  if ((((reply[4] as number) << 8) | (reply[5] as number)) !== 1) return 'question';
  const n = readName(reply, HEADER_LEN);
  if (!n || n.next + 4 > reply.length) return 'question';
  if (nameKey(n.wire) !== nameKey(q.qname)) return 'question';
  const type = ((reply[n.next] as number) << 8) | (reply[n.next + 1] as number);
  const cls = ((reply[n.next + 2] as number) << 8) | (reply[n.next + 3] as number);
  return type === q.qtype && cls === q.qclass ? 'ok' : 'question';
}
