// The answer cache: responses stored as pre-encoded sections on lru-cache, bounded by entries and
// bytes, with TTLs counted down on the way out, negative caching (RFC 2308), a short SERVFAIL
// cache, serve-stale (RFC 8767) and prefetch marks. The clock is injected. What is stored is the
// response cleaned by clean.ts: only the records that answer the question.
//
//   key "qnameKey|qtype|qclass|do" → Entry { rcode, flags, wire sections, TTL offsets, storedAt, ttl }
//   An entry is itself the Sections it answers with; its offsets and cut points are shared with
//   every other entry of the same shape (most are "one RRset of one record"), to keep it small.
//   fresh:  now < storedAt + ttl           → copy, TTLs minus age
//   stale:  now < storedAt + ttl + maxStale → only when the upstreams fail; TTLs = staleTtl

import { LRUCache } from 'lru-cache';
import type { Clock } from '../core/index.js';
import type { Cut, Message, Sections, WireRecord } from '../wire/index.js';
import { EMPTY_SECTIONS, FLAG_AD, Rcode, Section, SectionWriter, T, lowerByte, soaMinimum } from '../wire/index.js';
import type { Cleaned } from './clean.js';
import { cleanMessage } from './clean.js';

/** The cache's bounds and lifetimes: the `cache:` section of the config. */
export interface CacheLimits {
  maxEntries: number;
  maxBytes: number;
  /** Clamp of every entry's lifetime, in seconds. */
  minTtl: number;
  maxTtl: number;
  maxNegativeTtl: number;
  /** How long a SERVFAIL is remembered, in seconds. */
  servfailTtl: number;
  /** How long past expiry an entry may still be served stale, in seconds (RFC 8767 §5). */
  maxStale: number;
  /** After a failed refresh, how long to serve stale without asking upstream again (RFC 8767 §4), seconds. */
  staleRecheck: number;
  /** Whether entries asked for in the last 10% of their TTL are refreshed in the background. */
  prefetch: boolean;
}

export interface CacheOptions extends CacheLimits {
  clock: Clock;
  observer?: CacheObserver;
}

export interface CacheObserver {
  hit(): void;
  miss(): void;
  staleServed(): void;
  prefetch(): void;
  evicted(): void;
  /** Records of an upstream response dropped before caching (clean.ts); called when n > 0. */
  dropped(section: DropSection, n: number): void;
}

export type DropSection = 'answer' | 'authority' | 'additional';

const NOOP: CacheObserver = {
  hit: () => {},
  miss: () => {},
  staleServed: () => {},
  prefetch: () => {},
  evicted: () => {},
  dropped: () => {},
};

/** A cached response: its sections plus what the cache needs to know about it. */
export class CacheEntry implements Sections {
  readonly bytes: Uint8Array;
  readonly an: number;
  readonly ns: number;
  readonly ar: number;
  readonly cuts: Cut[];
  readonly ttlOffsets: number[];
  readonly rcode: number;
  /** Header flags to set (AD from the upstream). */
  readonly flags: number;
  /** ms since the epoch. */
  readonly storedAt: number;
  /** Lifetime in seconds. */
  readonly ttl: number;
  prefetched = false;
  /** When a refresh last failed (ms), or 0. */
  failedAt = 0;

  constructor(s: Sections, rcode: number, flags: number, storedAt: number, ttl: number) {
    this.bytes = s.bytes;
    this.an = s.an;
    this.ns = s.ns;
    this.ar = s.ar;
    this.cuts = s.cuts;
    this.ttlOffsets = s.ttlOffsets;
    this.rcode = rcode;
    this.flags = flags;
    this.storedAt = storedAt;
    this.ttl = ttl;
  }

  /** Bytes accounted against maxBytes: the wire bytes, the objects around them and their allocation. */
  get size(): number {
    const n = this.bytes.length;
    return n + ENTRY_OVERHEAD + (n > ON_HEAP_MAX ? OFF_HEAP_OVERHEAD : 0);
  }
}

