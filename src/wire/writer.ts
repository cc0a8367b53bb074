// Encoding resource records into message sections with name compression (RFC 1035 §4.1.4), once,
// at zone-load or cache-fill time. The result is patched per query, never re-encoded.
//
//   offset 0        12            12+qlen+4                                      end
//   | header      | question    | answer RRsets | authority RRsets | additional  |
//                 ^ the qname is registered for compression at offset 12, so the
//                   bytes are valid for any query whose qname equals it (ignoring case).

import { HEADER_LEN, NAME_LAYOUTS, T } from './constants.js';
import { nameKey, nameLength } from './name.js';

export interface WireRecord {
  /** Uncompressed owner name. */
  owner: Uint8Array;
  type: number;
  class: number;
  ttl: number;
  /** Uncompressed RDATA. */
  rdata: Uint8Array;
}

export const Section = { ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 2 } as const;
export type Section = (typeof Section)[keyof typeof Section];

/** A point where the sections can be cut without splitting an RRset. */
export interface Cut {
  /** End offset of the RRset within `bytes`. */
  end: number;
  /** Record counts of the three sections up to this cut. */
  an: number;
  ns: number;
  ar: number;
  /** An RRset a client needs (answer, authority, referral glue): omitting it sets TC. */
  required: boolean;
}

/** Pre-encoded answer/authority/additional sections of a response. */
export interface Sections {
  bytes: Uint8Array;
  an: number;
  ns: number;
  ar: number;
  cuts: Cut[];
  /** Offsets (within `bytes`) of each record's TTL, for aging cached answers. */
  ttlOffsets: number[];
  /** Set when the bytes were compiled for a stand-in question name (zone/synth.ts). */
  shift?: PointerShift;
}

/**
 * Sections compiled once for a stand-in question name T = K + S and served for a name Q = P + S
 * (K is empty, or the "*" label of a wildcard's stand-in): every pointer to S or past the question
 * is listed, and moves by len(Q) − len(T).
 *
 *   template  | hdr | T = [ K ][ S ]            | sections: ptr→S…, ptr→section names        |
 *   query     | hdr | Q = [ P ........ ][ S ]     | sections: same bytes, those ptrs + shift   |
 *                    ^ offset 12: a pointer to the whole name (a synthesized owner, = Q) is not
 *                      listed when K is not empty, and stays 12.
 */
export interface PointerShift {
  /** Offsets within `Sections.bytes` of the pointers to move, ascending. */
  at: Uint16Array;
  /** Length of the stand-in question name T. */
  qnameLen: number;
}

export const EMPTY_SECTIONS: Sections = { bytes: new Uint8Array(0), an: 0, ns: 0, ar: 0, cuts: [], ttlOffsets: [] };

/** RFC 3597 §4: only the RFC 1035 types' RDATA names may be compressed (on the way out). */
const COMPRESSIBLE = new Set<number>([T.NS, 3, 4, T.CNAME, T.SOA, 7, 8, 9, T.PTR, 14, T.MX]);

export class SectionWriter {
  #buf = new Uint8Array(512);
  #len = 0;
  /** Absolute message offset of `#buf[0]`. */
  readonly #base: number;
  readonly #names = new Map<string, number>();
  readonly #cuts: Cut[] = [];
  readonly #ttls: number[] = [];
  /** Offsets (within the sections) of every compression pointer written, in order. */
  readonly #pointers: number[] = [];
  #counts = [0, 0, 0];

  /** `qname` is the question name; the sections start after the question. */
  constructor(qname: Uint8Array) {
    this.#base = HEADER_LEN + qname.length + 4;
    this.#remember(qname, 0, HEADER_LEN);
  }

  /** Add one RRset (all records in one section) and mark a cut after it. */
  addRRset(section: Section, records: readonly WireRecord[], required: boolean): void {
    for (const rr of records) this.#record(rr);
    this.#counts[section] = (this.#counts[section] as number) + records.length;
    const [an, ns, ar] = this.#counts as [number, number, number];
    this.#cuts.push({ end: this.#len, an, ns, ar, required });
  }

