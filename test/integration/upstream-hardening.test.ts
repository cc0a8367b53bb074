// Upstream hardening as a client and an upstream see it: the real server forwarding to a fake
// upstream on loopback. Every upstream query from a port of its own and from resolver.querySource;
// over a fetch limit, SERVFAIL with EDE 0 (or the stale answer) at once; a failed question
// remembered (EDE 13) without asking again.
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { metric } from '../helpers/hostile.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, startServer } from '../helpers/server.ts';
import { FakeUpstream } from '../helpers/upstream.ts';
import { decode, query } from '../helpers/wire.ts';
import { tempDir } from '../helpers/tmp.ts';

/** The upstream holds every reply this long: queries pile up in flight at the node. */
const IN_FLIGHT = 1000;
const PER_ZONE = 5;

/**
 * How long the node waits for the upstream: the held queries must stay in flight until the test
 * releases them, however long this machine takes to send them all (so not the default 700 ms).
 */
const PATIENT_RESOLVER = 'resolver: { timeout: 50s, deadline: 50s, querySource: 127.0.0.2 }';
/** How long a client waits for an answer: longer than the node waits for the upstream. */
const ASK_PATIENCE_MS = 60_000;
/**
 * Never overloaded: the 1000 upstream queries at once can keep a busy machine's node above its
 * load limits for seconds, and an overloaded node sheds exactly what these tests send (cookie-less
 * misses: dropped). Shedding has tests of its own (shedding.test.ts); these are about fetch limits.
 */
const NEVER_OVERLOADED =
  'health: { maxEventLoopLag: 60s, overload: { maxUtilization: 1, maxDropRate: 100000000, maxUdpQueue: 1GiB } }';

let up: FakeUpstream;
let srv: RunningServer;
const dirs: string[] = [];

/** A node forwarding to `up`, with the fetch limits above and `resolver` (a YAML line). */
async function node(resolver: string): Promise<RunningServer> {
  const dir = tempDir('edgedns-hardening-');
  dirs.push(dir);
  const cfg = join(dir, 'edgedns.yaml');
  writeFileSync(
    cfg,
    [
      'listen: ["127.0.0.1:0"]',
      `zones: { dir: ${JSON.stringify(ZONES)} }`,
      `upstreams: ["127.0.0.1:${up.port}"]`,
      resolver,
      NEVER_OVERLOADED,
      `fetchLimits: { inFlight: ${IN_FLIGHT}, perZone: ${PER_ZONE} }`,
      'site: { id: test-site }',
    ].join('\n'),
  );
  return startServer({ config: cfg, args: [] });
}

before(async () => {
  up = await FakeUpstream.start();
  srv = await node(PATIENT_RESOLVER);
});
after(async () => {
  const code = await srv.stop();
  await up.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  assert.equal(code, 0);
});

interface Reply {
  rcode: string;
  answers: { data?: unknown; ttl?: number }[];
  /** "code text" of the extended error, or undefined. */
  ede: string | undefined;
  /** Replies to earlier queries of the same client that had arrived before this one. */
  after: number;
}

/** A client socket that sends many queries and matches the replies by ID, in arrival order. */
async function client(
  port = srv.port,
): Promise<{ ask(name: string): Promise<Reply>; close(): void; received(): number }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const waiting = new Map<number, (r: Reply) => void>();
  let id = 0;
  let received = 0;
  sock.on('message', (m) => {
    const d = decode(m);
    const opt = d.additionals.find((a) => a.type === 'OPT') as
      { options?: { code: number; data: Buffer }[] } | undefined;
    const e = opt?.options?.find((o) => o.code === 15);
    const reply: Reply = {
      rcode: d.rcode,
      answers: d.answers,
      ede: e ? `${e.data.readUInt16BE(0)} ${e.data.subarray(2).toString()}` : undefined,
      after: received++,
    };
    waiting.get(d.id)?.(reply);
    waiting.delete(d.id);
  });
  return {
    ask: (name) =>
      new Promise<Reply>((resolve, reject) => {
        id = (id % 65535) + 1;
        const timer = setTimeout(
          () => reject(new Error(`no reply for ${name} within ${ASK_PATIENCE_MS} ms`)),
          ASK_PATIENCE_MS,
        );
        waiting.set(id, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
        sock.send(query(name, 'A', { id, edns: true }), port, '127.0.0.1');
      }),
    close: () => sock.close(),
    received: () => received,
  };
}

/** Wait until the upstream has received `n` queries in all (bounded, as a failure timeout only). */
async function upstreamReceived(n: number, ms = 30_000): Promise<void> {
  const t0 = performance.now();
  while (up.udpQueries < n && performance.now() - t0 < ms) await sleep(10);
  assert.ok(up.udpQueries >= n, `the upstream received ${up.udpQueries} of ${n} queries`);
}

