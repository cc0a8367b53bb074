// The growth curves' data (hit-1k … hit-1m, zone-10 … zone-1m): zone files of N names with one A
// record each, query files spread over every name in a fixed shuffled order, the cache sizes that
// hold N answers, and the figures that tell whether every name was cached (edgedns's metrics,
// unbound-control's stats).

import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** Distinct cached names of each hit-N workload. */
export const HIT_SIZES = { 'hit-1k': 1_000, 'hit-100k': 100_000, 'hit-1m': 1_000_000 } as const;
/** A records in the zone of each zone-N workload (one per name). */
export const ZONE_SIZES = { 'zone-10': 10, 'zone-100k': 100_000, 'zone-1m': 1_000_000 } as const;
export type HitWorkload = keyof typeof HIT_SIZES;
export type ZoneWorkload = keyof typeof ZONE_SIZES;
export type GrowthWorkload = HitWorkload | ZoneWorkload;

/** The origin of every growth zone (each size is served by a server of its own). */
export const GROWTH_ORIGIN = 'growth.test.';
/** The i-th name of a growth zone, and of the hit-N names (answered by the upstream's redirect zone). */
export const zoneName = (i: number): string => `n${i}.${GROWTH_ORIGIN.slice(0, -1)}`;
export const hitName = (i: number): string => `c${i}.bench.test`;

/** Write `lines` to `file` in chunks (a million lines joined at once is a string of tens of MB). */
async function writeLines(file: string, n: number, line: (i: number) => string, head = ''): Promise<void> {
  const out = createWriteStream(file);
  const closed = once(out, 'close');
  out.write(head);
  for (let i = 0; i < n; i += 10_000) {
    let chunk = '';
    for (let j = i; j < Math.min(n, i + 10_000); j++) chunk += `${line(j)}\n`;
    // Respect back-pressure: at most one chunk buffered.
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await closed;
}

/**
 * A zone of `n` names under growth.test., one A record each (192.0.2.1–254 in turn), besides the
 * SOA and an NS outside the zone (no glue: `n` A records exactly).
 */
export function writeGrowthZone(file: string, n: number): Promise<void> {
  const head = `$ORIGIN ${GROWTH_ORIGIN}
$TTL 3600
@ IN SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 3600
@ IN NS ns1.example.net.
`;
  return writeLines(file, n, (i) => `n${i} IN A 192.0.2.${(i % 254) + 1}`, head);
}

/** A permutation of 0..n-1, the same for the same seed (Fisher–Yates over mulberry32). */
export function shuffled(n: number, seed = 18): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  let s = seed >>> 0;
  const random = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const x = out[i] as number;
    out[i] = out[j] as number;
    out[j] = x;
  }
  return out;
}

/**
 * A dnsperf query file asking `name(i) A` for every i in 0..n-1 once, in a shuffled order: dnsperf
 * reads the file in order, and names asked in the order they were stored would find the memory
 * of their neighbours already in the CPU's caches.
 */
export function writeQueryFile(file: string, n: number, name: (i: number) => string): Promise<void> {
  const order = shuffled(n);
  return writeLines(file, n, (i) => `${name(order[i] as number)} A`);
}

/**
 * Cache sizes that hold `n` answers with room to spare (the hit-N servers): edgedns counts about
 * 625 bytes per A answer (bench/cache-memory.ts), so 1 KiB per entry; Unbound keeps a message
 * and an RRset per name, 1 KiB and 2 KiB each. Never below the standard run's sizes.
 */
export function cacheSizesFor(n: number): {
  maxEntries: number;
  maxBytes: number;
  msgCacheMb: number;
  rrsetCacheMb: number;
} {
  const mb = Math.ceil(n / 1024);
  return {
    maxEntries: Math.max(200_000, n + 10_000),
    maxBytes: Math.max(128, mb) * 1024 * 1024,
    msgCacheMb: Math.max(64, mb),
    rrsetCacheMb: Math.max(128, 2 * mb),
  };
}

/** The value of an unlabelled Prometheus gauge or counter in a /metrics text, or null. */
export function metricValue(text: string, name: string): number | null {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** A figure of `unbound-control stats_noreset` ("msg.cache.count=1000"), or null. */
export function unboundStat(text: string, key: string): number | null {
  const m = new RegExp(`^${key.replaceAll('.', '\\.')}=([0-9.]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}
