// RDATA encoding checked against dns-packet as an oracle, and presentation -> wire -> presentation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nameFromText, typeFromText } from '../../../src/wire/index.ts';
import { decodeRdata, parseZoneText } from '../../../src/zone/index.ts';
import { oracle as dp } from '../../helpers/wire.ts';

const origin = nameFromText('example.test.', null);

/** RDATA bytes as dns-packet encodes a record, without the fixed RR header. */
function oracle(type: string, data: unknown): Buffer {
  const name = 'x.example.test';
  const rr = dp.answer.encode({ type, name, ttl: 1, class: 'IN', data });
  const nameLen = dp.name.encodingLength(name);
  return rr.subarray(nameLen + 10);
}

function ours(type: string, text: string): Buffer {
  const [rec] = parseZoneText(`x 1 ${type} ${text}`, origin);
  assert.ok(rec);
  return Buffer.from(rec.rdata);
}

describe('RDATA matches dns-packet', () => {
  const cases: [string, string, unknown][] = [
    ['A', '192.0.2.1', '192.0.2.1'],
    ['AAAA', '2001:db8::1:0:0:1', '2001:db8::1:0:0:1'],
    ['AAAA', '::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['NS', 'ns1.example.org.', 'ns1.example.org'],
    ['CNAME', 'www', 'www.example.test'],
    ['MX', '10 mail.example.org.', { preference: 10, exchange: 'mail.example.org' }],
    [
      'SOA',
      'ns.example.test. host.example.test. 2026 7200 1800 1209600 300',
      {
        mname: 'ns.example.test',
        rname: 'host.example.test',
        serial: 2026,
        refresh: 7200,
        retry: 1800,
        expire: 1209600,
        minimum: 300,
      },
    ],
    ['TXT', '"one" "two words"', ['one', 'two words']],
    ['SRV', '10 60 5060 sip.example.test.', { priority: 10, weight: 60, port: 5060, target: 'sip.example.test' }],
    ['CAA', '128 issue "ca.example.org"', { flags: 128, tag: 'issue', value: 'ca.example.org' }],
    ['HINFO', '"PC" "Linux"', { cpu: 'PC', os: 'Linux' }],
    ['PTR', 'host.example.org.', 'host.example.org'],
    ['DNAME', 'other.example.', 'other.example'],
    [
      'DS',
      '60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118',
      {
        keyTag: 60485,
        algorithm: 5,
        digestType: 1,
        digest: Buffer.from('2BB183AF5F22588179A53B0A98631FAD1A292118', 'hex'),
      },
    ],
    ['DNSKEY', '257 3 8 AwEAAa==', { flags: 257, algorithm: 8, key: Buffer.from('AwEAAa==', 'base64') }],
    [
      'SSHFP',
      '1 1 2BB183AF5F22588179A53B0A98631FAD1A292118',
      { algorithm: 1, hash: 1, fingerprint: '2bb183af5f22588179a53b0a98631fad1a292118' },
    ],
    ['TLSA', '3 1 1 ABCDEF', { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.from('abcdef', 'hex') }],
    [
      'NSEC',
      'next.example.test. A MX RRSIG NSEC',
      { nextDomain: 'next.example.test', rrtypes: ['A', 'MX', 'RRSIG', 'NSEC'] },
    ],
    [
      'NAPTR',
      '100 10 "S" "SIP+D2U" "" _sip._udp.example.test.',
      {
        order: 100,
        preference: 10,
        flags: 'S',
        services: 'SIP+D2U',
        regexp: '',
        replacement: '_sip._udp.example.test',
      },
    ],
    [
      'RRSIG',
      'A 8 3 300 20260101000000 20251201000000 12345 example.test. AAECAw==',
      {
        typeCovered: 'A',
        algorithm: 8,
        labels: 3,
        originalTTL: 300,
        expiration: Date.UTC(2026, 0, 1) / 1000,
        inception: Date.UTC(2025, 11, 1) / 1000,
        keyTag: 12345,
        signersName: 'example.test',
        signature: Buffer.from([0, 1, 2, 3]),
      },
    ],
  ];
  for (const [type, text, data] of cases) {
    it(`${type} ${text.slice(0, 40)}`, () => assert.deepEqual(ours(type, text), oracle(type, data)));
  }
});

describe('wire -> presentation -> wire is stable', () => {
  const texts: [string, string][] = [
    ['LOC', '60 9 0.000 N 24 39 0.000 E 10.00m 20m 2000m 20m'],
    ['APL', '1:192.0.2.0/24 !2:2001:db8::/32'],
    ['WKS', '192.0.2.1 6 21 23 53'],
    ['IPSECKEY', '10 3 2 gw.example.test. AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ=='],
    ['HTTPS', '1 . alpn="h2" port=443 ech=AEj+'],
    ['NSEC3PARAM', '1 0 0 -'],
    ['CERT', '1 0 8 AAEC'],
    ['URI', '10 1 "https://example.test/"'],
    ['EUI48', '00-00-5e-00-53-2a'],
    ['ZONEMD', '2026 1 1 ABCDEF'],
    ['CSYNC', '66 3 A NS AAAA'],
  ];
  for (const [type, text] of texts) {
    it(type, () => {
      const wire = ours(type, text);
      const printed = decodeRdata(typeFromText(type) as number, wire);
      assert.deepEqual(ours(type, printed), wire, printed);
    });
  }
});
