// Steps 6 and 7 of the query path for names under no local zone: the cache (a hit is a copy with
// the ID and TTLs patched), then the upstreams (identical questions in flight share one fill),
// serve-stale when they fail (RFC 8767), and prefetch of entries near their end. In front of the
// upstreams: failures remembered (RFC 9520 §3.2) and the fetch limits (RFC 9520 §3.3), both
// answered at once, without a promise, from what the cache has (stale) or as SERVFAIL + EDE.

import type { AnswerCache, CacheEntry, CacheLookup } from '../cache/index.js';
import { AnswerCache as Cache } from '../cache/index.js';
import type { Clock, Logger } from '../core/index.js';
import { errorMessage, systemClock } from '../core/index.js';
import type { Resolver } from '../resolver/index.js';
import { ResolveError } from '../resolver/index.js';
import type { Query } from '../wire/index.js';
import { FLAG_CD, Rcode, keyToWire } from '../wire/index.js';
import { FailureCache } from './failures.js';
import type { FetchLimit } from './fetch-limits.js';
import { FetchLimits, ZoneCuts } from './fetch-limits.js';

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
export const EDE = {
  OTHER: 0,
  STALE_ANSWER: 3,
  CACHED_ERROR: 13,
  NOT_READY: 14,
  PROHIBITED: 18,
  NO_REACHABLE_AUTHORITY: 22,
  NETWORK_ERROR: 23,
} as const;

/** What the forwarder reports; metrics/ implements it. */
export interface ForwardObserver {
  /** A question turned away by a fetch limit (answered stale or SERVFAIL, upstreams not asked). */
  limited(limit: FetchLimit): void;
  /** A question answered from a remembered failure (stale or SERVFAIL, upstreams not asked). */
  failureCached(): void;
}

const NOOP: ForwardObserver = { limited: () => {}, failureCached: () => {} };

/** What the forwarder needs of the upstreams: a `Resolver`, or a fake in tests. */
export type Upstreams = Pick<Resolver, 'resolve' | 'unavailable'>;

export interface ForwarderOptions {
  /** Upstream resolutions in flight at most, in total and per zone (fetchLimits). */
  inFlight: number;
  perZone: number;
  clock: Clock;
  observer: ForwardObserver;
}

/** Where a name with no upstreams would go (the pipeline REFUSES those first): every resolution fails. */
const NO_UPSTREAMS: Upstreams = {
  unavailable: () => null,
  resolve: () => Promise.reject(new ResolveError('no-upstreams', 'no upstream resolvers configured')),
};

/** Questions whose failure is remembered; zone cuts remembered (each a few dozen bytes). */
const FAILURES_MAX = 20_000;
const CUTS_MAX = 10_000;
/** RFC 9520 §3.2: failures held at least 1 s, at most 5 minutes. */
const FAILURE_MIN_MS = 1000;
const FAILURE_MAX_MS = 300_000;
/** A question failing again within a minute of its last hold is failing persistently: hold longer. */
const FAILURE_AGAIN_MS = 60_000;

export class Forwarder {
  readonly #cache: AnswerCache;
  /** The default upstreams (names under no forward zone); null: none (only forward zones). */
  readonly #resolver: Upstreams | null;
  readonly #log: Logger;
  readonly #obs: ForwardObserver;
  readonly #filling = new Map<string, Promise<CacheEntry>>();
  readonly #limits: FetchLimits;
  readonly #cuts = new ZoneCuts(CUTS_MAX);
  readonly #failures: FailureCache;
  /** Over a cap without a stale answer: SERVFAIL with EDE 0 and a text naming the cap (RFC 8914
   * has no code for "resource limit"; 22 would blame an authority that was never asked). Built once. */
  readonly #overCap: Record<FetchLimit, Forwarded>;
  #down: { err: ResolveError; answer: Forwarded } | null = null;

