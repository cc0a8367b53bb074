// The cache's metrics: hits and misses (fast slots), evictions, stale answers, prefetches, size.

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { CacheObserver, DropSection } from '../cache/index.js';
import { zeroes } from './common.js';
import { FastCounter } from './fast.js';
import type { MetricSources } from './metrics.js';

/** Cache. */
export function cacheMetrics(registry: Registry, sources: MetricSources): CacheObserver {
  const r = [registry];
  const hits = new FastCounter(
    registry,
    'edgedns_cache_hits_total',
    'Cache lookups answered from a fresh entry.',
    [],
  ).child();
  const misses = new FastCounter(
    registry,
    'edgedns_cache_misses_total',
    'Cache lookups without a fresh entry.',
    [],
  ).child();
  const evictions = new Counter({
    name: 'edgedns_cache_evictions_total',
    help: 'Entries evicted to stay within the entry and byte bounds.',
    registers: r,
  });
  const stale = new Counter({
    name: 'edgedns_cache_stale_served_total',
    help: 'Expired answers served because the upstreams failed (RFC 8767).',
    registers: r,
  });
  const prefetches = new Counter({
    name: 'edgedns_cache_prefetches_total',
    help: 'Entries refreshed in the background near the end of their TTL.',
    registers: r,
  });
  new Gauge({
    name: 'edgedns_cache_entries',
    help: 'Entries in the cache.',
    registers: r,
    collect() {
      this.set(sources.cache()?.entries ?? 0);
    },
  });
  new Gauge({
    name: 'edgedns_cache_bytes',
    help: 'Bytes accounted to cache entries.',
    registers: r,
    collect() {
      this.set(sources.cache()?.bytes ?? 0);
    },
  });
  const droppedRecords = new Counter({
    name: 'edgedns_cache_records_dropped_total',
    help: 'Records of upstream responses dropped before caching (not in the answer chain, not of the answering zone, glue out of bailiwick), by section.',
    labelNames: ['section'],
    registers: r,
  });
  zeroes(droppedRecords, ['answer'], ['authority'], ['additional']);
  const droppedBy = {
    answer: droppedRecords.labels('answer'),
    authority: droppedRecords.labels('authority'),
    additional: droppedRecords.labels('additional'),
  };
  const cache: CacheObserver = {
    hit: () => void hits.value++,
    miss: () => void misses.value++,
    staleServed: () => stale.inc(),
    prefetch: () => prefetches.inc(),
    evicted: () => evictions.inc(),
    dropped: (section: DropSection, n: number) => droppedBy[section].inc(n),
  };
  return cache;
}
