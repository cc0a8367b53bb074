// The edgedns config the harness runs: loopback, the rate limiter and shedding off, no admin
// endpoint unless a figure is read from its metrics, warnings only in the log.

export interface EdgednsConfigOptions {
  port: number;
  workers: number;
  /** Every `*.zone` of this folder (null: none). */
  zonesDir: string | null;
  zoneFiles: readonly { file: string; origin: string }[];
  upstreamPort: number;
  /** The answer cache's limits (the hit-N servers hold up to 1M answers); the defaults otherwise. */
  cache?: { maxEntries: number; maxBytes: number };
  /** An admin endpoint on 127.0.0.1 (its /metrics: the cache's entries), else none. */
  adminPort?: number;
  /** More top-level YAML lines (dot, doh, tls). */
  extra?: readonly string[];
}

export function edgednsConfig(o: EdgednsConfigOptions): string {
  // YAML: the keys start at column 0 (an indented key is a syntax error, and the node would exit).
  // dnsperf is one client asking the same names thousands of times a second: what the rate
  // limiter exists to stop. These rows measure the query path, so it is off here; the hostile
  // table measures it on. Shedding too: a max-QPS run of cache misses is an overload (the loop
  // over 90% busy, more than 512 KiB waiting in the socket), and a shedding node drops cookie-less
  // misses for seconds afterwards: the miss row's next run at 10k q/s would get no answer.
  const yaml = [
    `listen: ["127.0.0.1:${o.port}"]`,
    `workers: ${o.workers}`,
    `zones: { dir: ${JSON.stringify(o.zonesDir)}, files: ${JSON.stringify(o.zoneFiles)} }`,
    `upstreams: ["127.0.0.1:${o.upstreamPort}"]`,
    'rateLimit: null',
    `admin: { listen: ${o.adminPort === undefined ? 'null' : `"127.0.0.1:${o.adminPort}"`}, socket: null }`,
    'log: { level: warn }',
    ...(o.cache ? [`cache: { maxEntries: ${o.cache.maxEntries}, maxBytes: ${o.cache.maxBytes} }`] : []),
    'health: { overload: { maxUtilization: 1, maxDropRate: 100000000, maxUdpQueue: "1GiB" } }',
    ...(o.extra ?? []),
  ];
  return `${yaml.join('\n')}\n`;
}
