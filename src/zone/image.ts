// A loaded zone set as bytes: what a loader thread (or the primary of `workers: N`) hands to the
// processes that answer. The answering side does not decode it into objects: it looks names up in
// hash tables over the bytes, and decodes a node or an answer only when a query needs it (hot
// answers are kept decoded). So a reload costs the answering thread almost nothing, and a zone of
// a million names is a few buffers to the garbage collector, not millions of objects.
//
//   image  = header · per zone: (data, table, chain) · compiled table      (each its own bytes;
//            in a file: u32 length + bytes)
//   header = magic "EDZ3" · loadedAt f64 · zones u16 · per zone: origin · file · serial u32 ·
//            records u32 · digest (32 bytes) · types u16 × u16
//   data   = node records and answers, big-endian:
//            record = keyLen u8 · key · compiled u32 (offset, or NONE) · name u8+… · flags u8 ·
//                     rrsets u16 × (type u16 class u16 ttl u32 rdatas u16 × (len u16 + bytes))
//            compiled = answers u16 × (qtype i32 · answer u32) · fallback u32 (or NONE)
//            answer = rcode u16 · flags u16 · bytes u32+… · an/ns/ar u16 · cuts u16 × (end u32,
//                     an, ns, ar u16, required u8) · ttlOffsets u16 × u32
//   table  = Uint32 slots, open addressing on hashKey(key): record offset + 1, 0 = empty
//   chain  = Uint32 record offsets of a signed zone's NSEC or NSEC3 nodes in canonical order
//            (dnssec.ts); empty for a zone that is not signed
//   compiled table = Uint32 pairs (zone + 1, record offset): every node answered from its own zone
//
// Views handed out are into the image's own buffers, shared with nothing else.

import { EdgeError, ErrorCode } from '../core/index.js';
import type { Cut, Sections } from '../wire/index.js';
import { T, nameFromText, nameKey } from '../wire/index.js';
import type { CompiledAnswers, NodeAnswers, ZoneAnswer, ZoneInfo } from './store.js';
import type { BuiltZone, RRset, Zone, ZoneNode, ZoneNodes } from './zone.js';
import { ChunkReader, ChunkWriter } from './chunks.js';
import type { Denial } from './dnssec.js';
import { nsec3Params, pickAnswer } from './dnssec.js';

const MAGIC = 0x45445a33; // "EDZ3"
const NONE = 0xffffffff;
const FLAG_CUT = 1;
/** Decoded nodes kept (per zone, and for answers) before the cache starts over. */
const DECODED_MAX = 16_384;

/** The zones of an image without their data: what the primary of `workers: N` keeps. */
export interface ImageHeader {
  loadedAt: number;
  zones: ZoneInfo[];
}

export interface ZoneImage {
  header: ImageHeader;
  /** The header chunk, then each zone's data and table, then the compiled table. */
  chunks: Uint8Array[];
}

/** FNV-1a over a name key's character codes (bytes). */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The first empty slot for `key` in a table of `stride` words per slot (linear probing). */
function freeSlot(table: Uint32Array, stride: number, key: string): number {
  const mask = table.length / stride - 1;
  let slot = hashKey(key) & mask;
  while (table[slot * stride] !== 0) slot = (slot + 1) & mask;
  return slot;
}

