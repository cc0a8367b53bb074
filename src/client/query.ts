// What a query asked, and whether a reply answers it (RFC 5452 §9.1: same ID, same question, name
// compared case-insensitively). Every outgoing query checks its reply with this.

import { randomInt } from 'node:crypto';
import { FLAG_QR, HEADER_LEN, QDCOUNT, nameKey, readName, u16 } from '../wire/index.js';

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

export type ReplyCheck = 'ok' | 'not-response' | 'id' | 'question';

/** Does `reply` answer the query with `id` for `q`? */
export function checkReply(reply: Uint8Array, id: number, q: Question): ReplyCheck {
  if (reply.length < HEADER_LEN) return 'question';
  if (u16(reply, 0) !== id) return 'id';
  if ((u16(reply, 2) & FLAG_QR) === 0) return 'not-response';
  if (u16(reply, QDCOUNT) !== 1) return 'question';
  const n = readName(reply, HEADER_LEN);
  if (!n || n.next + 4 > reply.length) return 'question';
  if (nameKey(n.wire) !== nameKey(q.qname)) return 'question';
  return u16(reply, n.next) === q.qtype && u16(reply, n.next + 2) === q.qclass ? 'ok' : 'question';
}
