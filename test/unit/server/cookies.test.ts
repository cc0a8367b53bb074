// DNS cookies: RFC 9018 Appendix A, rollover, the time window, and everything that makes a server
// cookie invalid; the secret files.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { siphash24 } from '../../../src/core/index.ts';
import { CookieVerdict, Cookies, readCookieSecrets } from '../../../src/server/index.ts';
import { tempDir } from '../../helpers/tmp.ts';

const unhex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// RFC 9018 Appendix A.
const SECRET_1 = unhex('e5e973e5a6b2a43f48e7dc849e37bfcf');
const SECRET_OLD = unhex('dd3bdf9344b678b185a6f5cb60fca715');
const SECRET_NEW = unhex('445536bcd2513298075a5d379663c962');
const V6_CLIENT = '2001:db8:220:1:59de:d0f4:8769:82b8';

/** Cookies at a time the test sets. */
function cookies(current: Uint8Array, previous: Uint8Array | null, at: number): { c: Cookies; clock: { now: number } } {
  const clock = { now: at };
  return { c: new Cookies({ current, previous }, () => clock.now), clock };
}

/** Option data inside a query-sized buffer, at a non-zero offset, as the parser hands it over. */
function data(h: string): { msg: Uint8Array; at: number; len: number } {
  const bytes = unhex(h);
  const msg = new Uint8Array(40 + bytes.length).fill(0x5a);
  msg.set(bytes, 33);
  return { msg, at: 33, len: bytes.length };
}

function verdict(c: Cookies, h: string, client: string): CookieVerdict {
  const d = data(h);
  return c.verdict(d.msg, d.at, d.len, client);
}

/** The server cookie of the response's option (after checking code, length and the client cookie). */
function reply(c: Cookies, h: string, client: string): string {
  const d = data(h);
  const opt = c.option(d.msg, d.at, d.len, client, c.verdict(d.msg, d.at, d.len, client));
  assert.equal(hex(opt.subarray(0, 4)), '000a0018', 'option code 10, length 24');
  assert.equal(hex(opt.subarray(4, 12)), h.slice(0, 16), 'the client cookie echoed');
  assert.equal(opt.length, 28);
  return hex(opt.subarray(12));
}

/** A server cookie with any version, reserved bytes and timestamp, hashed correctly over them. */
function forge(
  secret: Uint8Array,
  client: string,
  ipBytes: number[],
  version: number,
  reserved: string,
  ts: number,
): string {
  const input = unhex(
    `${client}${version.toString(16).padStart(2, '0')}${reserved}${ts.toString(16).padStart(8, '0')}`,
  );
  const full = Uint8Array.from([...input, ...ipBytes]);
  const h = new Uint8Array(8);
  siphash24(secret, full, 0, full.length, h, 0);
  return `${hex(input)}${hex(h)}`;
}

describe('RFC 9018 Appendix A', () => {
  it('A.1: a client cookie alone gets a fresh server cookie', () => {
    const { c } = cookies(SECRET_1, null, 1559731985);
    assert.equal(verdict(c, '2464c4abcf10c957', '198.51.100.100'), CookieVerdict.CLIENT_ONLY);
    assert.equal(reply(c, '2464c4abcf10c957', '198.51.100.100'), '010000005cf79f111f8130c3eee29480');
  });
  it('A.2: the same client 40 minutes later is valid and gets a renewed cookie', () => {
    const { c } = cookies(SECRET_1, null, 1559734385);
    const q = '2464c4abcf10c957010000005cf79f111f8130c3eee29480';
    assert.equal(verdict(c, q, '198.51.100.100'), CookieVerdict.VALID);
    assert.equal(reply(c, q, '198.51.100.100'), '010000005cf7a871d4a564a1442aca77');
  });
  it('A.3: a cookie with reserved bytes set is hashed as received; too old now, so renewed', () => {
    const q = 'fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5';
    const { c, clock } = cookies(SECRET_1, null, 1559734700);
    assert.equal(verdict(c, q, '203.0.113.203'), CookieVerdict.INVALID, '1 h 52 min old');
    assert.equal(reply(c, q, '203.0.113.203'), '010000005cf7a9acf73a7810aca2381e');
    clock.now = 1559727985 + 60;
    assert.equal(verdict(c, q, '203.0.113.203'), CookieVerdict.VALID, 'a minute after it was made');
  });
  it('A.4: IPv6, made with the previous secret: valid, and re-minted with the new one', () => {
    const q = '22681ab97d52c298010000005cf7c57926556bd0934c72f8';
    const { c } = cookies(SECRET_NEW, SECRET_OLD, 1559741961);
    assert.equal(verdict(c, q, V6_CLIENT), CookieVerdict.VALID);
    assert.equal(reply(c, q, V6_CLIENT), '010000005cf7c609a6bb79d16625507a', 'renewed although only 144 s old');
    assert.equal(
      verdict(cookies(SECRET_NEW, null, 1559741961).c, q, V6_CLIENT),
      CookieVerdict.INVALID,
      'old secret gone',
    );
    assert.equal(verdict(c, '22681ab97d52c298010000005cf7c609a6bb79d16625507a', V6_CLIENT), CookieVerdict.VALID);
  });
});

