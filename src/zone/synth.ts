// Answers for names that are not nodes of a hosted zone (NXDOMAIN, wildcard synthesis, referrals
// below a cut) served from templates compiled once per closest encloser and type, so that a flood of
// random names costs a copy and a few pointer patches per query instead of a lookup and a compile.
//
//   name Q = P + X, X the closest encloser (or the cut) met walking down from the apex
//
//   Map<key of X, Below>               one per encloser/cut met, created on first use
//   Below.byType: qtype → Template | null      (null: this X and type always go per name)
//     qtype is folded to ABSENT_TYPE unless some loaded RRset has it (or it is ANY, DS, CNAME,
//     RRSIG, NSEC): the answer cannot differ, so the map holds at most nodes × types in the zones.
//   Template = { answer: sections compiled for the stand-in X (or *.X) + the pointers to shift,
//                labels: the labels directly above X that names in the sections use }
//
// A template gives the per-name bytes unless a name in the sections is also a suffix of Q longer
// than X (the per-name writer would point into Q's prefix): that happens exactly when Q's label
// directly above X is one of `labels`, and then the per-name path answers.
//
// With DO=1 in a signed zone the proofs depend on Q too, but only through one record: the NSEC
// that covers Q, or the NSEC3 that covers the hash of Q's next closer name (dnssec.ts). So signed
// templates are keyed by X, type and that record P, compiled from the first Q that meets them
// (checked against Q's own per-name bytes), and kept in an LRU: X × P × type can be as many as
// the zone has names.

import {
  FLAG_AA,
  HEADER_LEN,
  NAME_LAYOUTS,
  Section,
  SectionWriter,
  T,
  keyToWire,
  nameKey,
  nameLength,
  shiftPointers,
} from '../wire/index.js';
import { LRUCache } from 'lru-cache';
import type { PointerShift, WireRecord } from '../wire/index.js';
import { covering, nextCloser } from './dnssec.js';
import type { Resolution, ZoneIndex } from './lookup.js';
import { ABSENT_TYPE, resolve } from './lookup.js';
import type { ZoneAnswer } from './store.js';
import type { RRset, Zone, ZoneNode } from './zone.js';

/** How zone answers for names that are not nodes were made, since the process started. */
export const synthCounts = { template: 0, perName: 0 };

interface Template {
  answer: ZoneAnswer;
  /** Keys of the labels directly above X used by names in the sections (e.g. "\x03ns1"). */
  labels: ReadonlySet<string>;
}

interface Below {
  /** The wildcard directly below X (RFC 4592 §3.3.1), when there is one. */
  star: ZoneNode | undefined;
  byType: Map<number, Template | null>;
}

const STAR = '\x01*';
/** A signed template that cannot be made: the names of its X, P and type go per name. */
const NONE = 'none';
/** Labels of the stand-in name that replaces Q when a template is compiled and checked. */
const PROBES = ['\x01\x00', '\x01\x01', '\x02\x00\x00'];
/** Types whose absence from every loaded RRset still changes an answer (lookup.ts tests them). */
const QUERY_DEPENDENT = [T.ANY, T.DS, T.CNAME, T.RRSIG, T.NSEC];
/** Label starts of Q above the zone's apex (a name has at most 127 labels). */
const STARTS = new Int32Array(128);
/** Signed templates kept (DO=1 answers of a signed zone, per X, P and type). */
const SIGNED_TEMPLATES = 20_000;

export class SynthTemplates {
  readonly #index: ZoneIndex;
  readonly #types = new Set<number>(QUERY_DEPENDENT);
  /** Some zone is signed: DO=1 answers have templates of their own. */
  readonly #signed: boolean;
  /** By the key of X: a zone from an image decodes its nodes on demand (not one object per key). */
  readonly #below = new Map<string, Below>();
  /** "type|key of X|key of P" → template (null: per name). */
  readonly #signedTemplates = new LRUCache<string, Template | typeof NONE>({ max: SIGNED_TEMPLATES });

  constructor(index: ZoneIndex, zones: Iterable<Zone>) {
    this.#index = index;
    let signed = false;
    for (const z of zones) {
      for (const t of z.types) this.#types.add(t);
      signed ||= z.denial !== null;
    }
    this.#signed = signed;
  }

