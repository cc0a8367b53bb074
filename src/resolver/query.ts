// Building an upstream query and checking that a reply answers it (RFC 5452 §9.1: same ID, same
// question, name compared case-insensitively).

import { randomInt } from 'node:crypto';
import { EDNS_DO, FLAG_CD, FLAG_QR, FLAG_RD, HEADER_LEN, OPT_TYPE, nameKey, readName } from '../wire/index.js';

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

export function buildQuery(q: Question, id: number, udpPayload: number): Buffer {
  const qlen = q.qname.length;
  const out = Buffer.alloc(HEADER_LEN + qlen + 4 + 11);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(FLAG_RD | (q.checkingDisabled ? FLAG_CD : 0), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(1, 10);
  out.set(q.qname, HEADER_LEN);
  let o = HEADER_LEN + qlen;
  out.writeUInt16BE(q.qtype, o);
  out.writeUInt16BE(q.qclass, o + 2);
  o += 4;
  // RFC 6891 OPT: our payload size; the client's DO bit passed on.
  out[o] = 0;
  out.writeUInt16BE(OPT_TYPE, o + 1);
  out.writeUInt16BE(udpPayload, o + 3);
  out.writeUInt32BE(q.dnssecOk ? EDNS_DO : 0, o + 5);
  out.writeUInt16BE(0, o + 9);
  return out;
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