  constructor(cache: AnswerCache, resolver: Upstreams | null, log: Logger, opts: Partial<ForwarderOptions> = {}) {
    this.#cache = cache;
    this.#resolver = resolver;
    this.#log = log;
    this.#obs = opts.observer ?? NOOP;
    const inFlight = opts.inFlight ?? Infinity;
    const perZone = opts.perZone ?? Infinity;
    this.#limits = new FetchLimits(inFlight, perZone);
    this.#failures = new FailureCache({
      max: FAILURES_MAX,
      minMs: FAILURE_MIN_MS,
      maxMs: FAILURE_MAX_MS,
      againWithinMs: FAILURE_AGAIN_MS,
      clock: opts.clock ?? systemClock,
    });
    const servfail = (text: string): Forwarded => ({
      entry: null,
      source: 'error',
      rcode: Rcode.SERVFAIL,
      age: 0,
      ede: [EDE.OTHER, text],
    });
    this.#overCap = {
      in_flight: servfail(`fetch limit: ${inFlight} upstream resolutions in flight`),
      per_zone: servfail(`fetch limit: ${perZone} upstream resolutions in flight for this zone`),
    };
  }

  get cache(): AnswerCache {
    return this.#cache;
  }

  /** The default upstreams: those of names under no forward zone (null: such names are REFUSED). */
  get upstreams(): Upstreams | null {
    return this.#resolver;
  }

  /** Upstream resolutions in flight now (coalesced questions count once). */
  get inFlight(): number {
    return this.#limits.inFlight;
  }

  /** The zone a name key is counted under by the per-zone cap (see fetch-limits.ts). */
  zoneOf(qkey: string): string {
    return this.#cuts.zoneOf(qkey);
  }

  /** The cache key of a question (also the key of its fill, its remembered failure). */
  keyOf(q: Query): string {
    return Cache.key(q.key, q.qtype, q.qclass, q.edns !== null && q.edns.dnssecOk, (q.flags & FLAG_CD) !== 0);
  }

  /**
   * A cache lookup of `q` under `key` (keyOf); a fresh hit is answered synchronously by the caller.
   * The result is only read until the next lookup (the cache reuses it); `q` is not kept.
   * `upstreams`: those of the name (its forward zone's, else the default), asked by a prefetch.
   */
  lookup(key: string, q: Query, upstreams: Upstreams | null = this.#resolver): CacheLookup {
    const found = this.#cache.get(key);
    if (found.kind === 'fresh' && found.prefetch && upstreams) this.#prefetch(key, q, upstreams);
    return found;
  }

  /**
   * Ask `upstreams` (the name's: its forward zone's, else the default) after a miss or for a stale
   * entry; never rejects. Answered at once (not a promise) when the upstreams are not asked: stale
   * after a recent failure, a remembered failure, a fetch limit. `q` and `found` are read now, not kept.
   */
  fetch(
    q: Query,
    key: string,
    found: CacheLookup,
    upstreams: Upstreams = this.#resolver ?? NO_UPSTREAMS,
  ): Forwarded | Promise<Forwarded> {
    const stale = found.kind === 'stale' ? found.entry : null;
    if (stale && found.kind === 'stale' && found.recentlyFailed) return this.#stale(stale);
    const running = this.#filling.get(key);
    if (running) return this.#outcome(running, key, stale);
    // RFC 9520 §3.2: a question that failed just now is not asked again yet.
    const held = this.#failures.held(key);
    if (held) {
      this.#obs.failureCached();
      if (stale) return this.#stale(stale);
      return {
        entry: null,
        source: 'error',
        rcode: Rcode.SERVFAIL,
        age: 0,
        ede: [EDE.CACHED_ERROR, `${held.reason.slice(0, 160)} (remembered ${Math.ceil(held.leftMs / 1000)} s more)`],
      };
    }
    // Every upstream down and none due for a probe: nothing would be asked.
    const down = upstreams.unavailable();
    if (down) return stale ? this.#stale(stale) : this.#unreachable(down);
    // RFC 9520 §3.3: at most `inFlight` resolutions out, and `perZone` for one zone.
    const zone = this.#cuts.zoneOf(q.key);
    const limit = this.#limits.acquire(zone);
    if (limit) {
      this.#obs.limited(limit);
      return stale ? this.#stale(stale) : this.#overCap[limit];
    }
    return this.#outcome(this.#fill(key, q, zone, upstreams), key, stale);
  }

  async #outcome(fill: Promise<CacheEntry>, key: string, stale: CacheEntry | null): Promise<Forwarded> {
    try {
      const entry = await fill;
      if (entry.rcode === Rcode.SERVFAIL && stale) return this.#stale(stale);
      return { entry, source: 'upstream', rcode: entry.rcode, age: 0, ede: null };
    } catch (e) {
      if (stale) {
        this.#cache.markFailed(key);
        return this.#stale(stale);
      }
      const reason = e instanceof ResolveError ? e.message : errorMessage(e);
      if (!(e instanceof ResolveError)) this.#log.error('forwarding failed', { error: reason });
      return {
        entry: null,
        source: 'error',
        rcode: Rcode.SERVFAIL,
        age: 0,
        ede: [EDE.NO_REACHABLE_AUTHORITY, reason.slice(0, 200)],
      };
    }
  }

  /** SERVFAIL with EDE 22 for "every upstream down"; one object per such error (it changes once per probe). */
  #unreachable(e: ResolveError): Forwarded {
    if (this.#down?.err !== e)
      this.#down = {
        err: e,
        answer: {
          entry: null,
          source: 'error',
          rcode: Rcode.SERVFAIL,
          age: 0,
          ede: [EDE.NO_REACHABLE_AUTHORITY, e.message.slice(0, 200)],
        },
      };
    return this.#down.answer;
  }

  /** The stale answer a lookup found, served as such; null when there is none (shedding: nothing is asked). */
  staleOnly(found: CacheLookup): Forwarded | null {
    return found.kind === 'stale' ? this.#stale(found.entry) : null;
  }

  #stale(entry: CacheEntry): Forwarded {
    this.#cache.servedStale();
    return { entry, source: 'stale', rcode: entry.rcode, age: -1, ede: [EDE.STALE_ANSWER, ''] };
  }

  /** A refresh near the end of a fresh entry's life, when no fill runs and the caps allow it. */
  #prefetch(key: string, q: Query, upstreams: Upstreams): void {
    if (this.#filling.has(key)) return;
    const zone = this.#cuts.zoneOf(q.key);
    if (this.#limits.acquire(zone)) return; // the entry is still fresh: no refresh is no harm
    void this.#fill(key, q, zone, upstreams).catch(() => this.#cache.markFailed(key));
  }

  /**
   * One upstream resolution for `key` (its slot under `zone` already taken, given back at the
   * end); the result is stored in the cache, the zone cuts it shows are learned, and a failure
   * is remembered once per resolution (not once per coalesced client).
   */
  #fill(key: string, q: Query, zone: string, upstreams: Upstreams): Promise<CacheEntry> {
    // Only the question's parts are kept for later: the pipeline reuses its query object.
    const qkey = q.key;
    const qname = keyToWire(qkey);
    const dnssecOk = q.edns !== null && q.edns.dnssecOk;
    const p = upstreams
      .resolve({ qname, qtype: q.qtype, qclass: q.qclass, dnssecOk, checkingDisabled: (q.flags & FLAG_CD) !== 0 })
      .then(
        (ans) => {
          this.#cuts.learn(qkey, ans.message);
          const entry = this.#cache.store(key, qname, ans.message, dnssecOk);
          if (entry.rcode === Rcode.SERVFAIL) this.#failures.failed(key, `${ans.upstream} answered SERVFAIL`);
          else this.#failures.answered(key);
          return entry;
        },
        (e: unknown) => {
          // Not asked (every upstream down, no probe due): nothing was tried, nothing to remember.
          if (e instanceof ResolveError && e.asked) this.#failures.failed(key, e.message);
          throw e;
        },
      );
    const done = p.finally(() => {
      this.#filling.delete(key);
      this.#limits.release(zone);
    });
    this.#filling.set(key, done);
    return done;
  }
}
