// The files the growth curves and the dnsperf rows run on: growth zones (read by edgedns's parser
// and by BIND's named-checkzone), shuffled query files, the cache sizes for N names, and the
// edgedns, Unbound and dnsdist configs (read by edgedns's config loader, unbound-checkconf and
// dnsdist --check-config); the figures read from /metrics and unbound-control.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dnsdistArgs, dnsdistConfig } from '../../../bench/dnsdist.ts';
import { edgednsConfig } from '../../../bench/edgedns.ts';
import {
  GROWTH_ORIGIN,
  cacheSizesFor,
  hitName,
  metricValue,
  shuffled,
  unboundStat,
  writeGrowthZone,
  writeQueryFile,
  zoneName,
} from '../../../bench/growth.ts';
import { unboundConfig } from '../../../bench/unbound.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { nameFromText } from '../../../src/wire/index.ts';
import { parseZoneText } from '../../../src/zone/index.ts';
import { ROOT } from '../../helpers/server.ts';
import { tempDir } from '../../helpers/tmp.ts';

describe('bench growth files', () => {
  it('writes a zone of N names with one A record each, read alike by edgedns and named-checkzone', async () => {
    const dir = tempDir('edgedns-growth-');
    // More than one write chunk (10,000 lines), so the chunking is exercised too.
    const n = 25_001;
    const file = join(dir, 'growth.zone');
    await writeGrowthZone(file, n);
    const records = parseZoneText(readFileSync(file, 'utf8'), nameFromText(GROWTH_ORIGIN, null), file);
    const byType = new Map<number, number>();
    for (const r of records) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(byType), { 1: n, 2: 1, 6: 1 }, 'A, NS, SOA');
    const out = execFileSync('named-checkzone', [GROWTH_ORIGIN, file], { encoding: 'utf8' });
    assert.match(out, /loaded serial 1/);
    assert.match(readFileSync(file, 'utf8'), new RegExp(`^n${n - 1} IN A 192\\.0\\.2\\.\\d+$`, 'm'));
    assert.equal(zoneName(7), 'n7.growth.test');
  });

  it('shuffles the same way for a seed: a permutation, not the identity', () => {
    const a = shuffled(10_000);
    assert.deepEqual(
      [...a].sort((x, y) => x - y),
      Array.from({ length: 10_000 }, (_, i) => i),
    );
    assert.deepEqual(shuffled(10_000), a);
    assert.notDeepEqual(shuffled(10_000, 7), a);
    // Spread: few names keep their place.
    assert.ok(a.filter((x, i) => x === i).length < 20);
    assert.deepEqual([...shuffled(1)], [0]);
    assert.equal(shuffled(0).length, 0);
  });

  it('writes a query file asking every name once', async () => {
    const dir = tempDir('edgedns-growth-');
    const file = join(dir, 'q.txt');
    await writeQueryFile(file, 12_345, hitName);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 12_345);
    assert.equal(new Set(lines).size, 12_345);
    assert.ok(lines.every((l) => /^c\d+\.bench\.test A$/.test(l)));
    assert.ok(lines.includes('c12344.bench.test A') && lines.includes('c0.bench.test A'));
    assert.notEqual(lines[0], 'c0.bench.test A', 'shuffled');
  });

  it('sizes the caches for N answers, never below the standard sizes', () => {
    const big = cacheSizesFor(1_000_000);
    assert.ok(big.maxEntries > 1_000_000);
    // edgedns counts about 625 bytes per A answer (bench/cache-memory.ts).
    assert.ok(big.maxBytes > 1_000_000 * 625);
    assert.ok(big.msgCacheMb * 1024 * 1024 > 1_000_000 * 500 && big.rrsetCacheMb > big.msgCacheMb);
    assert.deepEqual(cacheSizesFor(1000), {
      maxEntries: 200_000,
      maxBytes: 128 * 1024 * 1024,
      msgCacheMb: 64,
      rrsetCacheMb: 128,
    });
  });

  it('reads a figure of /metrics and of unbound-control stats', () => {
    const metrics = [
      '# HELP edgedns_cache_misses_total Cache lookups without a fresh entry.',
      '# TYPE edgedns_cache_misses_total counter',
      'edgedns_cache_misses_total 1234',
      'edgedns_cache_misses_total_other 9',
      'edgedns_cache_entries{site="a"} 5e+3',
    ].join('\n');
    assert.equal(metricValue(metrics, 'edgedns_cache_misses_total'), 1234);
    assert.equal(metricValue(metrics, 'edgedns_cache_entries'), 5000);
    assert.equal(metricValue(metrics, 'edgedns_cache_hits_total'), null);
    const stats = 'thread0.num.cachemiss=7\ntotal.num.cachehits=100\ntotal.num.cachemiss=12\n';
    assert.equal(unboundStat(stats, 'total.num.cachemiss'), 12);
    assert.equal(unboundStat(stats, 'total.num.cachehitsX'), null);
    assert.equal(unboundStat('totalXnumXcachemiss=3\n', 'total.num.cachemiss'), null, 'dots are literal');
  });
});

