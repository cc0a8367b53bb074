// Public API of cache/: the wire-format answer cache.
export { AnswerCache, CacheEntry } from './cache.js';
export type { CacheLookup, CacheObserver, CacheOptions } from './cache.js';
