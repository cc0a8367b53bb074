// Site identity on every kind of answer, the metrics a Prometheus server scrapes, /status, the
// status command, and the query log, on the real server queried with dig.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { dig } from '../helpers/dig.ts';
import { PATIENCE_MS, until } from '../helpers/node.ts';
import { parseProm, value } from '../helpers/prom.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, runCli, startServer } from '../helpers/server.ts';
import { FakeUpstream } from '../helpers/upstream.ts';
import { decode, query, udpExchange } from '../helpers/wire.ts';
import { tempDir } from '../helpers/tmp.ts';

const SITE = 'test-site-fra1';
let up: FakeUpstream;
let srv: RunningServer;
before(async () => {
  up = await FakeUpstream.start();
  up.set('www.example.org', 'A', 300, '192.0.2.1');
  up.set('cached.example.org', 'A', 300, '192.0.2.2');
  const dir = tempDir('edgedns-id-');
  const cfg = join(dir, 'edgedns.yaml');
  writeFileSync(
    cfg,
    [
      'listen: ["127.0.0.1:0"]',
      `zones: { dir: ${JSON.stringify(ZONES)} }`,
      `upstreams: ["127.0.0.1:${up.port}"]`,
      // Short enough for the dropped question's SERVFAIL to come before dig gives up (10 s), long
      // enough for a busy machine's loopback upstream.
      'resolver: { timeout: 2s, deadline: 4s }',
      `site: { id: ${SITE}, hostname: edge1.example.test, version: "edgedns test" }`,
      'log: { queries: all }',
    ].join('\n'),
  );
  srv = await startServer({ config: cfg, args: [] });
});
after(async () => {
  await srv.stop();
  await up.close();
});

const metrics = async () => parseProm(await (await fetch(`http://127.0.0.1:${srv.adminPort}/metrics`)).text());

describe('NSID on every answer path', () => {
  for (const transport of ['+notcp', '+tcp']) {
    it(`zone, cached, forwarded and error answers carry it (${transport})`, async () => {
      const zone = await dig(srv, [transport, '+nsid', 'www.example.test']);
      assert.equal(zone.nsid, SITE);
      const fwd = await dig(srv, [transport, '+nsid', `fwd${transport.slice(1)}.example.org`]);
      assert.equal(fwd.status, 'NXDOMAIN');
      assert.equal(fwd.nsid, SITE);
      await dig(srv, [transport, 'cached.example.org']);
      const cached = await dig(srv, [transport, '+nsid', 'cached.example.org']);
      assert.equal(cached.answer[0]?.data, '192.0.2.2');
      assert.equal(cached.nsid, SITE);
      const refused = await dig(srv, [transport, '+nsid', 'example.test', 'CH', 'TXT']);
      assert.equal(refused.status, 'REFUSED');
      assert.equal(refused.nsid, SITE);
      up.mode = 'drop';
      const servfail = await dig(srv, [transport, '+nsid', `down${transport.slice(1)}.example.org`]);
      up.mode = 'answer';
      assert.equal(servfail.status, 'SERVFAIL');
      assert.equal(servfail.nsid, SITE);
      const badvers = await dig(srv, [transport, '+nsid', '+edns=1', '+noednsneg', 'www.example.test']);
      assert.equal(badvers.status, 'BADVERS');
      assert.equal(badvers.nsid, SITE);
    });
    it(`is never sent unasked (${transport})`, async () => {
      const r = await dig(srv, [transport, 'www.example.test']);
      assert.equal(r.nsid, undefined);
      assert.doesNotMatch(r.raw, /NSID/);
    });
  }
  it('FORMERR with an OPT carries it too', async () => {
    const q = dnsPacket.encode({
      type: 'query',
      id: 5,
      questions: [],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1232,
          options: [{ code: 3, data: Buffer.alloc(0) }],
        } as unknown as dnsPacket.Answer,
      ],
    });
    const r = await udpExchange(srv.port, q);
    assert.ok(r);
    const d = decode(r);
    assert.equal(d.rcode, 'FORMERR');
    const opt = d.additionals.find((a) => a.type === 'OPT') as unknown as { options: { code: number; data: Buffer }[] };
    assert.equal(opt.options.find((o) => o.code === 3)?.data.toString(), SITE);
  });
  it('never makes a UDP answer exceed its limit: truncation is decided after adding it', async () => {
    const r = await dig(srv, ['+nsid', '+bufsize=512', '+ignore', 'big.example.test', 'TXT']);
    assert.ok(r.flags.includes('tc'));
    assert.ok((r.msgSize ?? 9999) <= 512);
    assert.equal(r.nsid, SITE);
    // An answer that fits without NSID but not with it.
    const plain = await dig(srv, ['+bufsize=512', 'example.test', 'TXT']);
    assert.ok(!plain.flags.includes('tc'));
    assert.ok((plain.msgSize ?? 0) + 4 + SITE.length <= 512 || plain.msgSize === undefined);
  });
});

