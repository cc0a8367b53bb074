// Steps 6 and 7 of the query path for names under no local zone: the cache (a hit is a copy with
// the ID and TTLs patched), then the upstreams (identical questions in flight share one fill),
// serve-stale when they fail (RFC 8767), and prefetch of entries near their end.

import type { AnswerCache, CacheEntry, CacheLookup } from '../cache/index.js';
import { AnswerCache as Cache } from '../cache/index.js';
import type { Logger } from '../core/index.js';
import { errorMessage } from '../core/index.js';
import type { Resolver } from '../resolver/index.js';
import { ResolveError } from '../resolver/index.js';
import type { Query } from '../wire/index.js';
import { FLAG_CD, Rcode, keyToWire } from '../wire/index.js';

/** The outcome of forwarding: an entry to answer from, how, and an extended error if any. */
export interface Forwarded {
  entry: CacheEntry | null;
  source: 'cache' | 'upstream' | 'stale' | 'error';
  rcode: number;
  /** Seconds to count the entry's TTLs down by (cache), or -1 for the stale TTL. */
  age: number;
  /** RFC 8914 extended error: [info-code, text], or null. */
  ede: readonly [number, string] | null;
}

/** RFC 8914 §4 info-codes used here. */
export const EDE = { STALE_ANSWER: 3, PROHIBITED: 18, NO_REACHABLE_AUTHORITY: 22, NETWORK_ERROR: 23 } as const;

export class Forwarder {
  readonly #cache: AnswerCache;
  readonly #resolver: Resolver;
  readonly #log: Logger;
  readonly #filling = new Map<string, Promise<CacheEntry>>();

  constructor(cache: AnswerCache, resolver: Resolver, log: Logger) {
    this.#cache = cache;
    this.#resolver = resolver;
    this.#log = log;
  }

  get cache(): AnswerCache {
    return this.#cache;
  }

  /** A cache lookup; a fresh hit is answered synchronously by the caller. */
  lookup(q: Query): { key: string; found: CacheLookup } {
    const key = Cache.key(q.key, q.qtype, q.qclass, q.edns?.dnssecOk ?? false, (q.flags & FLAG_CD) !== 0);
    const found = this.#cache.get(key);
    if (found.kind === 'fresh' && found.prefetch) void this.#fill(key, q).catch(() => this.#cache.markFailed(key));
    return { key, found };
  }

  /** Ask the upstreams (after a miss or for a stale entry); never rejects. */
  async fetch(q: Query, key: string, found: CacheLookup): Promise<Forwarded> {
    const stale = found.kind === 'stale' ? found.entry : null;
    if (stale && found.kind === 'stale' && found.recentlyFailed) return this.#stale(stale);
    try {
      const entry = await this.#fill(key, q);
      if (entry.rcode === Rcode.SERVFAIL && stale) return this.#stale(stale);
      return { entry, source: 'upstream', rcode: entry.rcode, age: 0, ede: null };
    } catch (e) {
      if (stale) {
        this.#cache.markFailed(key);
        return this.#stale(stale);
      }
      const reason = e instanceof ResolveError ? e.message : errorMessage(e);
      if (!(e instanceof ResolveError)) this.#log.error('forwarding failed', { error: reason });
      return { entry: null, source: 'error', rcode: Rcode.SERVFAIL, age: 0, ede: [EDE.NO_REACHABLE_AUTHORITY, reason.slice(0, 200)] };
    }
  }

  #stale(entry: CacheEntry): Forwarded {
    this.#cache.servedStale();
    return { entry, source: 'stale', rcode: entry.rcode, age: -1, ede: [EDE.STALE_ANSWER, ''] };
  }

  /** One upstream resolution per key at a time; the result is stored in the cache. */
  #fill(key: string, q: Query): Promise<CacheEntry> {
    const running = this.#filling.get(key);
    if (running) return running;
    const qname = keyToWire(q.key);
    const dnssecOk = q.edns?.dnssecOk ?? false;
    const p = this.#resolver
      .resolve({ qname, qtype: q.qtype, qclass: q.qclass, dnssecOk, checkingDisabled: (q.flags & FLAG_CD) !== 0 })
      .then((ans) => this.#cache.store(key, qname, ans.message, dnssecOk))
      .finally(() => this.#filling.delete(key));
    this.#filling.set(key, p);
    return p;
  }
}
