// The set of loaded zones and their answers, compiled to wire when first asked for. A store is
// immutable: a reload builds a new one and swaps it in whole, so a bad file never leaves a
// half-loaded state.
//
//   ZoneStore
//   ├─ zones:    origin key → Zone (nodes → RRsets)
//   ├─ answers:  owner key  → NodeAnswers: slot → Answer   (compiled on first use, in a HotCache of
//   │                         COMPILED_NODES nodes: answers.ts; a signed zone's DO=1 answers too)
//   ├─ templates: encloser/cut node → qtype → template   (NXDOMAIN, wildcard, below a cut: synth.ts;
//   │                         DO=1 in a signed zone: also per covering NSEC/NSEC3, in an LRU)
//   └─ synth:    LRU "qtype|key" → Answer   (DNAME, a template's label collision, rare CNAME types)

import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { EdgeError, ErrorCode, errorMessage } from '../core/index.js';
import { FLAG_AA, absoluteName, keyToText, keyToWire, nameKey, parentKey } from '../wire/index.js';
import type { Sections } from '../wire/index.js';
import type { Resolution, ZoneIndex } from './lookup.js';
import { resolve } from './lookup.js';
import { SynthTemplates, synthCounts, writeResolution } from './synth.js';
import type { BuiltZone, Zone } from './zone.js';
import { buildZoneFromFile } from './zone.js';
import { HotCache, NodeAnswers } from './answers.js';
import type { ZoneImage } from './image.js';
import { encodeImage } from './image.js';

/** A response body from the zones: rcode, header flags (AA) and encoded sections. */
export interface ZoneAnswer {
  rcode: number;
  flags: number;
  sections: Sections;
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
  /** sha256 of the zone's content (build.ts digestOf). */
  digest: string;
}

const SYNTH_CACHE_ENTRIES = 10_000;
/** Nodes whose compiled answers are kept (per generation of the HotCache: at most twice this). */
export const COMPILED_NODES = 16_384;
/** Errors whose problems already name the zone file. */
const FILE_ERRORS = new Set<string>([ErrorCode.ZONE_PARSE, ErrorCode.ZONE_POLICY, ErrorCode.ZONE_READ]);
const ROOT_KEY = '\0';
/** Label offsets of the name being looked up (a name has at most 127 labels). */
const LABEL_STARTS = new Int32Array(128);

export class ZoneStore implements ZoneIndex {
  readonly #zones: Map<string, Zone>;
  /** Nodes asked for lately, with the answers compiled for them so far. */
  readonly #answers: HotCache<string, NodeAnswers>;
  /** The zones as built here (what an image is encoded from); null when opened from an image. */
  readonly #built: readonly BuiltZone[] | null;
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

  /**
   * `built`: the zones were built here (an image can be encoded from them), not opened from one.
   * `compiledNodes`: how many nodes keep their compiled answers (per generation).
   */
  constructor(zones: readonly BuiltZone[], loadedAt?: number);
  constructor(zones: readonly Zone[], loadedAt: number, built: false, compiledNodes?: number);
  constructor(zones: readonly Zone[], loadedAt = Date.now(), built = true, compiledNodes = COMPILED_NODES) {
    this.#zones = new Map(zones.map((z) => [z.key, z]));
    for (const z of zones) {
      this.#names.set(z.key, keyToText(z.key));
      for (let k: string | undefined = z.key; k !== undefined; k = parentKey(k)) this.#ancestors.add(k);
    }
    this.#signed = zones.some((z) => z.denial !== null);
    this.loadedAt = loadedAt;
    this.#built = built ? (zones as readonly BuiltZone[]) : null;
    this.#answers = new HotCache(compiledNodes);
  }

  get size(): number {
    return this.#zones.size;
  }

  /** Nodes whose compiled answers are kept now (at most twice the bound given). */
  get compiledNodes(): number {
    return this.#answers.size;
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
    const pre = this.#nodeAnswer(key, qtype, dnssec);
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
   * The answer of the node `key` itself: compiled on first use; null when the node has none of its
   * own for the type (a CNAME asked an uncommon type: per name); undefined when `key` is no node
   * of the zone that answers for it (a node under a child zone also loaded is the child's to
   * answer; NSEC3 nodes are no names, dnssec.ts).
   */
  #nodeAnswer(key: string, qtype: number, dnssec: boolean): ZoneAnswer | null | undefined {
    let node = this.#answers.get(key);
    if (node === undefined) {
      const zone = this.findZone(key);
      const found = zone?.nodes.get(key);
      if (!zone || !found) return undefined;
      node = new NodeAnswers(zone, found);
      this.#answers.set(key, node);
    }
    const qname = node.node.name;
    return node.answer(qtype, dnssec, (t, d) => compile(resolve(this, qname, t, d) as Resolution, qname));
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

  /** The zones as bytes, for another thread or process to open. */
  image(): ZoneImage {
    if (!this.#built) throw new Error('a store opened from an image has no image of its own to give');
    return encodeImage(this.#built, this.zones(), this.loadedAt);
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
      zones.push(buildZoneFromFile(spec.file, origin));
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