describe('CHAOS identity (RFC 4892)', () => {
  const cases: [string, string][] = [
    ['id.server', SITE],
    ['hostname.bind', 'edge1.example.test'],
    ['version.bind', 'edgedns test'],
    ['version.server', 'edgedns test'],
  ];
  for (const [name, want] of cases) {
    it(`CH TXT ${name}`, async () => {
      const r = await dig(srv, [name, 'CH', 'TXT']);
      assert.equal(r.status, 'NOERROR');
      assert.equal(r.answer[0]?.data, `"${want}"`);
      assert.equal(r.answer[0]?.class, 'CH');
    });
  }
  it('a hidden version is REFUSED', async () => {
    const other = await startServer({
      args: ['--listen', '127.0.0.1:0', '--zones', ZONES, '--authoritative-only', '--site-id', 'hidden-site'],
      env: {},
    });
    try {
      // The default version is shown; hiding it needs the config: checked through a config file.
      assert.equal((await dig(other, ['version.bind', 'CH', 'TXT'])).status, 'NOERROR');
    } finally {
      await other.stop();
    }
    const dir = tempDir('edgedns-hidden-');
    const cfg = join(dir, 'c.yaml');
    writeFileSync(
      cfg,
      `listen: ["127.0.0.1:0"]\nzones: { dir: ${JSON.stringify(ZONES)} }\nupstreams: []\nsite: { version: false }\n`,
    );
    const hidden = await startServer({ config: cfg, args: [] });
    try {
      assert.equal((await dig(hidden, ['version.bind', 'CH', 'TXT'])).status, 'REFUSED');
      assert.equal((await dig(hidden, ['version.server', 'CH', 'TXT'])).status, 'REFUSED');
      assert.equal((await dig(hidden, ['id.server', 'CH', 'TXT'])).status, 'NOERROR');
    } finally {
      await hidden.stop();
    }
  });
});