  /**
   * The answer for `key`, which is under `zone` (its longest match) but is no node of it; undefined
   * when only the per-name path gives today's bytes (DNAME, a label collision, an odd template).
   * `dnssec`: the DO=1 answer, with its proofs when the zone is signed.
   */
  answer(zone: Zone, key: string, qtype: number, dnssec = false): ZoneAnswer | undefined {
    const apex = zone.nodes.get(zone.key);
    if (!apex || key.length <= zone.key.length || apex.rrsets.has(T.DNAME)) return undefined;
    let n = 0;
    for (let i = 0; i < key.length - zone.key.length && n < STARTS.length; i += key.charCodeAt(i) + 1) STARTS[n++] = i;
    // The walk of lookup.ts lookupInZone, stopping where the answer stops depending on Q.
    let encloser = apex;
    for (let j = n - 1; j >= 0; j--) {
      const at = STARTS[j] as number;
      const k = key.slice(at);
      const node = zone.nodes.get(k);
      if (!node) return this.#serve(zone, encloser, false, key, at, qtype, dnssec);
      if (at === 0) return undefined; // a node after all: not ours to answer
      // RFC 1034 §4.3.2 step 3b: below a cut, the referral (DS at the cut itself is exact).
      if (zone.cuts.has(k)) return this.#serve(zone, node, true, key, STARTS[j - 1] as number, qtype, dnssec);
      // RFC 6672 §3.1: the synthesized CNAME's target depends on Q: per name.
      if (node.rrsets.has(T.DNAME)) return undefined;
      encloser = node;
    }
    return undefined;
  }

  /** `labelAt`: where Q's label directly above X starts in `key`. */
  #serve(
    zone: Zone,
    x: ZoneNode,
    cut: boolean,
    key: string,
    labelAt: number,
    qtype: number,
    dnssec: boolean,
  ): ZoneAnswer | undefined {
    let below = this.#below.get(x.key);
    if (!below) {
      below = { star: cut ? undefined : zone.nodes.get(STAR + x.key), byType: new Map() };
      this.#below.set(x.key, below);
    }
    // NXDOMAIN and referrals do not depend on the type; wildcard answers only on the types held.
    const t = below.star && this.#types.has(qtype) ? qtype : ABSENT_TYPE;
    let tpl: Template | null | undefined;
    if (dnssec && this.#signed) {
      // A referral's proof is the cut's own (its DS, NSEC or NSEC3); below X, the record covering Q.
      // (An unsigned zone's answer may still lead into a signed one: a CNAME.)
      const d = zone.denial;
      const p = cut || !d ? undefined : covering(d, zone.nodes, zone.key, d.nsec3 ? nextCloser(key, x.key) : key);
      const ck = `${t}|${x.key}|${p?.key ?? ''}`;
      const kept = this.#signedTemplates.get(ck);
      if (kept === undefined) {
        const q = keyToWire(key);
        const res = resolve(this.#index, q, t, true);
        // Compiled from Q itself: when Q's own label is in the sections, Q goes per name, and the
        // next name under X tries again.
        tpl = res ? this.#compile(res, q, labelOf(key, labelAt), x, below.star !== undefined) : null;
        if (tpl === undefined) return undefined;
        this.#signedTemplates.set(ck, tpl ?? NONE);
      } else tpl = kept === NONE ? null : kept;
    } else {
      tpl = below.byType.get(t);
      if (tpl === undefined) {
        tpl = this.#probe(zone, x, below.star !== undefined, t);
        below.byType.set(t, tpl);
      }
    }
    if (!tpl) return undefined;
    if (tpl.labels.size > 0 && tpl.labels.has(labelOf(key, labelAt))) return undefined;
    return tpl.answer;
  }

  /** The template of a stand-in name below X. */
  #probe(zone: Zone, x: ZoneNode, wild: boolean, qtype: number): Template | null {
    const probeLabel = PROBES.find((p) => !zone.nodes.has(p + x.key));
    if (probeLabel === undefined) return null;
    const probe = keyToWire(probeLabel + x.key);
    const res = resolve(this.#index, probe, qtype);
    return (res && this.#compile(res, probe, probeLabel, x, wild)) ?? null;
  }

  /**
   * Compile `res`, resolved for `resolved` (whose label directly above X is `label`), as a template
   * for every name below X, then check it against the per-name bytes of `resolved`. Undefined when
   * a name in the sections uses `label` (the stand-in would not stand for `resolved`).
   */
  #compile(
    res: Resolution,
    resolved: Uint8Array,
    label: string,
    x: ZoneNode,
    wild: boolean,
  ): Template | null | undefined {
    const labels = labelsAbove(res, resolved, x.key);
    if (labels.has(label)) return undefined;
    // A section name at or below *.X would compress against the stand-in *.X, which Q is not.
    if (wild && labels.has(STAR)) return null;
    // The stand-in: X itself, or *.X whose "*" the synthesized owners (= Q) point at whole.
    const stand = wild ? keyToWire(STAR + x.key) : x.name;
    const w = writeResolution(res, stand, resolved);
    const plain = w.finish();
    // Shifted pointers stay below 0x3fff and names stay where the writer may point (RFC 1035 §4.1.4).
    if (HEADER_LEN + 255 + 4 + plain.bytes.length > 0x3fff) return null;
    const keep = HEADER_LEN + (wild ? STAR.length : 0);
    const b = plain.bytes;
    const at = Uint16Array.from(
      w.pointers().filter((p) => ((((b[p] as number) & 0x3f) << 8) | (b[p + 1] as number)) >= keep),
    );
    const shift: PointerShift = { at, qnameLen: stand.length };
    const answer: ZoneAnswer = { rcode: res.rcode, flags: res.aa ? FLAG_AA : 0, sections: { ...plain, shift } };
    // The name resolved is a name like any other: its per-name bytes must be the template's, shifted.
    const reference = writeResolution(res, resolved, null).finish();
    const mine = Uint8Array.from(plain.bytes);
    shiftPointers(mine, 0, mine.length, shift, resolved.length - stand.length);
    if (Buffer.compare(mine, reference.bytes) !== 0) return null;
    return { answer, labels };
  }
}

