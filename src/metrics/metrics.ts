// Metric definitions on a registry of our own, and the observers the domain modules call.
// Label children are bound once; point-in-time values (cache size, zones, upstream RTT) are read
// in collect(). Names follow STYLE.md: edgedns_<area>_<name>_<unit>.

import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AnnounceObserver } from '../announce/index.js';
import { systemClock } from '../core/index.js';
import type { CacheObserver, DropSection } from '../cache/index.js';
import type { CheckResult, HealthObserver, HealthState } from '../health/index.js';
import type { MismatchReason } from '../client/index.js';
import type { ResolverObserver, UpstreamStatus } from '../resolver/index.js';
import type {
  Deadline,
  DefenceObserver,
  FetchLimit,
  ForwardObserver,
  ListenerObserver,
  PipelineObserver,
  RefuseReason,
  SendFailure,
  Transport,
} from '../server/index.js';
import { Rcode, TYPES } from '../wire/index.js';
import { FastCounter, FastHistogram } from './fast.js';
import type { HistogramChild } from './fast.js';
import type { ZoneInfo } from '../zone/index.js';

/** Query types with a label of their own; every other type is counted as "other". */
const QTYPES = [
  'A',
  'AAAA',
  'ANY',
  'CAA',
  'CNAME',
  'DNSKEY',
  'DS',
  'HTTPS',
  'MX',
  'NAPTR',
  'NS',
  'PTR',
  'SOA',
  'SRV',
  'SVCB',
  'TXT',
];
/** Rcodes with a label of their own; others are "other" (the label set stays bounded). */
const RCODES = new Map<number, string>(
  ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'BADVERS', 'BADCOOKIE'].map((n) => [
    Rcode[n as keyof typeof Rcode],
    n,
  ]),
);
const rcodeLabel = (rcode: number): string => RCODES.get(rcode) ?? 'other';
const SOURCES = ['zone', 'cache', 'upstream', 'stale', 'chaos', 'error'] as const;
/** Message sizes: the classic UDP limit (512), the DNS flag day's EDNS size (1232), TCP's 65535. */
const SIZE_BUCKETS = [32, 64, 128, 256, 512, 1232, 2048, 4096, 8192, 16384, 32768, 65535];
/** The rcodes of zone answers: each loaded zone has these per-zone series from its load on. */
const ZONE_RCODES = [0, 3];
const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** Where collect() reads point-in-time values from. */
export interface MetricSources {
  /** Announced prefixes, for the per-prefix desired/confirmed gauges. */
  prefixes(): readonly string[];
  cache(): { entries: number; bytes: number } | null;
  zones(): ZoneInfo[];
  upstreams(): UpstreamStatus[];
  /** Upstream resolutions in flight now (this process's). */
  upstreamInFlight?(): number;
  /** Worker processes (the primary of a multi-process node), or null. */
  workers?(): { configured: number; listening: number } | null;
  /** Zone answers for names that are not nodes, by how they were made (monotonic in a process). */
  zoneAnswers?(): { template: number; perName: number };
}

/** One registry's metrics as JSON, as sent between processes. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Every series of a counter whose label values are known in advance, at 0: a rate() over it works before the first event. */
function zeroes(c: Counter<string>, ...labelSets: string[][]): void {
  for (const values of labelSets) c.labels(...values).inc(0);
}

/**
 * The metrics of several processes as one registry: counters and histograms add up; the gauges of
 * things only the primary knows (health, announcement, zones, build) take the primary's value,
 * which must come first in `parts`.
 */
export function mergeMetrics(parts: MetricsJson[]): Registry {
  return AggregatorRegistry.aggregate(parts);
}

export interface Metrics {
  readonly registry: Registry;
  readonly pipeline: PipelineObserver;
  readonly defence: DefenceObserver;
  readonly cache: CacheObserver;
  readonly resolver: ResolverObserver;
  readonly forward: ForwardObserver;
  readonly listeners: ListenerObserver;
  readonly health: HealthObserver;
  readonly announce: AnnounceObserver;
  reload(ok: boolean): void;
  /** Zones a reload refused because their content changed and their SOA serial did not increase. */
  zoneSerialRefused(n: number): void;
  workerRestarted(): void;
}

