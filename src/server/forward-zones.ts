// Forward zones: names under a configured zone go to that zone's upstreams (the longest suffix
// wins), and are allowed to the clients of its own recursion ACL when it has one; other names go
// to the default upstreams under recursion.allow. Local zones are answered before this is asked.
//
//   key "\x01a\x04corp\x07example\x00"   zones: corp.example. · a.corp.example.
//        ^ a.corp.example. (longest) ─▶ found     ^ corp.example. (only when the longer is not a zone)
//
// The suffixes of a name key at its label boundaries are the keys of its ancestors (wire/name.ts):
// a lookup walks the boundaries from the longest suffix down and looks up only the lengths some
// zone has, so a name under no forward zone costs a few length checks and no string.

import type { CidrSet } from '../core/index.js';
import type { Upstreams } from './forward.js';

export interface ForwardZone {
  /** The zone's name key (lower-case wire form, wire/name.ts). */
  key: string;
  /** The zone as configured ("corp.example."), for logs and /status. */
  zone: string;
  /** Its upstreams; null: none left (every one was this node itself): its names are REFUSED. */
  upstreams: Upstreams | null;
  /** Who may ask for names under it; null: recursion.allow. */
  allow: CidrSet | null;
}

export class ForwardZones {
  readonly #byKey: Map<string, ForwardZone>;
  /** The key lengths of the zones: a suffix of another length is no zone. */
  readonly #lengths: Set<number>;
  readonly #shortest: number;

  constructor(zones: readonly ForwardZone[]) {
    this.#byKey = new Map(zones.map((z) => [z.key, z]));
    this.#lengths = new Set(zones.map((z) => z.key.length));
    this.#shortest = Math.min(...this.#lengths);
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** The forward zone of a name key: the longest zone it is at or under; null when none. */
  find(key: string): ForwardZone | null {
    const n = key.length;
    // Each step skips one label (its length byte and its bytes) until the suffix is shorter than any zone.
    for (let i = 0; n - i >= this.#shortest; i += key.charCodeAt(i) + 1) {
      if (!this.#lengths.has(n - i)) continue;
      const z = this.#byKey.get(i === 0 ? key : key.slice(i));
      if (z) return z;
    }
    return null;
  }
}
