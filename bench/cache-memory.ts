// Memory of the answer cache per entry: store N typical answers (one A record) and divide the heap
// growth by N. Run with --expose-gc: node --expose-gc --import tsx bench/cache-memory.ts [N]

import dnsPacket from 'dns-packet';
import { AnswerCache } from '../src/cache/index.ts';
import { systemClock } from '../src/core/index.ts';
import { nameFromText, nameKey, parseMessage } from '../src/wire/index.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const cache = new AnswerCache({ maxEntries: N + 1, maxBytes: 64 * 1024 ** 3, minTtl: 0, maxTtl: 86400, maxNegativeTtl: 3600, servfailTtl: 5, maxStale: 86400, staleRecheck: 30, prefetch: true, clock: systemClock });
gc();
const before = process.memoryUsage().heapUsed;
for (let i = 0; i < N; i++) {
  const name = `host${i}.example.org`;
  const wire = dnsPacket.encode({ type: 'response', id: 1, flags: 0x8180, questions: [{ name, type: 'A', class: 'IN' }], answers: [{ name, type: 'A', class: 'IN', ttl: 3600, data: `192.0.2.${i & 255}` }] });
  const msg = parseMessage(wire);
  if (!msg) throw new Error('bad message');
  const qname = nameFromText(`${name}.`, null);
  cache.store(AnswerCache.key(nameKey(qname), 1, 1, false), qname, msg, false);
}
gc();
const after = process.memoryUsage().heapUsed;
const perEntry = (after - before) / N;
process.stdout.write(`${JSON.stringify({ entries: cache.entries, bytesPerEntry: Math.round(perEntry), heapMb: Math.round(after / 1048576) })}\n`);
