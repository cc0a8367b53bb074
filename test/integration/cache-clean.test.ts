// A clean cache as users see it: the real server forwarding to a fake upstream that adds records
// which do not answer the question (unrelated answers, off-chain data, other zones' NS, glue out of
// bailiwick or for no one); dig sees only the clean records, first from the upstream, then from
// the cache, and /metrics counts what was dropped.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DigRecord, DigResult } from '../helpers/dig.ts';
import { dig } from '../helpers/dig.ts';
import type { Forwarder } from '../helpers/forwarder.ts';
import { startForwarder } from '../helpers/forwarder.ts';
import { parseProm, value } from '../helpers/prom.ts';
import type { FakeRecord, FakeUpstream, Injected } from '../helpers/upstream.ts';

let fwd: Forwarder;
let up: FakeUpstream;
before(async () => {
  fwd = await startForwarder([]);
  up = fwd.up;
});
after(async () => {
  assert.equal(await fwd.close(), 0);
});

const rr = (name: string, type: string, data: unknown, ttl = 300): FakeRecord => ({ name, type, ttl, data });
const sig = (name: string, covered: string, signer: string): FakeRecord =>
  rr(name, 'RRSIG', {
    typeCovered: covered,
    algorithm: 13,
    labels: 2,
    originalTTL: 300,
    expiration: 2000000000,
    inception: 1,
    keyTag: 1,
    signersName: signer,
    signature: Buffer.from('c2ln', 'base64'),
  });
/** "name TYPE first-word-of-data", lower case: what a record is, whatever the case on the wire. */
const show = (rs: DigRecord[]): string[] =>
  rs.map((r) => `${r.name} ${r.type} ${r.data.split(' ')[0] ?? ''}`.toLowerCase());
const SECTIONS = ['answer', 'authority', 'additional'] as const;
const dropped = async (): Promise<number[]> => {
  const samples = parseProm(await (await fetch(`http://127.0.0.1:${fwd.srv.adminPort}/metrics`)).text());
  return SECTIONS.map((section) => value(samples, 'edgedns_cache_records_dropped_total', { section }));
};

interface Case {
  what: string;
  qname: string;
  qtype: string;
  /** Records the upstream answers with itself (none: NOERROR with only what is injected; null: NXDOMAIN + SOA). */
  data: string[] | null;
  inject: Injected;
  digArgs?: string[];
  status: string;
  answer: string[];
  authority: string[];
  additional: string[];
  /** Records dropped: answer, authority, additional. */
  dropped: [number, number, number];
}

