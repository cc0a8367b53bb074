// The upstreams' metrics: queries, timeouts, errors, round-trip times, health, and the fetch limits.

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { MismatchReason } from '../client/index.js';
import type { ResolverObserver } from '../resolver/index.js';
import type { FetchLimit, ForwardObserver } from '../server/index.js';
import { LATENCY_BUCKETS, zeroes } from './common.js';
import type { HistogramChild } from './fast.js';
import { FastCounter, FastHistogram } from './fast.js';
import type { MetricSources } from './metrics.js';

type SentOver = Parameters<ResolverObserver['sent']>[1];

/** Upstreams. */
export function upstreamMetrics(registry: Registry, sources: MetricSources): ResolverObserver {
  const r = [registry];
  // Per upstream query (sent, rtt): fast slots, one per upstream (a configured, bounded set).
  const upQueries = new FastCounter(
    registry,
    'edgedns_upstream_queries_total',
    'Queries sent to upstreams, by upstream and transport.',
    ['upstream', 'transport'],
  );
  const sentSlots = new Map<string, Partial<Record<SentOver, { value: number }>>>();
  const upTimeouts = new Counter({
    name: 'edgedns_upstream_timeouts_total',
    help: 'Upstream queries that got no answer in time.',
    labelNames: ['upstream'],
    registers: r,
  });
  const upErrors = new Counter({
    name: 'edgedns_upstream_errors_total',
    help: 'Upstream failures other than timeouts, by kind.',
    labelNames: ['upstream', 'kind'],
    registers: r,
  });
  const mismatched = new Counter({
    name: 'edgedns_upstream_mismatched_replies_total',
    help: 'Replies dropped as not matching a query: wrong source, ID or question (RFC 5452).',
    labelNames: ['reason'],
    registers: r,
  });
  zeroes(mismatched, ['source'], ['not-response'], ['id'], ['question']);
  const rtt = new FastHistogram(
    registry,
    'edgedns_upstream_rtt_seconds',
    'Round-trip time of answered upstream queries.',
    ['upstream'],
    LATENCY_BUCKETS,
  );
  const rttSlots = new Map<string, HistogramChild>();
  new Gauge({
    name: 'edgedns_upstream_srtt_seconds',
    help: 'Smoothed round-trip time per upstream, as used for selection.',
    labelNames: ['upstream'],
    registers: r,
    aggregator: 'average',
    collect() {
      for (const u of sources.upstreams()) this.labels(u.address).set(u.srttMs / 1000);
    },
  });
  new Gauge({
    name: 'edgedns_upstream_up',
    help: '1 when the upstream is considered healthy.',
    labelNames: ['upstream'],
    registers: r,
    aggregator: 'max',
    collect() {
      for (const u of sources.upstreams()) this.labels(u.address).set(u.healthy ? 1 : 0);
    },
  });
  const resolver: ResolverObserver = {
    sent: (u, t) => {
      let row = sentSlots.get(u);
      if (!row) sentSlots.set(u, (row = {}));
      (row[t] ??= upQueries.child(u, t)).value++;
    },
    timeout: (u) => upTimeouts.labels(u).inc(),
    error: (u, kind) => upErrors.labels(u, kind).inc(),
    mismatched: (reason: MismatchReason) => mismatched.labels(reason).inc(),
    rtt: (u, s) => {
      let h = rttSlots.get(u);
      if (!h) rttSlots.set(u, (h = rtt.child(u)));
      h.observe(s);
    },
    health: () => {},
  };
  return resolver;
}

/** Fetch limits and remembered failures (RFC 9520 §3.2, §3.3). */
export function fetchMetrics(registry: Registry, sources: MetricSources): ForwardObserver {
  const r = [registry];
  new Gauge({
    name: 'edgedns_upstream_queries_in_flight',
    help: 'Upstream resolutions in flight now (identical questions coalesced count once; capped by fetchLimits).',
    registers: r,
    collect() {
      this.set(sources.upstreamInFlight?.() ?? 0);
    },
  });
  const fetchLimited = new Counter({
    name: 'edgedns_fetch_limited_total',
    help: 'Questions not sent upstream because a fetch limit was reached (answered stale, or SERVFAIL with EDE 0), by limit.',
    labelNames: ['limit'],
    registers: r,
  });
  zeroes(fetchLimited, ['in_flight'], ['per_zone']);
  const limitedBy = new Map((['in_flight', 'per_zone'] as const).map((x) => [x, fetchLimited.labels(x)]));
  const failuresCached = new Counter({
    name: 'edgedns_resolution_failures_cached_total',
    help: 'Questions answered from a remembered resolution failure (stale, or SERVFAIL with EDE 13), not sent upstream.',
    registers: r,
  });
  const forward: ForwardObserver = {
    limited: (l: FetchLimit) => limitedBy.get(l)?.inc(),
    failureCached: () => failuresCached.inc(),
  };
  return forward;
}
