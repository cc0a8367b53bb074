// The names of a zone being built: keys (lower-case wire names) packed in one Buffer, the
// original-case names that differ from them in a second one at the same offsets, and an
// open-addressing index of ids. Owners of records are looked up in batches, so that the index's
// cache misses overlap.
//
//   keys    \x03www\x07example\x04test\x00 \x04mail\x07example…   (id → offset, length)
//   names   \x03WWW\x07example\x04test\x00 ·····················   (same offsets; only the
//                                                              names that differ from their key)
//   slots   [id + 1, hash] pairs, FNV-1a, linear probing, at most MAX_LOAD full

import { hashBytes } from './image.js';

/**
 * How many random reads the owner lookups, the image table and the digest make at once. A node or a table slot at a
 * random place of tens of MB is a cache (and TLB) miss; read one at a time, each waits for the one
 * before it. Touching the next AHEAD first lets the CPU wait for their misses together: the digest
 * of a 1M-name zone went from ~450 to ~300 ms.
 */
export const AHEAD = 16;

/** Names packed in buffers with an open-addressing index (see above). */
export class NameTable {
  #keys: Buffer;
  /** Original-case names, written only for the ids in #cased (the others are their keys): a zone
   * in lower case leaves this buffer's pages untouched, never resident. */
  #names: Buffer;
  #cased: Uint8Array;
  #casedCount = 0;
  #used = 0;
  #offsets: Uint32Array;
  #lengths: Uint8Array;
  /** Ids no longer found by `find` (a node moved under another key). */
  #hidden: Uint8Array;
  #count = 0;
  /**
   * Pairs (id + 1, hash of the key); id + 1 = 0: empty. A probe compares the hash beside the id
   * before it reads the key: the other keys a probe passes are not read (each would be a cache miss
   * in tens of MB of keys). Kept at most MAX_LOAD full.
   */
  #slots: Uint32Array;

  /** `expected`: about how many names will come (room made for them at once). */
  constructor(expected = 1024) {
    const ids = Math.max(1024, expected);
    this.#keys = Buffer.alloc(ids * 24);
    this.#names = Buffer.alloc(ids * 24);
    this.#cased = new Uint8Array(ids);
    this.#offsets = new Uint32Array(ids);
    this.#lengths = new Uint8Array(ids);
    this.#hidden = new Uint8Array(ids);
    let slots = 2048;
    while (slots * MAX_LOAD < ids) slots *= 2;
    this.#slots = new Uint32Array(slots * 2);
  }

  get size(): number {
    return this.#count;
  }

  /** Bytes of keys held. */
  get bytes(): number {
    return this.#used;
  }

  /** The id of the key `buf[off, off + len)`, or -1. */
  find(buf: Uint8Array, off: number, len: number, hash = hashBytes(buf, off, len)): number {
    const slots = this.#slots;
    const mask = slots.length / 2 - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const v = slots[2 * slot] as number;
      if (v === 0) return -1;
      if (slots[2 * slot + 1] !== hash) continue;
      const id = v - 1;
      if (this.#hidden[id] === 0 && this.#equal(id, buf, off, len)) return id;
    }
  }