const CASES: Case[] = [
  {
    what: "an unrelated answer, another zone's NS, glue out of bailiwick and glue for no one",
    qname: 'www.victim.example',
    qtype: 'A',
    data: ['192.0.2.1'],
    inject: {
      answer: [rr('bank.example', 'A', '192.0.2.66')],
      authority: [rr('victim.example', 'NS', 'ns.victim.example'), rr('bank.example', 'NS', 'ns.evil.example')],
      additional: [
        rr('ns.victim.example', 'A', '192.0.2.53'),
        rr('ns.evil.example', 'A', '192.0.2.66'),
        rr('other.victim.example', 'A', '192.0.2.67'),
      ],
    },
    status: 'NOERROR',
    answer: ['www.victim.example. a 192.0.2.1'],
    authority: ['victim.example. ns ns.victim.example.'],
    additional: ['ns.victim.example. a 192.0.2.53'],
    dropped: [1, 1, 2],
  },
  {
    what: "a CNAME chain: data off the chain and the first zone's NS are dropped",
    qname: 'alias.victim.example',
    qtype: 'A',
    data: [],
    inject: {
      answer: [
        rr('alias.victim.example', 'CNAME', 'www.cdn.example'),
        rr('www.cdn.example', 'A', '192.0.2.10'),
        rr('evil.cdn.example', 'A', '192.0.2.66'),
        rr('www.victim.example', 'A', '192.0.2.66'),
      ],
      authority: [rr('cdn.example', 'NS', 'ns.cdn.example'), rr('victim.example', 'NS', 'ns.evil.example')],
      additional: [rr('ns.cdn.example', 'A', '192.0.2.54'), rr('ns.evil.example', 'A', '192.0.2.66')],
    },
    status: 'NOERROR',
    answer: ['alias.victim.example. cname www.cdn.example.', 'www.cdn.example. a 192.0.2.10'],
    authority: ['cdn.example. ns ns.cdn.example.'],
    additional: ['ns.cdn.example. a 192.0.2.54'],
    dropped: [2, 1, 1],
  },
  {
    what: 'a DNAME chain (RFC 6672): DNAME, synthesized CNAME and target data kept, the rest dropped',
    qname: 'x.old.example',
    qtype: 'A',
    data: [],
    inject: {
      answer: [
        rr('old.example', 'DNAME', 'new.example'),
        rr('x.old.example', 'CNAME', 'x.new.example'),
        rr('x.new.example', 'A', '192.0.2.20'),
        rr('new.example', 'A', '192.0.2.66'),
      ],
    },
    status: 'NOERROR',
    answer: ['old.example. dname new.example.', 'x.old.example. cname x.new.example.', 'x.new.example. a 192.0.2.20'],
    authority: [],
    additional: [],
    dropped: [1, 0, 0],
  },
  {
    what: 'RRSIGs: kept over kept RRsets, dropped over dropped ones',
    qname: 'signed.victim.example',
    qtype: 'A',
    data: ['192.0.2.30'],
    digArgs: ['+dnssec'],
    inject: {
      answer: [
        sig('signed.victim.example', 'A', 'victim.example'),
        sig('signed.victim.example', 'TXT', 'victim.example'),
      ],
      authority: [
        rr('victim.example', 'NS', 'ns.victim.example'),
        sig('victim.example', 'NS', 'victim.example'),
        rr('bank.example', 'NS', 'ns.evil.example'),
        sig('bank.example', 'NS', 'bank.example'),
      ],
    },
    status: 'NOERROR',
    answer: ['signed.victim.example. a 192.0.2.30', 'signed.victim.example. rrsig a'],
    authority: ['victim.example. ns ns.victim.example.', 'victim.example. rrsig ns'],
    additional: [],
    dropped: [1, 2, 0],
  },
  {
    what: "a negative answer keeps the zone's SOA and NSEC, drops another zone's SOA, NSEC and glue",
    qname: 'nx.victim.example',
    qtype: 'A',
    data: null,
    inject: {
      authority: [
        rr('victim.example', 'NSEC', { nextDomain: 'www.victim.example', rrtypes: ['SOA', 'NS', 'RRSIG', 'NSEC'] }),
        rr('evil.example', 'SOA', {
          mname: 'ns.evil.example',
          rname: 'h.evil.example',
          serial: 1,
          refresh: 2,
          retry: 3,
          expire: 4,
          minimum: 86400,
        }),
        rr('evil.example', 'NSEC', { nextDomain: 'z.evil.example', rrtypes: ['A'] }),
      ],
      additional: [rr('ns.evil.example', 'A', '192.0.2.66')],
    },
    status: 'NXDOMAIN',
    answer: [],
    authority: ['victim.example. soa ns.victim.example.', 'victim.example. nsec www.victim.example.'],
    additional: [],
    dropped: [0, 2, 1],
  },
  {
    what: 'names in mixed case are compared without regard to case',
    qname: 'MiXeD.Victim.Example',
    qtype: 'A',
    data: ['192.0.2.40'],
    inject: {
      authority: [rr('VICTIM.example', 'NS', 'NS.victim.EXAMPLE'), rr('Bank.Example', 'NS', 'ns.evil.example')],
      additional: [rr('ns.VICTIM.example', 'A', '192.0.2.53'), rr('NS.Evil.Example', 'A', '192.0.2.66')],
    },
    status: 'NOERROR',
    answer: ['mixed.victim.example. a 192.0.2.40'],
    authority: ['victim.example. ns ns.victim.example.'],
    additional: ['ns.victim.example. a 192.0.2.53'],
    dropped: [0, 1, 1],
  },
];

function assertClean(r: DigResult, c: Case, when: string): void {
  assert.equal(r.status, c.status, `${when}: status`);
  assert.deepEqual(show(r.answer), c.answer, `${when}: answer`);
  assert.deepEqual(show(r.authority), c.authority, `${when}: authority`);
  assert.deepEqual(show(r.additional), c.additional, `${when}: additional`);
}

describe('a clean cache: only the records that answer the question are stored and replayed', () => {
  for (const c of CASES) {
    it(c.what, async () => {
      if (c.data) up.set(c.qname, c.qtype, 300, ...c.data);
      up.inject(c.qname, c.qtype, c.inject);
      const before = await dropped();
      const asked = up.queries;
      const args = [...(c.digArgs ?? []), c.qname, c.qtype];
      assertClean(await dig(fwd.srv, args), c, 'first answer (from the upstream)');
      assert.equal(up.queries, asked + 1, 'the first answer came from the upstream');
      assertClean(await dig(fwd.srv, args), c, 'second answer (from the cache)');
      assert.equal(up.queries, asked + 1, 'the second answer came from the cache');
      const after = await dropped();
      assert.deepEqual(
        after.map((n, i) => n - (before[i] as number)),
        c.dropped,
        'edgedns_cache_records_dropped_total by section',
      );
    });
  }
});
