// Answering a question from the local zones (RFC 1034 §4.3.2): exact answers, CNAME chains
// followed through the local zones, DNAME (RFC 6672), wildcards (RFC 4592), referrals, and
// NXDOMAIN/NODATA (RFC 2308). Produces RRsets by section; store.ts (`compile`) turns them into wire.

import { Rcode, T, isSubdomain, nameKey, nameLength, replaceSuffix, soaMinimum } from '../wire/index.js';
import type { Denial } from './dnssec.js';
import { covering, hashedKey, nextCloser, signatures, signaturesByType } from './dnssec.js';
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
  /** With DNSSEC asked for: the RRSIGs of each RRset of the sections that the zone holds signed. */
  sigs: Map<RRset, RRset>;
}

export interface ZoneIndex {
  /** The zone with the longest origin that contains `key`. */
  findZone(key: string): Zone | undefined;
}

/** Longest CNAME chain followed inside the local zones. */
const MAX_CHAIN = 8;

/** Qtype for "a type the node does not have" when precompiling a node's fallback answer. */
export const ABSENT_TYPE = -1;

/** `node` answered; `wild`: the closest encloser when the node is the wildcard "*" below it. */
type Step =
  | { kind: 'data'; rrsets: RRset[]; node: ZoneNode; wild: ZoneNode | null }
  | { kind: 'cname'; rrset: RRset; target: Uint8Array; node: ZoneNode; wild: ZoneNode | null }
  | { kind: 'dname'; dname: RRset; cname: RRset; target: Uint8Array; node: ZoneNode }
  | { kind: 'yxdomain'; dname: RRset; node: ZoneNode }
  | { kind: 'nodata'; node: ZoneNode; wild: ZoneNode | null }
  | { kind: 'nxdomain'; encloser: ZoneNode }
  | { kind: 'referral'; cut: ZoneNode };

/**
 * Resolve `qname` (wire) for `qtype` from the local zones; undefined when no zone holds it. With
 * `dnssec` (the query's DO bit), a signed zone's answers carry their RRSIGs and its negative and
 * wildcard answers the NSEC or NSEC3 records that prove them (RFC 4035 §3.1, RFC 5155 §7.2).
 */
export function resolve(index: ZoneIndex, qname: Uint8Array, qtype: number, dnssec = false): Resolution | undefined {
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
    sigs: new Map(),
  };
  const seen = new Set<string>();
  let zone: Zone | undefined = first;
  for (let hop = 0; zone && hop < MAX_CHAIN; hop++) {
    seen.add(key);
    const step = lookupInZone(zone, name, key, qtype);
    const p = dnssec && zone.denial ? new Proof(zone, zone.denial, res, key) : null;
    switch (step.kind) {
      case 'data':
        res.answer.push(...step.rrsets);
        if (p) {
          for (const s of step.rrsets) p.sign(step.node, s);
          if (step.wild) p.noName(step.wild);
        }
        addTargets(index, step.rrsets, res, dnssec);
        return res;
      case 'nodata':
        if (!p) res.authority.push(negativeSoa(zone));
        else {
          p.negativeSoa();
          if (step.wild) p.wildcardNoData(step.wild, step.node);
          else p.noData(key, step.node);
        }
        return res;
      case 'nxdomain':
        // RFC 6604 §2.1: after a CNAME chain the rcode is that of the last name.
        res.rcode = Rcode.NXDOMAIN;
        if (p) {
          p.negativeSoa();
          p.nxdomain(step.encloser);
        } else res.authority.push(negativeSoa(zone));
        return res;
      case 'referral': {
        if (hop === 0) res.aa = false;
        const ns = step.cut.rrsets.get(T.NS) as RRset;
        res.authority.push(ns);
        // RFC 4035 §3.1.4: the DS RRset with its RRSIGs, or the proof that there is none.
        if (p) p.delegation(step.cut);
        addGlue(index, zone, step.cut.key, ns, res);
        return res;
      }
      case 'yxdomain':
        // RFC 6672 §2.2: the substituted name would be too long.
        res.answer.push(step.dname);
        p?.sign(step.node, step.dname);
        res.rcode = Rcode.YXDOMAIN;
        return res;
      case 'dname':
        // The synthesized CNAME is not signed (RFC 6672 §5.3.1): a validator checks the DNAME.
        res.answer.push(step.dname, step.cname);
        p?.sign(step.node, step.dname);
        name = step.target;
        break;
      case 'cname':
        res.answer.push(step.rrset);
        if (p) {
          p.sign(step.node, step.rrset);
          if (step.wild) p.noName(step.wild);
        }
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
  if (qkey.length === zone.key.length) return answerNode(apex, qname, qtype, null);
  const apexDname = apex.rrsets.get(T.DNAME);
  if (apexDname) return synthesizeDname(apex, apexDname, qname, zone.key.length);
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
    if (exact) return answerNode(node, qname, qtype, null);
    const dname = node.rrsets.get(T.DNAME);
    if (dname) return synthesizeDname(node, dname, qname, k.length);
    encloser = node;
  }
  return { kind: 'nxdomain', encloser };
}

