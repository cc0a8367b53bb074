// Bytes allocated per query on the two hot paths (a zone answer, a cache hit), through the real
// Pipeline with the real metrics observer, in-process: no sockets, no clock in the figure. The
// young generation is made large enough that no collection runs during a measurement, so the
// heap's growth divided by the query count is what one query allocates — a figure that does not
// move with the machine's load, unlike a QPS (run `make bench` for those).
//
//   node --min-semi-space-size=256 --max-semi-space-size=256 --expose-gc --import tsx bench/alloc.ts [--queries 50000]

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import { AnswerCache } from '../src/cache/index.ts';
import { loadConfig } from '../src/config/index.ts';
import { CidrSet, silentLogger, systemClock } from '../src/core/index.ts';
import { buildIdentity } from '../src/identity/index.ts';
import { createMetrics } from '../src/metrics/index.ts';
import type { Resolver, UpstreamAnswer } from '../src/resolver/index.ts';
import { Cookies, Forwarder, Pipeline, RateLimiter } from '../src/server/index.ts';
import { identityConfig } from '../src/compose/site.ts';
import { parseMessage } from '../src/wire/index.ts';
import { loadZones, zoneSpecsFromDir } from '../src/zone/index.ts';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const i = process.argv.indexOf('--queries');
const N = Math.min(i > 0 ? Number(process.argv[i + 1]) : 50_000, 200_000);

const zones = loadZones(zoneSpecsFromDir(join(ROOT, 'zones')));
const config = loadConfig(undefined).config;
const cache = new AnswerCache({
  maxEntries: 10_000,
  maxBytes: 64 << 20,
  minTtl: 0,
  maxTtl: 86_400,
  maxNegativeTtl: 3600,
  servfailTtl: 5,
  maxStale: 86_400,
  staleRecheck: 30,
  prefetch: true,
  clock: systemClock,
});
const upstream = (name: string): UpstreamAnswer => {
  const wire = dnsPacket.encode({
    type: 'response',
    id: 1,
    flags: 0x8180,
    questions: [{ name, type: 'A', class: 'IN' }],
    answers: [{ name, type: 'A', ttl: 86_400, class: 'IN', data: '192.0.2.1' }],
  });
  return { message: parseMessage(wire) as NonNullable<ReturnType<typeof parseMessage>>, upstream: 'bench' };
};
const resolver = {
  resolve: async (q: { qname: Uint8Array }) => upstream(Buffer.from(q.qname).toString('latin1') && 'www.example.org'),
  unavailable: () => false,
} as unknown as Resolver;
const metrics = createMetrics(
  { version: 'bench', site: 'bench' },
  { prefixes: () => [], cache: () => null, zones: () => zones.zones(), upstreams: () => [] },
  { defaultMetrics: false },
);
const pipeline = new Pipeline({
  zones,
  identity: buildIdentity(identityConfig(config)),
  udpPayload: 1232,
  forwarder: new Forwarder(cache, resolver, silentLogger),
  recursionAllow: new CidrSet(['127.0.0.0/8']),
  rateLimit: {
    limiter: new RateLimiter(
      { responsesPerSecond: 1e9, windowMs: 15_000, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56 },
      () => systemClock.now(),
    ),
    logOnly: false,
  },
  cookies: new Cookies({ current: new Uint8Array(16).fill(7), previous: null }, () => Math.floor(Date.now() / 1000)),
  observer: metrics.pipeline,
});

const query = (name: string): Buffer =>
  dnsPacket.encode({
    type: 'query',
    id: 7,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: 'A', class: 'IN' }],
    additionals: [
      { type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as dnsPacket.Answer,
    ],
  });

function measure(label: string, msg: Buffer): void {
  for (let k = 0; k < 20_000; k++) void pipeline.handle(msg, 'udp', '127.0.0.1'); // warm up: compiled, caches full
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().heapUsed;
  const t = process.hrtime.bigint();
  for (let k = 0; k < N; k++) if (!pipeline.handle(msg, 'udp', '127.0.0.1')) throw new Error(`${label}: no answer`);
  const ns = Number(process.hrtime.bigint() - t) / N;
  const bytes = (process.memoryUsage().heapUsed - before) / N;
  process.stdout.write(
    `${label.padEnd(12)} ${bytes.toFixed(0).padStart(5)} B/query   ${ns.toFixed(0).padStart(6)} ns/query\n`,
  );
}

await pipeline.handle(query('www.example.org'), 'udp', '127.0.0.1'); // fills the cache
measure('zone answer', query('www.example.test'));
measure('cache hit', query('www.example.org'));
