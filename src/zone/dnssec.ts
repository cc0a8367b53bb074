// A signed zone's answers (RFC 4035 §3.1, RFC 5155 §7.2): the RRSIGs that cover an RRset, and the
// NSEC or NSEC3 records that prove a name or a type absent, found in the zone's denial chain. The
// zone is served as signed: nothing here signs, everything comes from the zone's own records.
//
//   NSEC  chain: the nodes that hold an NSEC, in canonical order (RFC 4034 §6.1); the NSEC that
//         covers a name is the one of its predecessor.
//   NSEC3 chain: the NSEC3 nodes, kept under HASHED + their key so that no lookup by name meets
//         them (they are no names of the zone's tree, RFC 5155 §7.2.8), in hash order.

import * as crypto from 'node:crypto';
import { T, keyToWire } from '../wire/index.js';
import { toBase32Hex } from './text.js';
import type { RRset, ZoneNode, ZoneNodes } from './zone.js';

/** Prefix of NSEC3 nodes' keys: no name's key starts with 0xff (a label is at most 63 octets). */
export const HASHED = '\xff';

export interface Nsec3Params {
  algorithm: number;
  iterations: number;
  salt: Uint8Array;
}

/** Keys of the nodes that hold the chain, in canonical order. */
export interface DenialChain {
  readonly length: number;
  key(i: number): string;
}

export interface Denial {
  chain: DenialChain;
  /** The NSEC3PARAM of the apex; null for an NSEC zone. */
  nsec3: Nsec3Params | null;
}

/** A node that holds only NSEC3 records and their signatures: kept out of the name tree. */
export function isHashedNode(node: ZoneNode): boolean {
  const sigs = node.rrsets.get(T.RRSIG);
  if (!node.rrsets.has(T.NSEC3) || node.rrsets.size !== (sigs ? 2 : 1)) return false;
  return !sigs || sigs.rdatas.every((rd) => covered(rd) === T.NSEC3);
}

/** The NSEC3 parameters of an apex's NSEC3PARAM (RFC 5155 §4.2), or null. */
export function nsec3Params(apex: ZoneNode): Nsec3Params | null {
  const rd = apex.rrsets.get(T.NSEC3PARAM)?.rdatas[0];
  if (!rd || rd.length < 5) return null;
  return { algorithm: rd[0] as number, iterations: ((rd[2] as number) << 8) | (rd[3] as number), salt: rd.subarray(5) };
}

/**
 * A zone's denial: NSEC3 when its apex has an NSEC3PARAM (the chain: `hashed`, the keys of its
 * NSEC3 nodes), NSEC when its apex has an NSEC (the chain: `nsec`, the keys of the nodes that hold one).
 */
export function buildDenial(apex: ZoneNode, nsec: readonly string[], hashed: readonly string[]): Denial | null {
  const nsec3 = nsec3Params(apex);
  if (!nsec3 && !apex.rrsets.has(T.NSEC)) return null;
  const keys = [...(nsec3 ? hashed : nsec)];
  // NSEC3 keys differ only in their hash label, all of one length: string order is hash order.
  if (nsec3) keys.sort();
  else keys.sort(compareCanonical);
  return { chain: { length: keys.length, key: (i) => keys[i] as string }, nsec3 };
}

/** RFC 4034 §6.1 canonical order of two name keys (already lower-case): from the root label down. */
export function compareCanonical(a: string, b: string): number {
  const la = labelStarts(a);
  const lb = labelStarts(b);
  for (let i = la.length - 1, j = lb.length - 1; i >= 0 && j >= 0; i--, j--) {
    const sa = la[i] as number;
    const sb = lb[j] as number;
    const na = a.charCodeAt(sa);
    const nb = b.charCodeAt(sb);
    for (let k = 1; k <= Math.min(na, nb); k++) {
      const d = a.charCodeAt(sa + k) - b.charCodeAt(sb + k);
      if (d !== 0) return d;
    }
    if (na !== nb) return na - nb;
  }
  return la.length - lb.length;
}