describe('metrics', () => {
  it('/metrics parses as Prometheus text and names the site on build_info', async () => {
    const m = await metrics();
    assert.equal(value(m, 'edgedns_build_info', { site: SITE }), 1);
    assert.equal(value(m, 'edgedns_zone_serial', { zone: 'example.test.' }), 2026112101);
    assert.ok(m.some((s) => s.name === 'process_cpu_seconds_total'));
  });
  it('counters move with the queries sent: 10 queries → +10', async () => {
    const before = await metrics();
    for (let i = 0; i < 10; i++) await dig(srv, ['mail.example.test', 'AAAA']);
    const after = await metrics();
    const d = (name: string, labels: Record<string, string>) =>
      value(after, name, labels) - value(before, name, labels);
    assert.equal(d('edgedns_queries_total', { transport: 'udp', qtype: 'AAAA' }), 10);
    // The node's own health probes (SOA over UDP and TCP) are counted apart: clients' figures only.
    assert.equal(d('edgedns_queries_total', { qtype: 'SOA' }), 0);
    assert.equal(d('edgedns_responses_total', { rcode: 'NOERROR', source: 'zone' }), 10);
    // Latency is sampled (one query in 16 on average, at random): at most the 10 are timed.
    const timed = d('edgedns_response_duration_seconds_count', { source: 'zone' });
    assert.ok(timed >= 0 && timed <= 10, `${timed} of 10 timed`);
  });
  it('queries per local zone and rcode, and the sizes of requests and responses', async () => {
    up.set('sized.example.org', 'A', 300, '192.0.2.9');
    const before = await metrics();
    const sent = [
      query('www.example.test', 'A'),
      query('nothing-here.example.test', 'A', { edns: true }),
      query('sized.example.org', 'A', { rd: true }),
    ];
    const got: Buffer[] = [];
    for (const q of sent) {
      const r = await udpExchange(srv.port, q);
      assert.ok(r, 'answered');
      got.push(r);
    }
    const after = await metrics();
    const d = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - value(before, name, labels);
    assert.equal(d('edgedns_zone_queries_total', { zone: 'example.test.', rcode: 'NOERROR' }), 1);
    assert.equal(d('edgedns_zone_queries_total', { zone: 'example.test.', rcode: 'NXDOMAIN' }), 1);
    assert.equal(d('edgedns_zone_queries_total'), 2, 'the forwarded name is in no local zone');
    const bytes = (xs: Buffer[]) => xs.reduce((n, b) => n + b.length, 0);
    assert.equal(d('edgedns_request_size_bytes_count', { transport: 'udp' }), 3);
    assert.equal(d('edgedns_request_size_bytes_sum', { transport: 'udp' }), bytes(sent));
    assert.equal(d('edgedns_response_size_bytes_count', { transport: 'udp' }), 3);
    assert.equal(d('edgedns_response_size_bytes_sum', { transport: 'udp' }), bytes(got));
    assert.equal(d('edgedns_response_size_bytes_count', { transport: 'tcp' }), 0);
    // Bucket bounds: the three queries are under 64 bytes each.
    assert.equal(d('edgedns_request_size_bytes_bucket', { transport: 'udp', le: '64' }), 3);
  });
  it('the health probes are counted apart, and the whole endpoint passes promtool check metrics', async () => {
    const before = await metrics();
    let after = before;
    const probed = (): boolean =>
      ['udp', 'tcp'].every(
        (transport) =>
          value(after, 'edgedns_probe_queries_total', { transport }) >
          value(before, 'edgedns_probe_queries_total', { transport }),
      );
    await until(
      async () => probed() || ((after = await metrics()), probed()),
      PATIENCE_MS,
      'health probes over UDP and TCP to be counted',
    );
    assert.equal(
      value(after, 'edgedns_queries_total') - value(before, 'edgedns_queries_total'),
      0,
      'no client asked anything',
    );
    const text = await (await fetch(`http://127.0.0.1:${srv.adminPort}/metrics`)).text();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}`);
    // Counters with a fixed set of labels are there at 0 before their first event.
    assert.equal(
      value(after, 'edgedns_tcp_timeouts_total', { deadline: 'idle' }) >= 0 &&
        after.some((x) => x.name === 'edgedns_send_errors_total'),
      true,
    );
  });
  it('cache hits, misses, entries and upstream queries', async () => {
    const before = await metrics();
    up.set('m.example.org', 'A', 300, '192.0.2.3');
    await dig(srv, ['m.example.org']);
    await dig(srv, ['m.example.org']);
    const after = await metrics();
    assert.equal(value(after, 'edgedns_cache_hits_total') - value(before, 'edgedns_cache_hits_total'), 1);
    assert.equal(value(after, 'edgedns_cache_misses_total') - value(before, 'edgedns_cache_misses_total'), 1);
    assert.ok(value(after, 'edgedns_cache_entries') >= 1);
    assert.ok(value(after, 'edgedns_cache_bytes') > 0);
    assert.equal(
      value(after, 'edgedns_upstream_queries_total', { upstream: `127.0.0.1:${up.port}`, transport: 'udp' }) -
        value(before, 'edgedns_upstream_queries_total', { upstream: `127.0.0.1:${up.port}`, transport: 'udp' }),
      1,
    );
    assert.equal(value(after, 'edgedns_upstream_up', { upstream: `127.0.0.1:${up.port}` }), 1);
  });
  it('TCP connections and malformed packets are counted', async () => {
    const before = await metrics();
    await dig(srv, ['+tcp', 'www.example.test']);
    await udpExchange(srv.port, Buffer.from([1, 2, 3]), 300);
    const after = await metrics();
    // Health probes open TCP connections of their own: one per probe over TCP.
    const probes =
      value(after, 'edgedns_probe_queries_total', { transport: 'tcp' }) -
      value(before, 'edgedns_probe_queries_total', { transport: 'tcp' });
    assert.equal(
      value(after, 'edgedns_tcp_connections_total') - value(before, 'edgedns_tcp_connections_total'),
      1 + probes,
    );
    assert.equal(
      value(after, 'edgedns_malformed_packets_total', { transport: 'udp' }) -
        value(before, 'edgedns_malformed_packets_total', { transport: 'udp' }),
      1,
    );
  });
});

describe('status and logs', () => {
  it('/status reports the site, zones with serials, upstreams and cache', async () => {
    const s = (await (await fetch(`http://127.0.0.1:${srv.adminPort}/status`)).json()) as {
      site: { id: string };
      zones: { origin: string; serial: number }[];
      upstreams: { address: string }[];
      cache: { entries: unknown };
      config: { sha256: string };
    };
    assert.equal(s.site.id, SITE);
    assert.deepEqual(
      s.zones.map((z) => [z.origin, z.serial]),
      [['example.test.', 2026112101]],
    );
    assert.equal(s.upstreams[0]?.address, `127.0.0.1:${up.port}`);
    assert.equal(typeof s.cache.entries, 'number');
    assert.match(s.config.sha256, /^[0-9a-f]{64}$/);
  });
  it('edgedns status prints them', async () => {
    const r = await runCli(['status', '--admin', `http://127.0.0.1:${srv.adminPort}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`site ${SITE}`));
    assert.match(r.stdout, /example\.test\.\s+serial 2026112101/);
    const j = await runCli(['status', '--json', '--admin-socket', String(srv.adminSocket)]);
    assert.equal((JSON.parse(j.stdout) as { site: { id: string } }).site.id, SITE);
  });
  it('edgedns cache flush and reload work through the admin endpoint', async () => {
    await dig(srv, ['www.example.org']);
    const f = await runCli(['cache', 'flush', 'www.example.org', '--admin-socket', String(srv.adminSocket)]);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /flushed 1 entries of www\.example\.org\./);
    const asked = up.queries;
    await dig(srv, ['www.example.org']);
    assert.equal(up.queries, asked + 1, 'the flushed name is fetched again');
    const rl = await runCli(['reload', '--admin-socket', String(srv.adminSocket)]);
    assert.equal(rl.code, 0);
    assert.match(rl.stdout, /reloaded: 1 zone/);
  });
  it('JSON log lines carry the site id; the query log has one line per query', async () => {
    await dig(srv, ['+tcp', 'sip.example.test']);
    const lines = srv
      .logs()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.every((l) => l.site === SITE));
    const q = lines.find((l) => l.msg === 'query' && l.name === 'sip.example.test.');
    assert.ok(q, 'query line');
    assert.equal(q.type, 'A');
    assert.equal(q.rcode, 'NOERROR');
    assert.equal(q.source, 'zone');
    assert.equal(q.transport, 'tcp');
    assert.equal(q.zone, 'example.test.');
    assert.ok(typeof q.bytes === 'number' && q.bytes > 12, 'the size of the response sent');
    assert.equal(q.client, '127.0.0.1');
    assert.equal(typeof q.ms, 'number');
  });
});
