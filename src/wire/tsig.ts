// TSIG (RFC 8945): a message signed with a shared secret, for zone transfers and NOTIFY. `tsigSign`
// appends the TSIG record to a message; `tsigVerify` finds it, checks the key, the MAC and the time,
// and gives back the message as it was before signing. Both take the MAC of the request for a
// response (§4.3.1), and the "timers only" variables and the unsigned messages in between for the
// later messages of a transfer (§4.3.2, §5.3.1).
//
// digest = [request or prior MAC: u16 length, MAC] [unsigned messages before] message
//          then, full: key name, CLASS ANY, TTL 0, algorithm name (canonical, RFC 4034 §6.2),
//                      time signed (u48), fudge, error, other length, other data
//               timers only: time signed, fudge

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RecordAt } from './reader.js';
import { ANCOUNT, ARCOUNT, NSCOUNT, firstRecord, readRecord, recordAt, u16 } from './reader.js';
import { absoluteName, keyToWire, nameKey, nameToText, readName } from './name.js';

export const TYPE_TSIG = 250;
const CLASS_ANY = 255;

/** The algorithms of RFC 8945 §6 that Node's crypto has (hash, MAC bytes); the record names them as absolute names. */
export const TSIG_ALGORITHMS = {
  'hmac-sha1': ['sha1', 20],
  'hmac-sha224': ['sha224', 28],
  'hmac-sha256': ['sha256', 32],
  'hmac-sha384': ['sha384', 48],
  'hmac-sha512': ['sha512', 64],
} as const;
export type TsigAlgorithm = keyof typeof TSIG_ALGORITHMS;

export interface TsigKey {
  /** The key's name, absolute and in lower case ("xfr-key."), as `tsigVerify` looks it up. */
  name: string;
  algorithm: TsigAlgorithm;
  secret: Uint8Array;
}

/** A TSIG key as text, the secret in base64: what crosses to worker processes. */
export interface TsigKeyText {
  name: string;
  algorithm: TsigAlgorithm;
  secret: string;
}

export const tsigKeyFromText = (k: TsigKeyText): TsigKey => ({
  name: k.name,
  algorithm: k.algorithm,
  secret: Buffer.from(k.secret, 'base64'),
});

export const tsigKeyToText = (k: TsigKey): TsigKeyText => ({
  name: k.name,
  algorithm: k.algorithm,
  secret: Buffer.from(k.secret).toString('base64'),
});

