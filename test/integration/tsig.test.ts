// TSIG (RFC 8945) against the clients operators sign with: dig and kdig sign a query with a key
// (`-y ALG:NAME:SECRET`), a small server on loopback checks it with tsigVerify and answers signed by
// tsigSign over the query's MAC; each client checks that answer. A wrong secret or algorithm is
// told apart on our side, and the client refuses our answer when the secrets differ.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { TsigKey, TsigStatus } from '../../src/wire/index.ts';
import { tsigSign, tsigVerify } from '../../src/wire/index.ts';

const run = promisify(execFile);
const KEY: TsigKey = {
  name: 'xfr-key.',
  algorithm: 'hmac-sha256',
  secret: Buffer.from('0123456789abcdef0123456789abcdef'),
};
const SECRET = Buffer.from(KEY.secret).toString('base64');
const WRONG = Buffer.from('not the secret, but just as long').toString('base64');

let sock: dgram.Socket;
let port: number;
/** What the server made of each query, in order. */
const seen: TsigStatus[] = [];

before(async () => {
  sock = dgram.createSocket('udp4');
  sock.on('message', (m, from) => {
    const now = Math.floor(Date.now() / 1000);
    const v = tsigVerify(m, (name) => (name === KEY.name ? KEY : undefined), { now });
    seen.push(v.status);
    const answer = Buffer.from(v.message);
    answer[2] = (answer[2] as number) | 0x84; // QR, AA
    sock.send(
      tsigSign(answer, KEY, { now, priorMac: v.status === 'ok' ? v.mac : null }).message,
      from.port,
      from.address,
    );
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  port = sock.address().port;
});
after(() => sock.close());

/** A client's output for SOA example.test signed with `alg:xfr-key.:secret`. */
async function ask(client: 'dig' | 'kdig', alg: string, secret: string): Promise<string> {
  const args = ['-p', String(port), '@127.0.0.1', '-y', `${alg}:xfr-key.:${secret}`, 'example.test', 'SOA'];
  const timing = client === 'dig' ? ['+time=5', '+tries=1'] : ['+timeout=5', '+retry=0'];
  const r = await run(client, [...timing, ...args], { encoding: 'utf8' }).catch(
    (e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );
  return `${r.stdout}${r.stderr}`;
}

describe('TSIG with dig and kdig', () => {
  it('dig: its signed query verifies here, our signed answer verifies there', async () => {
    const out = await ask('dig', 'hmac-sha256', SECRET);
    assert.equal(seen.at(-1), 'ok');
    assert.match(out, /status: NOERROR/);
    assert.match(
      out,
      /TSIG PSEUDOSECTION:\s*\nxfr-key\.\s+0\s+ANY\s+TSIG\s+hmac-sha256\. \d+ 300 32 \S+ \d+ NOERROR 0/,
    );
    assert.doesNotMatch(out, /Couldn't verify|could not be validated/);
  });

  it('kdig: the same', async () => {
    const out = await ask('kdig', 'hmac-sha256', SECRET);
    assert.equal(seen.at(-1), 'ok');
    assert.match(out, /status: NOERROR/);
    assert.match(out, /TSIG PSEUDOSECTION:[\s\S]*hmac-sha256/);
    assert.doesNotMatch(out, /WARNING|failed to verify/);
  });

  it('another secret: badsig here, and the client refuses our answer', async () => {
    assert.match(await ask('dig', 'hmac-sha256', WRONG), /Couldn't verify signature/);
    assert.equal(seen.at(-1), 'badsig');
    const k = await ask('kdig', 'hmac-sha256', WRONG);
    assert.equal(seen.at(-1), 'badsig');
    assert.match(k, /WARNING: reply verification .* \(failed to verify TSIG\)/);
  });

  it('another algorithm with the same name: badkey', async () => {
    await ask('dig', 'hmac-sha512', SECRET);
    assert.equal(seen.at(-1), 'badkey');
  });
});
