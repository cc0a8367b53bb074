// The resolver against fake upstreams on loopback: acceptance rules (RFC 5452), a socket and port
// per query, TC → TCP, failover, the overall deadline, what it passes on, and the probing of a
// down upstream with back-off (on an injected clock).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock, systemClock } from '../../../src/core/index.ts';
import { NOOP_RESOLVER_OBSERVER, ResolveError, Resolver } from '../../../src/resolver/index.ts';
import type { MismatchReason } from '../../../src/client/index.ts';
import type { ResolverObserver, ResolverOptions } from '../../../src/resolver/index.ts';
import { nameFromText, nameToText } from '../../../src/wire/index.ts';
import { FakeUpstream } from '../../helpers/upstream.ts';

let a: FakeUpstream;
let b: FakeUpstream;
before(async () => {
  a = await FakeUpstream.start();
  b = await FakeUpstream.start();
  for (const f of [a, b]) f.set('www.example.org', 'A', 300, '192.0.2.1');
});
after(async () => {
  await a.close();
  await b.close();
});

const NOOP = NOOP_RESOLVER_OBSERVER;

type Options = Partial<Omit<ResolverOptions, 'upstreams' | 'observer'>> & { observer?: Partial<ResolverObserver> };

/**
 * A resolver of the fake upstreams on loopback `ports`: 300 ms a try, 1 s a resolution, the
 * system clock and observers that do nothing, unless `o` says otherwise.
 */
function resolver(ports: number[], o: Options = {}): Resolver {
  const { observer, ...rest } = o;
  return new Resolver({
    upstreams: ports.map((port) => ({ host: '127.0.0.1', port })),
    timeoutMs: 300,
    deadlineMs: 1000,
    udpPayload: 1232,
    clock: systemClock,
    ...rest,
    observer: { ...NOOP, ...observer },
  });
}
const question = (name = 'www.example.org.', dnssecOk = false, checkingDisabled = false) => ({
  qname: nameFromText(name, null),
  qtype: 1,
  qclass: 1,
  dnssecOk,
  checkingDisabled,
});
const reset = (): void => {
  for (const f of [a, b]) {
    f.mode = 'answer';
    f.delayMs = 0;
  }
};