/** The TSIG error field (RFC 8945 §3; BADSIG … BADTRUNC are also rcodes of the extended range). */
export const TsigError = { NOERROR: 0, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

export interface SignOptions {
  /** Seconds since the epoch. */
  now: number;
  /** Allowed clock difference, seconds (RFC 8945 §10: 300 recommended). */
  fudge?: number;
  /** Signing a response: the request's MAC; a later message of a transfer: the previous MAC. */
  priorMac?: Uint8Array | null;
  /** The messages sent unsigned since the previous MAC (a transfer signs at least every 100th). */
  unsignedBefore?: readonly Uint8Array[];
  /** The later messages of a transfer sign the timers only (§5.3.1). */
  timersOnly?: boolean;
  /** The error to report (BADTIME answers carry the server's time in other data). */
  error?: number;
  otherData?: Uint8Array;
}

/** The signed message (the TSIG record appended, ARCOUNT one more) and its MAC. */
export function tsigSign(msg: Uint8Array, key: TsigKey, o: SignOptions): { message: Buffer; mac: Buffer } {
  const fudge = o.fudge ?? 300;
  const error = o.error ?? 0;
  const other = o.otherData ?? new Uint8Array(0);
  const keyName = canonical(absoluteName(key.name));
  const alg = canonical(absoluteName(`${key.algorithm}.`));
  const mac = digest(key, o.priorMac ?? null, o.unsignedBefore ?? [], msg, {
    keyName,
    alg,
    time: o.now,
    fudge,
    error,
    other,
    timersOnly: o.timersOnly ?? false,
  });
  return { message: appendTsig(msg, keyName, alg, o.now, fudge, mac, error, other), mac };
}

/**
 * An error answer's unsigned TSIG (RFC 8945 §5.3.2: MAC size 0): what a request with an unknown key
 * (BADKEY), a MAC that does not verify (BADSIG) or a truncated MAC (BADTRUNC) gets, with the key and
 * algorithm names it came with.
 */
export function tsigUnsigned(
  msg: Uint8Array,
  key: { keyName: string; algorithm: string },
  error: number,
  now: number,
  fudge = 300,
): Buffer {
  const keyName = canonical(absoluteName(key.keyName));
  const alg = canonical(absoluteName(key.algorithm));
  return appendTsig(msg, keyName, alg, now, fudge, new Uint8Array(0), error, new Uint8Array(0));
}

/** `msg` with a TSIG record appended (ARCOUNT one more). */
function appendTsig(
  msg: Uint8Array,
  keyName: Uint8Array,
  alg: Uint8Array,
  time: number,
  fudge: number,
  mac: Uint8Array,
  error: number,
  other: Uint8Array,
): Buffer {
  const rdata = Buffer.concat([
    alg,
    u48(time),
    be16(fudge),
    be16(mac.length),
    mac,
    Buffer.from(msg.subarray(0, 2)), // original ID
    be16(error),
    be16(other.length),
    other,
  ]);
  const rr = Buffer.concat([keyName, be16(TYPE_TSIG), be16(CLASS_ANY), Buffer.alloc(4), be16(rdata.length), rdata]);
  const out = Buffer.concat([msg, rr]);
  out.writeUInt16BE(u16(out, ARCOUNT) + 1, ARCOUNT);
  return out;
}

/** The bytes a TSIG record signed with `key` adds to a message (no other data). */
export function tsigLength(key: TsigKey): number {
  const name = absoluteName(key.name).length;
  const alg = absoluteName(`${key.algorithm}.`).length;
  // owner, type class TTL rdlength, algorithm, time fudge MAC-size, MAC, original ID error other-length
  return name + 10 + alg + 10 + TSIG_ALGORITHMS[key.algorithm][1] + 6;
}

export type TsigStatus = 'unsigned' | 'ok' | 'formerr' | 'badkey' | 'badsig' | 'badtime' | 'badtrunc';

export interface TsigVerdict {
  status: TsigStatus;
  /** The key named in the record ('' when unsigned or malformed). */
  keyName: string;
  /** The algorithm it names, absolute ("hmac-sha256."; '' when unsigned or malformed). */
  algorithm: string;
  /** The record's MAC (for signing the response, or checking the next message of a transfer). */
  mac: Uint8Array;
  /** The TSIG error field the sender set. */
  error: number;
  timeSigned: number;
  /** The message without its TSIG record: ARCOUNT one less, the original ID back. */
  message: Uint8Array;
}

export interface VerifyOptions {
  now: number;
  priorMac?: Uint8Array | null;
  unsignedBefore?: readonly Uint8Array[];
  timersOnly?: boolean;
}

/**
 * The TSIG of a received message (RFC 8945 §5.2, §5.3.2): it must be the last additional record
 * and the only one; an unknown key or algorithm is badkey; a MAC shorter than its hash (our policy:
 * no truncation, §5.2.2.1) is badtrunc, or formerr when shorter than the RFC's floor; then the MAC,
 * then the time (checked after the MAC, §5.2.3). Never throws.
 */
export function tsigVerify(
  msg: Uint8Array,
  keyOf: (name: string) => TsigKey | undefined,
  o: VerifyOptions,
): TsigVerdict {
  const v: TsigVerdict = {
    status: 'unsigned',
    keyName: '',
    algorithm: '',
    mac: new Uint8Array(0),
    error: 0,
    timeSigned: 0,
    message: msg,
  };
  const found = lastRecord(msg);
  if (found === undefined) return { ...v, status: 'formerr' };
  if (found.tsigs === 0) return v;
  const { r } = found;
  if (found.tsigs > 1 || r.type !== TYPE_TSIG || r.class !== CLASS_ANY) return { ...v, status: 'formerr' };
  const owner = readName(msg, r.owner);
  const alg = readName(msg, r.rdata);
  if (!owner || !alg || alg.next + 10 > r.end) return { ...v, status: 'formerr' };
  let i = alg.next;
  const timeSigned = u16(msg, i) * 2 ** 32 + u16(msg, i + 2) * 0x10000 + u16(msg, i + 4);
  const fudge = u16(msg, i + 6);
  const macLen = u16(msg, i + 8);
  i += 10;
  if (i + macLen + 6 > r.end) return { ...v, status: 'formerr' };
  const mac = msg.subarray(i, i + macLen);
  i += macLen;
  const originalId = u16(msg, i);
  const error = u16(msg, i + 2);
  const otherLen = u16(msg, i + 4);
  if (i + 6 + otherLen !== r.end) return { ...v, status: 'formerr' };
  const other = msg.subarray(i + 6, r.end);
  const keyName = nameToText(canonical(owner.wire));
  const algName = nameToText(canonical(alg.wire));
  // What the sender signed: the message before the record, its ARCOUNT and ID as they were.
  const message = Buffer.from(msg.subarray(0, r.owner));
  message.writeUInt16BE(u16(message, ARCOUNT) - 1, ARCOUNT);
  message.writeUInt16BE(originalId, 0);
  const base = { keyName, algorithm: algName, mac, error, timeSigned, message };
  const key = keyOf(keyName);
  if (!key || `${key.algorithm}.` !== algName) return { ...base, status: 'badkey' };
  const full = TSIG_ALGORITHMS[key.algorithm][1];
  if (macLen > full || macLen < Math.max(10, full / 2)) return { ...base, status: 'formerr' };
  if (macLen < full) return { ...base, status: 'badtrunc' };
  const want = digest(key, o.priorMac ?? null, o.unsignedBefore ?? [], message, {
    keyName: canonical(owner.wire),
    alg: canonical(alg.wire),
    time: timeSigned,
    fudge,
    error,
    other,
    timersOnly: o.timersOnly ?? false,
  });
  if (!timingSafeEqual(want, mac)) return { ...base, status: 'badsig' };
  if (Math.abs(o.now - timeSigned) > fudge) return { ...base, status: 'badtime' };
  return { ...base, status: 'ok' };
}

interface Variables {
  keyName: Uint8Array;
  alg: Uint8Array;
  time: number;
  fudge: number;
  error: number;
  other: Uint8Array;
  timersOnly: boolean;
}

function digest(
  key: TsigKey,
  prior: Uint8Array | null,
  before: readonly Uint8Array[],
  msg: Uint8Array,
  v: Variables,
): Buffer {
  const h = createHmac(TSIG_ALGORITHMS[key.algorithm][0], key.secret);
  if (prior) h.update(be16(prior.length)).update(prior);
  for (const m of before) h.update(m);
  h.update(msg);
  if (v.timersOnly) return h.update(u48(v.time)).update(be16(v.fudge)).digest();
  h.update(v.keyName).update(be16(CLASS_ANY)).update(Buffer.alloc(4)).update(v.alg);
  h.update(u48(v.time)).update(be16(v.fudge)).update(be16(v.error)).update(be16(v.other.length)).update(v.other);
  return h.digest();
}

/** The last record of a message, and how many TSIG records it has; undefined when malformed. */
function lastRecord(msg: Uint8Array): { r: RecordAt; tsigs: number } | undefined {
  let i = firstRecord(msg);
  if (i < 0) return undefined;
  const total = u16(msg, ANCOUNT) + u16(msg, NSCOUNT) + u16(msg, ARCOUNT);
  const r = recordAt();
  let tsigs = 0;
  for (let n = 0; n < total; n++) {
    if (!readRecord(msg, i, r)) return undefined;
    if (r.type === TYPE_TSIG) tsigs++;
    i = r.end;
  }
  if (i !== msg.length) return undefined;
  // A TSIG anywhere but last in the additional section is as bad as two.
  if (tsigs > 0 && (r.type !== TYPE_TSIG || u16(msg, ARCOUNT) === 0)) tsigs++;
  return { r, tsigs };
}

/** A name in canonical form (RFC 4034 §6.2): uncompressed, A-Z folded to lower case (a name key's bytes). */
const canonical = (name: Uint8Array): Uint8Array => keyToWire(nameKey(name));

function be16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u48(seconds: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(seconds, 0, 6);
  return b;
}
