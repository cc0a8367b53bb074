// Address prefixes for the recursion ACL.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CidrSet, parseCidr, prefixNetwork } from '../../../src/core/index.ts';

describe('CidrSet', () => {
  const set = new CidrSet(['127.0.0.0/8', '10.0.0.0/8', '192.0.2.128/25', '2001:db8::/32', 'fe80::/10']);
  const table: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['10.1.2.3', true],
    ['11.0.0.1', false],
    ['192.0.2.200', true],
    ['192.0.2.1', false],
    ['2001:db8:1::5', true],
    ['2001:db9::1', false],
    ['fe80::1', true],
    ['febf::1', true],
    ['fec0::1', false],
    ['::ffff:10.0.0.1', true],
    ['::ffff:8.8.8.8', false],
    ['not-an-ip', false],
  ];
  for (const [addr, want] of table) it(`${addr} → ${want}`, () => assert.equal(set.has(addr), want));
  it('rejects invalid prefixes', () => {
    assert.equal(parseCidr('10.0.0.0/33'), undefined);
    assert.equal(parseCidr('2001:db8::/129'), undefined);
    assert.equal(parseCidr('example/8'), undefined);
    assert.ok(parseCidr('0.0.0.0/0'));
    assert.ok(new CidrSet(['0.0.0.0/0']).has('203.0.113.7'));
  });
});

describe('prefixNetwork: a prefix with host bits set', () => {
  const table: [string, string | undefined][] = [
    ['192.0.2.53/32', undefined],
    ['192.0.2.0/24', undefined],
    ['0.0.0.0/0', undefined],
    ['192.0.2.53/24', '192.0.2.0/24'],
    ['192.0.2.53/31', '192.0.2.52/31'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['2001:db8::53/128', undefined],
    ['2001:db8::/32', undefined],
    ['2001:db8::53/64', '2001:db8::/64'],
    ['2001:db8:0:1:2::1/48', '2001:db8::/48'],
    ['2001:db8:1:0:0:1:0:5/96', '2001:db8:1::1:0:0/96'],
    ['nonsense/8', undefined],
  ];
  for (const [prefix, want] of table) it(`${prefix} → ${want}`, () => assert.equal(prefixNetwork(prefix), want));
});
