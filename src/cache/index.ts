// Public API of cache/: the wire-format answer cache.
export { AnswerCache } from './cache.js';
export type { CacheEntry, CacheLookup, CacheObserver, CacheOptions } from './cache.js';
