// Attack: a flood of unique names to forward, each filling the cache. With a small cache.maxBytes
// the node's memory stays bounded (entries own their bytes and are counted as they really cost),
// a legitimate client keeps its answers, and the node stays UP and ready. Loopback only; bounded.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { uniqueNames } from '../helpers/attacks.ts';
import type { Forwarder } from '../helpers/forwarder.ts';
import { startForwarder } from '../helpers/forwarder.ts';
import { describe as describeResult, hostileNode, nodeHealth, runUnderAttack } from '../helpers/hostile.ts';
import { parseProm, value } from '../helpers/prom.ts';
import type { RunningServer } from '../helpers/server.ts';
import { FakeUpstream } from '../helpers/upstream.ts';

const MAX_BYTES_MIB = 4;
const RATE = 500;
const ATTACK_MS = 20_000;
/** The stated bound: RSS may grow by the cache's bytes and this much for the rest (heap slack, in-flight fills). */
const RSS_GROWTH_MAX_MIB = MAX_BYTES_MIB + 60;

let fwd: Forwarder;
let up: FakeUpstream;
let srv: RunningServer;
before(async () => {
  fwd = await startForwarder([`cache: { maxBytes: ${MAX_BYTES_MIB}MiB, maxEntries: 1000000 }`]);
  ({ up, srv } = fwd);
});
after(async () => {
  assert.equal(await fwd.close(), 0);
});

async function cacheMetrics(): Promise<{ bytes: number; entries: number; evictions: number }> {
  const s = parseProm(await (await fetch(`http://127.0.0.1:${srv.adminPort}/metrics`)).text());
  return {
    bytes: value(s, 'edgedns_cache_bytes'),
    entries: value(s, 'edgedns_cache_entries'),
    evictions: value(s, 'edgedns_cache_evictions_total'),
  };
}

describe('hostile: unique names filling the cache', () => {
  it('keeps RSS bounded, the legit client answered and the node UP', async (t) => {
    assert.ok(srv.adminPort !== null);
    // Warm up: the node is UP and has served a few forwarded names before the baseline.
    for (let i = 0; i < 50 && !(await nodeHealth(srv.adminPort)).up; i++) await sleep(200);
    // Bounded in count and time: RATE a second for ATTACK_MS, each name new; RSS sampled every 200 ms.
    const o = await runUnderAttack(
      hostileNode(srv, 1),
      () => uniqueNames({ port: srv.port, from: '127.0.0.1', ms: ATTACK_MS, rate: RATE }),
      { maxMs: ATTACK_MS + 5000 },
    );
    const { sent } = o.attack;
    const { before: baseline, peak } = o.rss;
    const result = o.legit;
    const cache = await cacheMetrics();
    const health = o.health;
    t.diagnostic(`attack: ${sent} unique names in ${Math.round(o.ms)} ms; upstream saw ${up.udpQueries}`);
    t.diagnostic(`legit: ${describeResult(result)}`);
    t.diagnostic(
      `RSS: ${baseline.toFixed(1)} MiB before, ${peak.toFixed(1)} MiB peak (bound ${(baseline + RSS_GROWTH_MAX_MIB).toFixed(1)})`,
    );
    t.diagnostic(
      `cache: ${cache.entries} entries, ${(cache.bytes / 1048576).toFixed(2)} MiB counted, ${cache.evictions} evicted`,
    );

    assert.ok(up.udpQueries > sent / 2, 'the flood reached the upstream (names were forwarded)');
    assert.ok(cache.evictions > 0, 'the cache filled and evicted: the byte bound was exercised');
    assert.ok(cache.bytes <= MAX_BYTES_MIB * 1048576);
    assert.ok(peak - baseline < RSS_GROWTH_MAX_MIB, `RSS grew ${(peak - baseline).toFixed(1)} MiB`);
    assert.ok(result.rate >= 0.99, `legit client: ${describeResult(result)}`);
    assert.ok(health.up && health.ready, `node after the attack: ${JSON.stringify(health)}`);
    assert.equal(health.flaps, 0, 'no withdrawal for health');
    assert.equal(srv.proc.exitCode, null, 'the process lives');
  });
});
