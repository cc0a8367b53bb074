// The real server, queried with the real dig over UDP and TCP, serving zones/example.test.zone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dig } from '../helpers/dig.ts';
import type { RunningServer } from '../helpers/server.ts';
import { startServer } from '../helpers/server.ts';

let srv: RunningServer;
before(async () => {
  srv = await startServer();
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

for (const transport of ['+notcp', '+tcp']) {
  describe(`authoritative answers over ${transport === '+tcp' ? 'TCP' : 'UDP'}`, () => {
    it('answers with aa, keeps the question case', async () => {
      const r = await dig(srv, [transport, 'WwW.Example.Test', 'A']);
      assert.equal(r.status, 'NOERROR');
      assert.ok(r.flags.includes('aa'), r.raw);
      assert.ok(r.flags.includes('qr'));
      assert.match(r.raw, /;WwW\.Example\.Test\.\s+IN\s+A/);
      assert.deepEqual(
        r.answer.map((a) => [a.type, a.data]),
        [['A', '192.0.2.80']],
      );
    });
    it('follows the CNAME chain', async () => {
      const r = await dig(srv, [transport, 'alias.example.test', 'A']);
      assert.deepEqual(
        r.answer.map((a) => `${a.name} ${a.type} ${a.data}`),
        [
          'alias.example.test. CNAME www2.example.test.',
          'www2.example.test. CNAME www.example.test.',
          'www.example.test. A 192.0.2.80',
        ],
      );
      assert.equal(r.answer[1]?.ttl, 300);
    });
    it('synthesizes from the wildcard', async () => {
      const r = await dig(srv, [transport, 'whatever.wild.example.test', 'TXT']);
      assert.deepEqual(
        r.answer.map((a) => `${a.name} ${a.data}`),
        ['whatever.wild.example.test. "wildcard"'],
      );
      assert.ok(r.flags.includes('aa'));
    });
    it('refers below the delegation, without aa', async () => {
      const r = await dig(srv, [transport, '+norec', 'host.sub.example.test', 'A']);
      assert.equal(r.status, 'NOERROR');
      assert.ok(!r.flags.includes('aa'), r.raw);
      assert.deepEqual(r.answer, []);
      assert.deepEqual(r.authority.map((a) => `${a.type} ${a.data}`).sort(), [
        'NS ns.example.org.',
        'NS ns1.sub.example.test.',
      ]);
      assert.deepEqual(
        r.additional.map((a) => `${a.name} ${a.data}`),
        ['ns1.sub.example.test. 192.0.2.53'],
      );
    });
    it('NXDOMAIN with the SOA at the negative TTL', async () => {
      const r = await dig(srv, [transport, 'missing.example.test', 'A']);
      assert.equal(r.status, 'NXDOMAIN');
      assert.ok(r.flags.includes('aa'));
      assert.equal(r.authority[0]?.type, 'SOA');
      assert.equal(r.authority[0]?.ttl, 300);
    });
    it('NODATA for a missing type and for an empty non-terminal', async () => {
      for (const [name, type] of [
        ['www.example.test', 'MX'],
        ['dc1.example.test', 'A'],
      ] as const) {
        const r = await dig(srv, [transport, name, type]);
        assert.equal(r.status, 'NOERROR', name);
        assert.deepEqual(r.answer, []);
        assert.equal(r.authority[0]?.type, 'SOA');
      }
    });
    it('ANY gets one RRset', async () => {
      const r = await dig(srv, [transport, 'example.test', 'ANY']);
      assert.equal(r.status, 'NOERROR');
      assert.equal(new Set(r.answer.map((a) => a.type)).size, 1);
    });
    it('MX answers carry the in-zone target address', async () => {
      const r = await dig(srv, [transport, 'example.test', 'MX']);
      assert.equal(r.answer.length, 2);
      assert.deepEqual(
        r.additional.map((a) => `${a.name} ${a.data}`),
        ['mail.example.test. 192.0.2.25'],
      );
    });
    it('REFUSED for a name under no local zone', async () => {
      const r = await dig(srv, [transport, 'www.example.org', 'A']);
      assert.equal(r.status, 'REFUSED');
    });
    it('BADVERS for EDNS version 1', async () => {
      const r = await dig(srv, [transport, '+edns=1', '+noednsneg', 'example.test', 'SOA']);
      assert.equal(r.status, 'BADVERS');
      assert.equal(r.ednsVersion, 0);
    });
    it('NOTIMP for opcode 15', async () => {
      const r = await dig(srv, [transport, '+opcode=15', 'example.test', 'SOA']);
      assert.equal(r.status, 'NOTIMP');
    });
  });
}

describe('EDNS and truncation', () => {
  it('answers OPT with our payload size 1232', async () => {
    const r = await dig(srv, ['www.example.test']);
    assert.equal(r.udp, 1232);
  });
  it('no OPT when the query has none', async () => {
    const r = await dig(srv, ['+noedns', 'www.example.test']);
    assert.equal(r.udp, undefined);
    assert.equal(r.ednsVersion, undefined);
  });
  it('+bufsize=512: TC with no partial RRset, then the full answer over TCP', async () => {
    const udp = await dig(srv, ['+bufsize=512', '+ignore', 'big.example.test', 'TXT']);
    assert.ok(udp.flags.includes('tc'), udp.raw);
    assert.deepEqual(udp.answer, []);
    assert.ok((udp.msgSize ?? 9999) <= 512);
    const retried = await dig(srv, ['+bufsize=512', 'big.example.test', 'TXT']);
    assert.ok(!retried.flags.includes('tc'));
    assert.equal(retried.answer.length, 6);
    assert.match(retried.raw, /\(TCP\)/);
  });
  it('without EDNS the limit is 512', async () => {
    const r = await dig(srv, ['+noedns', '+ignore', 'big.example.test', 'TXT']);
    assert.ok(r.flags.includes('tc'));
  });
  it('a large client buffer gets the whole answer over UDP', async () => {
    const r = await dig(srv, ['+bufsize=4096', 'big.example.test', 'TXT']);
    assert.ok(!r.flags.includes('tc'));
    assert.equal(r.answer.length, 6);
    assert.match(r.raw, /\(UDP\)/);
  });
});
