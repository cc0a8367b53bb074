// Human-readable summaries of admin documents for the terminal.

export interface StatusDoc {
  site: { id: string; hostname: string };
  version: string;
  uptimeSeconds: number;
  ready: { ready: boolean; reason: string };
  listeners: { address: string }[];
  zones: { origin: string; serial: number; records: number; loadedAt: string }[];
  upstreams: { address: string; healthy: boolean; srttMs: number; queries: number; failures: number }[];
  cache: { entries: number; bytes: number; hits: number; misses: number; staleServed: number } | null;
  config: { source: string; sha256: string };
  [k: string]: unknown;
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
  for (const z of s.zones)
    lines.push(
      `  ${z.origin.padEnd(30)} serial ${String(z.serial).padEnd(12)} ${z.records} records, loaded ${z.loadedAt}`,
    );
  if (s.upstreams.length > 0) {
    lines.push(`upstreams (${s.upstreams.length}):`);
    for (const u of s.upstreams)
      lines.push(
        `  ${u.address.padEnd(30)} ${u.healthy ? 'healthy  ' : 'UNHEALTHY'} srtt ${u.srttMs} ms, ${u.queries} queries, ${u.failures} failures`,
      );
  } else lines.push('upstreams: none (authoritative only)');
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
