// The pipelined DoT client against a fake DoT upstream on loopback: many queries on one connection
// matched by ID (replies out of order), replies with a wrong ID or question dropped and counted, a
// close failing what is in flight and the next query reopening, the idle close, a stuck connection
// closed; and the certificate checks (name, CA, SPKI pin) with the pin's computation.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { MismatchReason, Question, UpstreamAuth } from '../../../src/client/index.ts';
import { DotClient, ExchangeError, spkiPin, upstreamDot } from '../../../src/client/index.ts';
import { encodeQuery, nameFromText, nameToText, parseMessage } from '../../../src/wire/index.ts';
import { FakeDotUpstream } from '../../helpers/dot-upstream.ts';
import { PATIENCE_MS, until } from '../../helpers/node.ts';
import type { TestCertificate } from '../../helpers/tls.ts';
import { makeCertificate } from '../../helpers/tls.ts';
import { tempDir } from '../../helpers/tmp.ts';

let cert: TestCertificate;
let up: FakeDotUpstream;
before(async () => {
  cert = makeCertificate(tempDir('edgedns-dot-client-'), 'dns.example.test');
  up = await FakeDotUpstream.start(cert);
  for (let i = 0; i < 5; i++) up.a.set(`n${i}.example.org`, `192.0.2.${i + 1}`);
});
after(async () => {
  await up.close();
});

const question = (name: string): Question => ({
  qname: nameFromText(name, null),
  qtype: 1,
  qclass: 1,
  dnssecOk: false,
  checkingDisabled: false,
});
const build =
  (q: Question) =>
  (id: number): Uint8Array =>
    encodeQuery({ id, flags: 0x0100, qname: q.qname, qtype: q.qtype, qclass: q.qclass, edns: null });

const trusted: UpstreamAuth = { name: 'dns.example.test', spki: null, ca: null };

function client(auth: Partial<UpstreamAuth> = {}, o: { idleTimeoutMs?: number; seen?: MismatchReason[] } = {}) {
  return new DotClient({
    to: { host: '127.0.0.1', port: up.port },
    secure: upstreamDot({ ...trusted, ca: readFileSync(cert.ca), ...auth }),
    idleTimeoutMs: o.idleTimeoutMs ?? 60_000,
    onMismatch: (r) => o.seen?.push(r),
  });
}
/** The A record's address in a reply, and the name it answers. */
const answerOf = (reply: Buffer): [string, string] => {
  const m = parseMessage(reply);
  assert.ok(m);
  const rr = m.answer[0];
  return [rr ? nameToText(rr.owner) : '-', rr ? [...rr.rdata].join('.') : '-'];
};
const ask = (c: DotClient, name: string, timeoutMs = PATIENCE_MS) => {
  const q = question(name);
  return c.exchange(q, build(q), timeoutMs);
};

