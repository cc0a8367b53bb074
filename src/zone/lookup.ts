// Answering a question from the local zones (RFC 1034 §4.3.2): exact answers, CNAME chains
// followed through the local zones, DNAME (RFC 6672), wildcards (RFC 4592), referrals, and
// NXDOMAIN/NODATA (RFC 2308). Produces RRsets by section; store.ts (`compile`) turns them into wire.

import { Rcode, T, isSubdomain, nameKey, nameLength, replaceSuffix, soaMinimum } from '../wire/index.js';
import type { RRset, Zone, ZoneNode } from './zone.js';

export interface Resolution {
  rcode: number;
  /** Authoritative answer (clear for a referral). */
  aa: boolean;
  answer: RRset[];
  authority: RRset[];
  additional: RRset[];
  /** Additional RRsets the client needs (in-domain referral glue, RFC 9471). */
  requiredAdditional: Set<RRset>;
}

export interface ZoneIndex {
  /** The zone with the longest origin that contains `key`. */
  findZone(key: string): Zone | undefined;
}

/** Longest CNAME chain followed inside the local zones. */
const MAX_CHAIN = 8;

/** Qtype for "a type the node does not have" when precompiling a node's fallback answer. */
export const ABSENT_TYPE = -1;

type Step =
  | { kind: 'data'; rrsets: RRset[] }
  | { kind: 'cname'; rrset: RRset; target: Uint8Array }
  | { kind: 'dname'; dname: RRset; cname: RRset; target: Uint8Array }
  | { kind: 'yxdomain'; dname: RRset }
  | { kind: 'nodata' }
  | { kind: 'nxdomain' }
  | { kind: 'referral'; cut: ZoneNode };

/** Resolve `qname` (wire) for `qtype` from the local zones; undefined when no zone holds it. */
export function resolve(index: ZoneIndex, qname: Uint8Array, qtype: number): Resolution | undefined {
  let name = qname;
  let key = nameKey(qname);
  const first = index.findZone(key);
  if (!first) return undefined;
  const res: Resolution = {
    rcode: Rcode.NOERROR,
    aa: true,
    answer: [],
    authority: [],
    additional: [],
    requiredAdditional: new Set(),
  };
  const seen = new Set<string>();
  let zone: Zone | undefined = first;
  for (let hop = 0; zone && hop < MAX_CHAIN; hop++) {
    seen.add(key);
    const step = lookupInZone(zone, name, key, qtype);
    switch (step.kind) {
      case 'data':
        res.answer.push(...step.rrsets);
        addTargets(index, step.rrsets, res);
        return res;
      case 'nodata':
        res.authority.push(negativeSoa(zone));
        return res;
      case 'nxdomain':
        // RFC 6604 §2.1: after a CNAME chain the rcode is that of the last name.
        res.rcode = Rcode.NXDOMAIN;
        res.authority.push(negativeSoa(zone));
        return res;
      case 'referral': {
        if (hop === 0) res.aa = false;
        const ns = step.cut.rrsets.get(T.NS) as RRset;
        res.authority.push(ns);
        addGlue(index, zone, step.cut.key, ns, res);
        return res;
      }
      case 'yxdomain':
        // RFC 6672 §2.2: the substituted name would be too long.
        res.answer.push(step.dname);
        res.rcode = Rcode.YXDOMAIN;
        return res;
      case 'dname':
        res.answer.push(step.dname, step.cname);
        name = step.target;
        break;
      case 'cname':
        res.answer.push(step.rrset);
        name = step.target;
        break;
    }
    key = nameKey(name);
    if (seen.has(key)) return res; // a loop: stop with what we have
    zone = index.findZone(key);
  }
  return res;
}

function lookupInZone(zone: Zone, qname: Uint8Array, qkey: string, qtype: number): Step {
  const apex = zone.nodes.get(zone.key) as ZoneNode;
  if (qkey.length === zone.key.length) return answerNode(apex, qname, qtype, false);
  const apexDname = apex.rrsets.get(T.DNAME);
  if (apexDname) return synthesizeDname(apexDname, qname, zone.key.length);
  // Offsets in qkey where each label above the apex starts, e.g. [0, 4] for www.sub.<apex>.
  const starts: number[] = [];
  for (let i = 0; i < qkey.length - zone.key.length; i += qkey.charCodeAt(i) + 1) starts.push(i);
  // Walk down from the label just below the apex to the name itself.
  let encloser = apex;
  for (let n = starts.length - 1; n >= 0; n--) {
    const at = starts[n] as number;
    const k = qkey.slice(at);
    const node = zone.nodes.get(k);
    if (!node) return wildcard(zone, encloser, qname, qtype);
    const exact = at === 0;
    // DS at a cut belongs to the parent side (RFC 4034 §5): answer it here, not as a referral.
    if (zone.cuts.has(k) && !(exact && qtype === T.DS)) return { kind: 'referral', cut: node };
    if (exact) return answerNode(node, qname, qtype, false);
    const dname = node.rrsets.get(T.DNAME);
    if (dname) return synthesizeDname(dname, qname, k.length);
    encloser = node;
  }
  return { kind: 'nxdomain' };
}

