// Who may transfer the zones out: the verdicts of TransferAcl for addresses in and out of the
// entries, with and without their keys, and each TSIG failure with the rcode and TSIG error RFC
// 8945 §5.2 gives it (and whether the answer is signed).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TransferRule } from '../../../src/server/index.ts';
import { TransferAcl } from '../../../src/server/transfer-acl.ts';
import type { TsigKey } from '../../../src/wire/index.ts';
import { KEY, NOW, RULES } from '../../helpers/transfer.ts';
import {
  Class,
  Rcode,
  TsigError,
  absoluteName,
  encodeQuery,
  tsigKeyToText,
  tsigSign,
} from '../../../src/wire/index.ts';

const OTHER: TsigKey = {
  name: 'monitor-key.',
  algorithm: 'hmac-sha512',
  secret: Buffer.from('the monitor key, 32 bytes long..'),
};

/** 192.0.2.0/28 with KEY, 192.0.2.16/28 without a key, 2001:db8::/64 with OTHER. */
const ALL: TransferRule[] = [...RULES, { address: '2001:db8::/64', key: tsigKeyToText(OTHER) }];

const axfr = (): Buffer =>
  encodeQuery({ id: 7, flags: 0, qname: absoluteName('example.test.'), qtype: 252, qclass: Class.IN, edns: null });
const signed = (key: TsigKey, now = NOW): Buffer => tsigSign(axfr(), key, { now }).message;

describe('TransferAcl', () => {
  const acl = new TransferAcl(ALL);

  it('covers the addresses of its entries (IPv4-mapped too) and no other', () => {
    assert.ok(acl.covers('192.0.2.1'));
    assert.ok(acl.covers('::ffff:192.0.2.17'));
    assert.ok(acl.covers('2001:db8::53'));
    assert.ok(!acl.covers('192.0.2.32'));
    assert.ok(!acl.covers('198.51.100.1'));
    assert.ok(!new TransferAcl([]).covers('127.0.0.1'), 'no transferTo: nobody');
  });

  const cases: {
    what: string;
    client: string;
    msg: () => Buffer;
    want: { ok: true; key: string | null } | { ok: false; rcode: number; error: number | null; signed: boolean };
  }[] = [
    { what: 'the key of its entry', client: '192.0.2.1', msg: () => signed(KEY), want: { ok: true, key: 'xfr-key.' } },
    { what: 'an entry without a key', client: '192.0.2.17', msg: axfr, want: { ok: true, key: null } },
    {
      what: 'a signed request where no key is required: served, and signed back',
      client: '192.0.2.17',
      msg: () => signed(KEY),
      want: { ok: true, key: 'xfr-key.' },
    },
    {
      what: 'an address in no entry, even signed',
      client: '198.51.100.1',
      msg: () => signed(KEY),
      want: { ok: false, rcode: Rcode.REFUSED, error: null, signed: false },
    },
    {
      what: 'unsigned where the entry requires a key',
      client: '192.0.2.1',
      msg: axfr,
      want: { ok: false, rcode: Rcode.REFUSED, error: null, signed: false },
    },
    {
      what: 'another entry’s key: REFUSED, signed with it',
      client: '192.0.2.1',
      msg: () => signed(OTHER),
      want: { ok: false, rcode: Rcode.REFUSED, error: null, signed: true },
    },
    {
      what: 'the right name with another secret: BADSIG, unsigned',
      client: '192.0.2.1',
      msg: () => signed({ ...KEY, secret: Buffer.from('not the transfer key, but as long') }),
      want: { ok: false, rcode: Rcode.NOTAUTH, error: TsigError.BADSIG, signed: false },
    },
    {
      what: 'a key nobody configured: BADKEY, unsigned',
      client: '192.0.2.1',
      msg: () => signed({ ...KEY, name: 'stranger-key.' }),
      want: { ok: false, rcode: Rcode.NOTAUTH, error: TsigError.BADKEY, signed: false },
    },
    {
      what: 'signed 10 minutes ago: BADTIME, signed',
      client: '192.0.2.1',
      msg: () => signed(KEY, NOW - 600),
      want: { ok: false, rcode: Rcode.NOTAUTH, error: TsigError.BADTIME, signed: true },
    },
  ];
  for (const c of cases)
    it(c.what, () => {
      const v = acl.check(c.msg(), c.client, NOW);
      if (c.want.ok) {
        assert.ok(v.ok, JSON.stringify(v));
        assert.equal(v.key?.name ?? null, c.want.key);
        assert.equal(v.mac !== null, c.want.key !== null, 'a MAC to sign over exactly when signed');
      } else {
        assert.ok(!v.ok);
        assert.equal(v.rcode, c.want.rcode, v.why);
        assert.equal(v.tsig?.error ?? null, c.want.error);
        assert.equal(v.signed !== null, c.want.signed);
      }
    });

  it('a TSIG record that is not the last one: FORMERR', () => {
    const m = signed(KEY);
    const bad = Buffer.concat([m, Buffer.from([0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0])]); // a root A record after it
    bad.writeUInt16BE(bad.readUInt16BE(10) + 1, 10);
    const v = acl.check(bad, '192.0.2.1', NOW);
    assert.ok(!v.ok);
    assert.equal(v.rcode, Rcode.FORMERR);
  });
});
