// The answer cache the unit tests build: 1000 entries, 1 MiB, TTLs as the node's defaults would
// clamp them (1 day, 1 hour negative, 5 s SERVFAIL), a day of serve-stale, prefetch on, on the
// test's clock; `over` changes any of it.
import type { CacheOptions } from '../../src/cache/index.ts';
import { AnswerCache } from '../../src/cache/index.ts';
import type { Clock } from '../../src/core/index.ts';

export const testCacheOptions = (clock: Clock, over: Partial<CacheOptions> = {}): CacheOptions => ({
  maxEntries: 1000,
  maxBytes: 1 << 20,
  minTtl: 0,
  maxTtl: 86400,
  maxNegativeTtl: 3600,
  servfailTtl: 5,
  maxStale: 86400,
  staleRecheck: 30,
  prefetch: true,
  clock,
  ...over,
});

export const testCache = (clock: Clock, over: Partial<CacheOptions> = {}): AnswerCache =>
  new AnswerCache(testCacheOptions(clock, over));
