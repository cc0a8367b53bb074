// The fleet as this node sees it: each peer's state freshness, DNS reach, announcement and zone
// serials, read from the fleet's table at scrape time. Peers come from the config: labels bounded.

import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { FleetRow } from '../fleet/index.js';
import type { MetricSources } from './metrics.js';

/** 1, 0, or -1 for unknown. */
const tri = (b: boolean | null): number => (b === null ? -1 : b ? 1 : 0);

export function fleetMetrics(registry: Registry, sources: MetricSources): void {
  const r = [registry];
  const peers = (): FleetRow[] => (sources.fleet?.() ?? []).filter((row) => !row.self);
  const perPeer = (name: string, help: string, value: (row: FleetRow) => number): void =>
    void new Gauge({
      name,
      help,
      labelNames: ['peer'],
      registers: r,
      aggregator: 'first',
      collect() {
        this.reset();
        for (const row of peers()) this.labels(row.site).set(value(row));
      },
    });
  perPeer('edgedns_fleet_peer_fresh', "1 while the peer's shared state is fresh (fleet.staleAfter).", (row) =>
    row.fresh ? 1 : 0,
  );
  perPeer(
    'edgedns_fleet_peer_reachable',
    "1 when this node's DNS probes reach the peer (its NSID answers), 0 when not, -1 before it knows.",
    (row) => tri(row.reach),
  );
  perPeer('edgedns_fleet_peer_announced', 'What the peer says: 1 announced, 0 withdrawn, -1 unknown.', (row) =>
    tri(row.announced),
  );
  perPeer(
    'edgedns_fleet_peer_zones_differing',
    'Zones whose SOA serial differs between the peer and this node (missing on either side counts).',
    (row) => row.serialLag.length,
  );
  new Gauge({
    name: 'edgedns_fleet_sites_announced',
    help: 'Sites of the fleet announced as this node sees them, itself included.',
    registers: r,
    aggregator: 'first',
    collect() {
      this.set((sources.fleet?.() ?? []).filter((row) => row.announced === true).length);
    },
  });
}
