// TSIG (RFC 8945): what is signed verifies, and every way a signed message can be wrong is told
// apart: unknown key or algorithm, a changed byte, a wrong request MAC, a clock too far off, a
// truncated MAC, a TSIG that is not the last record or not alone. dig signs and checks the same
// records (test/integration/tsig.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TsigKey } from '../../../src/wire/index.ts';
import { ARCOUNT, TYPE_TSIG, TsigError, tsigSign, tsigVerify, u16 } from '../../../src/wire/index.ts';
import { query } from '../../helpers/wire.ts';

const KEY: TsigKey = {
  name: 'xfr-key.',
  algorithm: 'hmac-sha256',
  secret: Buffer.from('0123456789abcdef0123456789abcdef'),
};
const keyOf = (name: string): TsigKey | undefined => (name === KEY.name ? KEY : undefined);
const NOW = 1_796_000_000;

describe('tsigSign and tsigVerify', () => {
  it('a signed query verifies, and gives back the message as it was', () => {
    const q = query('example.test', 'SOA', { id: 77 });
    const { message, mac } = tsigSign(q, KEY, { now: NOW });
    assert.equal(u16(message, ARCOUNT), u16(q, ARCOUNT) + 1);
    assert.equal(mac.length, 32);
    const v = tsigVerify(message, keyOf, { now: NOW + 10 });
    assert.equal(v.status, 'ok');
    assert.equal(v.keyName, 'xfr-key.');
    assert.equal(v.timeSigned, NOW);
    assert.deepEqual(Buffer.from(v.mac), mac);
    assert.deepEqual(Buffer.from(v.message), q);
  });

  it('an unsigned message is unsigned, the message untouched', () => {
    const q = query('example.test', 'SOA');
    const v = tsigVerify(q, keyOf, { now: NOW });
    assert.equal(v.status, 'unsigned');
    assert.equal(v.message, q);
  });

  it('key names compare without regard to case; the ID may change on the way (original ID)', () => {
    const { message } = tsigSign(query('example.test', 'SOA', { id: 5 }), { ...KEY, name: 'XFR-Key.' }, { now: NOW });
    message.writeUInt16BE(999, 0);
    const v = tsigVerify(message, keyOf, { now: NOW });
    assert.equal(v.status, 'ok');
    assert.equal(u16(v.message, 0), 5);
  });

  it('an unknown key, or the right name with another algorithm, is badkey', () => {
    const q = query('example.test', 'SOA');
    assert.equal(
      tsigVerify(tsigSign(q, { ...KEY, name: 'other.' }, { now: NOW }).message, keyOf, { now: NOW }).status,
      'badkey',
    );
    const sha512 = tsigSign(q, { ...KEY, algorithm: 'hmac-sha512' }, { now: NOW }).message;
    assert.equal(tsigVerify(sha512, keyOf, { now: NOW }).status, 'badkey');
    assert.equal(tsigVerify(sha512, () => ({ ...KEY, algorithm: 'hmac-sha512' }), { now: NOW }).status, 'ok');
  });

  it('a changed byte, another secret or a wrong request MAC is badsig', () => {
    const q = query('example.test', 'SOA');
    const { message } = tsigSign(q, KEY, { now: NOW });
    const changed = Buffer.from(message);
    changed[14] = (changed[14] as number) ^ 1; // in the question's name
    assert.equal(tsigVerify(changed, keyOf, { now: NOW }).status, 'badsig');
    assert.equal(
      tsigVerify(message, () => ({ ...KEY, secret: Buffer.from('another secret, 32 bytes long!!!') }), { now: NOW })
        .status,
      'badsig',
    );
    // A response is signed over the request's MAC.
    const request = tsigSign(q, KEY, { now: NOW });
    const r = Buffer.from(q);
    r[2] = (r[2] as number) | 0x80;
    const response = tsigSign(r, KEY, { now: NOW, priorMac: request.mac }).message;
    assert.equal(tsigVerify(response, keyOf, { now: NOW, priorMac: request.mac }).status, 'ok');
    assert.equal(tsigVerify(response, keyOf, { now: NOW }).status, 'badsig');
    assert.equal(tsigVerify(response, keyOf, { now: NOW, priorMac: Buffer.alloc(32) }).status, 'badsig');
  });

  it('signed outside the fudge is badtime, checked after the MAC', () => {
    const { message } = tsigSign(query('example.test', 'SOA'), KEY, { now: NOW, fudge: 300 });
    assert.equal(tsigVerify(message, keyOf, { now: NOW + 300 }).status, 'ok');
    assert.equal(tsigVerify(message, keyOf, { now: NOW + 301 }).status, 'badtime');
    assert.equal(tsigVerify(message, keyOf, { now: NOW - 301 }).status, 'badtime');
    const changed = Buffer.from(message);
    changed[14] = (changed[14] as number) ^ 1;
    assert.equal(tsigVerify(changed, keyOf, { now: NOW + 1000 }).status, 'badsig');
  });

  it('a truncated MAC: badtrunc down to half the hash (our policy takes none), formerr below', () => {
    const { message } = tsigSign(query('example.test', 'SOA'), KEY, { now: NOW });
    assert.equal(tsigVerify(withMacLength(message, 16), keyOf, { now: NOW }).status, 'badtrunc');
    assert.equal(tsigVerify(withMacLength(message, 8), keyOf, { now: NOW }).status, 'formerr');
    assert.equal(tsigVerify(withMacLength(message, 32), keyOf, { now: NOW }).status, 'ok');
  });

  it('a TSIG that is not the last record, or not alone, is formerr', () => {
    const q = query('example.test', 'SOA');
    const once = tsigSign(q, KEY, { now: NOW }).message;
    const twice = tsigSign(once, KEY, { now: NOW }).message;
    assert.equal(tsigVerify(twice, keyOf, { now: NOW }).status, 'formerr');
    // The TSIG record, then another additional record after it.
    const opt = Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]);
    const notLast = Buffer.concat([once, opt]);
    notLast.writeUInt16BE(u16(notLast, ARCOUNT) + 1, ARCOUNT);
    assert.equal(tsigVerify(notLast, keyOf, { now: NOW }).status, 'formerr');
    // Cut short.
    assert.equal(tsigVerify(once.subarray(0, once.length - 3), keyOf, { now: NOW }).status, 'formerr');
  });

  it('a transfer: later messages sign the timers only, over the previous MAC and the unsigned ones between', () => {
    const first = tsigSign(Buffer.from('first message'.padEnd(20)), KEY, { now: NOW });
    const unsigned = [Buffer.from('an unsigned one......')];
    const body = query('example.test', 'SOA', { id: 9 });
    const later = tsigSign(body, KEY, {
      now: NOW + 1,
      priorMac: first.mac,
      unsignedBefore: unsigned,
      timersOnly: true,
    });
    const o = { now: NOW + 1, priorMac: first.mac, timersOnly: true };
    assert.equal(tsigVerify(later.message, keyOf, { ...o, unsignedBefore: unsigned }).status, 'ok');
    assert.equal(tsigVerify(later.message, keyOf, o).status, 'badsig', 'a message left out');
    assert.equal(
      tsigVerify(later.message, keyOf, { ...o, unsignedBefore: unsigned, timersOnly: false }).status,
      'badsig',
    );
  });

  it('an error is carried: a BADTIME answer with the server time in other data', () => {
    const other = Buffer.alloc(6);
    other.writeUIntBE(NOW, 0, 6);
    const { message } = tsigSign(query('example.test', 'SOA'), KEY, {
      now: NOW,
      error: TsigError.BADTIME,
      otherData: other,
    });
    const v = tsigVerify(message, keyOf, { now: NOW });
    assert.equal(v.status, 'ok');
    assert.equal(v.error, TsigError.BADTIME);
    assert.equal(message.readUInt16BE(recordStart(message) + 9), TYPE_TSIG);
  });
});

/** Where the TSIG record of a message signed with KEY starts: its owner is "xfr-key." (9 bytes). */
function recordStart(m: Buffer): number {
  for (let i = m.length - 20; i > 12; i--) if (m[i] === 7 && m.readUInt16BE(i + 9) === TYPE_TSIG) return i;
  throw new Error('no TSIG record');
}

/**
 * The message with its MAC cut to its first `n` bytes, RDLENGTH and MAC size to match. The RDATA:
 * algorithm name (hmac-sha256., 13 bytes), time (6), fudge (2), MAC size (2), MAC, original ID,
 * error, other length (2 each).
 */
function withMacLength(m: Buffer, n: number): Buffer {
  const rdlenAt = recordStart(m) + 9 + 8;
  const sizeAt = rdlenAt + 2 + 13 + 6 + 2;
  const macLen = m.readUInt16BE(sizeAt);
  const out = Buffer.concat([m.subarray(0, sizeAt + 2 + n), m.subarray(sizeAt + 2 + macLen)]);
  out.writeUInt16BE(m.readUInt16BE(rdlenAt) - macLen + n, rdlenAt);
  out.writeUInt16BE(n, sizeAt);
  return out;
}
