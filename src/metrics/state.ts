// The node's state: zones loaded, reloads, and worker processes.

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import { zeroes } from './common.js';
import type { MetricSources, Metrics } from './metrics.js';

/** Zones, reloads and worker processes. */
export function stateMetrics(
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
    name: 'edgedns_zone_compiled_nodes',
    help: 'Zone nodes whose answers are kept compiled now, summed over the answering processes (compiled on first use; at most 2 × 16,384 per process).',
    registers: r,
    aggregator: 'sum',
    collect() {
      this.set(sources.compiledNodes?.() ?? 0);
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