  /**
   * The sections, their bytes from `alloc`. The default takes small buffers from Node's shared
   * pool (no ArrayBuffer of their own): right for data that lives as long as the pool block anyway
   * (a zone); the cache passes its own allocator, since one pooled entry pins a whole 8 KiB block.
   */
  finish(alloc: (length: number) => Uint8Array = pooled): Sections {
    const [an, ns, ar] = this.#counts as [number, number, number];
    const bytes = alloc(this.#len);
    bytes.set(this.#buf.subarray(0, this.#len));
    return { bytes, an, ns, ar, cuts: this.#cuts, ttlOffsets: this.#ttls };
  }

  /** Bytes written so far (the sections, without header and question). */
  get length(): number {
    return this.#len;
  }

  /** Where the compression pointers went, for sections compiled as a template (see PointerShift). */
  pointers(): readonly number[] {
    return this.#pointers;
  }

  #record(rr: WireRecord): void {
    this.#name(rr.owner, 0);
    this.#u16(rr.type);
    this.#u16(rr.class);
    this.#ttls.push(this.#len);
    this.#u32(rr.ttl);
    const lenAt = this.#len;
    this.#u16(0);
    if (COMPRESSIBLE.has(rr.type)) this.#compressibleRdata(rr.type, rr.rdata);
    else this.#bytes(rr.rdata);
    const rdlen = this.#len - lenAt - 2;
    this.#buf[lenAt] = rdlen >> 8;
    this.#buf[lenAt + 1] = rdlen & 0xff;
  }

  /** RDATA with its names compressed, field by field as NAME_LAYOUTS describes the type. */
  #compressibleRdata(type: number, rd: Uint8Array): void {
    let i = 0;
    for (const f of NAME_LAYOUTS[type] as string) {
      if (f === 'n') {
        this.#name(rd, i);
        i += nameLength(rd, i);
      } else {
        const end = f === 'r' ? rd.length : i + Number(f);
        this.#bytes(rd.subarray(i, end));
        i = end;
      }
    }
  }

  /** Write the name at `src[at…]`, replacing its longest known suffix by a pointer. */
  #name(src: Uint8Array, at: number): void {
    const end = at + nameLength(src, at);
    let i = at;
    const start = this.#len;
    while ((src[i] as number) !== 0) {
      const ptr = this.#names.get(nameKey(src, i, end));
      if (ptr !== undefined) {
        this.#pointers.push(this.#len);
        this.#u16(0xc000 | ptr);
        this.#remember(src.subarray(at, end), 0, this.#base + start, i - at);
        return;
      }
      const len = src[i] as number;
      this.#bytes(src.subarray(i, i + len + 1));
      i += len + 1;
    }
    this.#bytes(Uint8Array.of(0));
    this.#remember(src.subarray(at, end), 0, this.#base + start);
  }

  /** Register each suffix of `name` (up to `limit` bytes in) as found at `offset`. */
  #remember(name: Uint8Array, from: number, offset: number, limit = name.length - 1): void {
    for (let i = from; i < limit && (name[i] as number) !== 0; i += (name[i] as number) + 1) {
      const abs = offset + i;
      if (abs > 0x3fff) return;
      const key = nameKey(name, i);
      if (!this.#names.has(key)) this.#names.set(key, abs);
    }
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  #bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  #u16(v: number): void {
    this.#ensure(2);
    this.#buf[this.#len++] = (v >> 8) & 0xff;
    this.#buf[this.#len++] = v & 0xff;
  }

  #u32(v: number): void {
    this.#u16(Math.floor(v / 0x10000) & 0xffff);
    this.#u16(v & 0xffff);
  }
}

function pooled(length: number): Uint8Array {
  return Buffer.allocUnsafe(length);
}