function wildcard(zone: Zone, encloser: ZoneNode, qname: Uint8Array, qtype: number): Step {
  // RFC 4592 §3.3.1: the source of synthesis is "*" directly below the closest encloser.
  const star = zone.nodes.get(`\x01*${encloser.key}`);
  if (!star) return { kind: 'nxdomain', encloser };
  return answerNode(star, qname, qtype, encloser);
}

/** `wild`: the closest encloser when `node` is the wildcard below it (owners become `qname`). */
function answerNode(node: ZoneNode, qname: Uint8Array, qtype: number, wild: ZoneNode | null): Step {
  const own = (s: RRset): RRset => (wild ? { ...s, owner: qname } : s);
  const cname = node.rrsets.get(T.CNAME);
  if (cname && qtype !== T.CNAME && qtype !== T.RRSIG && qtype !== T.NSEC) {
    return { kind: 'cname', rrset: own(cname), target: cname.rdatas[0] as Uint8Array, node, wild };
  }
  if (qtype === T.ANY) {
    // RFC 8482 §4.1: answer ANY with one RRset: the lowest type the node has.
    const types = [...node.rrsets.keys()].sort((a, b) => a - b);
    const t = types[0];
    return t === undefined
      ? { kind: 'nodata', node, wild }
      : { kind: 'data', rrsets: [own(node.rrsets.get(t) as RRset)], node, wild };
  }
  // The signatures of each RRset, each with that RRset's TTL.
  if (qtype === T.RRSIG && node.rrsets.has(T.RRSIG))
    return { kind: 'data', rrsets: signaturesByType(node, wild ? qname : node.name), node, wild };
  const set = node.rrsets.get(qtype);
  return set ? { kind: 'data', rrsets: [own(set)], node, wild } : { kind: 'nodata', node, wild };
}

function synthesizeDname(node: ZoneNode, dname: RRset, qname: Uint8Array, ownerLen: number): Step {
  const target = dname.rdatas[0] as Uint8Array;
  const newName = replaceSuffix(qname, ownerLen, target);
  if (!newName) return { kind: 'yxdomain', dname, node };
  // RFC 6672 §3.1: the synthesized CNAME carries the DNAME's TTL.
  const cname: RRset = { owner: qname, type: T.CNAME, class: dname.class, ttl: dname.ttl, rdatas: [newName] };
  return { kind: 'dname', dname, cname, target: newName, node };
}

/** RFC 2308 §3: the SOA in a negative answer has TTL min(SOA TTL, SOA MINIMUM). */
function negativeSoa(zone: Zone): RRset {
  return { ...zone.soa, ttl: Math.min(zone.soa.ttl, soaMinimum(zone.soa.rdatas[0] as Uint8Array)) };
}

