// A loaded zone set as bytes: what a loader thread (or the primary of `workers: N`) hands to the
// processes that answer, so that files are parsed and compiled once and the answering side only
// decodes, a chunk at a time, between queries.
//
//   image = header chunk, node chunk, node chunk, …       (each its own bytes; in a file: u32 length + bytes)
//   header: magic "EDZ1" · loadedAt f64 · zones u16 · per zone: origin · file · serial u32 ·
//           records u32 · digest (32 bytes)
//   nodes:  zone u16 · count u32 · per node: name · rrsets u16 · per RRset: type u16 class u16
//           ttl u32 rdatas u16 (len u16 + bytes)… · compiled u8 · answers u16 · per answer:
//           qtype i32 · answer · fallback u8 [answer]
//   answer: rcode u16 · flags u16 · bytes u32+… · an/ns/ar u16 · cuts u16 × (end u32, an, ns,
//           ar u16, required u8) · ttlOffsets u16 × u32
//
// Decoded byte fields are views into the chunk they came from: a chunk lives as long as the zone
// set it belongs to, and no view reaches into a buffer shared with anything else.

import { EdgeError, ErrorCode } from '../core/index.js';
import type { Cut, Sections } from '../wire/index.js';
import { T, nameKey } from '../wire/index.js';
import type { NodeAnswers, ZoneAnswer, ZoneInfo } from './store.js';
import type { RRset, Zone, ZoneNode } from './zone.js';

const MAGIC = 0x45445a31; // "EDZ1"
/** Node chunks are cut at about this size, so that decoding one takes a few milliseconds. */
const CHUNK_BYTES = 256 * 1024;

/** The zones of an image without their data: what the primary of `workers: N` keeps. */
export interface ImageHeader {
  loadedAt: number;
  zones: ZoneInfo[];
}

export interface ZoneImage {
  header: ImageHeader;
  /** The header chunk, then the node chunks. */
  chunks: Uint8Array[];
}

/** Appends big-endian fields to growing chunks. */
class ChunkWriter {
  readonly chunks: Uint8Array[] = [];
  #buf = new Uint8Array(CHUNK_BYTES * 2);
  #view = new DataView(this.#buf.buffer);
  #len = 0;

  get length(): number {
    return this.#len;
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.#room(1);
    this.#view.setUint8(this.#len, v);
    this.#len += 1;
  }
  u16(v: number): void {
    this.#room(2);
    this.#view.setUint16(this.#len, v);
    this.#len += 2;
  }
  u32(v: number): void {
    this.#room(4);
    this.#view.setUint32(this.#len, v);
    this.#len += 4;
  }
  i32(v: number): void {
    this.#room(4);
    this.#view.setInt32(this.#len, v);
    this.#len += 4;
  }
  f64(v: number): void {
    this.#room(8);
    this.#view.setFloat64(this.#len, v);
    this.#len += 8;
  }
  bytes16(b: Uint8Array): void {
    this.u16(b.length);
    this.raw(b);
  }
  bytes32(b: Uint8Array): void {
    this.u32(b.length);
    this.raw(b);
  }
  raw(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /** End the current chunk: its bytes are copied into a buffer of exactly their size. */
  cut(): void {
    this.chunks.push(this.#buf.slice(0, this.#len));
    this.#len = 0;
  }
}

/** Reads what ChunkWriter wrote; byte fields are views into the chunk. */
class ChunkReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.#buf.byteLength;
  }

