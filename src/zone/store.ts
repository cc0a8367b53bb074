// The set of loaded zones and their answers, compiled to wire at load time. A store is immutable:
// a reload builds a new one and swaps it in whole, so a bad file never leaves a half-loaded state.
//
//   ZoneStore
//   ├─ zones:    origin key → Zone (nodes → RRsets)
//   ├─ compiled: owner key  → { byType: qtype → Answer, fallback: Answer }   (every node, at load;
//   │                         a signed zone's nodes also their DO=1 answers: dnssec.ts)
//   ├─ templates: encloser/cut node → qtype → template   (NXDOMAIN, wildcard, below a cut: synth.ts;
//   │                         DO=1 in a signed zone: also per covering NSEC/NSEC3, in an LRU)
//   └─ synth:    LRU "qtype|key" → Answer   (DNAME, a template's label collision, rare CNAME types)

import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { EdgeError, ErrorCode, errorMessage } from '../core/index.js';
import { FLAG_AA, T, absoluteName, keyToText, keyToWire, nameKey, parentKey } from '../wire/index.js';
import type { Sections } from '../wire/index.js';
import type { Resolution, ZoneIndex } from './lookup.js';
import { ABSENT_TYPE, resolve } from './lookup.js';
import { parseZoneFile } from './parse.js';
import { SynthTemplates, synthCounts, writeResolution } from './synth.js';
import type { BuiltZone, Zone } from './zone.js';
import { buildZone } from './zone.js';
import { DO_FALLBACK, DO_KEY, HASHED, pickAnswer } from './dnssec.js';
import type { ZoneImage } from './image.js';
import { encodeImage } from './image.js';

/** A response body from the zones: rcode, header flags (AA) and encoded sections. */
export interface ZoneAnswer {
  rcode: number;
  flags: number;
  sections: Sections;
}

/** Where the answers compiled at load are found: a node's answer for a type; null when the node
 * has none for it (a CNAME asked an uncommon type: resolved per name); undefined: no such node. */
export interface CompiledAnswers {
  find(key: string, qtype: number, dnssec: boolean): ZoneAnswer | null | undefined;
}

/** Compiled answers held in a Map, as a store compiled in place has them. */
class MapAnswers implements CompiledAnswers {
  readonly byKey = new Map<string, NodeAnswers>();

  find(key: string, qtype: number, dnssec: boolean): ZoneAnswer | null | undefined {
    const node = this.byKey.get(key);
    return node && pickAnswer(node, qtype, dnssec);
  }
}

export interface NodeAnswers {
  /** By type; in a signed zone also the DO=1 answers, by type + DO_KEY and DO_FALLBACK (dnssec.ts). */
  byType: Map<number, ZoneAnswer>;
  /** The answer for every other type; absent at a CNAME, whose chain depends on the type. */
  fallback: ZoneAnswer | undefined;
}

export interface ZoneSpec {
  file: string;
  /** Origin in presentation form, e.g. "example.test." */
  origin: string;
}

export interface ZoneInfo {
  origin: string;
  file: string;
  serial: number;
  records: number;
  loadedAt: number;
  /** sha256 of the zone's content (see zoneDigest). */
  digest: string;
}

const SYNTH_CACHE_ENTRIES = 10_000;
/** Errors whose problems already name the zone file. */
const FILE_ERRORS = new Set<string>([ErrorCode.ZONE_PARSE, ErrorCode.ZONE_POLICY, ErrorCode.ZONE_READ]);
const ROOT_KEY = '\0';
/** Label offsets of the name being looked up (a name has at most 127 labels). */
const LABEL_STARTS = new Int32Array(128);

export class ZoneStore implements ZoneIndex {
  readonly #zones: Map<string, Zone>;
  readonly #compiled: CompiledAnswers;
  /** The zones as built, when compiled here (what an image is encoded from). */
  readonly #built: { zones: readonly BuiltZone[]; answers: MapAnswers } | null = null;
  readonly #synth = new LRUCache<string, ZoneAnswer>({ max: SYNTH_CACHE_ENTRIES });
  /** Built on the first name that is not a node, so that loading costs what it did. */
  #templates: SynthTemplates | undefined;
  /** Every origin and every ancestor of one (keys), so that a name's walk stops at the first
   * suffix that leads to no zone: a forwarded name costs one or two lookups, not one per label. */
  readonly #ancestors = new Set<string>();
  /** Each zone's origin in presentation form, by key (the per-zone metrics' label). */
  readonly #names = new Map<string, string>();
  readonly #zoneOfAnswer = new WeakMap<ZoneAnswer, string | null>();
  /** Some zone is signed: a DO=1 answer made per name is not the plain one (kept apart in the LRU). */
  readonly #signed: boolean;
  readonly loadedAt: number;