export function createMetrics(
  build: { version: string; site: string },
  sources: MetricSources,
  opts: { defaultMetrics?: boolean } = {},
): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters fail `promtool check metrics`; nodejs_active_handles and
    // nodejs_active_requests say the same per type.
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      registry.removeSingleMetric(n);
  }
  const r = [registry];

  new Gauge({
    name: 'edgedns_build_info',
    help: 'Build and site of this node (always 1).',
    labelNames: ['version', 'site', 'node'],
    registers: r,
    aggregator: 'first',
  })
    .labels(build.version, build.site, process.version)
    .set(1);

  return {
    registry,
    pipeline: pipelineMetrics(registry, sources),
    defence: defenceMetrics(registry, sources),
    cache: cacheMetrics(registry, sources),
    resolver: upstreamMetrics(registry, sources),
    forward: fetchMetrics(registry, sources),
    listeners: tcpMetrics(registry, sources),
    ...healthMetrics(registry, sources),
    ...stateMetrics(registry, sources),
  };
}

/** Queries and responses (per query: fast slots, read at scrape time). */
function pipelineMetrics(registry: Registry, sources: MetricSources): PipelineObserver {
  const queries = new FastCounter(registry, 'edgedns_queries_total', 'Queries received, by transport and query type.', [
    'transport',
    'qtype',
  ]);
  const byTransport = { udp: new Map<number, { value: number }>(), tcp: new Map<number, { value: number }>() };
  const other = { udp: queries.child('udp', 'other'), tcp: queries.child('tcp', 'other') };
  for (const t of ['udp', 'tcp'] as const)
    for (const name of QTYPES) byTransport[t].set(TYPES[name] as number, queries.child(t, name));
  const responses = new FastCounter(
    registry,
    'edgedns_responses_total',
    'Responses sent, by rcode and by where the answer came from.',
    ['rcode', 'source'],
  );
  const latency = new FastHistogram(
    registry,
    'edgedns_response_duration_seconds',
    'Time from receiving a query to having its response, by source.',
    ['source'],
    LATENCY_BUCKETS,
  );
  const latencyChildren = new Map(SOURCES.map((s) => [s, latency.child(s)]));
  const responseChildren = new Map<number, { value: number }>();
  const malformed = new FastCounter(
    registry,
    'edgedns_malformed_packets_total',
    'Packets dropped without an answer (shorter than a header, or QR set).',
    ['transport'],
  );
  const malformedChildren = { udp: malformed.child('udp'), tcp: malformed.child('tcp') };
  const sourceIndex = new Map(SOURCES.map((s, i) => [s, i]));

  const probes = new FastCounter(
    registry,
    'edgedns_probe_queries_total',
    "Queries of the node's own health probes, by transport (not in edgedns_queries_total nor edgedns_responses_total).",
    ['transport'],
  );
  const probeChildren = { udp: probes.child('udp'), tcp: probes.child('tcp') };
  const requestSize = new FastHistogram(
    registry,
    'edgedns_request_size_bytes',
    'Size of the queries answered or held back, by transport.',
    ['transport'],
    SIZE_BUCKETS,
  );
  const responseSize = new FastHistogram(
    registry,
    'edgedns_response_size_bytes',
    'Size of the responses sent, by transport.',
    ['transport'],
    SIZE_BUCKETS,
  );
  const sizes: Record<Transport, [HistogramChild, HistogramChild]> = {
    udp: [requestSize.child('udp'), responseSize.child('udp')],
    tcp: [requestSize.child('tcp'), responseSize.child('tcp')],
  };
  // Per zone: a zone's series exist from its first scrape after loading (at 0) or its first query.
  const zoneQueries = new FastCounter(
    registry,
    'edgedns_zone_queries_total',
    'Queries answered from each local zone (or held back by the rate limiter), by zone and rcode.',
    ['zone', 'rcode'],
    () => {
      for (const z of sources.zones()) for (const rc of ZONE_RCODES) zoneChild(z.origin, rc);
    },
  );
  const zoneChildren = new Map<string, { value: number }[]>();
  const zoneChild = (zone: string, rcode: number): { value: number } => {
    let row = zoneChildren.get(zone);
    if (!row) zoneChildren.set(zone, (row = []));
    return (row[rcode] ??= zoneQueries.child(zone, rcodeLabel(rcode)));
  };
  const pipeline: PipelineObserver = {
    query(transport: Transport, qtype: number) {
      (byTransport[transport].get(qtype) ?? other[transport]).value++;
    },
    probe(transport: Transport) {
      probeChildren[transport].value++;
    },
    response(e) {
      const [req, res] = sizes[e.transport];
      req.observe(e.requestBytes);
      if (e.zone !== null) zoneChild(e.zone, e.rcode).value++;
      if (e.responseBytes === 0) return; // dropped by the rate limiter: counted there
      res.observe(e.responseBytes);
      const k = e.rcode * 8 + (sourceIndex.get(e.source) ?? 0);
      let c = responseChildren.get(k);
      if (!c) {
        c = responses.child(rcodeLabel(e.rcode), e.source);
        responseChildren.set(k, c);
      }
      c.value++;
      latencyChildren.get(e.source)?.observe(e.seconds);
    },
    malformed(transport: Transport) {
      malformedChildren[transport].value++;
    },
  };
  return pipeline;
}

