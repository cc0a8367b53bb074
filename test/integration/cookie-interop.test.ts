// DNS cookies against BIND's named (RFC 9018 SipHash-2-4 cookies, same `cookie-secret`): a cookie
// named hands to dig verifies in Cookies, and a cookie Cookies mints is accepted by named when it
// requires a server cookie; a corrupted or foreign one is not. And the same between the running
// servers: edgedns and named with one secret accept each other's cookies.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { CookieVerdict, Cookies } from '../../src/server/index.ts';
import { dig } from '../helpers/dig.ts';
import type { RunningNamed } from '../helpers/named.ts';
import { startNamed } from '../helpers/named.ts';
import { parseProm, value } from '../helpers/prom.ts';
import { ZONES, startServer } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';

const SECRET = 'a2f1c0de5b7e4f0a9c3d8e6b1f2a4c57';
const OTHER = '0123456789abcdef0123456789abcdef';
const CLIENT = '127.0.0.1';
/** named runs on the real clock, so here the cookies do too. */
const wallSeconds = (): number => Math.floor(Date.now() / 1000);
const cookiesWith = (secret: string): Cookies =>
  new Cookies({ current: Uint8Array.from(Buffer.from(secret, 'hex')), previous: null }, wallSeconds);

let named: RunningNamed;
before(async () => {
  named = await startNamed({ cookieSecret: SECRET, requireServerCookie: true });
});
after(async () => {
  await named?.stop();
});

/** Ask named for www with a cookie option (`+cookie` or `+cookie=<hex>`): status, answer, and the cookie dig printed. */
async function ask(
  cookieArg: string,
): Promise<{ status: string; address: string | undefined; cookie: string | undefined }> {
  const r = await dig(named, [cookieArg, '+nobadcookie', `www.${named.zone}`, 'A']);
  return { status: r.status, address: r.answer[0]?.data, cookie: /; COOKIE: ([0-9a-f]+)/.exec(r.raw)?.[1] };
}

function verdictOf(c: Cookies, cookieHex: string, client = CLIENT): CookieVerdict {
  const data = Buffer.from(cookieHex, 'hex');
  return c.verdict(data, 0, data.length, client);
}

function mint(c: Cookies, client = CLIENT): string {
  const clientCookie = randomBytes(8);
  const opt = c.option(clientCookie, 0, 8, client, c.verdict(clientCookie, 0, 8, client));
  return Buffer.from(opt.subarray(4)).toString('hex');
}

const corrupt = (h: string): string =>
  h.slice(0, -2) + (parseInt(h.slice(-2), 16) ^ 0x01).toString(16).padStart(2, '0');

it('a server cookie named hands to dig +cookie is valid for Cookies with the same secret, invalid with another', async () => {
  const first = await ask('+cookie');
  assert.equal(first.status, 'BADCOOKIE', 'require-server-cookie: a client cookie alone is not enough');
  const cookie = first.cookie;
  assert.ok(cookie && cookie.length === 48, `dig printed a client and a 16-byte server cookie: ${cookie}`);
  assert.equal(cookie.slice(16, 24), '01000000', 'version 1, reserved zero');
  assert.equal(verdictOf(cookiesWith(SECRET), cookie), CookieVerdict.VALID);
  assert.equal(verdictOf(cookiesWith(OTHER), cookie), CookieVerdict.INVALID);
  assert.equal(
    verdictOf(cookiesWith(SECRET), cookie, '127.0.0.2'),
    CookieVerdict.INVALID,
    'the client address is in the hash',
  );
  // And named takes its own cookie back: the path the next check relies on.
  const again = await ask(`+cookie=${cookie}`);
  assert.equal(again.status, 'NOERROR');
  assert.equal(again.address, '192.0.2.80');
});

it('a cookie Cookies mints for 127.0.0.1 gets an answer from named; a corrupted or foreign one gets BADCOOKIE', async () => {
  const good = mint(cookiesWith(SECRET));
  const ok = await ask(`+cookie=${good}`);
  assert.equal(ok.status, 'NOERROR', `named accepts ${good}`);
  assert.equal(ok.address, '192.0.2.80');
  assert.equal(ok.cookie?.slice(0, 16), good.slice(0, 16), 'named echoes the client cookie');

  for (const [what, h] of [
    ['corrupted hash', corrupt(good)],
    ['another secret', mint(cookiesWith(OTHER))],
    ['minted for another client address', mint(cookiesWith(SECRET), '127.0.0.2')],
  ] as const) {
    const r = await ask(`+cookie=${h}`);
    assert.equal(r.status, 'BADCOOKIE', what);
    assert.equal(r.address, undefined, what);
  }
});

it('between the running servers: a cookie from named is valid at edgedns, one from edgedns is accepted by named', async () => {
  const dir = tempDir('edgedns-interop-');
  writeFileSync(join(dir, 'cookie.secret'), `${SECRET}\n`);
  writeFileSync(
    join(dir, 'edgedns.yaml'),
    [
      'listen: ["127.0.0.1:0"]',
      `zones: { dir: ${JSON.stringify(ZONES)} }`,
      'upstreams: []',
      `cookies: { secretFile: ${JSON.stringify(join(dir, 'cookie.secret'))} }`,
    ].join('\n'),
  );
  const edge = await startServer({ config: join(dir, 'edgedns.yaml'), args: [] });
  try {
    const valid = async (): Promise<number> =>
      value(
        parseProm(await (await fetch(`http://127.0.0.1:${edge.adminPort}/metrics`)).text()),
        'edgedns_cookies_total',
        { verdict: 'valid' },
      );
    // named → edgedns: the cookie named gave dig, sent to edgedns by dig.
    const fromNamed = (await ask('+cookie')).cookie as string;
    const atEdge = await dig(edge, [`+cookie=${fromNamed}`, 'www.example.test', 'A']);
    assert.equal(atEdge.status, 'NOERROR');
    assert.equal(await valid(), 1, 'edgedns counted the cookie named made as valid');
    // edgedns → named: the cookie edgedns gave dig; named requires a valid server cookie.
    const fromEdge = /; COOKIE: ([0-9a-f]+)/.exec(
      (await dig(edge, ['+cookie', 'www.example.test', 'A'])).raw,
    )?.[1] as string;
    const atNamed = await ask(`+cookie=${fromEdge}`);
    assert.equal(atNamed.status, 'NOERROR', 'named accepted the cookie edgedns made');
    assert.equal(atNamed.address, '192.0.2.80');
    assert.equal((await ask(`+cookie=${corrupt(fromEdge)}`)).status, 'BADCOOKIE');
  } finally {
    await edge.stop();
  }
});