describe('bench configs', () => {
  it('writes an edgedns config that its loader accepts, with the cache and admin endpoint asked for', () => {
    const dir = tempDir('edgedns-growth-');
    const f = join(dir, 'edgedns.yaml');
    const zone = join(dir, 'growth.zone');
    const sizes = cacheSizesFor(1_000_000);
    writeFileSync(
      f,
      edgednsConfig({
        port: 15353,
        workers: 2,
        zonesDir: null,
        zoneFiles: [{ file: zone, origin: GROWTH_ORIGIN }],
        upstreamPort: 15354,
        cache: { maxEntries: sizes.maxEntries, maxBytes: sizes.maxBytes },
        adminPort: 15355,
        extra: ['edns: { udpPayload: 1400 }'],
      }),
    );
    const { config } = loadConfig(f);
    assert.equal(config.workers, 2);
    assert.equal(config.cache.maxEntries, sizes.maxEntries);
    assert.equal(config.cache.maxBytes, sizes.maxBytes);
    assert.equal(config.zones.dir, null);
    assert.deepEqual(config.zones.files, [{ file: zone, origin: GROWTH_ORIGIN }]);
    assert.equal(config.rateLimit, null);
    assert.equal(config.edns.udpPayload, 1400);
    assert.match(JSON.stringify(config.admin.listen), /15355/);
    assert.equal(config.health.overload.maxUtilization, 1, 'no shedding for a busy loop');
    assert.equal(config.health.overload.maxDropRate, 100_000_000, 'nor for drops');
    assert.equal(config.health.overload.maxUdpQueue, 1024 ** 3, 'nor for a deep socket queue');

    writeFileSync(f, edgednsConfig({ port: 15353, workers: 1, zonesDir: dir, zoneFiles: [], upstreamPort: 15354 }));
    const plain = loadConfig(f).config;
    assert.equal(plain.admin.listen, null, 'no admin endpoint unless asked');
    assert.equal(plain.cache.maxEntries, 200_000, 'the default cache');
    assert.equal(plain.health.overload.maxUtilization, 1, 'every bench server without shedding');
  });

  it('writes an Unbound config with large caches and a control socket that unbound-checkconf accepts', () => {
    const dir = tempDir('edgedns-growth-');
    const f = join(dir, 'unbound.conf');
    const text = unboundConfig({
      port: 15300,
      dir,
      zoneFile: join(ROOT, 'zones', 'example.test.zone'),
      zone: 'example.test.',
      upstreamPort: 15301,
      cacheMb: { msg: 1041, rrset: 2018 },
      controlSocket: join(dir, 'unbound.ctl'),
    });
    writeFileSync(f, text);
    assert.match(execFileSync('unbound-checkconf', [f], { encoding: 'utf8' }), /no errors/);
    assert.match(text, /msg-cache-size: 1041m/);
    assert.match(text, /rrset-cache-size: 2018m/);
    assert.match(text, /control-interface: ".*unbound\.ctl"/);
  });

  it('writes a dnsdist config that dnsdist --check-config accepts, and one it refuses is seen', () => {
    const dir = tempDir('edgedns-growth-');
    const f = join(dir, 'dnsdist.conf');
    const text = dnsdistConfig({ port: 15310, upstreamPort: 15311, cacheEntries: 5000 });
    writeFileSync(f, text);
    const args = ['--check-config', ...dnsdistArgs(f).filter((a) => a !== '--supervised')];
    const ok = spawnSync('dnsdist', args, { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(text, /setLocal\("127\.0\.0\.1:15310"\)/);
    assert.match(text, /address="127\.0\.0\.1:15311"/);
    assert.match(text, /newPacketCache\(5000,/);
    assert.match(text, /setSecurityPollSuffix\(""\)/, 'no query leaves loopback');
    // The check is not a rubber stamp: a broken line fails it.
    writeFileSync(f, `${text}getPool(""):setCache(nosuchcache\n`);
    assert.notEqual(spawnSync('dnsdist', args, { encoding: 'utf8' }).status, 0);
  });
});
