// Section encoding and response assembly, checked by decoding with dns-packet.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { FLAG_AA, Section, SectionWriter, buildResponse, nameFromText, parseQuery } from '../../../src/wire/index.ts';
import { decode, query } from '../../helpers/wire.ts';

const n = (s: string): Uint8Array => nameFromText(s, null);
const a = (ip: string): Uint8Array => Uint8Array.from(ip.split('.').map(Number));

function sections(qname: string, count: number) {
  const w = new SectionWriter(n(qname));
  const recs = Array.from({ length: count }, (_, i) => ({
    owner: n(qname),
    type: 1,
    class: 1,
    ttl: 300,
    rdata: a(`192.0.2.${i + 1}`),
  }));
  w.addRRset(Section.ANSWER, recs, true);
  w.addRRset(Section.AUTHORITY, [{ owner: n('test.'), type: 2, class: 1, ttl: 60, rdata: n('ns1.test.') }], true);
  w.addRRset(
    Section.ADDITIONAL,
    [{ owner: n('ns1.test.'), type: 1, class: 1, ttl: 60, rdata: a('192.0.2.53') }],
    false,
  );
  return w.finish();
}

describe('SectionWriter + buildResponse', () => {
  it('produces a message dns-packet decodes, compressed against the question', () => {
    const msg = query('Www.Test', 'A', { id: 99 });
    const q = parseQuery(msg);
    const s = sections('www.test.', 2);
    const out = buildResponse(msg, q, { rcode: 0, flags: FLAG_AA, sections: s, opt: null, limit: 512 });
    const d = decode(out);
    assert.equal(d.id, 99);
    assert.equal(d.flag_aa, true);
    assert.equal(d.flag_rd, true);
    assert.equal(d.questions?.[0]?.name, 'Www.Test');
    assert.deepEqual(
      d.answers?.map((r) => [r.name, r.data]),
      [
        ['Www.Test', '192.0.2.1'],
        ['Www.Test', '192.0.2.2'],
      ],
    );
    // Names compressed against the question take its case; DNS compares names case-insensitively.
    assert.deepEqual(
      d.authorities?.map((r) => [r.name.toLowerCase(), r.type, String(r.data).toLowerCase()]),
      [['test', 'NS', 'ns1.test']],
    );
    assert.deepEqual(
      d.additionals?.map((r) => r.name.toLowerCase()),
      ['ns1.test'],
    );
    // Owner names point at the question: 2 bytes instead of 10.
    assert.ok(out.length < 12 + 14 + 2 * 16 + 40);
  });

  it('framed: the same bytes behind their 2-byte length, built in place (TTLs aged, OPT, a cut alike)', () => {
    const msg = query('www.test', 'A', { edns: true, udpSize: 512, id: 7 });
    const q = parseQuery(msg);
    const s = sections('www.test.', 3);
    const opt = { udpSize: 1232, dnssecOk: true, options: new Uint8Array(0) };
    for (const limit of [65535, 60]) {
      const parts = { rcode: 3, flags: FLAG_AA, sections: s, opt, limit, ttl: { age: 20, fixed: -1 } };
      const plain = buildResponse(msg, q, parts);
      const framed = buildResponse(msg, q, parts, true);
      assert.equal(framed.length, plain.length + 2);
      assert.equal(framed.readUInt16BE(0), plain.length, 'RFC 1035 §4.2.2: the length of the message');
      assert.deepEqual(framed.subarray(2), plain);
    }
    assert.equal(
      decode(
        buildResponse(
          msg,
          q,
          { rcode: 0, flags: 0, sections: s, opt, limit: 65535, ttl: { age: 20, fixed: -1 } },
          true,
        ).subarray(2),
      ).answers?.[0]?.ttl,
      280,
    );
  });

  it('drops optional additional data without TC, and cuts required RRsets with TC', () => {
    const msg = query('www.test', 'A', { edns: true, udpSize: 512 });
    const q = parseQuery(msg);
    const s = sections('www.test.', 2);
    const full = buildResponse(msg, q, { rcode: 0, flags: 0, sections: s, opt: null, limit: 65535 });
    const noAdditional = buildResponse(msg, q, { rcode: 0, flags: 0, sections: s, opt: null, limit: full.length - 1 });
    const d1 = decode(noAdditional);
    assert.equal(d1.flag_tc, false);
    assert.equal(d1.additionals?.length, 0);
    assert.equal(d1.answers?.length, 2);
    const tiny = buildResponse(msg, q, { rcode: 0, flags: 0, sections: s, opt: null, limit: 40 });
    const d2 = decode(tiny);
    assert.equal(d2.flag_tc, true);
    assert.equal(d2.answers?.length, 0, 'no partial RRset');
  });

  it('appends OPT last with our payload size, the DO bit and the extended rcode', () => {
    const msg = query('www.test', 'A', { edns: true });
    const q = parseQuery(msg);
    const out = buildResponse(msg, q, {
      rcode: 16,
      flags: 0,
      sections: sections('www.test.', 1),
      opt: { udpSize: 1232, dnssecOk: true, options: new Uint8Array(0) },
      limit: 1232,
    });
    const d = decode(out);
    const opt = d.additionals?.at(-1) as unknown as {
      type: string;
      udpPayloadSize: number;
      extendedRcode: number;
      flags: number;
    };
    assert.equal(opt.type, 'OPT');
    assert.equal(opt.udpPayloadSize, 1232);
    assert.equal(opt.extendedRcode, 1); // BADVERS = 16 = 1 << 4
    assert.equal(opt.flags & dnsPacket.DNSSEC_OK, dnsPacket.DNSSEC_OK);
    assert.equal(out[3]! & 0x0f, 0);
  });

  it('does not copy Z or AD from the query (RFC 8906 §8)', () => {
    const msg = Buffer.from(query('www.test', 'A'));
    msg[3] = msg[3]! | 0x40 | 0x20; // Z and AD
    const out = buildResponse(msg, parseQuery(msg), {
      rcode: 0,
      flags: 0,
      sections: sections('www.test.', 1),
      opt: null,
      limit: 512,
    });
    assert.equal(out[3]! & 0x60, 0);
  });
});