/** RFC 1034 §4.3.2 step 6: addresses of NS/MX/SRV targets held in the local zones. */
function addTargets(index: ZoneIndex, rrsets: readonly RRset[], res: Resolution, dnssec: boolean): void {
  for (const set of rrsets) {
    const at = set.type === T.NS ? 0 : set.type === T.MX ? 2 : set.type === T.SRV ? 6 : -1;
    if (at < 0) continue;
    for (const rd of set.rdatas)
      addAddresses(index, nameKey(rd, at, at + nameLength(rd, at)), res, false, undefined, dnssec);
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

function addAddresses(
  index: ZoneIndex,
  target: string,
  res: Resolution,
  required: boolean,
  inZone?: Zone,
  dnssec = false,
): void {
  const zone = inZone ?? index.findZone(target);
  const node = zone?.nodes.get(target);
  if (!node) return;
  for (const t of [T.A, T.AAAA]) {
    const set = node.rrsets.get(t);
    // By content, not identity: a zone opened from an image may decode the same node twice.
    if (!set || res.additional.some((x) => sameRRset(x, set)) || res.answer.some((x) => sameRRset(x, set))) continue;
    res.additional.push(set);
    if (required) res.requiredAdditional.add(set);
    // Authoritative addresses carry their RRSIGs; glue has none in the zone (RFC 4035 §2.2).
    const sig = dnssec && zone?.denial ? signatures(node, t, set.owner, set.ttl) : undefined;
    if (sig) res.sigs.set(set, sig);
  }
}

/**
 * The DNSSEC records of one zone's part of an answer: the RRSIGs of what it puts in the sections,
 * and the NSEC or NSEC3 records (signed) that prove what it does not have, for the name `qkey`.
 */
class Proof {
  readonly #zone: Zone;
  readonly #denial: Denial;
  readonly #res: Resolution;
  readonly #qkey: string;
  /** Keys of the NSEC/NSEC3 nodes already in the authority section. */
  readonly #shown = new Set<string>();

  constructor(zone: Zone, denial: Denial, res: Resolution, qkey: string) {
    this.#zone = zone;
    this.#denial = denial;
    this.#res = res;
    this.#qkey = qkey;
  }

  negativeSoa(): void {
    const soa = negativeSoa(this.#zone);
    this.#res.authority.push(soa);
    this.sign(this.#zone.nodes.get(this.#zone.key) as ZoneNode, soa);
  }

  sign(node: ZoneNode, set: RRset): void {
    const sig = signatures(node, set.type, set.owner, set.ttl);
    if (sig) this.#res.sigs.set(set, sig);
  }

  /** A wildcard answered: QNAME itself does not exist (RFC 4035 §3.1.3.3, RFC 5155 §7.2.6). */
  noName(encloser: ZoneNode): void {
    if (this.#denial.nsec3) this.#cover(this.#nextCloser(encloser));
    else this.#cover(this.#qkey);
  }

  /** NODATA at a name that exists (RFC 4035 §3.1.3.1, RFC 5155 §7.2.3–7.2.4). */
  noData(key: string, node: ZoneNode): void {
    if (!this.#denial.nsec3) {
      // An empty non-terminal has no NSEC: the one before it covers it.
      if (node.rrsets.has(T.NSEC)) this.#show(node);
      else this.#cover(key);
      return;
    }
    const match = this.#match(key);
    if (match) this.#show(match);
    else this.#closestEncloser(key); // a DS question at an opt-out delegation (RFC 5155 §7.2.4)
  }

  /** NODATA from a wildcard: no type at "*", and no QNAME (RFC 4035 §3.1.3.4, RFC 5155 §7.2.5). */
  wildcardNoData(encloser: ZoneNode, star: ZoneNode): void {
    if (!this.#denial.nsec3) {
      this.#show(star);
      this.#cover(this.#qkey);
      return;
    }
    this.#matchOf(encloser.key);
    this.#cover(this.#nextCloser(encloser));
    this.#matchOf(star.key);
  }

  /** NXDOMAIN: no QNAME, no wildcard that could have answered (RFC 4035 §3.1.3.2, RFC 5155 §7.2.2). */
  nxdomain(encloser: ZoneNode): void {
    const star = `\x01*${encloser.key}`;
    if (!this.#denial.nsec3) {
      this.#cover(this.#qkey);
      this.#cover(star);
      return;
    }
    this.#matchOf(encloser.key);
    this.#cover(this.#nextCloser(encloser));
    this.#cover(star);
  }

  /** A referral: the DS RRset signed, or the proof that the child has none (RFC 5155 §7.2.7). */
  delegation(cut: ZoneNode): void {
    const ds = cut.rrsets.get(T.DS);
    if (ds) {
      this.#res.authority.push(ds);
      this.sign(cut, ds);
    } else this.noData(cut.key, cut);
  }

  /** RFC 5155 §7.2.1: the NSEC3 that matches the closest provable encloser of `key`, and the one that covers the next closer name. */
  #closestEncloser(key: string): void {
    let next = key;
    for (
      let k = key.slice(key.charCodeAt(0) + 1);
      k.length >= this.#zone.key.length;
      k = k.slice(k.charCodeAt(0) + 1)
    ) {
      const match = this.#match(k);
      if (match) {
        this.#show(match);
        this.#cover(next);
        return;
      }
      next = k;
    }
  }

  #nextCloser(encloser: ZoneNode): string {
    return nextCloser(this.#qkey, encloser.key);
  }

  #match(key: string): ZoneNode | undefined {
    const p = this.#denial.nsec3;
    return p ? this.#zone.nodes.get(hashedKey(key, p, this.#zone.key)) : undefined;
  }

  #matchOf(key: string): void {
    const m = this.#match(key);
    if (m) this.#show(m);
  }

  #cover(key: string): void {
    const node = covering(this.#denial, this.#zone.nodes, this.#zone.key, key);
    if (node) this.#show(node);
  }

  /** The NSEC or NSEC3 RRset of `node` with its RRSIGs, once. */
  #show(node: ZoneNode): void {
    if (this.#shown.has(node.key)) return;
    this.#shown.add(node.key);
    const type = this.#denial.nsec3 ? T.NSEC3 : T.NSEC;
    const set = node.rrsets.get(type);
    if (!set) return;
    this.#res.authority.push(set);
    this.sign(node, set);
  }
}

/** The same RRset: type, class and owner name (byte for byte: both come from the zone's data). */
function sameRRset(a: RRset, b: RRset): boolean {
  if (a === b) return true;
  if (a.type !== b.type || a.class !== b.class || a.owner.length !== b.owner.length) return false;
  for (let i = 0; i < a.owner.length; i++) if (a.owner[i] !== b.owner[i]) return false;
  return true;
}