function labelStarts(key: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < key.length && key.charCodeAt(i) !== 0; i += key.charCodeAt(i) + 1) out.push(i);
  return out;
}

/** The node whose chain entry precedes `key` (or equals it), wrapping to the last one. */
export function predecessor(denial: Denial, nodes: ZoneNodes, key: string): ZoneNode | undefined {
  const chain = denial.chain;
  let lo = 0;
  let hi = chain.length - 1;
  let found = chain.length - 1;
  const hashed = denial.nsec3 !== null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const k = chain.key(mid);
    if (hashed ? k <= key : compareCanonical(k, key) <= 0) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found < 0 ? undefined : nodes.get(chain.key(found));
}

/**
 * The node whose NSEC (by name) or NSEC3 (by the hash of `key`) spans `key`: the proof that `key`
 * does not exist (RFC 4034 §4.1.1, RFC 5155 §7.2.1's "covering" NSEC3).
 */
export function covering(denial: Denial, nodes: ZoneNodes, apexKey: string, key: string): ZoneNode | undefined {
  const p = denial.nsec3;
  return predecessor(denial, nodes, p ? hashedKey(key, p, apexKey) : key);
}

/** RFC 5155 §1.3: the name one label longer than the closest encloser on the way to QNAME. */
export function nextCloser(qkey: string, encloserKey: string): string {
  const end = qkey.length - encloserKey.length;
  let i = 0;
  while (i + qkey.charCodeAt(i) + 1 < end) i += qkey.charCodeAt(i) + 1;
  return qkey.slice(i);
}

/** SHA-1 in one call where Node has it (20.12 and later): a third of createHash's cost. */
const sha1: (b: Uint8Array) => Uint8Array =
  typeof crypto.hash === 'function'
    ? (b) => crypto.hash('sha1', b, 'buffer')
    : (b) => crypto.createHash('sha1').update(b).digest();

/** RFC 5155 §5: the hashed owner name of `key` in the zone `apexKey`, as a (hidden) node key. */
export function hashedKey(key: string, p: Nsec3Params, apexKey: string): string {
  const salted = (b: Uint8Array): Uint8Array => (p.salt.length === 0 ? b : Buffer.concat([b, p.salt]));
  let h = sha1(salted(keyToWire(key)));
  for (let i = 0; i < p.iterations; i++) h = sha1(salted(h));
  const label = toBase32Hex(h).toLowerCase();
  return `${HASHED}${String.fromCharCode(label.length)}${label}${apexKey}`;
}

/** The RRSIGs at `node` that cover `type`, owned by `owner` with the TTL of the RRset they sign. */
export function signatures(node: ZoneNode, type: number, owner: Uint8Array, ttl: number): RRset | undefined {
  const all = node.rrsets.get(T.RRSIG);
  if (!all) return undefined;
  const rdatas = all.rdatas.filter((rd) => covered(rd) === type);
  return rdatas.length === 0 ? undefined : { owner, type: T.RRSIG, class: all.class, ttl, rdatas };
}

/** RFC 4034 §3.1: the type an RRSIG covers. */
function covered(rdata: Uint8Array): number {
  return ((rdata[0] as number) << 8) | (rdata[1] as number);
}

/** The RRSIGs of a node split by the type they cover, each with that RRset's TTL (a QTYPE=RRSIG answer). */
export function signaturesByType(node: ZoneNode, owner: Uint8Array): RRset[] {
  const all = node.rrsets.get(T.RRSIG);
  if (!all) return [];
  const types = [...new Set(all.rdatas.map(covered))];
  return types.map((t) => signatures(node, t, owner, node.rrsets.get(t)?.ttl ?? all.ttl) as RRset);
}

/** The slot of a node's DO=1 answer for a type among its compiled answers (types are 16 bits). */
export const DO_KEY = 0x10000;
/** The slot of a node's DO=1 answer for every type it has no answer of its own for. */
export const DO_FALLBACK = -2;