describe('Cookies', () => {
  const CLIENT = '2464c4abcf10c957';
  const A1 = `${CLIENT}010000005cf79f111f8130c3eee29480`;
  const T1 = 1559731985;
  const IP = '198.51.100.100';

  it('echoes a valid cookie made with the current secret while it is younger than 30 minutes', () => {
    const { c, clock } = cookies(SECRET_1, null, T1 + 1799);
    assert.equal(reply(c, A1, IP), A1.slice(16));
    clock.now = T1 + 1800;
    assert.equal(reply(c, A1, IP), `01000000${(T1 + 1800).toString(16)}${reply(c, A1, IP).slice(16)}`);
    assert.notEqual(reply(c, A1, IP), A1.slice(16));
    // With a previous secret configured, a young cookie of the current one is still echoed.
    assert.equal(reply(cookies(SECRET_1, SECRET_OLD, T1 + 10).c, A1, IP), A1.slice(16));
  });

  it('accepts the previous secret during a rollover and mints only with the current one', () => {
    const { c } = cookies(SECRET_NEW, SECRET_1, T1 + 60);
    assert.equal(verdict(c, A1, IP), CookieVerdict.VALID);
    const fresh = reply(c, A1, IP);
    assert.equal(fresh.slice(0, 16), `01000000${(T1 + 60).toString(16)}`);
    assert.equal(verdict(cookies(SECRET_NEW, null, T1 + 60).c, CLIENT + fresh, IP), CookieVerdict.VALID);
    assert.equal(verdict(cookies(SECRET_1, null, T1 + 60).c, CLIENT + fresh, IP), CookieVerdict.INVALID);
    assert.equal(
      verdict(cookies(SECRET_NEW, null, T1 + 60).c, A1, IP),
      CookieVerdict.INVALID,
      'once the old secret is removed',
    );
  });

  it('expires a cookie after an hour and refuses one more than five minutes ahead', () => {
    const table: [number, CookieVerdict][] = [
      [T1 - 300, CookieVerdict.VALID],
      [T1 - 301, CookieVerdict.INVALID],
      [T1, CookieVerdict.VALID],
      [T1 + 3600, CookieVerdict.VALID],
      [T1 + 3601, CookieVerdict.INVALID],
      [T1 + 86400, CookieVerdict.INVALID],
      [T1 - 86400, CookieVerdict.INVALID],
    ];
    for (const [now, want] of table)
      assert.equal(verdict(cookies(SECRET_1, null, now).c, A1, IP), want, `at ${now - T1} s`);
  });

  it('a cookie a few minutes ahead (another site, skewed clock) is valid and echoed', () => {
    const { c } = cookies(SECRET_1, null, T1 - 120);
    assert.equal(verdict(c, A1, IP), CookieVerdict.VALID);
    assert.equal(reply(c, A1, IP), A1.slice(16));
  });

  it('counts time in serial number arithmetic across the 32-bit wrap', () => {
    const maker = cookies(SECRET_1, null, 2 ** 32 - 200).c;
    const made = CLIENT + reply(maker, CLIENT, IP);
    assert.equal(made.slice(24, 32), 'ffffff38');
    assert.equal(
      verdict(cookies(SECRET_1, null, 2 ** 32 + 100).c, made, IP),
      CookieVerdict.VALID,
      '300 s later, after the wrap',
    );
    assert.equal(verdict(cookies(SECRET_1, null, 2 ** 32 + 3500).c, made, IP), CookieVerdict.INVALID, '3700 s later');
    assert.equal(verdict(cookies(SECRET_1, null, 2 ** 32 - 400).c, made, IP), CookieVerdict.VALID, '200 s ahead');
  });

  it('treats a wrong version, tampered bytes, a wrong length or another client as invalid', () => {
    const ip = [198, 51, 100, 100];
    const c = cookies(SECRET_1, null, T1 + 5).c;
    assert.equal(
      verdict(c, forge(SECRET_1, CLIENT, ip, 1, '000000', T1), IP),
      CookieVerdict.VALID,
      'the forge helper is right',
    );
    const flip = (h: string, byte: number): string =>
      h.slice(0, 2 * byte) +
      (parseInt(h.slice(2 * byte, 2 * byte + 2), 16) ^ 1).toString(16).padStart(2, '0') +
      h.slice(2 * byte + 2);
    const table: [string, string, string][] = [
      ['version 2, correctly hashed', forge(SECRET_1, CLIENT, ip, 2, '000000', T1), IP],
      ['version 0, correctly hashed', forge(SECRET_1, CLIENT, ip, 0, '000000', T1), IP],
      ['client cookie changed', flip(A1, 0), IP],
      ['version byte changed', flip(A1, 8), IP],
      ['reserved byte changed', flip(A1, 10), IP],
      ['timestamp changed', flip(A1, 15), IP],
      ['hash changed', flip(A1, 23), IP],
      ['another IPv4 client', A1, '198.51.100.101'],
      ['an IPv6 client', A1, '2001:db8::1'],
      ['server cookie of 8 bytes', A1.slice(0, 32), IP],
      ['server cookie of 24 bytes', `${A1}${'00'.repeat(8)}`, IP],
      ['server cookie of 32 bytes', `${A1}${'00'.repeat(16)}`, IP],
      ['other secret', forge(SECRET_NEW, CLIENT, ip, 1, '000000', T1), IP],
    ];
    for (const [what, h, client] of table) assert.equal(verdict(c, h, client), CookieVerdict.INVALID, what);
    assert.equal(verdict(c, A1, `::ffff:${IP}`), CookieVerdict.VALID, 'the IPv4-mapped form is the same client');
  });

  it('mints a fresh cookie for an invalid one', () => {
    const { c } = cookies(SECRET_1, null, T1);
    const bad = `${A1.slice(0, 46)}00`;
    assert.equal(verdict(c, bad, IP), CookieVerdict.INVALID);
    assert.equal(reply(c, bad, IP), A1.slice(16));
  });

  it('stays right when more clients come than it remembers', () => {
    const { c } = cookies(SECRET_1, null, T1);
    for (let i = 0; i < 3000; i++) verdict(c, A1, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    assert.equal(verdict(c, A1, IP), CookieVerdict.VALID);
    assert.equal(verdict(c, A1, '10.0.0.1'), CookieVerdict.INVALID);
  });

  it('rejects a secret that is not 16 bytes, and keeps its own copy', () => {
    assert.throws(() => new Cookies({ current: new Uint8Array(15), previous: null }, () => 0), {
      code: 'ERR_COOKIE_SECRET',
      message: 'the current cookie secret: expected 16 bytes, got 15',
    });
    assert.throws(() => new Cookies({ current: SECRET_1, previous: new Uint8Array(32) }, () => 0), {
      code: 'ERR_COOKIE_SECRET',
    });
    const secret = Uint8Array.from(SECRET_1);
    const c = new Cookies({ current: secret, previous: null }, () => T1);
    secret.fill(0);
    assert.equal(verdict(c, A1, IP), CookieVerdict.VALID);
  });
});

describe('readCookieSecrets', () => {
  const dir = tempDir('edgedns-cookie-');
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('without a secret file, makes a random secret', () => {
    const a = readCookieSecrets(null, null);
    const b = readCookieSecrets(null, null);
    assert.equal(a.current.length, 16);
    assert.notEqual(hex(a.current), hex(b.current));
    assert.equal(a.previous, null);
  });

  it('reads 32 hex digits with whitespace around them, in either case', () => {
    const s = readCookieSecrets(
      file('cur', '  E5E973E5A6B2A43F48E7DC849E37BFCF\n'),
      file('prev', 'dd3bdf9344b678b185a6f5cb60fca715'),
    );
    assert.equal(hex(s.current), 'e5e973e5a6b2a43f48e7dc849e37bfcf');
    assert.equal(hex(s.previous ?? new Uint8Array()), 'dd3bdf9344b678b185a6f5cb60fca715');
  });

  it('names the file and the problem', () => {
    const short = file('short', 'e5e973e5a6b2a43f48e7dc849e37bfc\n');
    assert.throws(() => readCookieSecrets(short, null), {
      code: 'ERR_COOKIE_SECRET',
      message: `cookies.secretFile ${short}: expected 32 hexadecimal digits (a 128-bit secret), got 31 characters`,
    });
    const odd = file('odd', 'e5e973e5a6b2a43f48e7dc849e37bfcg');
    assert.throws(() => readCookieSecrets(short.replace('short', 'cur'), odd), {
      message: `cookies.previousSecretFile ${odd}: expected 32 hexadecimal digits (a 128-bit secret), got a character that is not one at position 32`,
    });
    const empty = file('empty', '\n');
    assert.throws(() => readCookieSecrets(empty, null), { message: /got 0 characters$/ });
    const missing = join(dir, 'missing');
    assert.throws(
      () => readCookieSecrets(missing, null),
      (err: Error & { code?: string }) =>
        err.code === 'ERR_COOKIE_SECRET' &&
        err.message.startsWith(`cookies.secretFile ${missing}: cannot read it (ENOENT`),
    );
  });
});

describe('the health probes’ client cookie', () => {
  it('is derived from the current secret: the same in every process, another with another secret', () => {
    const a = new Cookies({ current: new Uint8Array(16).fill(1), previous: null }, () => 0);
    const b = new Cookies({ current: new Uint8Array(16).fill(1), previous: null }, () => 0);
    const other = new Cookies({ current: new Uint8Array(16).fill(2), previous: null }, () => 0);
    assert.deepEqual(a.probeClient, b.probeClient);
    assert.notDeepEqual(a.probeClient, other.probeClient);
    const msg = new Uint8Array(30);
    msg.set(a.probeClient, 5);
    assert.equal(b.isProbe(msg, 5), true);
    assert.equal(other.isProbe(msg, 5), false);
    assert.equal(a.isProbe(msg, 4), false);
  });
});