/** Abuse defences (per limited response or cookie: fast slots). */
function defenceMetrics(registry: Registry, _sources: MetricSources): DefenceObserver {
  const limited = new FastCounter(
    registry,
    'edgedns_rate_limited_total',
    'UDP responses the rate limiter held back: dropped, sent truncated (slip) or as BADCOOKIE; mode="log" counts those it only would have (logOnly).',
    ['action', 'mode'],
  );
  const limitedChild = (a: string): [{ value: number }, { value: number }] => [
    limited.child(a, 'enforce'),
    limited.child(a, 'log'),
  ];
  const limitedChildren = {
    drop: limitedChild('drop'),
    slip: limitedChild('slip'),
    badcookie: limitedChild('badcookie'),
  };
  const cookies = new FastCounter(
    registry,
    'edgedns_cookies_total',
    'Queries with a DNS COOKIE option, by their server cookie: none yet (client_only), valid, or invalid (RFC 7873 §5.2).',
    ['verdict'],
  );
  const cookieChildren = [cookies.child('client_only'), cookies.child('valid'), cookies.child('invalid')];
  const defence: DefenceObserver = {
    limited(action, logOnly) {
      limitedChildren[action][logOnly ? 1 : 0].value++;
    },
    cookie(verdict) {
      const c = cookieChildren[verdict];
      if (c) c.value++;
    },
  };
  return defence;
}

/** Cache. */
function cacheMetrics(registry: Registry, sources: MetricSources): CacheObserver {
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

/** Upstreams. */
function upstreamMetrics(registry: Registry, sources: MetricSources): ResolverObserver {
  const r = [registry];
  const upQueries = new Counter({
    name: 'edgedns_upstream_queries_total',
    help: 'Queries sent to upstreams, by upstream and transport.',
    labelNames: ['upstream', 'transport'],
    registers: r,
  });
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
  const rtt = new Histogram({
    name: 'edgedns_upstream_rtt_seconds',
    help: 'Round-trip time of answered upstream queries.',
    labelNames: ['upstream'],
    buckets: LATENCY_BUCKETS,
    registers: r,
  });
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
    sent: (u, t) => upQueries.labels(u, t).inc(),
    timeout: (u) => upTimeouts.labels(u).inc(),
    error: (u, kind) => upErrors.labels(u, kind).inc(),
    mismatched: (reason: MismatchReason) => mismatched.labels(reason).inc(),
    rtt: (u, s) => rtt.labels(u).observe(s),
    health: () => {},
  };
  return resolver;
}

