// Secondary zones: transfers and failures counted, and read at scrape time whether each zone is
// served and how long until it expires.

import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { SecondaryObserver } from '../secondary/index.js';
import type { MetricSources } from './metrics.js';

export function secondaryMetrics(registry: Registry, sources: MetricSources): SecondaryObserver {
  const r = [registry];
  const transfers = new Counter({
    name: 'edgedns_zone_transfers_total',
    help: 'Zone transfers in that were taken and served, by zone and kind (axfr: whole zone, ixfr: steps applied).',
    labelNames: ['zone', 'kind'],
    registers: r,
    aggregator: 'first',
  });
  const failures = new Counter({
    name: 'edgedns_zone_refresh_failures_total',
    help: 'Secondary zone checks where no primary gave the zone (unreachable, refused, TSIG, a zone that fails the policy).',
    labelNames: ['zone'],
    registers: r,
    aggregator: 'first',
  });
  for (const z of sources.secondary?.() ?? []) {
    transfers.labels(z.zone, 'axfr');
    transfers.labels(z.zone, 'ixfr');
    failures.labels(z.zone);
  }
  new Gauge({
    name: 'edgedns_zone_served',
    help: 'Whether each secondary zone is served (0: expired, or not transferred yet: its names get SERVFAIL).',
    labelNames: ['zone'],
    registers: r,
    aggregator: 'first',
    collect() {
      this.reset();
      for (const z of sources.secondary?.() ?? []) this.labels(z.zone).set(z.served ? 1 : 0);
    },
  });
  new Gauge({
    name: 'edgedns_zone_expires_in_seconds',
    help: 'Seconds until each served secondary zone expires unless a primary confirms it.',
    labelNames: ['zone'],
    registers: r,
    aggregator: 'first',
    collect() {
      this.reset();
      for (const z of sources.secondary?.() ?? []) if (z.expiresIn !== null) this.labels(z.zone).set(z.expiresIn);
    },
  });
  return {
    transferred: (zone, kind) => transfers.labels(zone, kind).inc(),
    failed: (zone) => failures.labels(zone).inc(),
  };
}
