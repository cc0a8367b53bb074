// A node's answers compiled on first use and kept in a bounded cache: a zone of a million names
// costs nothing per name at load, and a name asked again is one Map lookup, as when every answer
// was compiled up front.
//
//   HotCache: two generations of at most `max` entries each
//     get(k): young → hit;  old → moved to young;  else miss
//     set(k): into young; a full young becomes old (the previous old is dropped whole)
//   so at most 2 × max entries are held, and an entry asked for at least once per `max` new
//   entries is never dropped: an LRU's behaviour for a Map's cost per hit.
//
//   NodeAnswers of a node: slot → answer, filled one slot at a time
//     slot = qtype                 a type the node holds, ANY, DS at a cut, A/AAAA at a CNAME
//            FALLBACK              every other type (absent: the same NODATA whatever it is)
//            DO_KEY + qtype, DO_FALLBACK   the DO=1 answers of a signed zone (dnssec.ts)
//     a CNAME asked for another type has no slot: its chain depends on the type (per name).

import { T } from '../wire/index.js';
import type { ZoneAnswer } from './store.js';
import { DO_FALLBACK, DO_KEY } from './dnssec.js';
import { ABSENT_TYPE } from './lookup.js';
import type { Zone, ZoneNode } from './zone.js';

/** A bounded map whose hits cost one Map lookup (see above). */
export class HotCache<K, V> {
  readonly max: number;
  #young = new Map<K, V>();
  #old = new Map<K, V>();

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`HotCache: max must be a positive integer, got ${max}`);
    this.max = max;
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  get(key: K): V | undefined {
    const hit = this.#young.get(key);
    if (hit !== undefined) return hit;
    const old = this.#old.get(key);
    if (old !== undefined) {
      this.#old.delete(key);
      this.set(key, old);
    }
    return old;
  }

  set(key: K, value: V): void {
    if (this.#young.size >= this.max) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }
}

/** The slot of the answer for every type a node does not hold. */
const FALLBACK = -3;

/** One node's answers, compiled as they are asked for. */
export class NodeAnswers {
  readonly node: ZoneNode;
  readonly #types: ReadonlySet<number>;
  readonly #alias: boolean;
  readonly #signed: boolean;
  readonly #byType = new Map<number, ZoneAnswer>();

  constructor(zone: Zone, node: ZoneNode) {
    this.node = node;
    const types = new Set<number>(node.rrsets.keys());
    types.add(T.ANY);
    if (zone.cuts.has(node.key)) types.add(T.DS);
    this.#alias = node.rrsets.has(T.CNAME);
    // A CNAME's answer depends on the type asked: the common ones are kept, others go per name.
    if (this.#alias) for (const t of [T.A, T.AAAA]) types.add(t);
    this.#types = types;
    this.#signed = zone.denial !== null;
  }

  /**
   * The answer for `qtype` (`dnssec`: the query's DO bit), compiled by `compile(type, dnssec)` the
   * first time its slot is asked for; null when the node has no answer of its own for it.
   */
  answer(qtype: number, dnssec: boolean, compile: (type: number, dnssec: boolean) => ZoneAnswer): ZoneAnswer | null {
    const held = this.#types.has(qtype);
    if (!held && this.#alias) return null;
    const signed = dnssec && this.#signed;
    const slot = held ? (signed ? qtype + DO_KEY : qtype) : signed ? DO_FALLBACK : FALLBACK;
    let a = this.#byType.get(slot);
    if (a === undefined) {
      a = compile(held ? qtype : ABSENT_TYPE, signed);
      this.#byType.set(slot, a);
    }
    return a;
  }
}