describe('Resolver', () => {
  it('gets an answer and parses it', async () => {
    reset();
    const r = resolver([a.port]);
    const ans = await r.resolve(question());
    assert.equal(ans.message.answer.length, 1);
    assert.equal(nameToText(ans.message.answer[0]!.owner), 'www.example.org.');
    r.close();
  });

  for (const mode of ['wrong-id', 'wrong-question'] as const) {
    it(`never accepts a spoofed reply (${mode}), and counts it`, async () => {
      reset();
      a.mode = mode;
      const seen: MismatchReason[] = [];
      const r = resolver([a.port], { observer: { mismatched: (x) => seen.push(x) }, timeoutMs: 200, deadlineMs: 450 });
      await assert.rejects(r.resolve(question()), (e: unknown) => e instanceof ResolveError && e.reason === 'timeout');
      assert.ok(seen.length >= 1, 'mismatch counted');
      assert.equal(seen[0], mode === 'wrong-id' ? 'id' : 'question');
      r.close();
    });
  }

  it('never accepts a reply from another port: the connected socket never even sees it', async () => {
    reset();
    a.mode = 'wrong-port';
    const seen: MismatchReason[] = [];
    const r = resolver([a.port], { observer: { mismatched: (x) => seen.push(x) }, timeoutMs: 200, deadlineMs: 450 });
    const replied = a.udpReplied;
    // The message names the upstream: it reaches the logs and the EDE text.
    const timedOut = new RegExp(`^no reply from 127\\.0\\.0\\.1:${a.port} within \\d+ ms$`);
    await assert.rejects(
      r.resolve(question()),
      (e: unknown) => e instanceof ResolveError && e.reason === 'timeout' && timedOut.test(e.message),
    );
    assert.ok(a.udpReplied > replied, 'the fake did reply, from its other port');
    assert.deepEqual(seen, [], 'dropped by the kernel (connect), not by us');
    r.close();
  });

  it('retries over TCP after TC', async () => {
    reset();
    a.mode = 'truncate';
    const tcpBefore = a.tcpQueries;
    const r = resolver([a.port]);
    const ans = await r.resolve(question());
    assert.equal(ans.message.answer.length, 1);
    assert.equal(a.tcpQueries, tcpBefore + 1);
    r.close();
  });

  it('moves to the next upstream on timeout and on SERVFAIL', async () => {
    reset();
    a.mode = 'drop';
    const r = resolver([a.port, b.port]);
    const before = b.queries;
    assert.equal((await r.resolve(question())).message.answer.length, 1);
    assert.ok(b.queries > before);
    a.mode = 'servfail';
    const r2 = resolver([a.port, b.port]);
    assert.equal((await r2.resolve(question())).upstream, `127.0.0.1:${b.port}`);
    r.close();
    r2.close();
  });

  it('prefers the upstream with the lower smoothed RTT', async () => {
    reset();
    a.delayMs = 80;
    const r = resolver([a.port, b.port], { timeoutMs: 500, deadlineMs: 2000 });
    for (let i = 0; i < 4; i++) await r.resolve(question());
    const bBefore = b.queries;
    const aBefore = a.queries;
    for (let i = 0; i < 5; i++) await r.resolve(question());
    assert.ok(b.queries - bBefore >= 4, `fast upstream chosen (a +${a.queries - aBefore}, b +${b.queries - bBefore})`);
    r.close();
  });

  it('gives up at the overall deadline when every upstream is silent: no try starts after it', async () => {
    reset();
    a.mode = 'drop';
    b.mode = 'drop';
    // Each try costs its whole timeout (300 ms) on the resolver's clock, moved as each is sent:
    // a at 0, b at 300, a again at 600 (for the 100 ms left of 700), and nothing at 900.
    const clock = new ManualClock();
    const sent: string[] = [];
    const r = resolver([a.port, b.port], {
      deadlineMs: 700,
      clock,
      observer: { sent: (up) => void (sent.push(up), clock.advance(300)) },
    });
    await assert.rejects(r.resolve(question()), (e: unknown) => e instanceof ResolveError && e.reason === 'timeout');
    assert.deepEqual(sent, [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`, `127.0.0.1:${a.port}`]);
    r.close();
  });

  it('passes the DO and CD bits on, with EDNS payload 1232', async () => {
    reset();
    const r = resolver([a.port]);
    await r.resolve(question('www.example.org.', true, true));
    assert.deepEqual(a.last, { dnssecOk: true, cd: true, payload: 1232 });
    await r.resolve(question('www.example.org.', false, false));
    assert.deepEqual(a.last, { dnssecOk: false, cd: false, payload: 1232 });
    r.close();
  });

  it('uses random IDs and a source port of its own for every query, and closes its sockets', async () => {
    reset();
    const r = resolver([a.port]);
    const from = a.sourcePorts.length;
    for (let i = 0; i < 40; i++) await r.resolve(question());
    const ports = new Set(a.sourcePorts.slice(from));
    const ids = new Set(a.ids.slice(from));
    // Kernel-chosen ports can repeat by chance after a socket closed (≈ 40² / 2 / 28000).
    assert.ok(ports.size >= 38, `${ports.size} source ports for 40 queries`);
    assert.ok(ids.size >= 38, `${ids.size} distinct IDs`);
    assert.equal(r.outstanding, 0, 'every socket closed');
    r.close();
  });

  it('sends from querySource when set', async () => {
    reset();
    const r = resolver([a.port], { querySource: '127.0.0.2' });
    await r.checkSources();
    const from = a.sourceAddresses.length;
    await r.resolve(question());
    assert.deepEqual(a.sourceAddresses.slice(from), ['127.0.0.2']);
    r.close();
  });

  it('a querySource this host does not have is a config error at startup', async () => {
    const r = resolver([a.port], { querySource: '192.0.2.1' });
    await assert.rejects(
      r.checkSources(),
      (e: unknown) =>
        e instanceof Error &&
        'code' in e &&
        e.code === 'ERR_CONFIG_INVALID' &&
        /resolver\.querySource: cannot send from 192\.0\.2\.1/.test(e.message),
    );
    r.close();
  });

  it('nothing listening on the upstream port: fails at the ICMP error, not at the timeout', async () => {
    const closed = await FakeUpstream.start();
    const port = closed.port;
    await closed.close();
    // A timeout would say 'timeout' (after 50 s: the test would time out first).
    const r = resolver([port], { timeoutMs: 50_000, deadlineMs: 50_000 });
    await assert.rejects(
      r.resolve(question()),
      (e: unknown) =>
        e instanceof ResolveError &&
        e.reason === 'unreachable' &&
        e.message.startsWith(`UDP 127.0.0.1:${port}: `) &&
        /ECONNREFUSED/.test(e.message),
    );
    r.close();
  });

  describe('an upstream marked down', () => {
    /** A resolver on a clock that moves only when told; tries time out after 50 ms (real timers). */
    function downResolver(health: boolean[]): { r: Resolver; clock: ManualClock } {
      const clock = new ManualClock();
      const r = resolver([a.port], {
        timeoutMs: 50,
        probeBackoff: { initialMs: 1000, maxMs: 4000 },
        clock,
        observer: { health: (_u, h) => health.push(h) },
      });
      return { r, clock };
    }
    const notAsked = (e: unknown): boolean =>
      e instanceof ResolveError && e.reason === 'unreachable' && !e.asked && /every upstream is down/.test(e.message);

    /** Resolve `n` at once; how many were sent and how many failed without asking. */
    async function burst(r: Resolver, n: number): Promise<{ sent: number; notAsked: number; answered: number }> {
      const before = a.udpQueries;
      const out = await Promise.allSettled(Array.from({ length: n }, () => r.resolve(question())));
      return {
        sent: a.udpQueries - before,
        notAsked: out.filter((o) => o.status === 'rejected' && notAsked(o.reason)).length,
        answered: out.filter((o) => o.status === 'fulfilled').length,
      };
    }

    it('is not sent anything but one probe at a time, after a back-off that doubles; an answer brings it back', async () => {
      reset();
      a.mode = 'drop';
      const health: boolean[] = [];
      const { r, clock } = downResolver(health);
      const before = a.udpQueries;
      await assert.rejects(r.resolve(question())); // two tries
      await assert.rejects(r.resolve(question())); // the third failure in a row: down; no second try
      assert.equal(a.udpQueries - before, 3);
      assert.deepEqual(health, [false]);
      assert.deepEqual(await burst(r, 20), { sent: 0, notAsked: 20, answered: 0 });
      assert.ok(notAsked(r.unavailable()), 'unavailable(): the same error, without a promise');
      clock.advance(999);
      assert.deepEqual(await burst(r, 5), { sent: 0, notAsked: 5, answered: 0 });
      // Back-off over: one probe goes (and times out); the others fail at once.
      clock.advance(1);
      assert.equal(r.unavailable(), null, 'a probe is due');
      assert.deepEqual(await burst(r, 5), { sent: 1, notAsked: 4, answered: 0 });
      // The probe failed: twice the back-off.
      clock.advance(1999);
      assert.deepEqual(await burst(r, 5), { sent: 0, notAsked: 5, answered: 0 });
      clock.advance(1);
      assert.deepEqual(await burst(r, 5), { sent: 1, notAsked: 4, answered: 0 });
      // 4 s, then at most 4 s (maxMs) from then on.
      clock.advance(4000);
      assert.deepEqual(await burst(r, 3), { sent: 1, notAsked: 2, answered: 0 });
      clock.advance(4000);
      a.mode = 'answer';
      assert.deepEqual(await burst(r, 3), { sent: 1, notAsked: 2, answered: 1 });
      assert.deepEqual(health, [false, true]);
      assert.deepEqual(await burst(r, 3), { sent: 3, notAsked: 0, answered: 3 });
      // Down again later: the back-off starts from 1 s again.
      a.mode = 'drop';
      clock.advance(60_000);
      for (let i = 0; i < 2; i++) await assert.rejects(r.resolve(question()));
      assert.deepEqual(health, [false, true, false]);
      clock.advance(1000);
      assert.equal((await burst(r, 2)).sent, 1);
      r.close();
    });

    it('is not marked down for failures while it still answers (a slow zone, not a dead upstream)', async () => {
      reset();
      const health: boolean[] = [];
      const { r, clock } = downResolver(health);
      await r.resolve(question()); // answered now
      a.mode = 'drop';
      for (let i = 0; i < 3; i++) await assert.rejects(r.resolve(question())); // six failures in a row
      assert.deepEqual(health, [], 'answered less than a timeout ago: still up');
      clock.advance(50);
      await assert.rejects(r.resolve(question()));
      assert.deepEqual(health, [false], 'no answer for a timeout, failing: down');
      r.close();
    });
  });
});