function tableSize(n: number): number {
  let size = 8;
  while (size < n * 2) size *= 2;
  return size;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Encode built zones and the compiled answers of the nodes each zone answers for (`answersOf`). */
export function encodeImage(
  zones: readonly BuiltZone[],
  infos: readonly ZoneInfo[],
  answersOf: (zone: BuiltZone, key: string) => NodeAnswers | undefined,
  loadedAt: number,
): ZoneImage {
  const head = new ChunkWriter();
  head.u32(MAGIC);
  head.f64(loadedAt);
  head.u16(infos.length);
  infos.forEach((z, i) => {
    head.bytes16(utf8.encode(z.origin));
    head.bytes16(utf8.encode(z.file));
    head.u32(z.serial);
    head.u32(z.records);
    head.raw(Buffer.from(z.digest, 'hex'));
    const types = [...(zones[i] as BuiltZone).types];
    head.u16(types.length);
    for (const t of types) head.u16(t);
  });
  head.cut();
  const chunks: Uint8Array[] = [head.chunks[0] as Uint8Array];
  const owned: [number, string, number][] = [];
  zones.forEach((zone, zi) => {
    const w = new ChunkWriter();
    const table = new Uint32Array(tableSize(zone.nodes.size));
    const offsets = new Map<string, number>();
    for (const node of zone.nodes.values()) {
      const at = w.length;
      table[freeSlot(table, 1, node.key)] = at + 1;
      offsets.set(node.key, at);
      const answers = answersOf(zone, node.key);
      if (answers) owned.push([zi, node.key, at]);
      writeNode(w, zone, node, answers);
    }
    w.cut();
    const chain = zone.denial?.chain;
    const order = new Uint32Array(chain?.length ?? 0);
    for (let i = 0; i < order.length; i++) order[i] = offsets.get((chain as Denial['chain']).key(i)) as number;
    chunks.push(w.chunks[0] as Uint8Array, new Uint8Array(table.buffer), new Uint8Array(order.buffer));
  });
  const compiled = new Uint32Array(tableSize(owned.length) * 2);
  for (const [zi, key, at] of owned) {
    const slot = freeSlot(compiled, 2, key);
    compiled[slot * 2] = zi + 1;
    compiled[slot * 2 + 1] = at;
  }
  chunks.push(new Uint8Array(compiled.buffer));
  return { header: { loadedAt, zones: [...infos] }, chunks };
}

/** The u16 counts of the format: a zone beyond them is refused, not written wrong. */
function count16(n: number, what: string): number {
  if (n > 0xffff)
    throw new EdgeError(ErrorCode.ZONE_POLICY, `${what}: ${n} is more than a zone image can hold (65535)`);
  return n;
}

function writeNode(w: ChunkWriter, zone: BuiltZone, node: ZoneNode, answers: NodeAnswers | undefined): void {
  w.u8(node.key.length);
  for (let i = 0; i < node.key.length; i++) w.u8(node.key.charCodeAt(i));
  const compiledAt = w.length;
  w.u32(NONE);
  w.u8(node.name.length);
  w.raw(node.name);
  w.u8(zone.cuts.has(node.key) ? FLAG_CUT : 0);
  w.u16(node.rrsets.size);
  for (const s of node.rrsets.values()) {
    w.u16(s.type);
    w.u16(s.class);
    w.u32(s.ttl);
    w.u16(count16(s.rdatas.length, `${zone.file}: records in one RRset`));
    for (const rd of s.rdatas) w.bytes16(rd);
  }
  if (!answers) return;
  // The answers first, then the compiled part that points at them.
  const at = new Map<ZoneAnswer, number>();
  const put = (a: ZoneAnswer): number => {
    let off = at.get(a);
    if (off === undefined) {
      off = w.length;
      writeAnswer(w, a);
      at.set(a, off);
    }
    return off;
  };
  const entries = [...answers.byType].map(([t, a]) => [t, put(a)] as const);
  const fallback = answers.fallback ? put(answers.fallback) : NONE;
  w.patch32(compiledAt, w.length);
  w.u16(entries.length);
  for (const [t, off] of entries) {
    w.i32(t);
    w.u32(off);
  }
  w.u32(fallback);
}

function writeAnswer(w: ChunkWriter, a: ZoneAnswer): void {
  w.u16(a.rcode);
  w.u16(a.flags);
  const s = a.sections;
  w.bytes32(s.bytes);
  w.u16(s.an);
  w.u16(s.ns);
  w.u16(s.ar);
  w.u16(s.cuts.length);
  for (const c of s.cuts) {
    w.u32(c.end);
    w.u16(c.an);
    w.u16(c.ns);
    w.u16(c.ar);
    w.u8(c.required ? 1 : 0);
  }
  w.u16(s.ttlOffsets.length);
  for (const o of s.ttlOffsets) w.u32(o);
}

export function decodeHeader(chunk: Uint8Array): ImageHeader {
  return readHeader(chunk).header;
}

function readHeader(chunk: Uint8Array): { header: ImageHeader; types: number[][] } {
  const r = new ChunkReader(chunk);
  if (chunk.byteLength < 14 || r.u32() !== MAGIC) throw new EdgeError(ErrorCode.ZONE_READ, 'not a zone image');
  const loadedAt = r.f64();
  const n = r.u16();
  const zones: ZoneInfo[] = [];
  const types: number[][] = [];
  for (let i = 0; i < n; i++) {
    const origin = fromUtf8.decode(r.bytes16());
    const file = fromUtf8.decode(r.bytes16());
    const serial = r.u32();
    const records = r.u32();
    const digest = Buffer.from(r.bytes(32)).toString('hex');
    const held: number[] = [];
    for (let t = r.u16(); t > 0; t--) held.push(r.u16());
    types.push(held);
    zones.push({ origin, file, serial, records, loadedAt, digest });
  }
  return { header: { loadedAt, zones }, types };
}

function readAnswer(r: ChunkReader): ZoneAnswer {
  const rcode = r.u16();
  const flags = r.u16();
  const bytes = r.bytes32();
  const an = r.u16();
  const ns = r.u16();
  const ar = r.u16();
  const cuts: Cut[] = [];
  for (let n = r.u16(); n > 0; n--)
    cuts.push({ end: r.u32(), an: r.u16(), ns: r.u16(), ar: r.u16(), required: r.u8() === 1 });
  const ttlOffsets: number[] = [];
  for (let n = r.u16(); n > 0; n--) ttlOffsets.push(r.u32());
  const sections: Sections = { bytes, an, ns, ar, cuts, ttlOffsets };
  return { rcode, flags, sections };
}

/** Table slots as 32-bit words; copied when the bytes are not 4-aligned (read from a file). */
function words(b: Uint8Array): Uint32Array {
  const aligned = b.byteOffset % 4 === 0 ? b : new Uint8Array(b); // a copy (Buffer#slice would be a view)
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
}

/** One zone of an image: nodes found through its table and decoded when asked for. */
export class ImageZone implements Zone {
  readonly origin: Uint8Array;
  readonly key: string;
  readonly file: string;
  readonly serial: number;
  readonly recordCount: number;
  readonly digest: string;
  readonly types: ReadonlySet<number>;
  readonly soa: RRset;
  readonly nodes: ZoneNodes;
  readonly cuts: { has(key: string): boolean };
  readonly denial: Denial | null;
  readonly #data: Uint8Array;
  readonly #reader: ChunkReader;
  readonly #table: Uint32Array;
  /** Decoded nodes (the same object for the same key while cached: lookups compare RRsets). */
  readonly #nodes = new Map<string, ZoneNode>();

  constructor(info: ZoneInfo, types: readonly number[], data: Uint8Array, table: Uint8Array, chain: Uint8Array) {
    this.file = info.file;
    this.serial = info.serial;
    this.recordCount = info.records;
    this.digest = info.digest;
    this.types = new Set(types);
    this.#data = data;
    this.#reader = new ChunkReader(data);
    this.#table = words(table);
    this.nodes = { get: (k) => this.#node(k), has: (k) => this.find(k) >= 0 };
    this.cuts = {
      has: (k) => {
        const at = this.find(k);
        return at >= 0 && (this.#flags(at) & FLAG_CUT) !== 0;
      },
    };
    const apex = this.#node(nameKey(nameFromText(info.origin, null)));
    const soa = apex?.rrsets.get(T.SOA);
    if (!apex || !soa) throw new EdgeError(ErrorCode.ZONE_READ, `zone image: ${info.origin} has no SOA at its apex`);
    this.key = apex.key;
    this.origin = apex.name;
    this.soa = soa;
    const order = words(chain);
    this.denial =
      order.length === 0
        ? null
        : { chain: { length: order.length, key: (i) => this.#keyAt(order[i] as number) }, nsec3: nsec3Params(apex) };
  }

  #keyAt(at: number): string {
    const d = this.#data;
    return Buffer.from(d.buffer, d.byteOffset + at + 1, d[at] as number).toString('latin1');
  }

  /** Offset of the record of `key` in the data, or -1. */
  find(key: string, hash = hashKey(key)): number {
    const t = this.#table;
    const mask = t.length - 1;
    // At most one lap: a table read from a damaged file may have no empty slot.
    for (let slot = hash & mask, n = 0; n <= mask; slot = (slot + 1) & mask, n++) {
      const v = t[slot] as number;
      if (v === 0) return -1;
      if (this.keyAt(v - 1, key)) return v - 1;
    }
    return -1;
  }

  /** Whether the record at `at` is the node of `key`. */
  keyAt(at: number, key: string): boolean {
    const d = this.#data;
    if (d[at] !== key.length) return false;
    for (let i = 0; i < key.length; i++) if (d[at + 1 + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  #flags(at: number): number {
    const d = this.#data;
    const nameAt = at + 1 + (d[at] as number) + 4;
    return d[nameAt + 1 + (d[nameAt] as number)] as number;
  }

  #node(key: string): ZoneNode | undefined {
    const hit = this.#nodes.get(key);
    if (hit) return hit;
    const at = this.find(key);
    if (at < 0) return undefined;
    const r = this.#reader;
    r.pos = at + 1 + (this.#data[at] as number) + 4;
    const name = r.bytes(r.u8());
    r.u8();
    const rrsets = new Map<number, RRset>();
    for (let n = r.u16(); n > 0; n--) {
      const type = r.u16();
      const cls = r.u16();
      const ttl = r.u32();
      const rdatas: Uint8Array[] = [];
      for (let k = r.u16(); k > 0; k--) rdatas.push(r.bytes16());
      rrsets.set(type, { owner: name, type, class: cls, ttl, rdatas });
    }
    const node: ZoneNode = { key: nameKey(name), name, rrsets };
    if (this.#nodes.size >= DECODED_MAX) this.#nodes.clear();
    this.#nodes.set(key, node);
    return node;
  }

  /** The answers compiled for the record at `at`; null when it has none (not answered from here). */
  answersAt(at: number): NodeAnswers | null {
    const r = this.#reader;
    r.pos = at + 1 + (this.#data[at] as number);
    const compiled = r.u32();
    if (compiled === NONE) return null;
    r.pos = compiled;
    const entries: [number, number][] = [];
    for (let n = r.u16(); n > 0; n--) entries.push([r.i32(), r.u32()]);
    const fallbackAt = r.u32();
    const byType = new Map<number, ZoneAnswer>();
    for (const [t, off] of entries) byType.set(t, this.#answerAt(off));
    return { byType, fallback: fallbackAt === NONE ? undefined : this.#answerAt(fallbackAt) };
  }

  #answerAt(off: number): ZoneAnswer {
    this.#reader.pos = off;
    return readAnswer(this.#reader);
  }
}

/** The compiled table: a node's precompiled answers, found in the zone that answers for it. */
class ImageAnswers implements CompiledAnswers {
  readonly #zones: ImageZone[];
  readonly #table: Uint32Array;
  /** Nodes asked for lately, decoded: a hit costs what a Map of every node would. */
  readonly #hot = new Map<string, NodeAnswers | null>();

  constructor(zones: ImageZone[], table: Uint8Array) {
    this.#zones = zones;
    this.#table = words(table);
  }

  find(key: string, qtype: number, dnssec: boolean): ZoneAnswer | null | undefined {
    let node = this.#hot.get(key);
    if (node === undefined) {
      node = this.#lookup(key);
      if (node === undefined) return undefined;
      if (this.#hot.size >= DECODED_MAX) this.#hot.clear();
      this.#hot.set(key, node);
    }
    return node && pickAnswer(node, qtype, dnssec);
  }

  #lookup(key: string): NodeAnswers | null | undefined {
    const t = this.#table;
    const mask = t.length / 2 - 1;
    for (let slot = hashKey(key) & mask, n = 0; n <= mask; slot = (slot + 1) & mask, n++) {
      const z = t[slot * 2] as number;
      if (z === 0) return undefined;
      const zone = this.#zones[z - 1];
      const at = t[slot * 2 + 1] as number;
      if (zone?.keyAt(at, key)) return zone.answersAt(at);
    }
    return undefined;
  }
}

/** Open an image: the zones and their compiled answers, over the image's bytes (no copy). */
export function openImage(image: ZoneImage): { zones: ImageZone[]; compiled: CompiledAnswers; loadedAt: number } {
  const [head, ...rest] = image.chunks;
  if (!head) throw new EdgeError(ErrorCode.ZONE_READ, 'empty zone image');
  const { header, types } = readHeader(head);
  if (rest.length !== header.zones.length * 3 + 1)
    throw new EdgeError(ErrorCode.ZONE_READ, `zone image: ${rest.length} chunks for ${header.zones.length} zones`);
  for (const [i, t] of rest.entries()) {
    if (i % 3 === 1 || i === rest.length - 1) checkTable(t, i === rest.length - 1 ? 2 : 1);
  }
  const zones = header.zones.map((info, i) => {
    const [data, table, chain] = rest.slice(i * 3, i * 3 + 3) as [Uint8Array, Uint8Array, Uint8Array];
    return new ImageZone(info, types[i] ?? [], data, table, chain);
  });
  return { zones, compiled: new ImageAnswers(zones, rest.at(-1) as Uint8Array), loadedAt: header.loadedAt };
}

/** A table has a power-of-two number of slots (of `words` 32-bit words each), at least 8, so that
 * probing ends: encodeImage sizes them at twice their entries. */
function checkTable(t: Uint8Array, words: number): void {
  const slots = t.byteLength / 4 / words;
  if (!Number.isInteger(slots) || slots < 8 || (slots & (slots - 1)) !== 0)
    throw new EdgeError(ErrorCode.ZONE_READ, `zone image: a table of ${t.byteLength} bytes is not a table`);
}
