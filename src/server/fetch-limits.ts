// Fetch limits (RFC 9520 §3.3; BIND's recursive-clients and fetches-per-zone, CoreDNS forward's
// max_concurrent): caps on upstream resolutions in flight, in total and per zone of the name
// asked, so that a flood of unique names (water torture) under one zone cannot take every
// upstream slot, nor pile up queries behind a slow or dead authority.
//
// The zone of a name is the longest suffix that is a zone cut we have seen in an answer (an SOA
// or NS owner), but never shorter than the name's last two labels:
//
//   name a.b.victim.example.org   cuts seen {org, example.org}          → example.org
//   name a.b.victim.example.org   cuts seen {victim.example.org}        → victim.example.org
//   name x.bbc.co.uk              no cut seen                           → co.uk
//
// The two labels approximate a registrable domain without a public-suffix list: under a
// multi-label suffix (co.uk) they lump registrants together until an answer teaches the real
// cut — a water torture's own NXDOMAIN answers carry the victim's SOA, so the flood teaches its
// cut within its first answers. Lumping errs on the safe side: a zone split too finely (one
// "zone" per name) would make the per-zone cap no cap at all.

import { LRUCache } from 'lru-cache';
import type { Message, WireRecord } from '../wire/index.js';
import { T, nameKey } from '../wire/index.js';

/** Which cap turned a resolution away. */
export type FetchLimit = 'in_flight' | 'per_zone';

/** Zone cuts seen in answers; bounded (least recently used forgotten first). */
export class ZoneCuts {
  readonly #cuts: LRUCache<string, true>;

  constructor(max: number) {
    this.#cuts = new LRUCache<string, true>({ max });
  }

  get size(): number {
    return this.#cuts.size;
  }

  /** Learn the cuts an answer to `qkey` shows: SOA and NS owners at or above the name asked. */
  learn(qkey: string, msg: Message): void {
    this.#learnFrom(qkey, msg.authority);
    this.#learnFrom(qkey, msg.answer);
  }

  /** The zone `qkey` (a lower-case wire name key) is counted under. */
  zoneOf(qkey: string): string {
    // Label starts, from the whole name to the last label before the root.
    const starts = labelStarts(qkey);
    const floor = starts.length >= 2 ? (starts[starts.length - 2] as number) : 0;
    for (const i of starts) {
      if (i >= floor) break;
      const suffix = qkey.slice(i);
      if (this.#cuts.get(suffix)) return suffix;
    }
    return qkey.slice(floor);
  }

  #learnFrom(qkey: string, records: readonly WireRecord[]): void {
    for (const r of records) {
      if (r.type !== T.SOA && r.type !== T.NS) continue;
      const owner = nameKey(r.owner);
      // Only cuts of the name asked (not whatever else an answer carries), and only cuts deeper
      // than two labels: those never change a name's zone.
      if (isSuffixKey(qkey, owner) && labelStarts(owner).length > 2) this.#cuts.set(owner, true);
    }
  }
}

/** The in-flight counts, in total and per zone; a zone's entry exists while it has resolutions out. */
export class FetchLimits {
  readonly #max: number;
  readonly #perZone: number;
  readonly #zones = new Map<string, number>();
  #inFlight = 0;

  constructor(inFlight: number, perZone: number) {
    this.#max = inFlight;
    this.#perZone = perZone;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Resolutions in flight for `zone`. */
  inZone(zone: string): number {
    return this.#zones.get(zone) ?? 0;
  }

  /** Take a slot for a resolution under `zone`: null when taken, else the cap in the way. */
  acquire(zone: string): FetchLimit | null {
    if (this.#inFlight >= this.#max) return 'in_flight';
    const n = this.#zones.get(zone) ?? 0;
    if (n >= this.#perZone) return 'per_zone';
    this.#zones.set(zone, n + 1);
    this.#inFlight++;
    return null;
  }

  /** Give back the slot `acquire` took. */
  release(zone: string): void {
    const n = this.#zones.get(zone) ?? 0;
    if (n <= 1) this.#zones.delete(zone);
    else this.#zones.set(zone, n - 1);
    this.#inFlight--;
  }
}

/** Offsets where the labels of a wire name key start (the root label not included). */
function labelStarts(key: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < key.length && key.charCodeAt(i) !== 0; i += key.charCodeAt(i) + 1) out.push(i);
  return out;
}

/** Is `suffix` the name `key` or one of its ancestors (compared label by label)? */
function isSuffixKey(key: string, suffix: string): boolean {
  if (suffix.length > key.length || !key.endsWith(suffix)) return false;
  const at = key.length - suffix.length;
  // endsWith could match inside a label: the suffix must start where a label starts.
  for (let i = 0; i < key.length; i += key.charCodeAt(i) + 1) {
    if (i === at) return true;
    if (i > at || key.charCodeAt(i) === 0) return false;
  }
  return false;
}
