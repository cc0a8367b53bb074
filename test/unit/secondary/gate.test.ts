// The secondary gate: NOTIFY answered by who sent it and how it is signed (RFC 1996 §3.7,
// RFC 8945), and the names of zones not served found by suffix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { SecondaryGate } from '../../../src/secondary/index.ts';
import type { SecondaryServing } from '../../../src/secondary/index.ts';
import type { TsigKey } from '../../../src/wire/index.ts';
import { absoluteName, nameKey, tsigSign, tsigVerify } from '../../../src/wire/index.ts';

const KEY: TsigKey = {
  name: 'xfr-key.',
  algorithm: 'hmac-sha256',
  secret: Buffer.from('0123456789abcdef0123456789abcdef'),
};
const now = (): number => Math.floor(Date.now() / 1000);

const serving: SecondaryServing = {
  zones: [
    { origin: 'open.example.', primaries: ['192.0.2.1'], key: null },
    {
      origin: 'signed.example.',
      primaries: ['192.0.2.1', '2001:db8::1'],
      key: { ...KEY, secret: Buffer.from(KEY.secret).toString('base64') },
    },
  ],
  unavailable: [{ origin: 'signed.example.', why: 'zone signed.example. not transferred yet' }],
};

/** A NOTIFY for `zone` (opcode 4, SOA; `response`: QR set), its first two bytes the ID. */
const notifyFor = (zone: string, id = 0x1234, response = false): Buffer => {
  const m = dnsPacket.encode({ id, type: 'query', questions: [{ name: zone, type: 'SOA' }] });
  m.writeUInt16BE((response ? 0x8000 : 0) | (4 << 11) | 0x0400, 2);
  return m;
};

const RCODES: Record<number, string> = { 0: 'NOERROR', 5: 'REFUSED', 9: 'NOTAUTH' };
const rcodeOf = (m: Uint8Array | null): string => RCODES[Buffer.from(m as Uint8Array).readUInt16BE(2) & 0xf] ?? '?';
const opcodeOf = (m: Uint8Array): number => (Buffer.from(m).readUInt16BE(2) >> 11) & 0xf;

function gate(): { g: SecondaryGate; got: string[] } {
  const got: string[] = [];
  return { g: new SecondaryGate(serving, (origin, from) => got.push(`${origin} ${from}`)), got };
}

describe('SecondaryGate: NOTIFY', () => {
  it('from a primary: NOERROR, the same ID and question, AA and opcode NOTIFY; the runtime told', () => {
    const { g, got } = gate();
    const r = g.notify(notifyFor('open.example'), '::ffff:192.0.2.1');
    const d = dnsPacket.decode(Buffer.from(r as Uint8Array));
    assert.equal(d.id, 0x1234);
    assert.equal(d.type, 'response');
    assert.equal(opcodeOf(r as Uint8Array), 4);
    assert.equal(rcodeOf(r), 'NOERROR');
    assert.equal(d.flag_aa, true);
    assert.deepEqual(d.questions, [{ name: 'open.example', type: 'SOA', class: 'IN' }]);
    assert.deepEqual(got, ['open.example. 192.0.2.1']);
  });

  it('from anyone else REFUSED, for a zone not secondary here NOTAUTH; the runtime not told', () => {
    const { g, got } = gate();
    assert.equal(rcodeOf(g.notify(notifyFor('open.example'), '198.51.100.7')), 'REFUSED');
    assert.equal(rcodeOf(g.notify(notifyFor('other.example'), '192.0.2.1')), 'NOTAUTH');
    assert.deepEqual(got, []);
  });

  it('a zone with a key: unsigned REFUSED, another key or a changed message NOTAUTH, signed NOERROR and signed back', () => {
    const { g, got } = gate();
    assert.equal(rcodeOf(g.notify(notifyFor('signed.example'), '192.0.2.1')), 'REFUSED');
    const other = { ...KEY, secret: Buffer.from('another secret of thirty-two b..') };
    assert.equal(
      rcodeOf(g.notify(tsigSign(notifyFor('signed.example'), other, { now: now() }).message, '192.0.2.1')),
      'NOTAUTH',
    );
    const signed = tsigSign(notifyFor('signed.example'), KEY, { now: now() });
    const r = g.notify(signed.message, '2001:db8::1') as Uint8Array;
    const v = tsigVerify(r, (n) => (n === KEY.name ? KEY : undefined), { now: now(), priorMac: signed.mac });
    assert.equal(v.status, 'ok', 'the answer is signed over the request’s MAC');
    assert.equal(rcodeOf(v.message), 'NOERROR');
    assert.deepEqual(got, ['signed.example. 2001:db8::1']);
  });

  it('malformed, or a response: nothing sent', () => {
    const { g, got } = gate();
    assert.equal(g.notify(notifyFor('open.example').subarray(0, 15), '192.0.2.1'), null);
    const response = notifyFor('open.example', 1, true);
    assert.equal(g.notify(response, '192.0.2.1'), null);
    assert.deepEqual(got, []);
  });
});

describe('SecondaryGate: zones not served', () => {
  it('the zone and every name under it, not its parent nor a sibling', () => {
    const { g } = gate();
    assert.equal(g.blocking, true);
    const why = (name: string): string | null => g.unavailable(nameKey(absoluteName(name)));
    assert.equal(why('signed.example.'), 'zone signed.example. not transferred yet');
    assert.equal(why('a.b.Signed.Example.'), 'zone signed.example. not transferred yet');
    assert.equal(why('example.'), null);
    assert.equal(why('open.example.'), null);
    assert.equal(why('xsigned.example.'), null);
    assert.equal(new SecondaryGate({ ...serving, unavailable: [] }, () => {}).blocking, false);
  });
});