function wildcard(zone: Zone, encloser: ZoneNode, qname: Uint8Array, qtype: number): Step {
  // RFC 4592 §3.3.1: the source of synthesis is "*" directly below the closest encloser.
  const star = zone.nodes.get(`\x01*${encloser.key}`);
  if (!star) return { kind: 'nxdomain' };
  return answerNode(star, qname, qtype, true);
}

function answerNode(node: ZoneNode, qname: Uint8Array, qtype: number, synthesized: boolean): Step {
  const own = (s: RRset): RRset => (synthesized ? { ...s, owner: qname } : s);
  const cname = node.rrsets.get(T.CNAME);
  if (cname && qtype !== T.CNAME && qtype !== T.RRSIG && qtype !== T.NSEC) {
    return { kind: 'cname', rrset: own(cname), target: cname.rdatas[0] as Uint8Array };
  }
  if (qtype === T.ANY) {
    // RFC 8482 §4.1: answer ANY with one RRset: the lowest type the node has.
    const types = [...node.rrsets.keys()].sort((a, b) => a - b);
    const t = types[0];
    return t === undefined ? { kind: 'nodata' } : { kind: 'data', rrsets: [own(node.rrsets.get(t) as RRset)] };
  }
  const set = node.rrsets.get(qtype);
  return set ? { kind: 'data', rrsets: [own(set)] } : { kind: 'nodata' };
}

function synthesizeDname(dname: RRset, qname: Uint8Array, ownerLen: number): Step {
  const target = dname.rdatas[0] as Uint8Array;
  const newName = replaceSuffix(qname, ownerLen, target);
  if (!newName) return { kind: 'yxdomain', dname };
  // RFC 6672 §3.1: the synthesized CNAME carries the DNAME's TTL.
  const cname: RRset = { owner: qname, type: T.CNAME, class: dname.class, ttl: dname.ttl, rdatas: [newName] };
  return { kind: 'dname', dname, cname, target: newName };
}

/** RFC 2308 §3: the SOA in a negative answer has TTL min(SOA TTL, SOA MINIMUM). */
function negativeSoa(zone: Zone): RRset {
  return { ...zone.soa, ttl: Math.min(zone.soa.ttl, soaMinimum(zone.soa.rdatas[0] as Uint8Array)) };
}

/** RFC 1034 §4.3.2 step 6: addresses of NS/MX/SRV targets held in the local zones. */
function addTargets(index: ZoneIndex, rrsets: readonly RRset[], res: Resolution): void {
  for (const set of rrsets) {
    const at = set.type === T.NS ? 0 : set.type === T.MX ? 2 : set.type === T.SRV ? 6 : -1;
    if (at < 0) continue;
    for (const rd of set.rdatas) addAddresses(index, nameKey(rd, at, at + nameLength(rd, at)), res, false);
  }
}

function addGlue(index: ZoneIndex, zone: Zone, cutKey: string, ns: RRset, res: Resolution): void {
  for (const rd of ns.rdatas) {
    const target = nameKey(rd, 0, nameLength(rd));
    if (!isSubdomain(target, zone.key)) continue;
    // RFC 9471 §2.1: in-domain glue (below the cut) is required; sibling glue is optional.
    addAddresses(index, target, res, isSubdomain(target, cutKey), zone);
  }
}

function addAddresses(index: ZoneIndex, target: string, res: Resolution, required: boolean, inZone?: Zone): void {
  const zone = inZone ?? index.findZone(target);
  const node = zone?.nodes.get(target);
  if (!node) return;
  for (const t of [T.A, T.AAAA]) {
    const set = node.rrsets.get(t);
    // By content, not identity: a zone opened from an image may decode the same node twice.
    if (!set || res.additional.some((x) => sameRRset(x, set)) || res.answer.some((x) => sameRRset(x, set))) continue;
    res.additional.push(set);
    if (required) res.requiredAdditional.add(set);
  }
}

/** The same RRset: type, class and owner name (byte for byte: both come from the zone's data). */
function sameRRset(a: RRset, b: RRset): boolean {
  if (a === b) return true;
  if (a.type !== b.type || a.class !== b.class || a.owner.length !== b.owner.length) return false;
  for (let i = 0; i < a.owner.length; i++) if (a.owner[i] !== b.owner[i]) return false;
  return true;
}
