// The per-query metrics: queries, responses, latency, sizes, zones, probes and the abuse
// defences (rate limiting, cookies); fast slots bound once and read at scrape time.

import type { Registry } from 'prom-client';
import type { DefenceObserver, PipelineObserver, ShedAction, Transport } from '../server/index.js';
import { Rcode, TYPES } from '../wire/index.js';
import { LATENCY_BUCKETS, TRANSPORTS, perTransport } from './common.js';
import { FastCounter, FastHistogram } from './fast.js';
import type { HistogramChild } from './fast.js';
import type { MetricSources } from './metrics.js';

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
/**
 * One query in this many (on average, at random: server/pipeline.ts LatencySampler) is timed for
 * edgedns_response_duration_seconds: two clock reads per query cost more than the rest of a
 * counter update, and a sample gives the same quantiles.
 */
export const LATENCY_SAMPLE_EVERY = 16;

/** Queries and responses (per query: fast slots, read at scrape time). */
export function pipelineMetrics(registry: Registry, sources: MetricSources): PipelineObserver {
  const queries = new FastCounter(registry, 'edgedns_queries_total', 'Queries received, by transport and query type.', [
    'transport',
    'qtype',
  ]);
  const byTransport = perTransport(() => new Map<number, { value: number }>());
  const other = perTransport((t) => queries.child(t, 'other'));
  for (const t of TRANSPORTS)
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
    `Time from receiving a query to having its response, by source. Sampled: one query in ${LATENCY_SAMPLE_EVERY} on average is timed (at random), so _count counts the queries timed, not the responses (edgedns_responses_total does); quantiles and _sum/_count are those of the sample.`,
    ['source'],
    LATENCY_BUCKETS,
  );
  /** Per source: its latency child, and its responses_total children by rcode (made on first use). */
  const bySource = new Map(
    SOURCES.map((s) => [s, { source: s, latency: latency.child(s), byRcode: [] as { value: number }[] }]),
  );
  const malformed = new FastCounter(
    registry,
    'edgedns_malformed_packets_total',
    'Packets dropped without an answer (shorter than a header, or QR set).',
    ['transport'],
  );
  const malformedChildren = perTransport((t) => malformed.child(t));

  const probes = new FastCounter(
    registry,
    'edgedns_probe_queries_total',
    "Queries of the node's own health probes, by transport (not in edgedns_queries_total nor edgedns_responses_total).",
    ['transport'],
  );
  const probeChildren = perTransport((t) => probes.child(t));
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
  const sizes: Record<Transport, [HistogramChild, HistogramChild]> = perTransport((t) => [
    requestSize.child(t),
    responseSize.child(t),
  ]);
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
    timeEvery: LATENCY_SAMPLE_EVERY,
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
      const s = bySource.get(e.source);
      if (!s) return;
      (s.byRcode[e.rcode] ??= responses.child(rcodeLabel(e.rcode), s.source)).value++;
      if (e.seconds >= 0) s.latency.observe(e.seconds);
    },
    malformed(transport: Transport) {
      malformedChildren[transport].value++;
    },
  };
  return pipeline;
}

/** Abuse defences (per limited response or cookie: fast slots). */
export function defenceMetrics(registry: Registry, _sources: MetricSources): DefenceObserver {
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
  const shed = new FastCounter(
    registry,
    'edgedns_shed_total',
    'Queries refused while SHEDDING (overloaded): negative zone answers and cache misses from UDP clients without a valid cookie, dropped, sent truncated, or answered stale.',
    ['what', 'action'],
  );
  const shedChildren = {
    nxdomain: { drop: shed.child('nxdomain', 'drop'), truncate: shed.child('nxdomain', 'truncate') },
    forward: { drop: shed.child('forward', 'drop'), stale: shed.child('forward', 'stale') },
  };
  const defence: DefenceObserver = {
    shed(what, action) {
      const c = (shedChildren[what] as Partial<Record<ShedAction, { value: number }>>)[action];
      if (c) c.value++;
    },
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
