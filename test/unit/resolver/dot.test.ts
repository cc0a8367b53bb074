// The resolver with DNS-over-TLS upstreams (fake ones on loopback): answers over one pipelined
// connection counted as `dot`; a certificate that does not authenticate the upstream marks it down
// at once with the reason in its status, and it is probed with the back-off like any down upstream;
// a plain upstream beside it keeps answering.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ManualClock, systemClock } from '../../../src/core/index.ts';
import type { UpstreamAuth } from '../../../src/client/index.ts';
import { ResolveError, Resolver } from '../../../src/resolver/index.ts';
import type { ResolverObserver, SentOver, UpstreamSpec } from '../../../src/resolver/index.ts';
import { nameFromText } from '../../../src/wire/index.ts';
import { FakeDotUpstream } from '../../helpers/dot-upstream.ts';
import type { TestCertificate } from '../../helpers/tls.ts';
import { makeCertificate } from '../../helpers/tls.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { FakeUpstream } from '../../helpers/upstream.ts';

let cert: TestCertificate;
let dot: FakeDotUpstream;
let plain: FakeUpstream;
before(async () => {
  cert = makeCertificate(tempDir('edgedns-resolver-dot-'), 'dns.example.test');
  dot = await FakeDotUpstream.start(cert);
  dot.a.set('www.example.org', '192.0.2.1');
  plain = await FakeUpstream.start();
  plain.set('www.example.org', 'A', 300, '192.0.2.2');
});
after(async () => {
  await dot.close();
  await plain.close();
});

const question = () => ({
  qname: nameFromText('www.example.org.', null),
  qtype: 1,
  qclass: 1,
  dnssecOk: false,
  checkingDisabled: false,
});

const tlsUp = (auth: Partial<UpstreamAuth> = {}): UpstreamSpec => ({
  host: '127.0.0.1',
  port: dot.port,
  tls: { name: 'dns.example.test', spki: null, ca: readFileSync(cert.ca), ...auth },
});

function resolver(
  upstreams: UpstreamSpec[],
  o: { clock?: ManualClock; sent?: [string, SentOver][]; health?: boolean[]; errors?: string[] } = {},
): Resolver {
  const observer: ResolverObserver = {
    sent: (u, t) => o.sent?.push([u, t]),
    timeout: () => {},
    error: (_u, kind) => o.errors?.push(kind),
    mismatched: () => {},
    rtt: () => {},
    health: (_u, h) => o.health?.push(h),
  };
  return new Resolver({
    upstreams,
    timeoutMs: 2000,
    deadlineMs: 5000,
    udpPayload: 1232,
    probeBackoff: { initialMs: 1000, maxMs: 4000 },
    clock: o.clock ?? systemClock,
    observer,
  });
}

describe('Resolver: DNS over TLS upstreams', () => {
  it('answers over one connection, counted as dot; the status says tls and the name', async () => {
    dot.mode = 'answer';
    const sent: [string, SentOver][] = [];
    const r = resolver([tlsUp()], { sent });
    const accepted = dot.accepted;
    const answers = await Promise.all([1, 2, 3].map(() => r.resolve(question())));
    for (const a of answers) assert.equal(a.message.answer.length, 1);
    assert.equal(dot.accepted - accepted, 1, 'one connection, pipelined');
    assert.deepEqual(
      sent,
      [1, 2, 3].map(() => [`127.0.0.1:${dot.port}`, 'dot']),
    );
    const [s] = r.status();
    assert.deepEqual(
      { ...s, srttMs: 0 },
      {
        address: `127.0.0.1:${dot.port}`,
        transport: 'tls',
        name: 'dns.example.test',
        healthy: true,
        reason: null,
        srttMs: 0,
        queries: 3,
        failures: 0,
      },
    );
    r.close();
  });

  for (const [what, auth, reason] of [
    [
      'a wrong name',
      { name: 'resolver.example' },
      /^DoT 127\.0\.0\.1:\d+: the certificate does not name resolver\.example/,
    ],
    [
      'an untrusted CA',
      { ca: null },
      /^DoT 127\.0\.0\.1:\d+: untrusted certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/,
    ],
    [
      'a wrong pin',
      { spki: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=' },
      /^DoT 127\.0\.0\.1:\d+: SPKI pin mismatch: /,
    ],
  ] as const)
    it(`${what}: down at the first failure, the reason in the status; probed with back-off; a plain upstream answers`, async () => {
      dot.mode = 'answer';
      const clock = new ManualClock();
      const health: boolean[] = [];
      const errors: string[] = [];
      const bad = resolver([tlsUp(auth)], { clock, health, errors });
      const queries = dot.queries;
      await assert.rejects(
        bad.resolve(question()),
        (e: unknown) => e instanceof ResolveError && e.reason === 'unreachable' && reason.test(e.message),
      );
      assert.equal(dot.queries, queries, 'no query went to it');
      assert.deepEqual(health, [false], 'down at once');
      assert.deepEqual(errors, ['certificate'], 'one try: no second try once down');
      const [s] = bad.status();
      assert.equal(s?.healthy, false);
      assert.equal(s?.transport, 'tls');
      assert.match(s?.reason ?? '', reason);
      // Not asked again until the back-off has passed; then one probe, which fails the same way.
      assert.match(bad.unavailable()?.message ?? '', /every upstream is down/);
      clock.advance(1000);
      assert.equal(bad.unavailable(), null);
      await assert.rejects(bad.resolve(question()), (e: unknown) => reason.test((e as Error).message));
      assert.deepEqual(errors, ['certificate', 'certificate']);
      assert.ok(bad.unavailable(), 'back-off doubled');
      bad.close();

      // Beside a plain upstream: the names are answered by it.
      const mixed = resolver([tlsUp(auth), { host: '127.0.0.1', port: plain.port }], { clock });
      const a = await mixed.resolve(question());
      assert.equal(a.upstream, `127.0.0.1:${plain.port}`);
      assert.deepEqual(
        mixed.status().map((u) => [u.transport, u.healthy]),
        [
          ['tls', false],
          ['udp', true],
        ],
      );
      mixed.close();
    });

  it('a connection the upstream closes: the try fails, the next one reopens it', async () => {
    dot.mode = 'close';
    const r = resolver([tlsUp()]);
    const accepted = dot.accepted;
    // Each try opens a connection the upstream closes; both tries fail.
    await assert.rejects(r.resolve(question()), /DoT 127\.0\.0\.1:\d+: the connection closed before a reply/);
    dot.mode = 'answer';
    assert.equal((await r.resolve(question())).message.answer.length, 1);
    assert.equal(dot.accepted - accepted, 3);
    r.close();
  });
});
