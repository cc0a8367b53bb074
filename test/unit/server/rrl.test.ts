import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter, RrlAction, RrlKind, parseIPv4 } from '../../../src/server/rrl.js';

/** A limiter on a clock the test moves. */
function limiter(o: Partial<ConstructorParameters<typeof RateLimiter>[0]> = {}): {
  rl: RateLimiter;
  clock: { t: number };
} {
  const clock = { t: 1_000_000 };
  const rl = new RateLimiter(
    { responsesPerSecond: 5, windowMs: 15_000, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, tableSize: 1024, ...o },
    () => clock.t,
  );
  return { rl, clock };
}

/** The actions of `n` responses of one account, `gapMs` apart. */
function run(
  rl: RateLimiter,
  clock: { t: number },
  n: number,
  gapMs: number,
  client = '192.0.2.1',
  kind: RrlKind = RrlKind.ANSWER,
  name = 'www.example.',
  qtype = 1,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(rl.decide(client, kind, name, qtype).action);
    clock.t += gapMs;
  }
  return out;
}

const count = (xs: number[], v: number): number => xs.filter((x) => x === v).length;

describe('RateLimiter', () => {
  it('sends a burst of one second’s worth, then limits what goes over the rate', () => {
    const { rl, clock } = limiter();
    const acts = run(rl, clock, 10, 0);
    assert.deepEqual(acts.slice(0, 5), [0, 0, 0, 0, 0]);
    assert.ok(acts.slice(5).every((a) => a !== RrlAction.SEND));
  });

  it('sends a steady stream at the rate for ever', () => {
    const { rl, clock } = limiter();
    // 5 a second for 60 s: exactly the rate.
    assert.equal(count(run(rl, clock, 300, 200), RrlAction.SEND), 300);
  });

  it('slips every Nth limited response (TC=1) and drops the rest', () => {
    const { rl, clock } = limiter({ slip: 3 });
    const limited = run(rl, clock, 65, 0).slice(5);
    assert.equal(limited.length, 60);
    assert.equal(count(limited, RrlAction.SLIP), 20);
    assert.equal(count(limited, RrlAction.DROP), 40);
    assert.equal(limited[2], RrlAction.SLIP);
  });

  it('slip 0 drops every limited response, slip 1 truncates every one', () => {
    const a = limiter({ slip: 0 });
    assert.equal(count(run(a.rl, a.clock, 20, 0).slice(5), RrlAction.DROP), 15);
    const b = limiter({ slip: 1 });
    assert.equal(count(run(b.rl, b.clock, 20, 0).slice(5), RrlAction.SLIP), 15);
  });

  it('keeps a flooding account limited and lets it back only after the window without responses', () => {
    const { rl, clock } = limiter({ windowMs: 10_000 });
    // 100 a second for 20 s: about the rate gets through, the rest is limited.
    const acts = run(rl, clock, 2000, 10);
    const sent = count(acts, RrlAction.SEND);
    assert.ok(sent <= 5 + 20 * 5 + 1, `sent ${sent}`);
    // The balance sits at −window × rate: 9 s of silence is not enough …
    clock.t += 9_000;
    assert.notEqual(rl.decide('192.0.2.1', RrlKind.ANSWER, 'www.example.', 1).action, RrlAction.SEND);
    // … after a full window more, it is sending again.
    clock.t += 11_000;
    assert.equal(rl.decide('192.0.2.1', RrlKind.ANSWER, 'www.example.', 1).action, RrlAction.SEND);
  });

  it('reports the first limited response of an episode, once', () => {
    const { rl, clock } = limiter();
    const started: boolean[] = [];
    for (let i = 0; i < 8; i++) started.push(rl.decide('192.0.2.1', RrlKind.ANSWER, 'a.', 1).started);
    assert.deepEqual(started, [false, false, false, false, false, true, false, false]);
    clock.t += 60_000;
    for (let i = 0; i < 5; i++) assert.equal(rl.decide('192.0.2.1', RrlKind.ANSWER, 'a.', 1).started, false);
    assert.equal(rl.decide('192.0.2.1', RrlKind.ANSWER, 'a.', 1).started, true);
  });

  it('counts one account per /24 (IPv4) and /56 (IPv6)', () => {
    const { rl, clock } = limiter();
    // Five from .1 and five more from .200 of the same /24: the tenth is over.
    run(rl, clock, 5, 0, '192.0.2.1');
    assert.notEqual(rl.decide('192.0.2.200', RrlKind.ANSWER, 'www.example.', 1).action, RrlAction.SEND);
    // Another /24 has its own account.
    assert.equal(rl.decide('192.0.3.1', RrlKind.ANSWER, 'www.example.', 1).action, RrlAction.SEND);
    run(rl, clock, 5, 0, '2001:db8:0:1::1');
    assert.notEqual(rl.decide('2001:db8:0:ff::99', RrlKind.ANSWER, 'www.example.', 1).action, RrlAction.SEND);
    assert.equal(rl.decide('2001:db8:0:100::1', RrlKind.ANSWER, 'www.example.', 1).action, RrlAction.SEND);
    // An IPv4-mapped address is its IPv4 address.
    run(rl, clock, 5, 0, '198.51.100.7');
    assert.notEqual(rl.decide('::ffff:198.51.100.9', RrlKind.ANSWER, 'www.example.', 1).action, RrlAction.SEND);
  });

  it('honours other prefix lengths', () => {
    const { rl, clock } = limiter({ ipv4Prefix: 32 });
    run(rl, clock, 5, 0, '192.0.2.1');
    assert.equal(rl.decide('192.0.2.2', RrlKind.ANSWER, 'www.example.', 1).action, RrlAction.SEND);
  });

  it('keeps kinds, names and types apart', () => {
    const { rl, clock } = limiter();
    run(rl, clock, 5, 0);
    assert.notEqual(rl.decide('192.0.2.1', RrlKind.ANSWER, 'www.example.', 1).action, RrlAction.SEND);
    assert.equal(rl.decide('192.0.2.1', RrlKind.ANSWER, 'www.example.', 28).action, RrlAction.SEND);
    assert.equal(rl.decide('192.0.2.1', RrlKind.ANSWER, 'mail.example.', 1).action, RrlAction.SEND);
    assert.equal(rl.decide('192.0.2.1', RrlKind.NODATA, 'www.example.', 1).action, RrlAction.SEND);
    assert.equal(rl.decide('192.0.2.1', RrlKind.ERROR, '', 0).action, RrlAction.SEND);
  });

  it('cannot be grown by spoofed prefixes: a full table recycles its least recently used accounts', () => {
    const { rl, clock } = limiter({ tableSize: 64 });
    // An attacker's account, limited.
    run(rl, clock, 20, 0, '203.0.113.1');
    // Thousands of other prefixes pass through a table of 64; each is sent its first answer.
    for (let i = 0; i < 5000; i++) {
      const client = `10.${(i >> 8) & 255}.${i & 255}.1`;
      assert.equal(rl.decide(client, RrlKind.ANSWER, 'www.example.', 1).action, RrlAction.SEND);
      clock.t += 1;
    }
  });

  it('reads dotted quads', () => {
    assert.equal(parseIPv4('192.0.2.1', 0), 0xc0000201);
    assert.equal(parseIPv4('::ffff:10.1.2.3', 7), 0x0a010203);
    for (const bad of ['192.0.2', '192.0.2.256', '1.2.3.4.5', '::1', '', '1..2.3', '1.2.3.'])
      assert.equal(parseIPv4(bad, 0), -1, bad);
  });
});
