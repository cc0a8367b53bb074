// The cache's byte bound is a bound on real memory: fills interleaved with short-lived buffers (as
// a server makes per query) grow heap + arrayBuffers and RSS by about what the cache counts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import dnsPacket from 'dns-packet';
import { AnswerCache } from '../../../src/cache/index.ts';
import { ManualClock } from '../../../src/core/index.ts';
import { nameFromText, nameKey, parseMessage } from '../../../src/wire/index.ts';
import { testCache } from '../../helpers/cache.ts';

// The test runner gives no --expose-gc: switch it on here and take `gc` from a fresh context.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Usage {
  real: number;
  arrayBuffers: number;
  rss: number;
}

function usage(): Usage {
  gc();
  gc();
  const m = process.memoryUsage();
  return { real: m.heapUsed + m.arrayBuffers, arrayBuffers: m.arrayBuffers, rss: m.rss };
}

const MiB = 1024 * 1024;

/** Fill a fresh cache with `n` distinct names (`txt` bytes of TXT each), 4 short-lived buffers per fill. */
function fill(maxBytes: number, n: number, txt: number): { cache: AnswerCache; before: Usage; after: Usage } {
  const cache = testCache(new ManualClock(), { maxEntries: 1_000_000, maxBytes, prefetch: false });
  const before = usage();
  let junk = 0;
  for (let i = 0; i < n; i++) {
    const name = `host${i}.example.org`;
    const answers: dnsPacket.Answer[] = [{ name, type: 'A', class: 'IN', ttl: 3600, data: `192.0.2.${i & 255}` }];
    if (txt > 0) answers.push({ name, type: 'TXT', class: 'IN', ttl: 3600, data: 'x'.repeat(txt) });
    // dns-packet encodes into a pooled buffer, as a received datagram's records are views of it.
    const msg = parseMessage(
      dnsPacket.encode({
        type: 'response',
        id: 1,
        flags: 0x8180,
        questions: [{ name, type: 'A', class: 'IN' }],
        answers,
      }),
    );
    assert.ok(msg);
    const qname = nameFromText(`${name}.`, null);
    cache.store(AnswerCache.key(nameKey(qname), 1, 1, false), qname, msg, false);
    for (let k = 0; k < 4; k++) junk += Buffer.from(`a reply, a log line, ${i} ${k} `.repeat(8)).length;
  }
  assert.ok(junk > 0);
  return { cache, before, after: usage() };
}

describe('AnswerCache memory', () => {
  // One A record (bytes inside the V8 heap) and a 200-byte TXT (a backing store of its own).
  for (const txt of [0, 200]) {
    it(`counts what its entries really hold (TXT ${txt} B)`, (t) => {
      const { cache, before, after } = fill(1024 * MiB, 60_000, txt);
      assert.equal(cache.entries, 60_000);
      // heapUsed + arrayBuffers miss malloc's and V8's bookkeeping of a backing store (about
      // 300 B each, counted by the cache); RSS sees them but also the heap's slack.
      const real = after.real - before.real;
      const ratio = cache.bytes / real;
      t.diagnostic(
        `per entry: counted ${Math.round(cache.bytes / cache.entries)} B, heap+arrayBuffers ${Math.round(real / cache.entries)} B, RSS ${Math.round((after.rss - before.rss) / cache.entries)} B`,
      );
      assert.ok(
        ratio > (txt > 64 ? 1 : 0.85) && ratio < (txt > 64 ? 1.6 : 1.15),
        `counted ${cache.bytes} B, heap+arrayBuffers grew ${real} B (ratio ${ratio.toFixed(2)})`,
      );
      // Pooled slices would show here as 8 KiB blocks kept alive by entries.
      const ab = after.arrayBuffers - before.arrayBuffers;
      assert.ok(ab < 60_000 * (txt + 100), `arrayBuffers grew ${ab} B for ${60_000} entries of ${txt} B TXT`);
    });
  }

  it('bounds real growth by maxBytes while it evicts', (t) => {
    const maxBytes = 16 * MiB;
    // About six times what fits: most fills evict an older entry.
    const { cache, before, after } = fill(maxBytes, 100_000, 100);
    assert.ok(cache.entries < 100_000, 'the byte bound evicted entries');
    assert.ok(cache.bytes <= maxBytes);
    const real = after.real - before.real;
    const rss = after.rss - before.rss;
    t.diagnostic(
      `${cache.entries} entries, counted ${(cache.bytes / MiB).toFixed(1)} MiB; heap+arrayBuffers +${(real / MiB).toFixed(1)} MiB, RSS +${(rss / MiB).toFixed(1)} MiB`,
    );
    assert.ok(
      real < 1.25 * maxBytes,
      `heap+arrayBuffers grew ${(real / MiB).toFixed(1)} MiB for maxBytes ${maxBytes / MiB} MiB`,
    );
    // RSS also holds the heap's free space and malloc's: a factor of 2.5 of maxBytes is the bound stated.
    assert.ok(rss < 2.5 * maxBytes, `RSS grew ${(rss / MiB).toFixed(1)} MiB for maxBytes ${maxBytes / MiB} MiB`);
  });
});
