// Reading a whole message (an upstream's response) into records with uncompressed RDATA. Used
// once per cache fill, never per cached answer.

import { HEADER_LEN, NAME_LAYOUTS, OPT_TYPE } from './constants.js';
import { readName } from './name.js';
import { ANCOUNT, ARCOUNT, NSCOUNT, QDCOUNT, readRecord, recordAt, u16 } from './reader.js';
import type { WireRecord } from './writer.js';

export interface Message {
  id: number;
  flags: number;
  /** Full rcode: header bits plus the OPT's extended bits. */
  rcode: number;
  qname: Uint8Array | undefined;
  qtype: number;
  qclass: number;
  answer: WireRecord[];
  authority: WireRecord[];
  /** Additional records without the OPT. */
  additional: WireRecord[];
  hasOpt: boolean;
}

/** Parse a message; undefined when it is malformed. Never throws. */
export function parseMessage(msg: Uint8Array): Message | undefined {
  if (msg.length < HEADER_LEN) return undefined;
  const qd = u16(msg, QDCOUNT);
  const counts = [u16(msg, ANCOUNT), u16(msg, NSCOUNT), u16(msg, ARCOUNT)];
  const m: Message = {
    id: u16(msg, 0),
    flags: u16(msg, 2),
    rcode: u16(msg, 2) & 0x0f,
    qname: undefined,
    qtype: 0,
    qclass: 0,
    answer: [],
    authority: [],
    additional: [],
    hasOpt: false,
  };
  let i = HEADER_LEN;
  if (qd > 1) return undefined;
  if (qd === 1) {
    const n = readName(msg, i);
    if (!n || n.next + 4 > msg.length) return undefined;
    m.qname = n.wire;
    m.qtype = u16(msg, n.next);
    m.qclass = u16(msg, n.next + 2);
    i = n.next + 4;
  }
  const sections = [m.answer, m.authority, m.additional];
  const r = recordAt();
  for (let s = 0; s < 3; s++) {
    for (let k = 0; k < (counts[s] as number); k++) {
      if (!readRecord(msg, i, r)) return undefined;
      i = r.end;
      if (r.type === OPT_TYPE) {
        if (s !== 2 || m.hasOpt) return undefined;
        m.hasOpt = true;
        m.rcode |= (r.ttl >>> 24) << 4; // RFC 6891 §6.1.3: the extended rcode's upper bits
        continue;
      }
      const owner = readName(msg, r.owner);
      const rdata = owner && expandRdata(msg, r.type, r.rdata, r.rdlen);
      if (!owner || !rdata) return undefined;
      (sections[s] as WireRecord[]).push({
        owner: owner.wire,
        type: r.type,
        class: r.class,
        ttl: r.ttl > 0x7fffffff ? 0 : r.ttl,
        rdata,
      });
    }
  }
  return m;
}

function expandRdata(msg: Uint8Array, type: number, start: number, len: number): Uint8Array | undefined {
  const layout = NAME_LAYOUTS[type];
  const end = start + len;
  if (!layout) return msg.slice(start, end);
  const out: number[] = [];
  let i = start;
  for (const f of layout) {
    if (f === 'n') {
      const n = readName(msg, i);
      if (!n || n.next > end) return undefined;
      for (const b of n.wire) out.push(b);
      i = n.next;
    } else if (f === 'r') {
      for (; i < end; i++) out.push(msg[i] as number);
    } else {
      const k = Number(f);
      if (i + k > end) return undefined;
      for (let j = 0; j < k; j++) out.push(msg[i++] as number);
    }
  }
  // Bytes left over mean the RDATA does not match its type.
  if (i !== end) return undefined;
  return Uint8Array.from(out);
}
