// Building an upstream query.

import type { Question } from '../client/index.js';
import { FLAG_CD, FLAG_RD, encodeQuery } from '../wire/index.js';

const NO_OPTIONS = new Uint8Array(0);

/** The upstream query: RD, CD as the client asked, an OPT with our payload size and the client's DO. */
export function buildQuery(q: Question, id: number, udpPayload: number): Buffer {
  const edns = { udpSize: udpPayload, dnssecOk: q.dnssecOk, options: NO_OPTIONS };
  return encodeQuery({
    id,
    flags: FLAG_RD | (q.checkingDisabled ? FLAG_CD : 0),
    qname: q.qname,
    qtype: q.qtype,
    qclass: q.qclass,
    edns,
  });
}
