// parseQuery: sorting packets from their header bytes, the question and OPT; dns-packet builds them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { QueryStatus, Rcode, nameKey, nameFromText, parseQuery } from '../../../src/wire/index.ts';
import { query } from '../../helpers/wire.ts';

describe('parseQuery', () => {
  it('parses id, flags, the lower-case key, type, class and the question end', () => {
    const msg = query('WwW.Example.TEST', 'AAAA', { id: 0xbeef });
    const q = parseQuery(msg);
    assert.equal(q.status, QueryStatus.OK);
    assert.equal(q.id, 0xbeef);
    assert.equal(q.qtype, 28);
    assert.equal(q.qclass, 1);
    assert.equal(q.key, nameKey(nameFromText('www.example.test.', null)));
    assert.equal(q.questionEnd, msg.length);
    assert.equal(q.edns, null);
  });

  it('reads EDNS: payload size, DO bit and an NSID request', () => {
    const msg = dnsPacket.encode({
      type: 'query',
      id: 1,
      questions: [{ name: 'a.test', type: 'A', class: 'IN' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 4096,
          flags: dnsPacket.DNSSEC_OK,
          options: [
            { code: 3, data: Buffer.alloc(0) },
            { code: 65001, data: Buffer.from('xy') },
          ],
        } as unknown as dnsPacket.Answer,
      ],
    });
    const q = parseQuery(msg);
    // The empty NSID option is followed by the 2-byte option 65001 (4 + 2 bytes): its data is at the end minus 6.
    assert.deepEqual(q.edns, {
      udpSize: 4096,
      version: 0,
      dnssecOk: true,
      nsidAt: msg.length - 6,
      cookieAt: 0,
      cookieLen: 0,
      padded: false,
    });
  });

  const withCookie = (...cookies: Buffer[]): Buffer =>
    dnsPacket.encode({
      type: 'query',
      id: 1,
      questions: [{ name: 'a.test', type: 'A', class: 'IN' }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1232,
          options: cookies.map((data) => ({ code: 10, data })),
        } as unknown as dnsPacket.Answer,
      ],
    });

  it('finds the COOKIE option: a client cookie alone, or with a server cookie (RFC 7873 §4)', () => {
    for (const len of [8, 16, 24, 40]) {
      const cookie = Buffer.alloc(len, 0xab);
      const msg = withCookie(cookie);
      const q = parseQuery(msg);
      assert.equal(q.status, QueryStatus.OK);
      assert.equal(q.edns?.cookieLen, len);
      assert.deepEqual(msg.subarray(q.edns?.cookieAt, (q.edns?.cookieAt ?? 0) + len), cookie);
    }
    // The first of two is the one read.
    const q = parseQuery(withCookie(Buffer.alloc(8, 1), Buffer.alloc(24, 2)));
    assert.equal(q.edns?.cookieLen, 8);
  });

  it('answers FORMERR to a COOKIE option of a length RFC 7873 §5.2.2 forbids', () => {
    for (const len of [0, 7, 9, 15, 41]) {
      const q = parseQuery(withCookie(Buffer.alloc(len, 0xab)));
      assert.equal(q.status, QueryStatus.ERROR, `length ${len}`);
      assert.equal(q.rcode, Rcode.FORMERR);
    }
  });

  it('raises a payload size under 512 to 512 (RFC 6891 §6.2.3)', () => {
    const q = parseQuery(query('a.test', 'A', { edns: true, udpSize: 100 }));
    assert.equal(q.edns?.udpSize, 512);
  });

  const header = (flags: number, qd: number, an = 0, ns = 0, ar = 0): number[] => [
    0x12,
    0x34,
    flags >> 8,
    flags & 0xff,
    0,
    qd,
    0,
    an,
    0,
    ns,
    0,
    ar,
  ];
  const question = [1, 0x61, 4, 0x74, 0x65, 0x73, 0x74, 0, 0, 1, 0, 1];
  const cases: { name: string; bytes: number[]; status: QueryStatus; rcode?: number }[] = [
    { name: 'empty packet', bytes: [], status: QueryStatus.DROP },
    { name: 'shorter than a header', bytes: [1, 2, 3, 4, 5], status: QueryStatus.DROP },
    { name: 'QR set (a response)', bytes: [...header(0x8000, 1), ...question], status: QueryStatus.DROP },
    { name: 'no question', bytes: header(0, 0), status: QueryStatus.ERROR, rcode: Rcode.FORMERR },
    {
      name: 'two questions',
      bytes: [...header(0, 2), ...question, ...question],
      status: QueryStatus.ERROR,
      rcode: Rcode.FORMERR,
    },
    {
      name: 'question name runs past the end',
      bytes: [...header(0, 1), 5, 0x61],
      status: QueryStatus.ERROR,
      rcode: Rcode.FORMERR,
    },
    {
      name: 'compression pointer in the question',
      bytes: [...header(0, 1), 0xc0, 0x0c, 0, 1, 0, 1],
      status: QueryStatus.ERROR,
      rcode: Rcode.FORMERR,
    },
    {
      name: 'question without type and class',
      bytes: [...header(0, 1), 1, 0x61, 0],
      status: QueryStatus.ERROR,
      rcode: Rcode.FORMERR,
    },
    {
      name: 'counts larger than the packet',
      bytes: [...header(0, 1, 3, 0, 0), ...question],
      status: QueryStatus.ERROR,
      rcode: Rcode.FORMERR,
    },
    {
      name: 'opcode NOTIFY',
      bytes: [...header(4 << 11, 1), ...question],
      status: QueryStatus.ERROR,
      rcode: Rcode.NOTIMP,
    },
    { name: 'opcode 15', bytes: [...header(15 << 11, 1), ...question], status: QueryStatus.ERROR, rcode: Rcode.NOTIMP },
    {
      name: 'OPT not owned by the root',
      bytes: [...header(0, 1, 0, 0, 1), ...question, 1, 0x61, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0],
      status: QueryStatus.ERROR,
      rcode: Rcode.FORMERR,
    },
    {
      name: 'two OPT records',
      bytes: [
        ...header(0, 1, 0, 0, 2),
        ...question,
        0,
        0,
        41,
        4,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        41,
        4,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
      ],
      status: QueryStatus.ERROR,
      rcode: Rcode.FORMERR,
    },
    {
      name: 'OPT option longer than the RDATA',
      bytes: [...header(0, 1, 0, 0, 1), ...question, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 4, 0, 3, 0, 9],
      status: QueryStatus.ERROR,
      rcode: Rcode.FORMERR,
    },
    {
      name: 'EDNS version 1',
      bytes: [...header(0, 1, 0, 0, 1), ...question, 0, 0, 41, 4, 0, 0, 1, 0, 0, 0, 0],
      status: QueryStatus.ERROR,
      rcode: Rcode.BADVERS,
    },
  ];
  for (const c of cases) {
    it(`sorts: ${c.name}`, () => {
      const q = parseQuery(Uint8Array.from(c.bytes));
      assert.equal(q.status, c.status);
      if (c.rcode !== undefined) assert.equal(q.rcode, c.rcode);
    });
  }

  it('keeps the question of a BADVERS query so the answer can echo it', () => {
    const bytes = Uint8Array.from([...header(0, 1, 0, 0, 1), ...question, 0, 0, 41, 4, 0, 0, 1, 0, 0, 0, 0]);
    const q = parseQuery(bytes);
    assert.equal(q.questionEnd, 12 + question.length);
    assert.equal(q.edns?.version, 1);
  });

  it('never throws on random bytes', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 5000; i++) {
      const b = Uint8Array.from({ length: rnd() % 80 }, rnd);
      const q = parseQuery(b);
      assert.ok(q.status === QueryStatus.OK || q.status === QueryStatus.DROP || q.status === QueryStatus.ERROR);
    }
  });
});
