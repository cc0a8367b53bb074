// Reading a whole message (an upstream's response) into records with uncompressed RDATA. Used
// once per cache fill, never per cached answer.

import { HEADER_LEN, NAME_LAYOUTS, OPT_TYPE } from './constants.js';
import { readName } from './name.js';
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
  const u16 = (i: number): number => ((msg[i] as number) << 8) | (msg[i + 1] as number);
  const qd = u16(4);
  const counts = [u16(6), u16(8), u16(10)];
  const m: Message = { id: u16(0), flags: u16(2), rcode: u16(2) & 0x0f, qname: undefined, qtype: 0, qclass: 0, answer: [], authority: [], additional: [], hasOpt: false };
  let i = HEADER_LEN;
  if (qd > 1) return undefined;
  if (qd === 1) {
    const n = readName(msg, i);
    if (!n || n.next + 4 > msg.length) return undefined;
    m.qname = n.wire;
    m.qtype = u16(n.next);
    m.qclass = u16(n.next + 2);
    i = n.next + 4;
  }
  const sections = [m.answer, m.authority, m.additional];
  for (let s = 0; s < 3; s++) {
    for (let k = 0; k < (counts[s] as number); k++) {
      const owner = readName(msg, i);
      if (!owner || owner.next + 10 > msg.length) return undefined;
      const at = owner.next;
      const type = u16(at);
      const cls = u16(at + 2);
      const ttl = u16(at + 4) * 0x10000 + u16(at + 6);
      const rdlen = u16(at + 8);
      const start = at + 10;
      if (start + rdlen > msg.length) return undefined;
      i = start + rdlen;
      if (type === OPT_TYPE) {
        if (s !== 2 || m.hasOpt) return undefined;
        m.hasOpt = true;
        m.rcode |= (msg[at + 4] as number) << 4;
        continue;
      }
      const rdata = expandRdata(msg, type, start, rdlen);
      if (!rdata) return undefined;
      (sections[s] as WireRecord[]).push({ owner: owner.wire, type, class: cls, ttl: ttl > 0x7fffffff ? 0 : ttl, rdata });
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