  /** Add a key that `find` does not find, with its name (same length); returns its id. */
  insert(
    key: Uint8Array,
    koff: number,
    len: number,
    name: Uint8Array,
    noff: number,
    hash = hashBytes(key, koff, len),
  ): number {
    if (this.#count >= (this.#slots.length / 2) * MAX_LOAD) this.#grow();
    const id = this.#count++;
    if (id >= this.#offsets.length) {
      const n = this.#offsets.length * 2;
      this.#offsets = copyInto(new Uint32Array(n), this.#offsets);
      this.#lengths = copyInto(new Uint8Array(n), this.#lengths);
      this.#hidden = copyInto(new Uint8Array(n), this.#hidden);
      this.#cased = copyInto(new Uint8Array(n), this.#cased);
    }
    if (this.#used + len > this.#keys.length) {
      const n = Math.max(this.#keys.length * 2, this.#used + len);
      this.#keys = copyInto(Buffer.alloc(n), this.#keys);
      this.#names = this.#casedCount > 0 ? copyInto(Buffer.alloc(n), this.#names) : Buffer.alloc(n);
    }
    const keys = this.#keys;
    const at = this.#used;
    let cased = false;
    for (let i = 0; i < len; i++) {
      const b = key[koff + i] as number;
      keys[at + i] = b;
      if (name[noff + i] !== b) cased = true;
    }
    if (cased) {
      const names = this.#names;
      for (let i = 0; i < len; i++) names[at + i] = name[noff + i] as number;
      this.#cased[id] = 1;
      this.#casedCount++;
    }
    this.#offsets[id] = this.#used;
    this.#lengths[id] = len;
    this.#used += len;
    this.#place(id, hash);
    return id;
  }

  /** Read the slots where the keys of hashes[from, to) start their probes; their sum (see AHEAD). */
  touch(hashes: Uint32Array, from: number, to: number): number {
    const slots = this.#slots;
    const mask = slots.length / 2 - 1;
    let sum = 0;
    for (let j = from; j < to; j++) sum += slots[2 * ((hashes[j] as number) & mask)] as number;
    return sum;
  }

  /** `find` no longer finds `id` (its key can then be inserted again, as another node). */
  hide(id: number): void {
    this.#hidden[id] = 1;
  }

  /** Where the key of `id` starts in `keyBytes` (and its name in `nameBytesOf(id)`). */
  offset(id: number): number {
    return this.#offsets[id] as number;
  }

  length(id: number): number {
    return this.#lengths[id] as number;
  }

  /** The keys' bytes (replaced by a bigger buffer when an insert needs room). */
  get keyBytes(): Buffer {
    return this.#keys;
  }

  /** The buffer that holds the name of `id` at `offset(id)`: the names', or the keys' when the name
   * is its key. */
  nameBytesOf(id: number): Buffer {
    return this.#cased[id] === 1 ? this.#names : this.#keys;
  }

  key(id: number): Buffer {
    const o = this.#offsets[id] as number;
    return this.#keys.subarray(o, o + (this.#lengths[id] as number));
  }

  name(id: number): Buffer {
    const o = this.#offsets[id] as number;
    return this.nameBytesOf(id).subarray(o, o + (this.#lengths[id] as number));
  }

  #equal(id: number, buf: Uint8Array, off: number, len: number): boolean {
    if (this.#lengths[id] !== len) return false;
    const o = this.#offsets[id] as number;
    const k = this.#keys;
    for (let i = 0; i < len; i++) if (k[o + i] !== buf[off + i]) return false;
    return true;
  }

  #place(id: number, hash: number): void {
    const slots = this.#slots;
    const mask = slots.length / 2 - 1;
    let slot = hash & mask;
    while (slots[2 * slot] !== 0) slot = (slot + 1) & mask;
    slots[2 * slot] = id + 1;
    slots[2 * slot + 1] = hash;
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(old.length * 2);
    for (let s = 0; s < old.length; s += 2) if (old[s] !== 0) this.#place((old[s] as number) - 1, old[s + 1] as number);
  }
}

/** The most of its slots a NameTable fills before it grows. */
const MAX_LOAD = 0.6;

export function copyInto<A extends Uint8Array | Uint32Array>(to: A, from: A): A {
  to.set(from);
  return to;
}

/** Distinct owners an OwnerBatch holds, and records waiting for their ids. */
const BATCH = 256;
const PATCHES = 1024;
/** A key's room in the batch (a name is at most 255 bytes). */
const ROOM = 256;

/**
 * Owners looked up a batch at a time: `queue` keeps a key and its name, `needs` notes a record (by
 * its offset in the record log) that takes the queued owner's id, and `flush` finds or inserts the
 * queued keys in their order (the ids one lookup per record would give), reading the index slots
 * of the next AHEAD keys first, then writes each id into the log (u32 at the record's offset).
 */
export class OwnerBatch {
  readonly #table: NameTable;
  readonly #keys = Buffer.alloc(BATCH * ROOM);
  readonly #names = Buffer.alloc(BATCH * ROOM);
  readonly #lengths = new Uint16Array(BATCH);
  readonly #hashes = new Uint32Array(BATCH);
  readonly #ids = new Uint32Array(BATCH);
  #count = 0;
  readonly #patchAt = new Uint32Array(PATCHES);
  readonly #patchOf = new Uint16Array(PATCHES);
  #patches = 0;
  /** The sum of the slots read ahead (kept, so that the reads are not optimized away). */
  touched = 0;

  constructor(table: NameTable) {
    this.#table = table;
  }

  /** No room for another owner or another record. */
  get full(): boolean {
    return this.#count === BATCH || this.#patches === PATCHES;
  }

  /** Queue the key `key[0, len)` (lower case) with its name `name[0, len)`; its place in the batch. */
  queue(key: Uint8Array, name: Uint8Array, len: number): number {
    const i = this.#count++;
    const base = i * ROOM;
    for (let j = 0; j < len; j++) {
      this.#keys[base + j] = key[j] as number;
      this.#names[base + j] = name[j] as number;
    }
    this.#lengths[i] = len;
    this.#hashes[i] = hashBytes(this.#keys, base, len);
    return i;
  }

  /** The record at `at` in the log takes the id of the owner queued at `i`. */
  needs(at: number, i: number): void {
    this.#patchAt[this.#patches] = at;
    this.#patchOf[this.#patches++] = i;
  }

  /** Look the queued owners up (inserting the new ones) and write their ids into `log`; the ids,
   * by place in the batch (valid until the next queue). */
  flush(log: Buffer): Uint32Array {
    const table = this.#table;
    for (let i = 0; i < this.#count; i++) {
      if (i % AHEAD === 0) this.touched += table.touch(this.#hashes, i, Math.min(i + AHEAD, this.#count));
      const base = i * ROOM;
      const len = this.#lengths[i] as number;
      const hash = this.#hashes[i] as number;
      let id = table.find(this.#keys, base, len, hash);
      if (id < 0) id = table.insert(this.#keys, base, len, this.#names, base, hash);
      this.#ids[i] = id;
    }
    for (let p = 0; p < this.#patches; p++)
      log.writeUInt32BE(this.#ids[this.#patchOf[p] as number] as number, this.#patchAt[p]);
    this.#count = 0;
    this.#patches = 0;
    return this.#ids;
  }
}
