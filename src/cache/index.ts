// Public API of cache/: the wire-format answer cache.
export { AnswerCache, CacheEntry } from './cache.js';
export type { CacheLimits, CacheLookup, CacheObserver, CacheOptions, DropSection } from './cache.js';
export { MAX_CHAIN, cleanMessage } from './clean.js';
export type { Cleaned, Dropped } from './clean.js';