/** Fetch limits and remembered failures (RFC 9520 §3.2, §3.3). */
function fetchMetrics(registry: Registry, sources: MetricSources): ForwardObserver {
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

/** TCP. */
function tcpMetrics(registry: Registry, _sources: MetricSources): ListenerObserver {
  const r = [registry];
  const open = new Gauge({ name: 'edgedns_tcp_connections_open', help: 'TCP connections open now.', registers: r });
  const accepted = new Counter({
    name: 'edgedns_tcp_connections_total',
    help: 'TCP connections accepted.',
    registers: r,
  });
  const refused = new Counter({
    name: 'edgedns_tcp_connections_refused_total',
    help: 'TCP connections refused at accept, by the cap that refused them (total or per_client).',
    labelNames: ['reason'],
    registers: r,
  });
  const timeouts = new Counter({
    name: 'edgedns_tcp_timeouts_total',
    help: 'TCP connections closed at a deadline: first_query, message, idle or drain.',
    labelNames: ['deadline'],
    registers: r,
  });
  const sendErrors = new Counter({
    name: 'edgedns_send_errors_total',
    help: 'Answers not sent, by transport and reason (bad_port, rejected, failed, reset).',
    labelNames: ['transport', 'reason'],
    registers: r,
  });
  zeroes(refused, ['total'], ['per_client']);
  zeroes(timeouts, ['first_query'], ['message'], ['idle'], ['drain']);
  zeroes(
    sendErrors,
    ...['udp', 'tcp'].flatMap((t) => ['bad_port', 'rejected', 'failed', 'reset'].map((why) => [t, why])),
  );
  const unwritten = new Gauge({
    name: 'edgedns_tcp_unwritten_bytes',
    help: 'TCP answer bytes not yet handed to the kernel, all connections.',
    registers: r,
  });
  const refusedBy = new Map((['total', 'per_client'] as const).map((x) => [x, refused.labels(x)]));
  const sendErrorBy = new Map(
    (['udp', 'tcp'] as const).flatMap((t) =>
      (['bad_port', 'rejected', 'failed', 'reset'] as const).map(
        (x) => [`${t} ${x}`, sendErrors.labels(t, x)] as const,
      ),
    ),
  );
  const timeoutBy = new Map((['first_query', 'message', 'idle', 'drain'] as const).map((x) => [x, timeouts.labels(x)]));
  const listeners: ListenerObserver = {
    connectionOpened: () => {
      open.inc();
      accepted.inc();
    },
    connectionClosed: () => open.dec(),
    connectionRefused: (reason: RefuseReason) => refusedBy.get(reason)?.inc(),
    timedOut: (d: Deadline) => timeoutBy.get(d)?.inc(),
    sendError: (transport: Transport, reason: SendFailure) => sendErrorBy.get(`${transport} ${reason}`)?.inc(),
    unwrittenBytes: (n) => unwritten.set(n),
  };
  return listeners;
}

/** Health and announcement. */
function healthMetrics(
  registry: Registry,
  sources: MetricSources,
): { health: HealthObserver; announce: AnnounceObserver } {
  const r = [registry];
  const STATES = ['INIT', 'RISING', 'UP', 'FALLING', 'DOWN', 'DISABLED', 'STOPPING'];
  const stateGauge = new Gauge({
    name: 'edgedns_health_state',
    help: 'Health state machine: 1 for the current state.',
    labelNames: ['state'],
    registers: r,
    aggregator: 'first',
  });
  for (const st of STATES) stateGauge.labels(st).set(st === 'INIT' ? 1 : 0);
  const checkGauge = new Gauge({
    name: 'edgedns_health_check_ok',
    help: '1 when the check passed on its last run.',
    labelNames: ['check', 'kind'],
    registers: r,
    aggregator: 'first',
  });
  const flaps = new Counter({
    name: 'edgedns_health_flaps_total',
    help: 'Withdrawals for health (not drains).',
    registers: r,
  });
  // holdUntil is the monitor's monotonic time (systemClock in the app): read it on the same clock.
  let holdUntil = 0;
  new Gauge({
    name: 'edgedns_health_holddown_seconds',
    help: 'Time left before the address may be announced again (re-announce hold-down).',
    registers: r,
    aggregator: 'first',
    collect() {
      this.set(Math.max(0, holdUntil - systemClock.now()) / 1000);
    },
  });
  const health: HealthObserver = {
    state(st: HealthState) {
      for (const x of STATES) stateGauge.labels(x).set(x === st.state ? 1 : 0);
      holdUntil = st.holdUntil;
    },
    checks(results: readonly CheckResult[]) {
      for (const c of results) checkGauge.labels(c.name, c.kind).set(c.ok ? 1 : 0);
    },
    flap: () => flaps.inc(),
  };
  const desired = new Gauge({
    name: 'edgedns_announce_desired',
    help: '1 when the prefix should be announced (with the normal or a de-preferred path).',
    labelNames: ['prefix'],
    registers: r,
    aggregator: 'first',
  });
  const confirmed = new Gauge({
    name: 'edgedns_announce_confirmed',
    help: '1 when the last successful adapter call announced (or de-preferred) the prefix, 0 withdrew it, -1 unknown.',
    labelNames: ['prefix'],
    registers: r,
    aggregator: 'first',
  });
  for (const p of sources.prefixes()) {
    desired.labels(p).set(0);
    confirmed.labels(p).set(-1);
  }
  const transitions = new Counter({
    name: 'edgedns_announce_transitions_total',
    help: 'Changes of the desired announcement, by action and reason.',
    labelNames: ['action', 'reason'],
    registers: r,
  });
  const callDuration = new Histogram({
    name: 'edgedns_announce_adapter_duration_seconds',
    help: 'Duration of adapter calls.',
    labelNames: ['adapter'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: r,
  });
  const callFailures = new Counter({
    name: 'edgedns_announce_adapter_failures_total',
    help: 'Adapter calls that failed (they are retried).',
    labelNames: ['adapter'],
    registers: r,
  });
  const announce: AnnounceObserver = {
    desired: (a) => {
      // 'deprefer' keeps the prefix announced (with a worse path): 1, as announce.
      for (const p of sources.prefixes()) desired.labels(p).set(a === 'withdraw' ? 0 : 1);
    },
    confirmed: (a) => {
      for (const p of sources.prefixes()) confirmed.labels(p).set(a === null ? -1 : a === 'withdraw' ? 0 : 1);
    },
    transition: (a, reason) => transitions.labels(a, reason).inc(),
    call: (adapter, seconds, ok) => {
      callDuration.labels(adapter).observe(seconds);
      if (!ok) callFailures.labels(adapter).inc();
    },
  };
  return { health, announce };
}

/** Zones, reloads and worker processes. */
function stateMetrics(
  registry: Registry,
  sources: MetricSources,
): Pick<Metrics, 'reload' | 'zoneSerialRefused' | 'workerRestarted'> {
  const r = [registry];
  new Gauge({
    name: 'edgedns_zones_loaded',
    help: 'Zones loaded.',
    registers: r,
    aggregator: 'first',
    collect() {
      this.set(sources.zones().length);
    },
  });
  new Gauge({
    name: 'edgedns_zone_serial',
    help: 'SOA serial of each loaded zone.',
    labelNames: ['zone'],
    registers: r,
    aggregator: 'first',
    collect() {
      this.reset();
      for (const z of sources.zones()) this.labels(z.origin).set(z.serial);
    },
  });
  new Gauge({
    name: 'edgedns_zone_records',
    help: 'Records in each loaded zone.',
    labelNames: ['zone'],
    registers: r,
    aggregator: 'first',
    collect() {
      this.reset();
      for (const z of sources.zones()) this.labels(z.origin).set(z.records);
    },
  });
  // Read at scrape time: the zone store counts with a plain increment on its answer path.
  let synthSeen = { template: 0, perName: 0 };
  new Counter({
    name: 'edgedns_zone_synth_answers_total',
    help: 'Zone answers for names that are not nodes (NXDOMAIN, wildcard, below a cut, DNAME): from a template, or resolved per name.',
    labelNames: ['path'],
    registers: r,
    collect() {
      const now = sources.zoneAnswers?.();
      if (!now) return;
      this.labels('template').inc(now.template - synthSeen.template);
      this.labels('per_name').inc(now.perName - synthSeen.perName);
      synthSeen = { ...now };
    },
  });
  new Gauge({
    name: 'edgedns_workers_configured',
    help: 'Worker processes configured (workers: N; 0 when DNS is answered by this process).',
    registers: r,
    aggregator: 'first',
    collect() {
      this.set(sources.workers?.()?.configured ?? 0);
    },
  });
  new Gauge({
    name: 'edgedns_workers_listening',
    help: 'Worker processes up with their listeners bound.',
    registers: r,
    aggregator: 'first',
    collect() {
      this.set(sources.workers?.()?.listening ?? 0);
    },
  });
  const restarts = new Counter({
    name: 'edgedns_worker_restarts_total',
    help: 'Worker processes restarted after an unexpected exit.',
    registers: r,
    aggregator: 'first',
  });
  const reloads = new Counter({
    name: 'edgedns_config_reloads_total',
    help: 'Config and zone reloads, by result.',
    labelNames: ['result'],
    registers: r,
  });
  zeroes(reloads, ['ok'], ['error']);
  reloads.labels('ok');
  reloads.labels('error');
  const serialRefused = new Counter({
    name: 'edgedns_zone_serial_refused_total',
    help: 'Zones refused on reload: content changed, SOA serial not increased.',
    registers: r,
  });
  return {
    reload: (ok) => reloads.labels(ok ? 'ok' : 'error').inc(),
    zoneSerialRefused: (n) => serialRefused.inc(n),
    workerRestarted: () => restarts.inc(),
  };
}