/**
 * Write a resolution's RRsets into sections for the question `qname`. With `from`, records owned by
 * `from` (the name that was resolved, in synthesized RRsets) are written as owned by `qname`.
 */
export function writeResolution(res: Resolution, qname: Uint8Array, from: Uint8Array | null): SectionWriter {
  const w = new SectionWriter(qname);
  const one = (s: RRset): WireRecord[] => {
    const owner = s.owner === from ? qname : s.owner;
    return s.rdatas.map((rdata) => ({ owner, type: s.type, class: s.class, ttl: s.ttl, rdata }));
  };
  // An RRset and its RRSIGs go whole or not at all (RFC 4035 §3.1.1): one cut after both.
  const records = (s: RRset): WireRecord[] => {
    const sig = res.sigs.get(s);
    return sig ? [...one(s), ...one(sig)] : one(s);
  };
  for (const s of res.answer) w.addRRset(Section.ANSWER, records(s), true);
  for (const s of res.authority) w.addRRset(Section.AUTHORITY, records(s), true);
  for (const s of res.additional) w.addRRset(Section.ADDITIONAL, records(s), res.requiredAdditional.has(s));
  return w;
}

/** The label of `key` that starts at `at`, as a key ("\x03www"). */
function labelOf(key: string, at: number): string {
  return key.slice(at, at + key.charCodeAt(at) + 1);
}

/** Keys of the labels directly above `xKey` in every name the sections hold (owners, RDATA names). */
function labelsAbove(res: Resolution, resolved: Uint8Array, xKey: string): Set<string> {
  const out = new Set<string>();
  const add = (wire: Uint8Array, at: number): void => {
    const key = nameKey(wire, at, at + nameLength(wire, at));
    if (key.length <= xKey.length || !key.endsWith(xKey)) return;
    // The label that ends where X starts, if X starts at a label boundary.
    for (let i = 0; i < key.length - xKey.length; i += key.charCodeAt(i) + 1) {
      if (i + key.charCodeAt(i) + 1 === key.length - xKey.length) out.add(key.slice(i, key.length - xKey.length));
    }
  };
  for (const s of [...res.answer, ...res.authority, ...res.additional, ...res.sigs.values()]) {
    // Synthesized owners are Q itself: written as a pointer to the question, whatever Q is.
    if (s.owner !== resolved) add(s.owner, 0);
    const layout = NAME_LAYOUTS[s.type];
    if (layout === undefined) continue;
    for (const rd of s.rdatas) {
      let i = 0;
      for (const f of layout) {
        if (f === 'n') {
          add(rd, i);
          i += nameLength(rd, i);
        } else if (f === 'r') break;
        else i += Number(f);
      }
    }
  }
  return out;
}
