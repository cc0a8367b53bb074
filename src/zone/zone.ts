// A loaded zone: records grouped into nodes and RRsets, with the zone policy a loading server
// applies (RFC 1034 §4.2.1, RFC 2181 §10.1, RFC 6672 §2.4). A zone that fails is rejected whole.

import { createHash } from 'node:crypto';
import { EdgeError, ErrorCode } from '../core/index.js';
import {
  T,
  isSubdomain,
  keyToText,
  keyToWire,
  nameKey,
  nameLength,
  parentKey,
  soaSerial,
  typeName,
} from '../wire/index.js';
import type { ZoneRecord } from './parse.js';
import type { Denial } from './dnssec.js';
import { HASHED, buildDenial, isHashedNode } from './dnssec.js';

export interface RRset {
  owner: Uint8Array;
  type: number;
  class: number;
  ttl: number;
  rdatas: Uint8Array[];
}

export interface ZoneNode {
  key: string;
  name: Uint8Array;
  rrsets: Map<number, RRset>;
}

export class ZonePolicyError extends EdgeError {
  constructor(problems: string[]) {
    super(ErrorCode.ZONE_POLICY, problems.join('; '), problems);
  }
}

/** A zone's nodes by key: a Map in a zone just built, a table over bytes in one from an image. */
export interface ZoneNodes {
  get(key: string): ZoneNode | undefined;
  has(key: string): boolean;
}

/** A zone as the answering side reads it. */
export interface Zone {
  origin: Uint8Array;
  key: string;
  file: string;
  nodes: ZoneNodes;
  soa: RRset;
  serial: number;
  /** Delegation points (NS below the apex), by key. */
  cuts: { has(key: string): boolean };
  /** Number of records after duplicates were removed. */
  recordCount: number;
  /** sha256 of the zone's content in canonical order: equal digests, equal data. */
  digest: string;
  /** Every RR type the zone holds. */
  types: ReadonlySet<number>;
  /** The NSEC or NSEC3 chain of a signed zone (dnssec.ts); null when the zone is not signed. */
  denial: Denial | null;
}

/** A zone just built from records: its nodes can be walked (to compile, digest, encode). */
export interface BuiltZone extends Zone {
  nodes: Map<string, ZoneNode>;
  cuts: Set<string>;
}

