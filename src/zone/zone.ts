// A loaded zone: records grouped into nodes and RRsets, with the zone policy a loading server
// applies (RFC 1034 §4.2.1, RFC 2181 §10.1, RFC 6672 §2.4). A zone that fails is rejected whole.

import { statSync } from 'node:fs';
import { EdgeError, ErrorCode } from '../core/index.js';
import type { ZoneRecord } from './parse.js';
import { parseZoneFileEach } from './parse.js';
import type { Denial } from './dnssec.js';
import { BuildProblems, ZoneBuilder } from './build.js';

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

/** A zone just built from records, as image bytes (build.ts): its nodes can also be walked. */
export interface BuiltZone extends Zone {
  readonly nodeCount: number;
  /** Every node in the zone's order: the names as their records first came, NSEC3 nodes, then
   * empty non-terminals. */
  values(): IterableIterator<ZoneNode>;
  /** The zone's part of an image: data, table and chain (image.ts). */
  readonly parts: readonly [Uint8Array, Uint8Array, Uint8Array];
}

/** Group records into a zone and apply the zone policy; throws ZonePolicyError listing every problem. */
export function buildZone(records: Iterable<ZoneRecord>, origin: Uint8Array, file: string): BuiltZone {
  const b = new ZoneBuilder(origin, file);
  for (const r of records) b.add(r);
  return finishZone(b);
}

/** Build a zone from its file, one record at a time (no array of every record). */
export function buildZoneFromFile(file: string, origin: Uint8Array): BuiltZone {
  const b = new ZoneBuilder(origin, file, fileSize(file));
  parseZoneFileEach(file, origin, (r) => b.add(r));
  return finishZone(b);
}

/** The size of a file, or 0 when it cannot be read (the parser reports that). */
function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function finishZone(b: ZoneBuilder): BuiltZone {
  try {
    return b.finish();
  } catch (e) {
    if (e instanceof BuildProblems) throw new ZonePolicyError(e.problems);
    throw e;
  }
}
