// Human-readable summaries of admin documents for the terminal.

import type { FleetRow } from '../node/index.js';

export interface StatusDoc {
  site: { id: string; hostname: string };
  version: string;
  uptimeSeconds: number;
  ready: { ready: boolean; reason: string };
  listeners: { address: string }[];
  zones: ZoneRow[];
  upstreams: UpstreamRow[];
  /** The forward zones (absent from nodes before them). */
  forward?: { zone: string; recursionAllow: string[]; upstreams: UpstreamRow[] }[];
  cache: { entries: number; bytes: number; hits: number; misses: number; staleServed: number } | null;
  config: { source: string; sha256: string };
  [k: string]: unknown;
}

/** An upstream of /status. */
export interface UpstreamRow {
  address: string;
  transport?: 'udp' | 'tls';
  name?: string | null;
  healthy: boolean;
  reason?: string | null;
  srttMs: number;
  queries: number;
  failures: number;
}

/** One line an upstream: how it is reached, its health (and why it is down), its counts. */
export function formatUpstreams(ups: readonly UpstreamRow[], indent = '  '): string[] {
  return ups.map((u) => {
    const where = u.transport === 'tls' ? `tls://${u.address}${u.name ? `#${u.name}` : ''}` : u.address;
    return `${indent}${where.padEnd(30)} ${u.healthy ? 'healthy  ' : 'UNHEALTHY'} srtt ${u.srttMs} ms, ${u.queries} queries, ${u.failures} failures${u.reason ? ` (${u.reason})` : ''}`;
  });
}

/** A zone of /status: served from a file, or a secondary zone (served or not) with its refresh state. */
export interface ZoneRow {
  origin: string;
  serial: number | null;
  records?: number;
  loadedAt?: string;
  source?: 'file' | 'primary';
  primaries?: string[];
  served?: boolean;
  expired?: boolean;
  lastRefresh?: string | null;
  lastError?: string | null;
  expiresIn?: number | null;
  nextCheckIn?: number;
  transfers?: { axfr: number; ixfr: number; failed: number };
}

/** One line a zone: its serial and size, and for a secondary where from, how fresh, what failed. */
export function formatZones(zones: readonly ZoneRow[]): string[] {
  return zones.map((z) => {
    const head = `  ${z.origin.padEnd(30)} serial ${String(z.serial ?? '-').padEnd(12)}`;
    const size = z.records === undefined ? '' : ` ${z.records} records, loaded ${z.loadedAt}`;
    if (z.source !== 'primary') return `${head}${size}`;
    const state = z.served ? '' : z.expired ? ' NOT SERVED (expired)' : ' NOT SERVED (not transferred yet)';
    const t = z.transfers;
    return (
      `${head}${state}${size}; from ${(z.primaries ?? []).join(' ')}, refreshed ${z.lastRefresh ?? 'never'}` +
      `${z.expiresIn == null ? '' : `, expires in ${duration(z.expiresIn)}`}, next check in ${duration(z.nextCheckIn ?? 0)}` +
      `${t ? `; transfers ${t.axfr} axfr, ${t.ixfr} ixfr, ${t.failed} failed checks` : ''}` +
      `${z.lastError ? `; last error: ${z.lastError}` : ''}`
    );
  });
}

function duration(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d${h}h` : h > 0 ? `${h}h${m}m` : `${m}m${s % 60}s`;
}

export function formatStatus(s: StatusDoc): string {
  const lines: string[] = [];
  lines.push(`site ${s.site.id} (host ${s.site.hostname}), edgedns ${s.version}, up ${duration(s.uptimeSeconds)}`);
  lines.push(`ready: ${s.ready.ready ? 'yes' : 'NO'} — ${s.ready.reason}`);
  lines.push(`listening: ${s.listeners.map((l) => l.address).join(', ')} (UDP and TCP)`);
  lines.push(`zones (${s.zones.length}):`);
  lines.push(...formatZones(s.zones));
  if (s.upstreams.length > 0) {
    lines.push(`upstreams (${s.upstreams.length}):`);
    lines.push(...formatUpstreams(s.upstreams));
  } else lines.push('upstreams: none (authoritative only)');
  for (const f of s.forward ?? []) {
    lines.push(`forward ${f.zone} (recursion: ${f.recursionAllow.join(' ')}):`);
    lines.push(...(f.upstreams.length > 0 ? formatUpstreams(f.upstreams, '    ') : ['    no upstreams: REFUSED']));
  }
  if (s.cache) {
    const total = s.cache.hits + s.cache.misses;
    const ratio = total > 0 ? `${((100 * s.cache.hits) / total).toFixed(1)}%` : '-';
    lines.push(
      `cache: ${s.cache.entries} entries, ${(s.cache.bytes / 1048576).toFixed(1)} MiB, hit ratio ${ratio}, ${s.cache.staleServed} stale answers served`,
    );
  }
  for (const [k, v] of Object.entries(s)) {
    if (
      [
        'site',
        'version',
        'uptimeSeconds',
        'ready',
        'listeners',
        'zones',
        'upstreams',
        'forward',
        'cache',
        'config',
        'node',
        'pid',
        'host',
        'startedAt',
      ].includes(k)
    )
      continue;
    if (v && typeof v === 'object' && 'summary' in v) lines.push(`${k}: ${(v as { summary: string }).summary}`);
  }
  lines.push(`config: ${s.config.source} (sha256 ${s.config.sha256.slice(0, 12)})`);
  return `${lines.join('\n')}\n`;
}

/** GET /fleet: this site, the withdraw budget, and a row per site of the fleet. */
export interface FleetDoc {
  site: string;
  minAnnounced: number;
  sites: FleetRow[];
}

export function isFleetDoc(v: unknown): v is FleetDoc {
  return v !== null && typeof v === 'object' && Array.isArray((v as FleetDoc).sites);
}

/** The fleet table of `edgedns status --fleet`. */
export function formatFleet(f: FleetDoc): string {
  const yes = (b: boolean | null, y = 'yes', n = 'NO'): string => (b === null ? '-' : b ? y : n);
  const rows = f.sites.map((r) => [
    `${r.site}${r.self ? ' *' : ''}`,
    r.state === null ? '?' : r.fresh ? r.state : `${r.state} (stale)`,
    yes(r.announced),
    r.self ? 'self' : yes(r.reach),
    r.reachedBy,
    r.serialLag.length === 0 ? (r.state ? 'in sync' : '-') : r.serialLag.join('; '),
    r.self ? '' : yes(r.sameConfig, 'same', 'DIFFERS'),
    r.load ?? '-',
    r.lastSeenMs === null ? 'never' : r.self ? 'now' : `${(r.lastSeenMs / 1000).toFixed(1)} s ago`,
    r.error ?? '',
  ]);
  const head = [
    'SITE',
    'STATE',
    'ANNOUNCED',
    'DNS FROM HERE',
    'REACHED BY',
    'SERIALS',
    'CONFIG',
    'LOAD',
    'LAST SEEN',
    'ERROR',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const announced = f.sites.filter((r) => r.announced).length;
  return `${[
    line(head),
    ...rows.map(line),
    `${announced} of ${f.sites.length} sites announced; at least ${f.minAnnounced} stay announced for shared causes (* this site: ${f.site})`,
  ].join('\n')}\n`;
}
