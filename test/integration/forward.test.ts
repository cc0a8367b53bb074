// The caching forwarder as users see it: the real server with a fake upstream, queried with dig.
// Its timing on a manual clock (TTL aging, stale recheck, prefetch, coalescing): unit/server/forward.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dig } from '../helpers/dig.ts';
import { PATIENCE_MS, until } from '../helpers/node.ts';
import { parseProm, value } from '../helpers/prom.ts';
import type { Forwarder } from '../helpers/forwarder.ts';
import { startForwarder } from '../helpers/forwarder.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, startServer } from '../helpers/server.ts';
import { FakeUpstream } from '../helpers/upstream.ts';
import { decode, query, udpExchange } from '../helpers/wire.ts';

let up: FakeUpstream;
let srv: RunningServer;
let fwd: Forwarder;
before(async () => {
  fwd = await startForwarder(['cache: { staleRecheck: 2s }']);
  ({ up, srv } = fwd);
});
after(async () => {
  assert.equal(await fwd.close(), 0);
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const upstreamTimeouts = async (): Promise<number> =>
  value(
    parseProm(await (await fetch(`http://127.0.0.1:${srv.adminPort}/metrics`)).text()),
    'edgedns_upstream_timeouts_total',
  );

describe('caching forwarder', () => {
  it('answers through the upstream, then from the cache with a lower TTL', async () => {
    up.set('www.example.org', 'A', 300, '192.0.2.1');
    const first = await dig(srv, ['www.example.org']);
    assert.equal(first.status, 'NOERROR');
    assert.ok(first.flags.includes('ra') && !first.flags.includes('aa'));
    assert.equal(first.answer[0]?.data, '192.0.2.1');
    assert.equal(first.answer[0]?.ttl, 300);
    const asked = up.queries;
    // At least a second later (however much more a busy machine takes): the TTL is a second less.
    await sleep(1100);
    const second = await dig(srv, ['www.example.org']);
    assert.equal(up.queries, asked, 'the second answer never reached the upstream');
    assert.ok((second.answer[0]?.ttl ?? 999) <= 299, `TTL counted down: ${second.answer[0]?.ttl}`);
  });

  it('caches a negative answer for the SOA minimum', async () => {
    up.negativeTtl = 40;
    const r = await dig(srv, ['nothing.example.org']);
    assert.equal(r.status, 'NXDOMAIN');
    assert.equal(r.authority[0]?.type, 'SOA');
    assert.equal(r.authority[0]?.ttl, 40);
    const asked = up.queries;
    const again = await dig(srv, ['nothing.example.org']);
    assert.equal(again.status, 'NXDOMAIN');
    assert.equal(up.queries, asked);
  });

  it('100 concurrent identical queries cause one upstream query', async () => {
    up.set('burst.example.org', 'A', 60, '192.0.2.7');
    up.delayMs = 150;
    const asked = up.queries;
    const timeouts = await upstreamTimeouts();
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => udpExchange(srv.port, query('burst.example.org', 'A', { id: i }), 3000)),
    );
    up.delayMs = 0;
    assert.equal(replies.filter((r) => r && decode(r).answers[0]?.data === '192.0.2.7').length, 100);
    // One resolution: one query, and one more per try that timed out (a busy machine can make the
    // 150 ms answer miss the 700 ms try) — never one per client.
    assert.equal(up.queries - asked, 1 + ((await upstreamTimeouts()) - timeouts));
  });

  it('upstream down: the stale answer with EDE 3 once the resolver gives up; back up: fresh', async () => {
    up.set('stale.example.org', 'A', 1, '192.0.2.8');
    assert.equal((await dig(srv, ['stale.example.org'])).answer[0]?.data, '192.0.2.8');
    await sleep(1300); // expired: stale from now on
    up.mode = 'drop';
    const timeouts = await upstreamTimeouts();
    const r = await dig(srv, ['stale.example.org']);
    // Served stale because the upstream did not answer (not, say, before asking it).
    assert.ok((await upstreamTimeouts()) > timeouts, 'the upstream query timed out');
    assert.equal(r.status, 'NOERROR');
    assert.equal(r.answer[0]?.data, '192.0.2.8');
    assert.equal(r.answer[0]?.ttl, 30);
    assert.match(r.ede ?? '', /^3 \(Stale Answer\)/);
    up.mode = 'answer';
    up.set('stale.example.org', 'A', 300, '192.0.2.9');
    // Stale (without asking) until the recheck interval (2 s) has passed, then fresh.
    let fresh = await dig(srv, ['stale.example.org']);
    await until(
      async () => {
        if (fresh.answer[0]?.data === '192.0.2.9') return true;
        assert.deepEqual(
          [fresh.answer[0]?.data, fresh.answer[0]?.ttl, fresh.ede?.slice(0, 1)],
          ['192.0.2.8', 30, '3'],
          'stale until then',
        );
        fresh = await dig(srv, ['stale.example.org']);
        return false;
      },
      PATIENCE_MS,
      'a fresh answer after the stale recheck interval',
    );
    assert.equal(fresh.ede, undefined);
  });

  it('nothing to answer: SERVFAIL with EDE 22 once the resolver gives up', async () => {
    up.mode = 'drop';
    const r = await dig(srv, ['never-seen.example.org']);
    up.mode = 'answer';
    assert.equal(r.status, 'SERVFAIL');
    // The resolver's own timeout, not a client's: dig prints the EDE text in parentheses.
    assert.match(r.ede ?? '', /^22 \(No Reachable Authority\): \(no reply from 127\.0\.0\.1:\d+ within \d+ ms\)$/);
  });

  it('TC from the upstream: retried over TCP, the client gets the full answer', async () => {
    up.set('tc.example.org', 'A', 60, '192.0.2.10', '192.0.2.11');
    up.mode = 'truncate';
    const tcp = up.tcpQueries;
    const r = await dig(srv, ['tc.example.org']);
    up.mode = 'answer';
    assert.equal(r.answer.length, 2);
    assert.equal(up.tcpQueries, tcp + 1);
  });

  it('spoofed replies are never accepted', async () => {
    for (const mode of ['wrong-id', 'wrong-question', 'wrong-port'] as const) {
      up.set(`spoof-${mode}.example.org`, 'A', 60, '192.0.2.66');
      up.mode = mode;
      const r = await dig(srv, [`spoof-${mode}.example.org`]);
      assert.equal(r.status, 'SERVFAIL', mode);
      assert.deepEqual(r.answer, []);
    }
    // Only spoofed replies came back: the upstream was marked down. Answering again, it is back
    // after one probe (1 s back-off); until then names fail at once, without being asked.
    up.mode = 'answer';
    up.set('back.example.org', 'A', 60, '192.0.2.67');
    let back = await dig(srv, ['back.example.org']);
    await until(
      async () => {
        if (back.status === 'NOERROR') return true;
        assert.match(back.ede ?? '', /^22 \(No Reachable Authority\): \(every upstream is down/);
        await sleep(250);
        back = await dig(srv, ['back.example.org']);
        return false;
      },
      PATIENCE_MS,
      'the upstream back after its probe',
    );
    assert.equal(back.answer[0]?.data, '192.0.2.67');
  });

  it('local zones are still answered authoritatively', async () => {
    const r = await dig(srv, ['www.example.test']);
    assert.ok(r.flags.includes('aa'));
    assert.equal(r.answer[0]?.data, '192.0.2.80');
  });

  it('the DO bit is passed on and answers are kept apart by it', async () => {
    up.set('do.example.org', 'A', 60, '192.0.2.12');
    await dig(srv, ['+dnssec', 'do.example.org']);
    assert.equal(up.last?.dnssecOk, true);
    await dig(srv, ['do.example.org']);
    assert.equal(up.last?.dnssecOk, false);
  });
});

describe('who may recurse', () => {
  it('a client outside recursion.allow gets REFUSED with EDE 18; zones are still answered', async () => {
    const other = await startServer({
      args: [
        '--listen',
        '127.0.0.1:0',
        '--zones',
        ZONES,
        '--upstream',
        `127.0.0.1:${up.port}`,
        '--allow-recursion',
        '192.0.2.0/24',
      ],
    });
    try {
      const r = await dig(other, ['www.example.org']);
      assert.equal(r.status, 'REFUSED');
      assert.match(r.ede ?? '', /^18 \(Prohibited\)/);
      const z = await dig(other, ['www.example.test']);
      assert.equal(z.status, 'NOERROR');
    } finally {
      await other.stop();
    }
  });
});