  /** Zones just built: every node's answers are compiled here. */
  constructor(zones: readonly BuiltZone[], loadedAt?: number);
  /** Zones from an image, whose answers come compiled. */
  constructor(zones: readonly Zone[], loadedAt: number, compiled: CompiledAnswers);
  constructor(zones: readonly Zone[], loadedAt = Date.now(), compiled?: CompiledAnswers) {
    this.#zones = new Map(zones.map((z) => [z.key, z]));
    for (const z of zones) {
      this.#names.set(z.key, keyToText(z.key));
      for (let k: string | undefined = z.key; k !== undefined; k = parentKey(k)) this.#ancestors.add(k);
    }
    this.#signed = zones.some((z) => z.denial !== null);
    this.loadedAt = loadedAt;
    if (compiled) this.#compiled = compiled;
    else {
      const built = { zones: zones as readonly BuiltZone[], answers: new MapAnswers() };
      this.#compiled = built.answers;
      this.#built = built;
      for (const zone of built.zones) this.#compileZone(zone, built.answers.byKey);
    }
  }

  get size(): number {
    return this.#zones.size;
  }

  findZone(key: string): Zone | undefined {
    if (this.#zones.size === 0) return undefined;
    // Label starts, then suffixes from the root down while they lead to a zone; the last zone met
    // is the longest match.
    let n = 0;
    for (let i = 0; i < key.length && key.charCodeAt(i) !== 0 && n < LABEL_STARTS.length; i += key.charCodeAt(i) + 1)
      LABEL_STARTS[n++] = i;
    let found = this.#zones.get(ROOT_KEY);
    for (let j = n - 1; j >= 0; j--) {
      const start = LABEL_STARTS[j] as number;
      const suffix = start === 0 ? key : key.slice(start);
      if (!this.#ancestors.has(suffix)) break;
      found = this.#zones.get(suffix) ?? found;
    }
    return found;
  }

  /**
   * The origin (presentation form) of the zone whose answer `answer` is, for the name `key` it was
   * given for. Answers are shared by every name they serve (a node's, a template's), and each
   * belongs to one zone: found once per answer, then one WeakMap lookup.
   */
  zoneOf(answer: ZoneAnswer, key: string): string | null {
    let name = this.#zoneOfAnswer.get(answer);
    if (name === undefined) {
      const zone = this.findZone(key);
      name = zone ? (this.#names.get(zone.key) ?? null) : null;
      this.#zoneOfAnswer.set(answer, name);
    }
    return name;
  }

  /**
   * The answer for a question, or undefined when the name is under no local zone. `dnssec`: the
   * query's DO bit (a signed zone's answers then carry their RRSIGs and proofs).
   */
  answer(key: string, qtype: number, dnssec = false): ZoneAnswer | undefined {
    const pre = this.#compiled.find(key, qtype, dnssec);
    if (pre) return pre;
    if (pre === undefined) {
      const zone = this.findZone(key);
      if (!zone) return undefined; // not ours: forwarded
      const templates = (this.#templates ??= new SynthTemplates(this, this.#zones.values()));
      const t = templates.answer(zone, key, qtype, dnssec);
      if (t) {
        synthCounts.template++;
        return t;
      }
    }
    return this.answerPerName(key, qtype, dnssec && this.#signed);
  }

  /**
   * The answer resolved and compiled for this very name (kept in an LRU): what every name that is
   * not a node got before templates, their fallback, and the reference the tests compare them to.
   */
  answerPerName(key: string, qtype: number, dnssec = false): ZoneAnswer | undefined {
    synthCounts.perName++;
    const ck = `${dnssec ? 'do|' : ''}${qtype}|${key}`;
    const hit = this.#synth.get(ck);
    if (hit) return hit;
    const qname = keyToWire(key);
    const res = resolve(this, qname, qtype, dnssec);
    if (!res) return undefined;
    const answer = compile(res, qname);
    this.#synth.set(ck, answer);
    return answer;
  }

  zones(): ZoneInfo[] {
    return [...this.#zones.values()].map((z) => ({
      origin: keyToText(z.key),
      file: z.file,
      serial: z.serial,
      records: z.recordCount,
      loadedAt: this.loadedAt,
      digest: z.digest,
    }));
  }

  /** The zones and their compiled answers as bytes, for another thread or process to decode. */
  image(): ZoneImage {
    const built = this.#built;
    if (!built) throw new Error('a store opened from an image has no image of its own to give');
    return encodeImage(
      built.zones,
      this.zones(),
      (zone, key) => (this.findZone(key) === zone ? built.answers.byKey.get(key) : undefined),
      this.loadedAt,
    );
  }

  #compileZone(zone: BuiltZone, into: Map<string, NodeAnswers>): void {
    const signed = zone.denial !== null;
    for (const node of zone.nodes.values()) {
      // A node under a child zone that is also loaded is answered from the child; NSEC3 nodes are
      // no names (dnssec.ts).
      if (node.key.startsWith(HASHED) || this.findZone(node.key) !== zone) continue;
      const qname = node.name;
      const isAlias = node.rrsets.has(T.CNAME);
      const types = new Set<number>([...node.rrsets.keys(), T.ANY]);
      if (zone.cuts.has(node.key)) types.add(T.DS);
      // A CNAME's answer depends on the type asked: compile the common ones now, others on use.
      if (isAlias) for (const t of [T.A, T.AAAA]) types.add(t);
      const byType = new Map<number, ZoneAnswer>();
      const compileFor = (t: number, dnssec: boolean): ZoneAnswer =>
        compile(resolve(this, qname, t, dnssec) as Resolution, qname);
      for (const t of types) {
        byType.set(t, compileFor(t, false));
        if (signed) byType.set(t + DO_KEY, compileFor(t, true));
      }
      const fallback = isAlias ? undefined : compileFor(ABSENT_TYPE, false);
      if (signed && !isAlias) byType.set(DO_FALLBACK, compileFor(ABSENT_TYPE, true));
      into.set(node.key, { byType, fallback });
    }
  }
}

/** Encode a resolution as response sections for `qname`. */
export function compile(res: Resolution, qname: Uint8Array): ZoneAnswer {
  return { rcode: res.rcode, flags: res.aa ? FLAG_AA : 0, sections: writeResolution(res, qname, null).finish() };
}

/** Load and check zones; throws one error listing every failing file. */
export function loadZones(specs: readonly ZoneSpec[], now = Date.now()): ZoneStore {
  const zones: BuiltZone[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const spec of specs) {
    try {
      const origin = absoluteName(spec.origin);
      if (seen.has(nameKey(origin)))
        throw new EdgeError(
          ErrorCode.ZONE_POLICY,
          `${spec.file}: zone ${spec.origin} is already loaded from another file`,
        );
      seen.add(nameKey(origin));
      zones.push(buildZone(parseZoneFile(spec.file, origin), origin, spec.file));
    } catch (e) {
      // Zone errors name their file and line; anything else (a bad origin) gets the file here.
      if (e instanceof EdgeError && FILE_ERRORS.has(e.code)) problems.push(...e.problems);
      else problems.push(`${spec.file}: ${errorMessage(e)}`);
    }
  }
  if (problems.length > 0) throw new EdgeError(ErrorCode.ZONE_PARSE, problems.join('\n'), problems);
  return new ZoneStore(zones, now);
}

/** Every `*.zone` file of a folder, the origin being the file name without `.zone`. */
export function zoneSpecsFromDir(dir: string): ZoneSpec[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new EdgeError(ErrorCode.ZONE_READ, `cannot read zone folder ${dir}: ${(e as Error).message}`);
  }
  return names
    .filter((n) => n.endsWith('.zone'))
    .sort()
    .map((n) => ({ file: join(dir, n), origin: `${basename(n, '.zone')}.` }));
}
