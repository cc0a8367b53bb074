// The OPT pseudo-record (RFC 6891 §6.1.2) and its options, as every message we send carries it:
// responses, upstream queries, probes and drill streams.

import { EDNS_DO, OPT_TYPE } from './constants.js';

/** The OPT record of a message, options already encoded. */
export interface ResponseOpt {
  udpSize: number;
  dnssecOk: boolean;
  /** Encoded EDNS options (code, length, data)*, possibly empty. */
  options: Uint8Array;
}

/** Bytes of an OPT record before its options: root owner, type, size, TTL, RDLENGTH. */
export const OPT_FIXED_LEN = 11;

/** Encode one EDNS option: code, length, data. */
export function encodeOption(code: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out[2] = data.length >> 8;
  out[3] = data.length & 0xff;
  out.set(data, 4);
  return out;
}

/** Write `opt` at `o` (OPT_FIXED_LEN + options bytes); `rcode` supplies the extended rcode bits. */
export function writeOpt(out: Uint8Array, o: number, opt: ResponseOpt, rcode: number): void {
  const flags = opt.dnssecOk ? EDNS_DO : 0; // RFC 3225 §3
  const n = opt.options.length;
  out[o] = 0; // root owner
  out[o + 1] = OPT_TYPE >> 8;
  out[o + 2] = OPT_TYPE & 0xff;
  out[o + 3] = opt.udpSize >> 8;
  out[o + 4] = opt.udpSize & 0xff;
  out[o + 5] = rcode >> 4; // RFC 6891 §6.1.3: upper 8 bits of the extended rcode
  out[o + 6] = 0; // version 0
  out[o + 7] = flags >> 8;
  out[o + 8] = flags & 0xff;
  out[o + 9] = n >> 8;
  out[o + 10] = n & 0xff;
  if (n > 0) out.set(opt.options, o + OPT_FIXED_LEN);
}