  u8(): number {
    return this.#view.getUint8(this.pos++);
  }
  u16(): number {
    const v = this.#view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.#view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    const v = this.#view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    const v = this.#view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.#buf.byteLength) throw new EdgeError(ErrorCode.ZONE_READ, 'zone image is truncated');
    const b = this.#buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  bytes16(): Uint8Array {
    return this.bytes(this.u16());
  }
  bytes32(): Uint8Array {
    return this.bytes(this.u32());
  }
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Encode zones and the compiled answers of the nodes each zone answers for (`answersOf`). */
export function encodeImage(zones: readonly Zone[], infos: readonly ZoneInfo[], answersOf: (zone: Zone, key: string) => NodeAnswers | undefined, loadedAt: number): ZoneImage {
  const w = new ChunkWriter();
  w.u32(MAGIC);
  w.f64(loadedAt);
  w.u16(infos.length);
  for (const z of infos) {
    w.bytes16(utf8.encode(z.origin));
    w.bytes16(utf8.encode(z.file));
    w.u32(z.serial);
    w.u32(z.records);
    w.raw(Buffer.from(z.digest, 'hex'));
  }
  w.cut();
  zones.forEach((zone, zi) => {
    // A chunk's node count is known at its end: nodes go to a body, then count and body to `w`.
    const body = new ChunkWriter();
    let count = 0;
    const flush = (): void => {
      if (count === 0) return;
      body.cut();
      w.u16(zi);
      w.u32(count);
      w.raw(body.chunks.pop() as Uint8Array);
      w.cut();
      count = 0;
    };
    for (const node of zone.nodes.values()) {
      writeNode(body, node, answersOf(zone, node.key));
      count++;
      if (body.length >= CHUNK_BYTES) flush();
    }
    flush();
  });
  return { header: { loadedAt, zones: [...infos] }, chunks: w.chunks };
}

function writeNode(w: ChunkWriter, node: ZoneNode, answers: NodeAnswers | undefined): void {
  w.bytes16(node.name);
  w.u16(node.rrsets.size);
  for (const s of node.rrsets.values()) {
    w.u16(s.type);
    w.u16(s.class);
    w.u32(s.ttl);
    w.u16(s.rdatas.length);
    for (const rd of s.rdatas) w.bytes16(rd);
  }
  if (!answers) {
    w.u8(0);
    return;
  }
  w.u8(1);
  w.u16(answers.byType.size);
  for (const [t, a] of answers.byType) {
    w.i32(t);
    writeAnswer(w, a);
  }
  w.u8(answers.fallback ? 1 : 0);
  if (answers.fallback) writeAnswer(w, answers.fallback);
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
  const r = new ChunkReader(chunk);
  if (chunk.byteLength < 14 || r.u32() !== MAGIC) throw new EdgeError(ErrorCode.ZONE_READ, 'not a zone image');
  const loadedAt = r.f64();
  const n = r.u16();
  const zones: ZoneInfo[] = [];
  for (let i = 0; i < n; i++) {
    const origin = fromUtf8.decode(r.bytes16());
    const file = fromUtf8.decode(r.bytes16());
    const serial = r.u32();
    const records = r.u32();
    const digest = Buffer.from(r.bytes(32)).toString('hex');
    zones.push({ origin, file, serial, records, loadedAt, digest });
  }
  return { loadedAt, zones };
}

/** What a node chunk holds: nodes of one zone, and the compiled answers of those that have them. */
export interface DecodedChunk {
  zone: number;
  nodes: ZoneNode[];
  compiled: [string, NodeAnswers][];
}

export function decodeChunk(chunk: Uint8Array): DecodedChunk {
  const r = new ChunkReader(chunk);
  const zone = r.u16();
  const count = r.u32();
  const nodes: ZoneNode[] = [];
  const compiled: [string, NodeAnswers][] = [];
  for (let i = 0; i < count; i++) {
    const name = r.bytes16();
    const key = nameKey(name);
    const rrsets = new Map<number, RRset>();
    for (let n = r.u16(); n > 0; n--) {
      const type = r.u16();
      const cls = r.u16();
      const ttl = r.u32();
      const rdatas: Uint8Array[] = [];
      for (let k = r.u16(); k > 0; k--) rdatas.push(r.bytes16());
      rrsets.set(type, { owner: name, type, class: cls, ttl, rdatas });
    }
    nodes.push({ key, name, rrsets });
    if (r.u8() === 0) continue;
    const byType = new Map<number, ZoneAnswer>();
    for (let n = r.u16(); n > 0; n--) byType.set(r.i32(), readAnswer(r));
    const fallback = r.u8() === 1 ? readAnswer(r) : undefined;
    compiled.push([key, { byType, fallback }]);
  }
  if (!r.done) throw new EdgeError(ErrorCode.ZONE_READ, 'zone image chunk has trailing bytes');
  return { zone, nodes, compiled };
}

function readAnswer(r: ChunkReader): ZoneAnswer {
  const rcode = r.u16();
  const flags = r.u16();
  const bytes = r.bytes32();
  const an = r.u16();
  const ns = r.u16();
  const ar = r.u16();
  const cuts: Cut[] = [];
  for (let n = r.u16(); n > 0; n--) cuts.push({ end: r.u32(), an: r.u16(), ns: r.u16(), ar: r.u16(), required: r.u8() === 1 });
  const ttlOffsets: number[] = [];
  for (let n = r.u16(); n > 0; n--) ttlOffsets.push(r.u32());
  const sections: Sections = { bytes, an, ns, ar, cuts, ttlOffsets };
  return { rcode, flags, sections };
}

/** Rebuild a zone from its info and decoded nodes (the SOA, serial and cuts come from the nodes). */
export function assembleZone(info: ZoneInfo, origin: Uint8Array, nodes: Map<string, ZoneNode>): Zone {
  const key = nameKey(origin);
  const apex = nodes.get(key);
  const soa = apex?.rrsets.get(T.SOA);
  if (!soa) throw new EdgeError(ErrorCode.ZONE_READ, `zone image: ${info.origin} has no SOA`);
  const cuts = new Set<string>();
  for (const n of nodes.values()) if (n.key !== key && n.rrsets.has(T.NS)) cuts.add(n.key);
  return { origin, key, file: info.file, nodes, soa, serial: info.serial, cuts, recordCount: info.records, digest: info.digest };
}
