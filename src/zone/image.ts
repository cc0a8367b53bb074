// A loaded zone set as bytes: what a loader thread (or the primary of `workers: N`) hands to the
// processes that answer. The answering side does not decode it into objects: it looks names up in
// hash tables over the bytes, and decodes a node or an answer only when a query needs it (hot
// answers are kept decoded). So a reload costs the answering thread almost nothing, and a zone of
// a million names is a few buffers to the garbage collector, not millions of objects.
//
//   image  = header · per zone: (data, table, chain)      (each its own bytes; in a file: u32
//            length + bytes)
//   header = magic "EDZ4" · loadedAt f64 · zones u16 · per zone: origin · file · serial u32 ·
//            records u32 · digest (32 bytes) · types u16 × u16
//   data   = node records, big-endian (answers are compiled where they are asked: answers.ts):
//            record = keyLen u8 · key · name u8+… · flags u8 ·
//                     rrsets u16 × (type u16 class u16 ttl u32 rdatas u16 × (len u16 + bytes))
//   table  = Uint32 slots, open addressing on hashKey(key): record offset + 1, 0 = empty
//   chain  = Uint32 record offsets of a signed zone's NSEC or NSEC3 nodes in canonical order
//            (dnssec.ts); empty for a zone that is not signed
//
// Views handed out are into the image's own buffers, shared with nothing else.

import { EdgeError, ErrorCode } from '../core/index.js';
import { T, nameFromText, nameKey } from '../wire/index.js';
import type { ZoneInfo } from './store.js';
import type { BuiltZone, RRset, Zone, ZoneNode, ZoneNodes } from './zone.js';
import { ChunkReader, ChunkWriter } from './chunks.js';
import type { Denial } from './dnssec.js';
import { nsec3Params } from './dnssec.js';

const MAGIC = 0x45445a34; // "EDZ4"
const FLAG_CUT = 1;
/** Decoded nodes kept per zone before the cache starts over. */
const DECODED_MAX = 16_384;

/** The zones of an image without their data: what the primary of `workers: N` keeps. */
export interface ImageHeader {
  loadedAt: number;
  zones: ZoneInfo[];
}

export interface ZoneImage {
  header: ImageHeader;
  /** The header chunk, then each zone's data, table and chain. */
  chunks: Uint8Array[];
}

/** FNV-1a over a name key's character codes (bytes). */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** hashKey of the key whose bytes are `b[off, off + len)`. */
export function hashBytes(b: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = off; i < off + len; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  return h >>> 0;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Encode built zones. */
export function encodeImage(zones: readonly BuiltZone[], infos: readonly ZoneInfo[], loadedAt: number): ZoneImage {
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
  for (const zone of zones) chunks.push(...zone.parts);
  return { header: { loadedAt, zones: [...infos] }, chunks };
}

/** The u16 counts of the format: a zone beyond them is refused, not written wrong. */
export function count16(n: number, what: string): number {
  if (n > 0xffff)
    throw new EdgeError(ErrorCode.ZONE_POLICY, `${what}: ${n} is more than a zone image can hold (65535)`);
  return n;
}

/** A node's record in a zone's data (`cut`: it is a delegation point; `file` for the error). */
export function writeNode(w: ChunkWriter, node: ZoneNode, cut: boolean, file: string): void {
  w.u8(node.key.length);
  for (let i = 0; i < node.key.length; i++) w.u8(node.key.charCodeAt(i));
  w.u8(node.name.length);
  w.raw(node.name);
  w.u8(cut ? FLAG_CUT : 0);
  w.u16(node.rrsets.size);
  for (const s of node.rrsets.values()) {
    w.u16(s.type);
    w.u16(s.class);
    w.u32(s.ttl);
    w.u16(count16(s.rdatas.length, `${file}: records in one RRset`));
    for (const rd of s.rdatas) w.bytes16(rd);
  }
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
    const nameAt = at + 1 + (d[at] as number);
    return d[nameAt + 1 + (d[nameAt] as number)] as number;
  }

  #node(key: string): ZoneNode | undefined {
    const hit = this.#nodes.get(key);
    if (hit) return hit;
    const at = this.find(key);
    if (at < 0) return undefined;
    const node = this.nodeAt(at);
    if (this.#nodes.size >= DECODED_MAX) this.#nodes.clear();
    this.#nodes.set(key, node);
    return node;
  }

  /** The node whose record is at `at`, decoded (its byte fields are views into the data). */
  nodeAt(at: number): ZoneNode {
    const r = this.#reader;
    r.pos = at + 1 + (this.#data[at] as number);
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
    return { key: this.#keyAt(at), name, rrsets };
  }
}

/** Open an image: the zones over the image's bytes (no copy). */
export function openImage(image: ZoneImage): { zones: ImageZone[]; loadedAt: number } {
  const [head, ...rest] = image.chunks;
  if (!head) throw new EdgeError(ErrorCode.ZONE_READ, 'empty zone image');
  const { header, types } = readHeader(head);
  if (rest.length !== header.zones.length * 3)
    throw new EdgeError(ErrorCode.ZONE_READ, `zone image: ${rest.length} chunks for ${header.zones.length} zones`);
  for (const [i, t] of rest.entries()) if (i % 3 === 1) checkTable(t);
  const zones = header.zones.map((info, i) => {
    const [data, table, chain] = rest.slice(i * 3, i * 3 + 3) as [Uint8Array, Uint8Array, Uint8Array];
    return new ImageZone(info, types[i] ?? [], data, table, chain);
  });
  return { zones, loadedAt: header.loadedAt };
}

/** A table has a power-of-two number of 32-bit slots, at least 8, so that probing ends:
 * encodeImage sizes them at twice their entries. */
function checkTable(t: Uint8Array): void {
  const slots = t.byteLength / 4;
  if (!Number.isInteger(slots) || slots < 8 || (slots & (slots - 1)) !== 0)
    throw new EdgeError(ErrorCode.ZONE_READ, `zone image: a table of ${t.byteLength} bytes is not a table`);
}
