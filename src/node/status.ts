// The /status document (and `edgedns status`): site, version, listeners, workers, zones,
// upstreams, health, announcement, cache and config, read from the running node.

import { hostname } from 'node:os';
import type { Announcer } from '../announce/index.js';
import { identityConfig } from '../compose/index.js';
import type { Config, LoadedConfig } from '../config/index.js';
import { forwardAllow } from '../config/index.js';
import { VERSION, formatHostPort, systemClock } from '../core/index.js';
import type { HealthMonitor } from '../health/index.js';
import type { Registry } from '../metrics/index.js';
import type { DnsPlane } from '../process/index.js';
import type { ZoneInfo } from '../zone/index.js';
import type { NodeFleet } from './fleet.js';
import type { SecondaryZoneStatus, SecondaryZones } from '../secondary/index.js';

/** What the document is read from. */
export interface StatusSource {
  config: Readonly<Config>;
  plane: DnsPlane;
  registry(): Promise<Registry>;
  ready: { ready: boolean; reason: string };
  zones: readonly ZoneInfo[];
  health: HealthMonitor;
  announcer: Announcer;
  /** Monotonic (systemClock.now()) start time. */
  startedAt: number;
  loaded: Pick<LoadedConfig, 'source' | 'hash'>;
  fleet: NodeFleet | null;
  secondary: SecondaryZones | null;
}

export async function statusDocument(n: StatusSource): Promise<Record<string, unknown>> {
  const c = n.config;
  const id = identityConfig(c);
  const cache = await n.plane.cache();
  const registry = await n.registry();
  const counter = async (name: string): Promise<number> =>
    (await registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
  const workers = n.plane.workers();
  return {
    site: { id: id.siteId, hostname: id.hostname },
    version: VERSION,
    node: process.version,
    pid: process.pid,
    host: hostname(),
    uptimeSeconds: Math.round((systemClock.now() - n.startedAt) / 1000),
    startedAt: new Date(n.startedAt).toISOString(),
    ready: n.ready,
    listeners: [
      ...n.plane.bound.map((b) => ({ address: formatHostPort(b), transports: ['udp', 'tcp'] })),
      ...n.plane.boundEncrypted.dot.map((b) => ({ address: formatHostPort(b), transports: ['dot'] })),
      ...n.plane.boundEncrypted.doh.map((b) => ({ address: formatHostPort(b), transports: ['doh'] })),
    ],
    ...(workers ? { workers: { ...workers, summary: n.plane.listening().detail } } : {}),
    zones: zoneRows(n.zones, n.secondary),
    ...(await upstreamSets(c, n.plane)),
    health: n.health.status(),
    announce: { ...n.announcer.status(), summary: announceSummary(n.announcer) },
    cache: cache
      ? {
          ...cache,
          hits: await counter('edgedns_cache_hits_total'),
          misses: await counter('edgedns_cache_misses_total'),
          staleServed: await counter('edgedns_cache_stale_served_total'),
        }
      : null,
    ...(n.fleet ? { fleet: fleetStatus(n.fleet) } : {}),
    config: { source: n.loaded.source, sha256: n.loaded.hash },
  };
}

/**
 * The default upstreams, and the forward zones with their recursion ACL and their upstreams (each
 * with its health), as configured; a zone whose upstreams were all skipped (this node) has none.
 */
async function upstreamSets(c: Config, plane: DnsPlane): Promise<Record<string, unknown>> {
  const all = await plane.upstreams();
  const of = (zone: string | null): Record<string, unknown>[] =>
    all.filter((u) => u.zone === zone).map(({ zone: _zone, ...u }) => u);
  const allow = forwardAllow(c.forward, c.recursion.allow);
  return {
    upstreams: of(null),
    forward: c.forward.map((f, i) => ({ zone: f.zone, recursionAllow: allow[i], upstreams: of(f.zone) })),
  };
}

/**
 * Every zone: those served (from a file, or from a primary with its refresh state) and the
 * secondary zones not served now (expired, or not transferred yet).
 */
function zoneRows(served: readonly ZoneInfo[], secondary: SecondaryZones | null): Record<string, unknown>[] {
  const refresh = new Map((secondary?.status() ?? []).map((s) => [s.zone, s]));
  const rows: Record<string, unknown>[] = served.map((z) => {
    const s = refresh.get(z.origin);
    refresh.delete(z.origin);
    return { ...z, loadedAt: new Date(z.loadedAt).toISOString(), ...(s ? secondaryFields(s) : { source: 'file' }) };
  });
  for (const s of refresh.values()) rows.push({ origin: s.zone, ...secondaryFields(s) });
  return rows;
}

function secondaryFields(s: SecondaryZoneStatus): Record<string, unknown> {
  const { zone: _zone, ...rest } = s;
  return rest;
}

/** The fleet in /status: counts and verdicts; the table is /fleet. */
function fleetStatus(f: NodeFleet): Record<string, unknown> {
  const rows = f.fleet.table();
  const announced = rows.filter((r) => r.announced).length;
  const stale = f.fleet
    .view()
    .filter((p) => !p.fresh)
    .map((p) => p.site);
  const dataPlane = f.fleet.dataPlane();
  return {
    sites: rows.length,
    announced,
    minAnnounced: f.minAnnounced,
    dataPlane,
    stale,
    summary: `${announced} of ${rows.length} sites announced (at least ${f.minAnnounced} stay for shared causes); data plane ${dataPlane.ok ? 'ok' : 'FAULT'}: ${dataPlane.detail}${stale.length > 0 ? `; no fresh state from ${stale.join(', ')}` : ''}`,
  };
}

function announceSummary(announcer: Announcer): string {
  const a = announcer.status();
  const prefixes = a.prefixes.length > 0 ? a.prefixes.join(' ') : 'no prefixes';
  return `${prefixes} via ${a.adapter}: desired ${a.desired ?? '-'}, confirmed ${a.confirmed ?? '-'}${a.lastError ? ` (last error: ${a.lastError})` : ''}`;
}