export type CacheLookup =
  | { kind: 'fresh'; entry: CacheEntry; age: number; prefetch: boolean }
  | { kind: 'stale'; entry: CacheEntry; recentlyFailed: boolean }
  | { kind: 'miss' };

const MISS: CacheLookup = { kind: 'miss' };

/** A fresh hit as `get` returns it: one object per cache, filled in place for each hit. */
type Fresh = { kind: 'fresh'; entry: CacheEntry; age: number; prefetch: boolean };

/**
 * The end of a key after the name key, for query types under 256 (×4: DO, CD) in class IN: the
 * strings are made once, so that a key is one concatenation, not a template of five parts.
 */
const SUFFIXES: (string | undefined)[] = [];
const SUFFIX_TYPES = 256;
/**
 * Bytes an entry costs beyond its wire bytes and key, on the V8 heap: the entry, its Uint8Array and
 * ArrayBuffer objects, the LRU's slot and map entry (measured: bench/cache-memory.ts, heap and
 * arrayBuffers growth per entry minus wire bytes and key, 415-420 B on Node 20; 580 B while a key
 * was a template string, which V8 keeps as a chain of five concatenations).
 */
const ENTRY_OVERHEAD = 420;
/** V8 keeps a typed array of up to 64 bytes inside the heap; a bigger one is a malloc'd backing store. */
const ON_HEAP_MAX = 64;
/** What a backing store of its own costs outside the V8 heap (malloc and V8 bookkeeping; measured by RSS). */
const OFF_HEAP_OVERHEAD = 300;
/** Shapes (offsets and cut points) shared between entries; bounded. */
const SHAPES_MAX = 10_000;

export class AnswerCache {
  readonly #o: CacheOptions;
  readonly #obs: CacheObserver;
  readonly #lru: LRUCache<string, CacheEntry>;
  readonly #shapes = new Map<string, { cuts: Cut[]; ttlOffsets: number[] }>();
  /** The result of every fresh hit (see `get`). */
  readonly #fresh: Fresh;
  /**
   * lru-cache's get() options, passed every time: without them it makes an object per call. Its
   * `status` is cleared before each call (lru-cache fills it only for diagnostics subscribers).
   */
  readonly #getOptions: { status: LRUCache.Status<string, CacheEntry, unknown> | undefined } = { status: undefined };

