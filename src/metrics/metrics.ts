// The metrics registry of our own and the observers the domain modules call, one file per area
// (query, cache, upstream, listeners, health, state). Label children are bound once; point-in-time
// values (cache size, zones, upstream RTT) are read in collect(). Names follow STYLE.md:
// edgedns_<area>_<name>_<unit>.

import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { AggregatorRegistry, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { AnnounceObserver } from '../announce/index.js';
import type { CacheObserver } from '../cache/index.js';
import type { FleetRow } from '../fleet/index.js';
import type { HealthObserver } from '../health/index.js';
import type { ResolverObserver, UpstreamStatus } from '../resolver/index.js';
import type {
  DefenceObserver,
  ForwardObserver,
  ListenerObserver,
  PipelineObserver,
  TransferObserver,
} from '../server/index.js';
import type { SecondaryObserver, SecondaryZoneStatus } from '../secondary/index.js';
import type { ZoneInfo } from '../zone/index.js';
import { cacheMetrics } from './cache.js';
import { fleetMetrics } from './fleet.js';
import { healthMetrics } from './health.js';
import { tcpMetrics } from './listeners.js';
import { defenceMetrics, pipelineMetrics } from './query.js';
import { secondaryMetrics } from './secondary.js';
import { stateMetrics } from './state.js';
import { transferMetrics } from './transfer.js';
import { fetchMetrics, upstreamMetrics } from './upstream.js';

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
  /** Zone nodes whose answers are kept compiled now (this process's; bounded, zone/answers.ts). */
  compiledNodes?(): number;
  /** The fleet's table (fleet/), or null for a single node. */
  fleet?(): FleetRow[] | null;
  /** The secondary zones (secondary/), when there are some. */
  secondary?(): SecondaryZoneStatus[];
}

/** One registry's metrics as JSON, as sent between processes. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

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
  readonly secondary: SecondaryObserver;
  /** Outgoing zone transfers. */
  readonly transfers: TransferObserver;
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

  fleetMetrics(registry, sources);
  return {
    registry,
    pipeline: pipelineMetrics(registry, sources),
    defence: defenceMetrics(registry, sources),
    cache: cacheMetrics(registry, sources),
    resolver: upstreamMetrics(registry, sources),
    forward: fetchMetrics(registry, sources),
    listeners: tcpMetrics(registry, sources),
    secondary: secondaryMetrics(registry, sources),
    transfers: transferMetrics(registry),
    ...healthMetrics(registry, sources),
    ...stateMetrics(registry, sources),
  };
}