describe('upstream queries', () => {
  it(`${IN_FLIGHT} at once: from ≥ 990 distinct source ports, all from querySource; one more is over the total cap`, async (t) => {
    // Held (not delayed): however slow this machine, the 1000 stay in flight until released.
    up.hold();
    const c = await client();
    try {
      const from = up.udpQueries;
      // Distinct names in distinct zones: only the total cap applies.
      // Sent 100 at a time, each hundred once the previous one reached the upstream: 1000
      // datagrams at once can overflow the node's socket buffer on a busy machine. The upstream
      // holds every reply, so all are still in flight together.
      const replies: Promise<Reply>[] = [];
      for (let i = 0; i < IN_FLIGHT; i++) {
        replies.push(c.ask(`q${i}.z${i}.example`));
        if (i % 100 === 99) await upstreamReceived(from + i + 1);
      }
      await upstreamReceived(from + IN_FLIGHT);
      const inFlight = await metric(srv.adminPort as number, 'edgedns_upstream_queries_in_flight');
      const over = await c.ask('one-more.z-extra.example');
      // Answered at once: before the upstream let any of the others go.
      assert.equal(over.after, 0, 'answered before any query in flight was');
      assert.equal(over.rcode, 'SERVFAIL');
      assert.equal(over.ede, `0 fetch limit: ${IN_FLIGHT} upstream resolutions in flight`);
      up.release();
      const all = await Promise.all(replies);
      assert.equal(all.filter((r) => r.rcode === 'NXDOMAIN').length, IN_FLIGHT);
      const ports = new Set(up.sourcePorts.slice(from, from + IN_FLIGHT));
      const addresses = new Set(up.sourceAddresses.slice(from, from + IN_FLIGHT));
      t.diagnostic(
        `${ports.size} distinct source ports for ${IN_FLIGHT} upstream queries, from ${[...addresses].join(', ')}`,
      );
      assert.ok(ports.size >= 990, `${ports.size} distinct source ports for ${IN_FLIGHT} queries`);
      assert.deepEqual([...addresses], ['127.0.0.2'], 'resolver.querySource');
      assert.equal(inFlight, IN_FLIGHT, 'edgedns_upstream_queries_in_flight');
      assert.equal(await metric(srv.adminPort as number, 'edgedns_fetch_limited_total', { limit: 'in_flight' }), 1);
      assert.equal(await metric(srv.adminPort as number, 'edgedns_upstream_queries_in_flight'), 0);
    } finally {
      up.release();
      c.close();
    }
  });
});

describe('fetch limits', () => {
  it(`over ${PER_ZONE} in flight for one zone: SERVFAIL with EDE 0 at once, or the stale answer; other zones still asked`, async () => {
    const c = await client();
    try {
      up.set('stale.limit.example', 'A', 1, '192.0.2.44');
      assert.equal((await c.ask('stale.limit.example')).answers[0]?.data, '192.0.2.44');
      await sleep(1100); // expired: stale from now on
      up.hold();
      const from = up.udpQueries;
      const held = Array.from({ length: PER_ZONE }, (_, i) => c.ask(`r${i}.limit.example`));
      await upstreamReceived(from + PER_ZONE);
      const before = c.received();
      const over = await c.ask('r-over.limit.example');
      const stale = await c.ask('stale.limit.example');
      const other = c.ask('www.other-zone.example');
      assert.equal(over.after - before, 0, 'answered before any query in flight was');
      assert.equal(over.rcode, 'SERVFAIL');
      assert.equal(over.ede, `0 fetch limit: ${PER_ZONE} upstream resolutions in flight for this zone`);
      assert.equal(stale.after - before, 1, 'answered before any query in flight was');
      assert.equal(stale.rcode, 'NOERROR');
      assert.equal(stale.answers[0]?.data, '192.0.2.44');
      assert.equal(stale.answers[0]?.ttl, 30);
      assert.equal(stale.ede, '3 ');
      await upstreamReceived(from + PER_ZONE + 1); // the other zone was asked
      up.release();
      for (const r of await Promise.all(held)) assert.equal(r.rcode, 'NXDOMAIN');
      assert.equal((await other).rcode, 'NXDOMAIN');
      assert.equal(await metric(srv.adminPort as number, 'edgedns_fetch_limited_total', { limit: 'per_zone' }), 2);
    } finally {
      up.release();
      c.close();
    }
  });
});

describe('remembered failures', () => {
  // A node of its own that gives up on a silent upstream soon.
  let quick: RunningServer;
  before(async () => {
    quick = await node('resolver: { timeout: 300ms, deadline: 800ms, querySource: 127.0.0.2 }');
  });
  after(async () => {
    assert.equal(await quick.stop(), 0);
  });

  it('a question that failed is answered SERVFAIL with EDE 13 at once, without asking the upstream again', async () => {
    const c = await client(quick.port);
    try {
      up.mode = 'drop';
      const first = await c.ask('lost.failing.example');
      assert.equal(first.rcode, 'SERVFAIL');
      assert.match(first.ede ?? '', /^22 no reply from 127\.0\.0\.1:\d+ within/);
      const asked = up.udpQueries;
      const again = await c.ask('lost.failing.example');
      assert.equal(again.rcode, 'SERVFAIL');
      assert.match(again.ede ?? '', /^13 no reply from 127\.0\.0\.1:\d+ within \d+ ms \(remembered 1 s more\)$/);
      assert.equal(up.udpQueries, asked, 'not asked again');
      assert.equal(await metric(quick.adminPort as number, 'edgedns_resolution_failures_cached_total'), 1);
    } finally {
      up.mode = 'answer';
      c.close();
    }
  });
});
