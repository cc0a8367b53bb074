// Building a zone straight into its image bytes (image.ts), record by record, without an object per
// name: a zone of a million names is a few growing buffers while it is built, and the zone that
// comes out is the image zone that answers (no second encoding, no copy).
//
//   NameTable   the names, packed (names.ts); owners are looked up a batch at a time (OwnerBatch)
//   log         the records as they come: node id u32 · type u16 · class u16 · ttl u32 ·
//               rdlength u16 · rdata                                   (one Buffer, grown)
//   finish()    records sorted by node (counting sort, file order kept within a node); each node
//               written to the image's data straight from the log, or, at the apex and where an
//               SOA, NS, CNAME, DNAME, NSEC or NSEC3 needs the checks of one node, made first as a
//               short-lived ZoneNode; NSEC3 nodes after the names, empty non-terminals last, as
//               zone.ts did; the digest walks the nodes by key hash (one typed-array sort)

import { createHash } from 'node:crypto';
import { T, keyToText, lowerByte, nameLength, soaSerial, typeName } from '../wire/index.js';
import { ChunkWriter } from './chunks.js';
import type { Denial } from './dnssec.js';
import { HASHED, buildDenial, isHashedNode } from './dnssec.js';
import { ImageZone, count16, hashBytes, writeNode } from './image.js';
import { AHEAD, NameTable, OwnerBatch, copyInto } from './names.js';
import type { ZoneRecord } from './parse.js';
import type { BuiltZone, RRset, ZoneNode } from './zone.js';

/** A growing buffer of big-endian fields: the record log. */
class Log {
  buf: Buffer;
  length = 0;
  constructor(size: number) {
    this.buf = Buffer.alloc(Math.max(1 << 16, size));
  }
  room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}

/** Types the checks of a node look at: a node holding one (or the apex) is made as a ZoneNode;
 * any other is written straight from the log. */
const NODE_TYPES: ReadonlySet<number> = new Set([T.SOA, T.NS, T.CNAME, T.DNAME, T.NSEC, T.NSEC3]);

/** What the checks across nodes need to know of a node, one byte each. */
const HAS_DATA = 1;
const HAS_ADDRESS = 2;
const HAS_DNAME = 4;

/** A zone built into image bytes: an ImageZone whose nodes can also be walked. */
export class BuiltImageZone extends ImageZone implements BuiltZone {
  readonly parts: readonly [data: Uint8Array, table: Uint8Array, chain: Uint8Array];
  readonly nodeCount: number;
  readonly #offsets: Uint32Array;

  constructor(
    info: ConstructorParameters<typeof ImageZone>[0],
    types: readonly number[],
    parts: readonly [Uint8Array, Uint8Array, Uint8Array],
    offsets: Uint32Array,
  ) {
    super(info, types, ...parts);
    this.parts = parts;
    this.nodeCount = offsets.length;
    this.#offsets = offsets;
  }

  /** Every node, in the zone's order, each decoded anew. */
  *values(): IterableIterator<ZoneNode> {
    for (const at of this.#offsets) yield this.nodeAt(at);
  }
}

const SCRATCH = Buffer.alloc(256);

/** Records in, a checked zone out (zone.ts buildZone is the one entry). */
export class ZoneBuilder {
  readonly #apex: Buffer;
  readonly #file: string;
  readonly #names: NameTable;
  readonly #batch: OwnerBatch;
  readonly #log: Log;
  #records: Uint32Array;
  #recordCount = 0;
  readonly problems: string[] = [];

  /** `sizeHint`: the size of the zone's text in bytes, when known (room is made for its records). */
  constructor(origin: Uint8Array, file: string, sizeHint = 0) {
    this.#apex = Buffer.from(Array.from(origin, lowerByte));
    this.#file = file;
    // A line of a master file is rarely under 24 bytes: room for that many records at once.
    const records = Math.ceil(sizeHint / 24);
    this.#names = new NameTable(records);
    this.#batch = new OwnerBatch(this.#names);
    this.#log = new Log(records * 20);
    this.#records = new Uint32Array(Math.max(1024, records));
  }