/** Group records into a zone and apply the zone policy; throws ZonePolicyError listing every problem. */
export function buildZone(records: readonly ZoneRecord[], origin: Uint8Array, file: string): BuiltZone {
  const key = nameKey(origin);
  const nodes = new Map<string, ZoneNode>();
  const problems: string[] = [];
  const where = (r: ZoneRecord): string => `${r.file}:${r.line}`;
  let count = 0;
  for (const r of records) {
    const k = nameKey(r.owner);
    if (!isSubdomain(k, key)) {
      problems.push(`${where(r)}: ${keyToText(k)} is outside the zone ${keyToText(key)}`);
      continue;
    }
    let node = nodes.get(k);
    if (!node) {
      node = { key: k, name: r.owner, rrsets: new Map() };
      nodes.set(k, node);
    }
    let set = node.rrsets.get(r.type);
    if (!set) {
      set = { owner: node.name, type: r.type, class: r.class, ttl: r.ttl, rdatas: [] };
      node.rrsets.set(r.type, set);
    }
    // RFC 2181 §5: an RRset holds no duplicates. §5.2: one TTL per RRset; keep the smallest.
    if (set.rdatas.some((d) => equalBytes(d, r.rdata))) continue;
    set.ttl = Math.min(set.ttl, r.ttl);
    set.rdatas.push(r.rdata);
    count++;
  }
  // NSEC3 records are no names of the zone's tree: kept apart, under keys no name has.
  for (const [k, node] of [...nodes]) {
    if (!isHashedNode(node)) continue;
    nodes.delete(k);
    node.key = HASHED + k;
    nodes.set(node.key, node);
  }
  // Empty non-terminals exist as nodes without data (RFC 4592 §2.2.2).
  for (const k of [...nodes.keys()]) {
    if (k.startsWith(HASHED)) continue;
    for (let p = parentKey(k); p !== undefined && p.length > key.length && !nodes.has(p); p = parentKey(p)) {
      nodes.set(p, { key: p, name: keyToWire(p), rrsets: new Map() });
    }
  }
  const apex = nodes.get(key);
  const soa = apex?.rrsets.get(T.SOA);
  if (!soa) problems.push(`${file}: no SOA record at the apex ${keyToText(key)}`);
  else if (soa.rdatas.length !== 1)
    problems.push(`${file}: ${soa.rdatas.length} SOA records at the apex; exactly one is allowed`);
  if (!apex?.rrsets.get(T.NS)) problems.push(`${file}: no NS records at the apex ${keyToText(key)}`);
  const cuts = new Set<string>();
  for (const node of nodes.values()) {
    if (node.key !== key && node.rrsets.has(T.SOA))
      problems.push(`${file}: SOA at ${keyToText(node.key)}, which is not the apex`);
    if (node.key !== key && node.rrsets.has(T.NS)) cuts.add(node.key);
    const cname = node.rrsets.get(T.CNAME);
    if (cname) {
      if (cname.rdatas.length > 1)
        problems.push(`${file}: ${keyToText(node.key)} has ${cname.rdatas.length} CNAME records; one is allowed`);
      const others = [...node.rrsets.keys()].filter((t) => t !== T.CNAME && t !== T.RRSIG && t !== T.NSEC);
      // RFC 2181 §10.1: a CNAME has no other data beside it (DNSSEC records aside).
      if (others.length > 0)
        problems.push(
          `${file}: ${keyToText(node.key)} has a CNAME and other data (${others.map(typeName).join(', ')})`,
        );
    }
    if ((node.rrsets.get(T.DNAME)?.rdatas.length ?? 0) > 1)
      problems.push(`${file}: ${keyToText(node.key)} has more than one DNAME`);
  }
  for (const node of nodes.values()) {
    if (node.key.startsWith(HASHED)) continue;
    // RFC 6672 §2.4: no data below a DNAME.
    for (let p = parentKey(node.key); p !== undefined && p.length >= key.length; p = parentKey(p)) {
      if (nodes.get(p)?.rrsets.has(T.DNAME) && node.rrsets.size > 0) {
        problems.push(`${file}: ${keyToText(node.key)} lies below the DNAME at ${keyToText(p)}`);
        break;
      }
    }
  }
  // Glue: a name server named at or below its own cut needs an address in the zone.
  for (const cut of cuts) {
    const ns = nodes.get(cut)?.rrsets.get(T.NS) as RRset;
    for (const rd of ns.rdatas) {
      const target = nameKey(rd, 0, nameLength(rd));
      if (!isSubdomain(target, cut)) continue;
      const t = nodes.get(target);
      if (!t?.rrsets.has(T.A) && !t?.rrsets.has(T.AAAA))
        problems.push(
          `${file}: delegation ${keyToText(cut)} names ${keyToText(target)} below the cut but has no glue A/AAAA for it`,
        );
    }
  }
  if (problems.length > 0) throw new ZonePolicyError(problems);
  const soaSet = soa as RRset;
  const serial = soaSerial(soaSet.rdatas[0] as Uint8Array);
  const types = new Set<number>();
  for (const n of nodes.values()) for (const t of n.rrsets.keys()) types.add(t);
  const denial = buildDenial(apex as ZoneNode, nodes.values());
  const digest = zoneDigest(nodes);
  return { origin, key, file, nodes, soa: soaSet, serial, cuts, recordCount: count, digest, types, denial };
}

/** The content of a zone, independent of the order of its file: names, types and RDATA sorted. */
export function zoneDigest(nodes: ReadonlyMap<string, ZoneNode>): string {
  const h = createHash('sha256');
  const word = Buffer.alloc(10);
  for (const key of [...nodes.keys()].sort()) {
    const node = nodes.get(key) as ZoneNode;
    h.update(key);
    for (const t of [...node.rrsets.keys()].sort((a, b) => a - b)) {
      const s = node.rrsets.get(t) as RRset;
      word.writeUInt16BE(s.type, 0);
      word.writeUInt16BE(s.class, 2);
      word.writeUInt32BE(s.ttl, 4);
      word.writeUInt16BE(s.rdatas.length, 8);
      h.update(word);
      for (const rd of [...s.rdatas].sort((a, b) => Buffer.compare(a, b))) {
        word.writeUInt16BE(rd.length, 0);
        h.update(word.subarray(0, 2));
        h.update(rd);
      }
    }
  }
  return h.digest('hex');
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
