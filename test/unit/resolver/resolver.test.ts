// The resolver against fake upstreams on loopback: acceptance rules (RFC 5452), TC → TCP,
// failover, the overall deadline, and what it passes on.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../../src/core/index.ts';
import { ResolveError, Resolver } from '../../../src/resolver/index.ts';
import type { MismatchReason, ResolverObserver } from '../../../src/resolver/index.ts';
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

function resolver(ports: number[], observer?: Partial<ResolverObserver>, timeoutMs = 300, deadlineMs = 1000): Resolver {
  const noop: ResolverObserver = { sent: () => {}, timeout: () => {}, error: () => {}, mismatched: () => {}, rtt: () => {}, health: () => {} };
  return new Resolver({ upstreams: ports.map((port) => ({ host: '127.0.0.1', port })), timeoutMs, deadlineMs, udpPayload: 1232, socketReuse: 4, clock: systemClock, observer: { ...noop, ...observer } });
}
const question = (name = 'www.example.org.', dnssecOk = false, checkingDisabled = false) => ({ qname: nameFromText(name, null), qtype: 1, qclass: 1, dnssecOk, checkingDisabled });
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

  for (const mode of ['wrong-id', 'wrong-question', 'wrong-port'] as const) {
    it(`never accepts a spoofed reply (${mode}), and counts it`, async () => {
      reset();
      a.mode = mode;
      const seen: MismatchReason[] = [];
      const r = resolver([a.port], { mismatched: (x) => seen.push(x) }, 200, 450);
      await assert.rejects(r.resolve(question()), (e: unknown) => e instanceof ResolveError && e.reason === 'timeout');
      assert.ok(seen.length >= 1, 'mismatch counted');
      assert.equal(seen[0], mode === 'wrong-id' ? 'id' : mode === 'wrong-question' ? 'question' : 'source');
      r.close();
    });
  }

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
    const r = resolver([a.port, b.port], {}, 500, 2000);
    for (let i = 0; i < 4; i++) await r.resolve(question());
    const bBefore = b.queries;
    const aBefore = a.queries;
    for (let i = 0; i < 5; i++) await r.resolve(question());
    assert.ok(b.queries - bBefore >= 4, `fast upstream chosen (a +${a.queries - aBefore}, b +${b.queries - bBefore})`);
    r.close();
  });

  it('gives up within the overall deadline when every upstream is silent', async () => {
    reset();
    a.mode = 'drop';
    b.mode = 'drop';
    const r = resolver([a.port, b.port], {}, 300, 700);
    const t0 = Date.now();
    await assert.rejects(r.resolve(question()), (e: unknown) => e instanceof ResolveError && e.reason === 'timeout');
    const took = Date.now() - t0;
    assert.ok(took < 1200, `took ${took} ms`);
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

  it('uses random IDs and changes source ports as sockets are replaced', async () => {
    reset();
    const r = resolver([a.port]);
    const from = a.sourcePorts.length;
    for (let i = 0; i < 40; i++) await r.resolve(question());
    const ports = new Set(a.sourcePorts.slice(from));
    const ids = new Set(a.ids.slice(from));
    assert.ok(ports.size >= 8, `${ports.size} source ports for 40 queries with reuse 4`);
    assert.ok(ids.size >= 38, `${ids.size} distinct IDs`);
    r.close();
  });
});