  constructor(opts: CacheOptions) {
    this.#o = opts;
    this.#obs = opts.observer ?? NOOP;
    this.#lru = new LRUCache<string, CacheEntry>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      sizeCalculation: (e, k) => e.size + k.length,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.#obs.evicted();
      },
    });
    this.#fresh = { kind: 'fresh', entry: new CacheEntry(EMPTY_SECTIONS, 0, 0, 0, 0), age: 0, prefetch: false };
  }

  /**
   * The key of a question, "qkey|qtype|qclass|do" (then "|cd" when CD is set): CD=1 answers
   * (possibly unvalidated data) are kept apart.
   */
  static key(qkey: string, qtype: number, qclass: number, dnssecOk: boolean, checkingDisabled = false): string {
    const bits = (dnssecOk ? 1 : 0) | (checkingDisabled ? 2 : 0);
    if (qclass !== 1 || qtype >= SUFFIX_TYPES) return qkey + suffix(qtype, qclass, bits);
    const i = (qtype << 2) | bits;
    return qkey + (SUFFIXES[i] ??= suffix(qtype, qclass, bits));
  }

  /**
   * Look `key` up. A fresh hit is one object per cache, filled again by the next lookup: read it
   * before asking again.
   */
  get(key: string): CacheLookup {
    const opts = this.#getOptions;
    opts.status = undefined;
    const e = this.#lru.get(key, opts as LRUCache.GetOptions<string, CacheEntry, unknown>);
    if (!e) {
      this.#obs.miss();
      return MISS;
    }
    const now = this.#o.clock.now();
    const ageMs = now - e.storedAt;
    if (ageMs < e.ttl * 1000) {
      const age = Math.floor(ageMs / 1000);
      // Refresh once when asked for in the last 10% of the lifetime.
      const prefetch = this.#o.prefetch && !e.prefetched && e.rcode !== Rcode.SERVFAIL && ageMs >= e.ttl * 900;
      if (prefetch) {
        e.prefetched = true;
        this.#obs.prefetch();
      }
      this.#obs.hit();
      const f = this.#fresh;
      f.entry = e;
      f.age = age;
      f.prefetch = prefetch;
      return f;
    }
    if (e.rcode !== Rcode.SERVFAIL && ageMs < (e.ttl + this.#o.maxStale) * 1000) {
      this.#obs.miss();
      return {
        kind: 'stale',
        entry: e,
        recentlyFailed: e.failedAt > 0 && now - e.failedAt < this.#o.staleRecheck * 1000,
      };
    }
    this.#lru.delete(key);
    this.#obs.miss();
    return MISS;
  }

  /** Count a stale answer actually served. */
  servedStale(): void {
    this.#obs.staleServed();
  }

  /**
   * Store an upstream response for `qname` and return it as an entry to answer from (also when it
   * is not cacheable). The response is cleaned first (clean.ts): the entry, and so the client that
   * asked, never sees the records dropped. A SERVFAIL never replaces a good answer (RFC 8767 §4):
   * the good one stays, marked as failed, for serve-stale.
   */
  store(key: string, qname: Uint8Array, msg: Message, dnssecOk: boolean): CacheEntry {
    const now = this.#o.clock.now();
    // The question's type is the response's: the resolver only accepts a reply to the question it
    // asked (RFC 5452 §9.1), so msg.qtype is the type of this key.
    const cleaned = cleanMessage(msg, qname, msg.qtype);
    const d = cleaned.dropped;
    if (d.answer > 0) this.#obs.dropped('answer', d.answer);
    if (d.authority > 0) this.#obs.dropped('authority', d.authority);
    if (d.additional > 0) this.#obs.dropped('additional', d.additional);
    const entry = this.#share(buildEntry(qname, cleaned, dnssecOk, this.#o, now));
    const old = this.#lru.peek(key);
    if (entry.rcode === Rcode.SERVFAIL && old && old.rcode !== Rcode.SERVFAIL) {
      old.failedAt = now;
      return entry;
    }
    if (
      entry.ttl > 0 &&
      (entry.rcode === Rcode.NOERROR || entry.rcode === Rcode.NXDOMAIN || entry.rcode === Rcode.SERVFAIL)
    )
      this.#lru.set(key, entry);
    return entry;
  }

  /** An entry whose offsets and cuts are the shared copies for its shape. */
  #share(e: CacheEntry): CacheEntry {
    const key = `${e.ttlOffsets.join(',')}/${e.cuts.map((c) => `${c.end}.${c.an}.${c.ns}.${c.ar}.${c.required ? 1 : 0}`).join(',')}`;
    const known = this.#shapes.get(key);
    if (known)
      return new CacheEntry(
        { ...e, cuts: known.cuts, ttlOffsets: known.ttlOffsets },
        e.rcode,
        e.flags,
        e.storedAt,
        e.ttl,
      );
    if (this.#shapes.size < SHAPES_MAX) this.#shapes.set(key, { cuts: e.cuts, ttlOffsets: e.ttlOffsets });
    return e;
  }

  /** Remember that refreshing `key` failed, so stale answers are served without asking again. */
  markFailed(key: string): void {
    const e = this.#lru.peek(key);
    if (e) e.failedAt = this.#o.clock.now();
  }

  /** Remove everything, or every entry of one name (a lower-case name key). */
  flush(qkey?: string): number {
    if (qkey === undefined) {
      const n = this.#lru.size;
      this.#lru.clear();
      return n;
    }
    let n = 0;
    const prefix = `${qkey}|`;
    for (const k of [...this.#lru.keys()]) {
      if (k.startsWith(prefix)) {
        this.#lru.delete(k);
        n++;
      }
    }
    return n;
  }

  get entries(): number {
    return this.#lru.size;
  }

  get bytes(): number {
    return this.#lru.calculatedSize;
  }
}

function suffix(qtype: number, qclass: number, bits: number): string {
  return `|${qtype}|${qclass}|${bits & 1}${bits & 2 ? '|cd' : ''}`;
}

/** The lifetime of a cleaned response (RFC 2308 §5 for negative answers), clamped; 0 = not cacheable. */
function lifetime(c: Cleaned, o: CacheOptions): number {
  const msg = c.message;
  if (msg.rcode === Rcode.SERVFAIL) return o.servfailTtl;
  if (msg.rcode !== Rcode.NOERROR && msg.rcode !== Rcode.NXDOMAIN) return 0;
  // The kept chain (CNAME, DNAME) lives no longer than its shortest record.
  const chain = msg.answer.reduce((m, r) => Math.min(m, r.ttl), Infinity);
  if (msg.rcode === Rcode.NOERROR && c.answered) return Math.min(Math.max(chain, o.minTtl), o.maxTtl);
  // RFC 2308 §5: a negative answer (NXDOMAIN, or NODATA, also at the end of a chain) lives
  // min(SOA TTL, SOA MINIMUM); without the answering zone's SOA it is not cached.
  const soa = msg.authority.find((r) => r.type === T.SOA);
  if (!soa) return 0;
  const ttl = Math.min(soa.ttl, soaMinimum(soa.rdata), chain);
  return Math.min(Math.max(ttl, o.minTtl), o.maxNegativeTtl);
}

function buildEntry(qname: Uint8Array, cleaned: Cleaned, dnssecOk: boolean, o: CacheOptions, now: number): CacheEntry {
  const msg = cleaned.message;
  const ttl = lifetime(cleaned, o);
  const w = new SectionWriter(qname);
  // No record outlives its entry: TTLs are capped to the entry's lifetime when stored.
  const cap = (rs: WireRecord[]): WireRecord[] => rs.map((r) => (r.ttl > ttl ? { ...r, ttl } : r));
  addRRsets(w, Section.ANSWER, cap(msg.answer), true);
  addRRsets(w, Section.AUTHORITY, cap(msg.authority), true);
  addRRsets(w, Section.ADDITIONAL, cap(msg.additional), false);
  const flags = dnssecOk ? msg.flags & FLAG_AD : 0;
  return new CacheEntry(w.finish(ownBytes), msg.rcode, flags, now, ttl);
}

/**
 * An entry's bytes in an ArrayBuffer of their own and of exact size: a slice of Node's shared pool
 * (or of a received datagram) would keep the whole 8 KiB block alive as long as the entry lives.
 */
function ownBytes(length: number): Uint8Array {
  return Buffer.allocUnsafeSlow(length);
}

/** Add records grouped into RRsets (same owner, type, class, in a row), each a cut point. */
function addRRsets(w: SectionWriter, section: Section, records: WireRecord[], required: boolean): void {
  let i = 0;
  while (i < records.length) {
    const first = records[i] as WireRecord;
    let j = i + 1;
    while (j < records.length && sameSet(records[j] as WireRecord, first)) j++;
    w.addRRset(section, records.slice(i, j), required);
    i = j;
  }
}

function sameSet(a: WireRecord, b: WireRecord): boolean {
  if (a.type !== b.type || a.class !== b.class || a.owner.length !== b.owner.length) return false;
  for (let i = 0; i < a.owner.length; i++)
    if (lowerByte(a.owner[i] as number) !== lowerByte(b.owner[i] as number)) return false;
  return true;
}