describe('DotClient: pipelining', () => {
  it('many queries on one connection; replies out of order each reach their query', async () => {
    up.mode = 'hold';
    const accepted = up.accepted;
    const c = client();
    const replies = [0, 1, 2, 3, 4].map((i) => ask(c, `n${i}.example.org.`));
    await until(async () => up.held.length === 5, PATIENCE_MS, 'five queries held');
    assert.equal(c.inFlight, 5);
    up.mode = 'answer';
    up.release([4, 2, 0, 3, 1]);
    const got = await Promise.all(replies);
    assert.deepEqual(
      got.map(answerOf),
      [0, 1, 2, 3, 4].map((i) => [`n${i}.example.org.`, `192.0.2.${i + 1}`]),
    );
    assert.equal(up.accepted - accepted, 1, 'one connection for all');
    assert.equal(c.inFlight, 0);
    // Reused for the next query.
    answerOf(await ask(c, 'n0.example.org.'));
    assert.equal(up.accepted - accepted, 1);
    c.close();
  });

  for (const [mode, reason] of [
    ['wrong-id', 'id'],
    ['wrong-question', 'question'],
  ] as const)
    it(`a reply with the ${reason === 'id' ? 'wrong ID' : 'wrong question'} is dropped and counted; the query waits for its own`, async () => {
      const seen: MismatchReason[] = [];
      const c = client({}, { seen });
      up.mode = mode;
      const reply = ask(c, 'n1.example.org.');
      await until(async () => seen.length > 0, PATIENCE_MS, 'the wrong reply seen');
      assert.deepEqual(seen, [reason]);
      assert.equal(c.inFlight, 1, 'still waiting');
      // The upstream's next answer is right: the query gets it.
      up.mode = 'hold';
      const ask2 = ask(c, 'n2.example.org.');
      await until(async () => up.held.length === 1, PATIENCE_MS, 'the second query held');
      up.mode = 'answer';
      up.release();
      assert.deepEqual(answerOf(await ask2), ['n2.example.org.', '192.0.2.3']);
      c.close();
      await assert.rejects(reply, (e: unknown) => e instanceof ExchangeError && e.kind === 'network');
    });

  it('a close fails the queries in flight; the next query opens a new connection', async () => {
    up.mode = 'hold';
    const accepted = up.accepted;
    const c = client();
    const a = ask(c, 'n1.example.org.');
    const b = ask(c, 'n2.example.org.');
    await until(async () => up.held.length === 2, PATIENCE_MS, 'two queries held');
    up.mode = 'close';
    const third = ask(c, 'n3.example.org.');
    for (const p of [a, b, third])
      await assert.rejects(
        p,
        (e: unknown) => e instanceof ExchangeError && e.kind === 'network' && e.transport === 'DoT',
      );
    up.held.splice(0);
    assert.equal(c.connected, false);
    up.mode = 'answer';
    assert.deepEqual(answerOf(await ask(c, 'n3.example.org.')), ['n3.example.org.', '192.0.2.4']);
    assert.equal(up.accepted - accepted, 2, 'reopened once');
    assert.equal(c.opened, 2);
    c.close();
  });

  it('closed after the idle timeout with nothing in flight', async () => {
    up.mode = 'answer';
    const c = client({}, { idleTimeoutMs: 200 });
    await ask(c, 'n1.example.org.');
    assert.equal(c.connected, true);
    await until(async () => !c.connected, PATIENCE_MS, 'closed when idle');
    await ask(c, 'n1.example.org.');
    assert.equal(c.opened, 2);
    c.close();
  });

  it('a query timing out on a connection that received nothing since: the connection is closed', async () => {
    up.mode = 'silent';
    const c = client();
    await assert.rejects(
      ask(c, 'n1.example.org.', 300),
      (e: unknown) => e instanceof ExchangeError && e.kind === 'timeout',
    );
    assert.equal(c.connected, false, 'closed as stuck');
    up.mode = 'answer';
    assert.deepEqual(answerOf(await ask(c, 'n1.example.org.')), ['n1.example.org.', '192.0.2.2']);
    c.close();
  });

  it('at most maxInFlight queries in flight; one more fails at once', async () => {
    up.mode = 'silent';
    const c = new DotClient({
      to: { host: '127.0.0.1', port: up.port },
      secure: upstreamDot({ ...trusted, ca: readFileSync(cert.ca) }),
      idleTimeoutMs: 60_000,
      maxInFlight: 3,
    });
    const out = [1, 2, 3].map((i) => ask(c, `n${i}.example.org.`).catch((e: unknown) => e));
    await assert.rejects(ask(c, 'n4.example.org.'), /3 queries in flight on the connection/);
    c.close();
    for (const e of await Promise.all(out)) assert.ok(e instanceof ExchangeError);
    up.mode = 'answer';
  });
});

describe('DotClient: the certificate', () => {
  const failsWith = async (auth: Partial<UpstreamAuth>, pattern: RegExp): Promise<void> => {
    up.mode = 'answer';
    const queries = up.queries;
    const c = client(auth);
    await assert.rejects(ask(c, 'n1.example.org.'), (e: unknown) => {
      assert.ok(e instanceof ExchangeError);
      assert.equal(e.kind, 'certificate');
      assert.match(e.message, pattern);
      return true;
    });
    // RFC 8310 §5: nothing is sent to a server that did not authenticate.
    assert.equal(up.queries, queries, 'the query never left');
    c.close();
  };

  it('the right name and CA: answered', async () => {
    up.mode = 'answer';
    const c = client();
    assert.deepEqual(answerOf(await ask(c, 'n1.example.org.')), ['n1.example.org.', '192.0.2.2']);
    c.close();
  });
  it('a wrong name fails', () =>
    failsWith(
      { name: 'resolver.example' },
      /the certificate does not name resolver\.example \(Hostname\/IP does not match/,
    ));
  it('an untrusted CA fails (the system store does not have the test CA)', () =>
    failsWith({ ca: null }, /^untrusted certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/));
  it('a wrong pin fails, naming both pins', () =>
    failsWith(
      { spki: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', name: null },
      /^SPKI pin mismatch: the certificate's is \S+=, expected AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=$/,
    ));
  it('the right pin without any CA: answered', async () => {
    const pin = spkiPin(Buffer.from(readFileSync(cert.cert, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64'));
    const c = client({ spki: pin, name: null, ca: null });
    assert.deepEqual(answerOf(await ask(c, 'n1.example.org.')), ['n1.example.org.', '192.0.2.2']);
    c.close();
  });
  it('spkiPin: base64 SHA-256 of the DER SubjectPublicKeyInfo, as openssl computes it', () => {
    const der = Buffer.from(readFileSync(cert.cert, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const pubkey = execFileSync('openssl', ['x509', '-in', cert.cert, '-pubkey', '-noout']);
    const spki = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pubkey });
    const digest = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: spki });
    assert.equal(spkiPin(der), digest.toString('base64'));
    assert.match(spkiPin(der), /^[A-Za-z0-9+/]{43}=$/);
  });
});
