// The per-query observers of metrics.ts: what one event adds, and which series exist before any.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMetrics } from '../../../src/metrics/index.ts';
import type { ResponseEvent } from '../../../src/server/index.ts';
import type { ZoneInfo } from '../../../src/zone/index.ts';
import { parseProm, value } from '../../helpers/prom.ts';

const zone = (origin: string): ZoneInfo => ({
  origin,
  file: `${origin}zone`,
  serial: 1,
  records: 3,
  loadedAt: 0,
  digest: '',
});

function setup(zones: ZoneInfo[]) {
  const m = createMetrics(
    { version: 't', site: 's' },
    { prefixes: () => [], cache: () => null, zones: () => zones, upstreams: () => [] },
    { defaultMetrics: false },
  );
  return { m, scrape: async () => parseProm(await m.registry.metrics()) };
}

const event = (over: Partial<ResponseEvent>): ResponseEvent => ({
  transport: 'udp',
  client: '192.0.2.1',
  key: '',
  qtype: 1,
  rcode: 0,
  source: 'zone',
  zone: null,
  seconds: 0.001,
  requestBytes: 40,
  responseBytes: 100,
  ...over,
});

describe('metrics: per-zone queries and message sizes', () => {
  it('a loaded zone has its NOERROR and NXDOMAIN series at 0 before any query', async () => {
    const { scrape } = setup([zone('example.test.'), zone('other.test.')]);
    const s = await scrape();
    for (const z of ['example.test.', 'other.test.']) {
      for (const rcode of ['NOERROR', 'NXDOMAIN']) {
        assert.ok(
          s.some((x) => x.name === 'edgedns_zone_queries_total' && x.labels.zone === z && x.labels.rcode === rcode),
          `${z} ${rcode}`,
        );
      }
    }
    assert.equal(value(s, 'edgedns_zone_queries_total'), 0);
  });
  it('counts a zone answer under its zone and rcode, sizes by transport, and a dropped response only as a query', async () => {
    const { m, scrape } = setup([zone('example.test.')]);
    m.pipeline.response(event({ zone: 'example.test.', rcode: 3, requestBytes: 50, responseBytes: 600 }));
    m.pipeline.response(event({ zone: 'example.test.', rcode: 3, responseBytes: 0 }));
    m.pipeline.response(event({ transport: 'tcp', source: 'cache', requestBytes: 30, responseBytes: 2000 }));
    const s = await scrape();
    assert.equal(value(s, 'edgedns_zone_queries_total', { zone: 'example.test.', rcode: 'NXDOMAIN' }), 2);
    assert.equal(value(s, 'edgedns_zone_queries_total'), 2, 'the cache answer is in no zone');
    assert.equal(value(s, 'edgedns_request_size_bytes_count', { transport: 'udp' }), 2);
    assert.equal(value(s, 'edgedns_request_size_bytes_sum', { transport: 'udp' }), 90);
    assert.equal(
      value(s, 'edgedns_response_size_bytes_count', { transport: 'udp' }),
      1,
      'the dropped response sent nothing',
    );
    assert.equal(value(s, 'edgedns_response_size_bytes_bucket', { transport: 'udp', le: '512' }), 0);
    assert.equal(value(s, 'edgedns_response_size_bytes_bucket', { transport: 'udp', le: '1232' }), 1);
    assert.equal(value(s, 'edgedns_response_size_bytes_bucket', { transport: 'tcp', le: '2048' }), 1);
    assert.equal(value(s, 'edgedns_responses_total', { rcode: 'NXDOMAIN' }), 1);
    assert.equal(value(s, 'edgedns_responses_total', { source: 'cache' }), 1);
  });
});

describe('metrics: sampled latency', () => {
  it('asks for one query in 16 to be timed; an untimed response (-1) is counted but not in the histogram', async () => {
    const { m, scrape } = setup([]);
    assert.equal(m.pipeline.timeEvery, 16);
    m.pipeline.response(event({ seconds: 0.002 }));
    m.pipeline.response(event({ seconds: -1 }));
    m.pipeline.response(event({ seconds: -1, source: 'cache' }));
    const s = await scrape();
    assert.equal(value(s, 'edgedns_responses_total', { rcode: 'NOERROR', source: 'zone' }), 2);
    assert.equal(value(s, 'edgedns_responses_total', { rcode: 'NOERROR', source: 'cache' }), 1);
    assert.equal(value(s, 'edgedns_response_duration_seconds_count', { source: 'zone' }), 1);
    assert.equal(value(s, 'edgedns_response_duration_seconds_sum', { source: 'zone' }), 0.002);
    assert.equal(value(s, 'edgedns_response_duration_seconds_count', { source: 'cache' }), 0);
    const help = (await m.registry.metrics())
      .split('\n')
      .find((l) => l.startsWith('# HELP edgedns_response_duration_seconds '));
    assert.match(help ?? '', /one query in 16 on average is timed/);
  });
});