  /** The owner of the last record added, and its id or (still to be looked up) its place in the
   * batch: a record whose owner is inherited (a line that starts with a blank) comes with the same
   * bytes, and takes the same id without a lookup. */
  #lastOwner: Uint8Array | undefined;
  #lastId = -1;
  #lastQueued = -1;

  add(r: ZoneRecord): void {
    const owner = r.owner;
    const batch = this.#batch;
    if (owner !== this.#lastOwner) {
      const len = owner.length;
      for (let i = 0; i < len; i++) SCRATCH[i] = lowerByte(owner[i] as number);
      if (!this.#inZone(len)) {
        const k = SCRATCH.toString('latin1', 0, len);
        this.problems.push(
          `${r.file}:${r.line}: ${keyToText(k)} is outside the zone ${keyToText(this.#apex.toString('latin1'))}`,
        );
        return;
      }
      if (batch.full) this.#lookUp();
      this.#lastQueued = batch.queue(SCRATCH, owner, len);
      this.#lastOwner = owner;
    } else if (this.#lastQueued >= 0 && batch.full) this.#lookUp();
    const log = this.#log;
    log.room(14 + r.rdata.length);
    if (this.#recordCount >= this.#records.length)
      this.#records = copyInto(new Uint32Array(this.#records.length * 2), this.#records);
    this.#records[this.#recordCount++] = log.length;
    const b = log.buf;
    let o = log.length;
    if (this.#lastQueued >= 0) batch.needs(o, this.#lastQueued); // the id is written when looked up
    o = b.writeUInt32BE(this.#lastQueued >= 0 ? 0 : this.#lastId, o);
    o = b.writeUInt16BE(r.type, o);
    o = b.writeUInt16BE(r.class, o);
    o = b.writeUInt32BE(r.ttl, o);
    const rdata = r.rdata;
    o = b.writeUInt16BE(rdata.length, o);
    // Most RDATA is a few bytes (an address): copied by hand, not through a TypedArray#set.
    if (rdata.length > 32) b.set(rdata, o);
    else for (let i = 0; i < rdata.length; i++) b[o + i] = rdata[i] as number;
    log.length = o + rdata.length;
  }

  /** Look the queued owners up: their ids go into the log. */
  #lookUp(): void {
    const ids = this.#batch.flush(this.#log.buf);
    if (this.#lastQueued >= 0) this.#lastId = ids[this.#lastQueued] as number;
    this.#lastQueued = -1;
  }

  /** SCRATCH[0, len) is the apex or below it (RFC 1034 §3.1: at a label boundary). */
  #inZone(len: number): boolean {
    const a = this.#apex;
    const cut = len - a.length;
    if (cut < 0) return false;
    for (let i = 0; i < a.length; i++) if (SCRATCH[cut + i] !== a[i]) return false;
    let i = 0;
    while (i < cut) i += (SCRATCH[i] as number) + 1;
    return i === cut;
  }

  /** The node `id` as made from its records: RRsets in the order of their first record. */
  #node(id: number, starts: Uint32Array, order: Uint32Array, key: string, counted: boolean): ZoneNode {
    const names = this.#names;
    const name = names.name(id);
    const rrsets = new Map<number, RRset>();
    const b = this.#log.buf;
    for (let i = starts[id] as number; i < (starts[id + 1] as number); i++) {
      const at = order[i] as number;
      const type = b.readUInt16BE(at + 4);
      const ttl = b.readUInt32BE(at + 8);
      const rdlen = b.readUInt16BE(at + 12);
      const rdata = b.subarray(at + 14, at + 14 + rdlen);
      let set = rrsets.get(type);
      if (!set) {
        set = { owner: name, type, class: b.readUInt16BE(at + 6), ttl, rdatas: [] };
        rrsets.set(type, set);
      }
      // RFC 2181 §5: an RRset holds no duplicates. §5.2: one TTL per RRset; keep the smallest.
      if (set.rdatas.some((d) => d.length === rdlen && rdata.equals(d))) continue;
      set.ttl = Math.min(set.ttl, ttl);
      set.rdatas.push(rdata);
      if (counted) this.count++;
    }
    return { key, name, rrsets };
  }

  count = 0;

  /** The types of the node being written, in the order of their first record. */
  #setTypes = new Uint32Array(16);
  /** The log offsets of one RRset's records (duplicates left out). */
  #members = new Uint32Array(16);

  /** Fill #setTypes with the types of node `id` (in the order of their first record); their count. */
  #typesOf(id: number, starts: Uint32Array, order: Uint32Array): number {
    const b = this.#log.buf;
    let sets = 0;
    for (let i = starts[id] as number; i < (starts[id + 1] as number); i++) {
      const at = order[i] as number;
      const type = ((b[at + 4] as number) << 8) | (b[at + 5] as number);
      let s = 0;
      while (s < sets && this.#setTypes[s] !== type) s++;
      if (s < sets) continue;
      if (sets === this.#setTypes.length) this.#setTypes = copyInto(new Uint32Array(sets * 2), this.#setTypes);
      this.#setTypes[sets++] = type;
    }
    return sets;
  }

  /**
   * Write node `id` from the log as writeNode writes the ZoneNode #node makes of it (not a cut; its
   * `sets` types in #setTypes): the same RRsets, duplicates left out, each at its smallest TTL.
   */
  #writeFromLog(w: ChunkWriter, id: number, sets: number, starts: Uint32Array, order: Uint32Array): void {
    const names = this.#names;
    const o = names.offset(id);
    const len = names.length(id);
    w.u8(len);
    w.copy(names.keyBytes, o, o + len);
    w.u8(len);
    w.copy(names.nameBytesOf(id), o, o + len);
    w.u8(0);
    w.u16(sets);
    const b = this.#log.buf;
    const first = starts[id] as number;
    const end = starts[id + 1] as number;
    if (end - first === 1) {
      // One record (most names): its type, class, TTL and RDATA as the log holds them.
      const at = order[first] as number;
      w.copy(b, at + 4, at + 12);
      w.u16(1);
      w.copy(b, at + 12, at + 14 + b.readUInt16BE(at + 12));
      this.count++;
      return;
    }
    if (this.#members.length < end - first) this.#members = new Uint32Array(end - first);
    const members = this.#members;
    for (let s = 0; s < sets; s++) {
      const type = this.#setTypes[s] as number;
      let count = 0;
      let ttl = 0;
      for (let i = first; i < end; i++) {
        const at = order[i] as number;
        if ((((b[at + 4] as number) << 8) | (b[at + 5] as number)) !== type) continue;
        // RFC 2181 §5: an RRset holds no duplicates. §5.2: one TTL per RRset; keep the smallest.
        if (count > 0 && isDuplicate(b, at, members, count)) continue;
        const t = b.readUInt32BE(at + 8);
        ttl = count === 0 ? t : Math.min(ttl, t);
        members[count++] = at;
      }
      w.u16(type);
      w.u16(b.readUInt16BE((members[0] as number) + 6));
      w.u32(ttl);
      w.u16(count <= 0xffff ? count : count16(count, `${this.#file}: records in one RRset`));
      // The log holds each record's RDATA behind its u16 length, as the image does.
      for (let m = 0; m < count; m++) {
        const at = members[m] as number;
        w.copy(b, at + 12, at + 14 + b.readUInt16BE(at + 12));
      }
      this.count += count;
    }
  }

  finish(): BuiltImageZone {
    this.#lookUp();
    const names = this.#names;
    const n = names.size;
    const file = this.#file;
    const problems = this.problems;
    // Records by node: a counting sort (file order kept within a node).
    const starts = new Uint32Array(n + 2);
    const b = this.#log.buf;
    for (let i = 0; i < this.#recordCount; i++) {
      const id = b.readUInt32BE(this.#records[i]);
      starts[id + 1] = (starts[id + 1] as number) + 1;
    }
    for (let i = 1; i <= n + 1; i++) starts[i] = (starts[i] as number) + (starts[i - 1] as number);
    const fill = starts.slice();
    const order = new Uint32Array(this.#recordCount);
    for (let i = 0; i < this.#recordCount; i++) {
      const at = this.#records[i] as number;
      const id = b.readUInt32BE(at);
      const pos = fill[id] as number;
      fill[id] = pos + 1;
      order[pos] = at;
    }
    this.#records = new Uint32Array(0);

    const apexKey = this.#apex.toString('latin1');
    const recordNodes = n;
    const facts = new Uint8Array(n);
    // The data: about the log's records plus two copies of each name and a few bytes per node.
    const w = new ChunkWriter(this.#log.length + names.bytes * 2 + n * 8 + 1024);
    // Where each node starts in the data, in the order written (names, NSEC3 nodes, then empty
    // non-terminals, whose number is not known yet: grown when they come).
    let offsets = new Uint32Array(n + 1024);
    let nodes = 0;
    const started = (): void => {
      if (nodes === offsets.length) offsets = copyInto(new Uint32Array(nodes * 2), offsets);
      offsets[nodes++] = w.length;
    };
    const types = new Set<number>();
    let lastType = -1;
    const cuts: [string, RRset][] = [];
    const nodeProblems: string[] = [];
    const hashed: number[] = [];
    const nsecKeys: string[] = [];
    const hashedKeys: string[] = [];
    const apexId = names.find(this.#apex, 0, this.#apex.length);
    let apex: ZoneNode | undefined;
    let dnames = 0;
    const write = (node: ZoneNode, cut: boolean): void => {
      started();
      writeNode(w, node, cut, file);
    };
    for (let id = 0; id < recordNodes; id++) {
      const sets = this.#typesOf(id, starts, order);
      let plain = id !== apexId;
      for (let s = 0; s < sets && plain; s++) plain = !NODE_TYPES.has(this.#setTypes[s] as number);
      if (plain) {
        // Nothing here for the checks of one node: only the facts the checks across nodes need.
        let f = HAS_DATA;
        for (let s = 0; s < sets; s++) {
          const t = this.#setTypes[s] as number;
          if (t !== lastType) types.add(t); // (the same type name after name: no Set lookup)
          lastType = t;
          if (t === T.A || t === T.AAAA) f |= HAS_ADDRESS;
        }
        facts[id] = f;
        started();
        this.#writeFromLog(w, id, sets, starts, order);
        continue;
      }
      const key = names.key(id).toString('latin1');
      const node = this.#node(id, starts, order, key, true);
      if (isHashedNode(node)) {
        // NSEC3 records are no names of the zone's tree: kept apart, under keys no name has.
        names.hide(id);
        hashed.push(id);
        continue;
      }
      for (const t of node.rrsets.keys()) types.add(t);
      const isApex = key === apexKey;
      if (isApex) apex = node;
      else if (node.rrsets.has(T.SOA)) nodeProblems.push(`${file}: SOA at ${keyToText(key)}, which is not the apex`);
      const ns = node.rrsets.get(T.NS);
      const cut = !isApex && ns !== undefined;
      if (cut) cuts.push([key, ns]);
      const cname = node.rrsets.get(T.CNAME);
      if (cname) {
        if (cname.rdatas.length > 1)
          nodeProblems.push(`${file}: ${keyToText(key)} has ${cname.rdatas.length} CNAME records; one is allowed`);
        const others = [...node.rrsets.keys()].filter((t) => t !== T.CNAME && t !== T.RRSIG && t !== T.NSEC);
        // RFC 2181 §10.1: a CNAME has no other data beside it (DNSSEC records aside).
        if (others.length > 0)
          nodeProblems.push(
            `${file}: ${keyToText(key)} has a CNAME and other data (${others.map(typeName).join(', ')})`,
          );
      }
      const dname = node.rrsets.get(T.DNAME);
      if ((dname?.rdatas.length ?? 0) > 1) nodeProblems.push(`${file}: ${keyToText(key)} has more than one DNAME`);
      if (dname) dnames++;
      if (node.rrsets.has(T.NSEC)) nsecKeys.push(key);
      facts[id] =
        (node.rrsets.size > 0 ? HAS_DATA : 0) |
        (node.rrsets.has(T.A) || node.rrsets.has(T.AAAA) ? HAS_ADDRESS : 0) |
        (dname ? HAS_DNAME : 0);
      write(node, cut);
    }
    for (const id of hashed) {
      const node = this.#node(id, starts, order, HASHED + names.key(id).toString('latin1'), false);
      for (const t of node.rrsets.keys()) types.add(t);
      hashedKeys.push(node.key);
      write(node, false);
    }
    // Empty non-terminals exist as nodes without data (RFC 4592 §2.2.2).
    const isHashed = new Uint8Array(recordNodes);
    for (const id of hashed) isHashed[id] = 1;
    for (let id = 0; id < recordNodes; id++) {
      if (isHashed[id]) continue;
      // Read in place (an insert may move the keys to a bigger buffer; these bytes stay valid).
      const k = names.keyBytes;
      const o = names.offset(id);
      const end = o + names.length(id);
      for (let at = o + (k[o] as number) + 1; at < end && end - at > this.#apex.length; at += (k[at] as number) + 1) {
        const len = end - at;
        if (names.find(k, at, len) >= 0) break;
        const ent = names.insert(k, at, len, k, at);
        const key = names.key(ent).toString('latin1');
        write({ key, name: Uint8Array.from(names.key(ent)), rrsets: new Map() }, false);
      }
    }
    const apexSoa = apex?.rrsets.get(T.SOA);
    if (!apexSoa) problems.push(`${file}: no SOA record at the apex ${keyToText(apexKey)}`);
    else if (apexSoa.rdatas.length !== 1)
      problems.push(`${file}: ${apexSoa.rdatas.length} SOA records at the apex; exactly one is allowed`);
    if (!apex?.rrsets.get(T.NS)) problems.push(`${file}: no NS records at the apex ${keyToText(apexKey)}`);
    problems.push(...nodeProblems);
    const factsOf = (key: string): number => {
      const kb = Buffer.from(key, 'latin1');
      const id = names.find(kb, 0, kb.length);
      return id >= 0 && id < recordNodes ? (facts[id] as number) : 0;
    };
    // RFC 6672 §2.4: no data below a DNAME.
    if (dnames > 0)
      for (let id = 0; id < recordNodes; id++) {
        if (((facts[id] as number) & HAS_DATA) === 0) continue;
        const key = names.key(id).toString('latin1');
        for (let p = parentOf(key); p !== undefined && p.length >= apexKey.length; p = parentOf(p))
          if (factsOf(p) & HAS_DNAME) {
            problems.push(`${file}: ${keyToText(key)} lies below the DNAME at ${keyToText(p)}`);
            break;
          }
      }
    // Glue: a name server named at or below its own cut needs an address in the zone.
    for (const [cut, ns] of cuts)
      for (const rd of ns.rdatas) {
        const target = Buffer.from(Array.from(rd.subarray(0, nameLength(rd)), lowerByte)).toString('latin1');
        if (!isBelow(target, cut)) continue;
        if ((factsOf(target) & HAS_ADDRESS) === 0)
          problems.push(
            `${file}: delegation ${keyToText(cut)} names ${keyToText(target)} below the cut but has no glue A/AAAA for it`,
          );
      }
    if (problems.length > 0) throw new BuildProblems(problems);
    // The data is most of the image: handed over as written (a copy would be its size again).
    const data = w.take();
    const at = offsets.slice(0, nodes);
    const table = new Uint32Array(tableSize(at.length));
    const mask = table.length - 1;
    const hashes = new Uint32Array(at.length);
    for (let i = 0; i < at.length; i++) {
      const off = at[i] as number;
      hashes[i] = hashBytes(data, off + 1, data[off] as number);
    }
    let touched = this.#batch.touched;
    for (let i = 0; i < at.length; i++) {
      if (i % AHEAD === 0) touched += touch(table, hashes, mask, i);
      let slot = (hashes[i] as number) & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = (at[i] as number) + 1;
    }
    const soa = apexSoa as RRset;
    const denial = buildDenial(apex as ZoneNode, nsecKeys, hashedKeys);
    const chain = chainOffsets(denial, data, at);
    const info = {
      origin: keyToText(apexKey),
      file,
      serial: soaSerial(soa.rdatas[0] as Uint8Array),
      records: this.count,
      loadedAt: 0,
      digest: digestOf(data, at, hashes, touched),
    };
    return new BuiltImageZone(info, [...types], [data, new Uint8Array(table.buffer), chain], at);
  }
}

/** The problems of a zone that failed its checks (zone.ts turns them into a ZonePolicyError). */
export class BuildProblems extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('; '));
    this.problems = problems;
  }
}

/** Whether the RDATA of the log record at `at` equals that of one of `members[0, count)`. */
function isDuplicate(b: Buffer, at: number, members: Uint32Array, count: number): boolean {
  const len = b.readUInt16BE(at + 12);
  for (let m = 0; m < count; m++) {
    const other = members[m] as number;
    if (b.readUInt16BE(other + 12) !== len) continue;
    let i = 0;
    while (i < len && b[at + 14 + i] === b[other + 14 + i]) i++;
    if (i === len) return true;
  }
  return false;
}

/** Read the table slots of hashes[from, from + AHEAD); their sum. */
function touch(table: Uint32Array, hashes: Uint32Array, mask: number, from: number): number {
  let sum = 0;
  for (let j = from; j < Math.min(from + AHEAD, hashes.length); j++)
    sum += table[(hashes[j] as number) & mask] as number;
  return sum;
}

/** Read the first bytes (two cache lines) of the nodes at order[from, from + AHEAD); their sum. */
function touchNodes(view: Buffer, order: Uint32Array, from: number): number {
  let sum = 0;
  const last = view.length - 1;
  for (let j = from; j < Math.min(from + AHEAD, order.length); j++) {
    const o = order[j] as number;
    sum += (view[o] as number) + (view[Math.min(o + 40, last)] as number);
  }
  return sum;
}

function parentOf(key: string): string | undefined {
  const len = key.charCodeAt(0);
  return len === 0 ? undefined : key.slice(len + 1);
}

function isBelow(key: string, ancestor: string): boolean {
  if (!key.endsWith(ancestor)) return false;
  const cut = key.length - ancestor.length;
  let i = 0;
  while (i < cut) i += key.charCodeAt(i) + 1;
  return i === cut;
}

function tableSize(n: number): number {
  let size = 8;
  while (size < n * 2) size *= 2;
  return size;
}

/** The data offsets of the denial chain's nodes, in its order. */
function chainOffsets(denial: Denial | null, data: Uint8Array, at: Uint32Array): Uint8Array {
  if (!denial) return new Uint8Array(0);
  const index = new Map<string, number>();
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (const off of at) {
    const k = view.toString('latin1', off + 1, off + 1 + (view[off] as number));
    if (k.startsWith(HASHED) || denial.nsec3 === null) index.set(k, off);
  }
  const order = new Uint32Array(denial.chain.length);
  for (let i = 0; i < order.length; i++) order[i] = index.get(denial.chain.key(i)) as number;
  return new Uint8Array(order.buffer);
}

/** Whether the typed array words are little-endian (the low half of a u64 comes first). */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Node offsets ordered by the hash of their keys, then by the keys' bytes: one typed-array sort of
 * hash · 2^32 + offset (no comparator, no object per node), then the rare runs of equal hashes
 * sorted by key.
 */
function byHash(data: Uint8Array, at: Uint32Array, hashes: Uint32Array): Uint32Array {
  const n = at.length;
  const packed = new BigUint64Array(n);
  const words = new Uint32Array(packed.buffer);
  const lo = LITTLE_ENDIAN ? 0 : 1;
  for (let i = 0; i < n; i++) {
    words[2 * i + lo] = at[i] as number;
    words[2 * i + 1 - lo] = hashes[i] as number;
  }
  packed.sort();
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = words[2 * i + lo] as number;
  const hashOf = (i: number): number => words[2 * i + 1 - lo] as number;
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && hashOf(j) === hashOf(i)) j++;
    if (j - i > 1)
      out.set(
        Array.from(out.subarray(i, j)).sort((x, y) => compareKeys(data, x, y)),
        i,
      );
    i = j;
  }
  return out;
}

/** The order of the keys of the nodes at `x` and `y` (their bytes, as latin1 strings compare). */
export function compareKeys(data: Uint8Array, x: number, y: number): number {
  const lx = data[x] as number;
  const ly = data[y] as number;
  for (let i = 1; i <= Math.min(lx, ly); i++) {
    const d = (data[x + i] as number) - (data[y + i] as number);
    if (d !== 0) return d;
  }
  return lx - ly;
}

/**
 * The content of a zone, independent of the order of its file: sha256 over every node's key, its
 * RRsets by type and each RRset's RDATA sorted, the nodes in the order of their keys' FNV-1a hash
 * (then their bytes): a canonical order found without sorting a million strings.
 */
function digestOf(data: Uint8Array, at: Uint32Array, hashes: Uint32Array, touched: number): string {
  const h = createHash('sha256');
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out = Buffer.alloc(1 << 16);
  let len = 0;
  const put = (src: Uint8Array, s: number, e: number): void => {
    if (len + (e - s) > out.length) {
      h.update(out.subarray(0, len));
      len = 0;
    }
    if (e - s > out.length) h.update(src.subarray(s, e));
    else if (e - s > 64) {
      out.set(src.subarray(s, e), len);
      len += e - s;
    } else for (let i = s; i < e; i++) out[len++] = src[i] as number;
  };
  const order = byHash(data, at, hashes);
  for (let k = 0; k < order.length; k++) {
    if (k % AHEAD === 0) touched += touchNodes(view, order, k);
    let p = order[k] as number;
    const keyLen = view[p] as number;
    put(view, p, p + 1 + keyLen);
    p += 1 + keyLen;
    p += 1 + (view[p] as number) + 1; // name, flags
    const setCount = view.readUInt16BE(p);
    if (setCount === 1 && view.readUInt16BE(p + 10) === 1) {
      // One RRset of one record (most nodes): type, class, ttl, count and the record as they are.
      put(view, p + 2, p + 14 + view.readUInt16BE(p + 12));
      continue;
    }
    const sets: [number, number, number][] = []; // type, start, end
    for (let s = setCount, q = p + 2; s > 0; s--) {
      const start = q;
      const count = view.readUInt16BE(q + 8);
      q += 10;
      for (let r = 0; r < count; r++) q += 2 + view.readUInt16BE(q);
      sets.push([view.readUInt16BE(start), start, q]);
    }
    if (sets.length > 1) sets.sort((a, b) => a[0] - b[0]);
    for (const [, s, e] of sets) {
      put(view, s, s + 10); // type, class, ttl, count
      const rdatas: Buffer[] = [];
      for (let q = s + 10; q < e; q += 2 + view.readUInt16BE(q))
        rdatas.push(view.subarray(q, q + 2 + view.readUInt16BE(q)));
      if (rdatas.length > 1) rdatas.sort((a, b) => Buffer.compare(a.subarray(2), b.subarray(2)));
      for (const rd of rdatas) put(rd, 0, rd.length);
    }
  }
  h.update(out.subarray(0, len));
  // What was read ahead goes nowhere; using it keeps the reads from being optimized away.
  if (touched < 0) throw new Error('unreachable');
  return h.digest('hex');
}
