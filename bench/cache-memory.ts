// Memory of the answer cache per entry: store N typical answers (one A record, optionally a TXT of
// T bytes), each fill interleaved with short-lived pooled buffers as a server makes, and compare
// what the cache counts with heap + arrayBuffers and RSS growth.
// Run with --expose-gc: node --expose-gc --import tsx bench/cache-memory.ts [N] [T]

import dnsPacket from 'dns-packet';
import { AnswerCache } from '../src/cache/index.ts';
import { systemClock } from '../src/core/index.ts';
import { nameFromText, nameKey, parseMessage } from '../src/wire/index.ts';
import { testCache } from '../test/helpers/cache.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const TXT = Number(process.argv[3] ?? 0);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
// The tests' cache settings, sized to hold all N.
const cache = testCache(systemClock, { maxEntries: N + 1, maxBytes: 64 * 1024 ** 3 });
gc();
const before = process.memoryUsage();
let junk = 0;
for (let i = 0; i < N; i++) {
  const name = `host${i}.example.org`;
  const answers: dnsPacket.Answer[] = [{ name, type: 'A', class: 'IN', ttl: 3600, data: `192.0.2.${i & 255}` }];
  if (TXT > 0) answers.push({ name, type: 'TXT', class: 'IN', ttl: 3600, data: 'x'.repeat(TXT) });
  const msg = parseMessage(
    dnsPacket.encode({
      type: 'response',
      id: 1,
      flags: 0x8180,
      questions: [{ name, type: 'A', class: 'IN' }],
      answers,
    }),
  );
  if (!msg) throw new Error('bad message');
  const qname = nameFromText(`${name}.`, null);
  cache.store(AnswerCache.key(nameKey(qname), 1, 1, false), qname, msg, false);
  for (let k = 0; k < 4; k++) junk += Buffer.from(`a reply, a log line, ${i} ${k} `.repeat(8)).length;
}
gc();
const after = process.memoryUsage();
const per = (k: 'heapUsed' | 'arrayBuffers' | 'rss'): number => Math.round((after[k] - before[k]) / N);
process.stdout.write(
  `${JSON.stringify({ entries: cache.entries, countedPerEntry: Math.round(cache.bytes / cache.entries), heapPerEntry: per('heapUsed'), arrayBuffersPerEntry: per('arrayBuffers'), rssPerEntry: per('rss'), heapMb: Math.round(after.heapUsed / 1048576), junk })}\n`,
);
