// The query pipeline in its fixed order, without sockets: zone answers, CHAOS, the recursion ACL,
// malformed queries, the cache, rate limiting (slip, drop, log-only) on a manual clock, cookies
// (a valid one is exempt), and what the observers are told. Responses are decoded by dns-packet.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { CidrSet, ManualClock, silentLogger } from '../../../src/core/index.ts';
import { buildIdentity } from '../../../src/identity/index.ts';
import { ResolveError } from '../../../src/resolver/index.ts';
import {
  CookieVerdict,
  Cookies,
  EDE,
  Forwarder,
  LatencySampler,
  Pipeline,
  RateLimiter,
  RrlKind,
} from '../../../src/server/index.ts';
import type {
  Answer,
  DefenceObserver,
  LimitAction,
  PipelineObserver,
  ResponseEvent,
  Transport,
} from '../../../src/server/index.ts';
import { nameFromText, nameKey } from '../../../src/wire/index.ts';
import { ZoneStore, buildZone, parseZoneText } from '../../../src/zone/index.ts';
import { testCache } from '../../helpers/cache.ts';
import { FakeResolver, upstreamReply } from '../../helpers/fake-resolver.ts';
import type { Msg } from '../../helpers/wire.ts';
import { decode } from '../../helpers/wire.ts';

/** Allowed recursion (192.0.2.0/24) and not (198.51.100.0/24). */
const FRIEND = '192.0.2.10';
const STRANGER = '198.51.100.7';
const SITE = 'fra1';

function zones(): ZoneStore {
  const origin = nameFromText('example.test.', null);
  const text = `$TTL 3600
@ SOA ns1 host 7 2 3 4 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.80
`;
  return new ZoneStore([buildZone(parseZoneText(text, origin, 'example.test.'), origin, 'example.test.')]);
}

interface QueryOptions {
  id?: number;
  type?: string;
  class?: string;
  rd?: boolean;
  /** Add an OPT record (also implied by nsid and cookie). */
  edns?: boolean;
  nsid?: boolean;
  /** COOKIE option data: 8 bytes (client cookie) or 24 (with a server cookie). */
  cookie?: Uint8Array;
}

function q(name: string, o: QueryOptions = {}): Buffer {
  const options: { code: number; data: Buffer }[] = [];
  if (o.nsid) options.push({ code: 3, data: Buffer.alloc(0) });
  if (o.cookie) options.push({ code: 10, data: Buffer.from(o.cookie) });
  const opt =
    o.edns || options.length > 0
      ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options } as unknown as dnsPacket.Answer]
      : [];
  return dnsPacket.encode({
    type: 'query',
    id: o.id ?? 4242,
    flags: o.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: (o.type ?? 'A') as 'A', class: (o.class ?? 'IN') as 'IN' }],
    additionals: opt,
  });
}

interface Opt {
  extendedRcode: number;
  options: { code: number; data: Buffer }[];
}

function optOf(m: Msg): Opt | undefined {
  return m.additionals.find((r) => r.type === 'OPT') as unknown as Opt | undefined;
}

/** RFC 8914 extended error of a response: [code, text], or null. */
function edeOf(m: Msg): [number, string] | null {
  const o = optOf(m)?.options.find((x) => x.code === 15);
  return o ? [o.data.readUInt16BE(0), o.data.subarray(2).toString('utf8')] : null;
}

/** The full rcode (RFC 6891 §6.1.3: the OPT carries its upper 8 bits). */
function rcodeOf(b: Uint8Array): number {
  return ((optOf(decode(b))?.extendedRcode ?? 0) << 4) | ((b[3] as number) & 0x0f);
}

interface Limited {
  action: LimitAction;
  logOnly: boolean;
  started: boolean;
  client: string;
  kind: RrlKind;
}

/** A pipeline with every part the node has, on a manual clock; what the observers saw. */
function setup(o: { forward?: boolean; rrl?: { logOnly: boolean } | null } = {}) {
  const clock = new ManualClock();
  const resolver = new FakeResolver();
  const cache = testCache(clock, { prefetch: false });
  const forwarder =
    o.forward === false ? null : new Forwarder(cache, resolver, silentLogger, { inFlight: 100, perZone: 100, clock });
  const cookies = new Cookies({ current: Uint8Array.from({ length: 16 }, (_, i) => i + 1), previous: null }, () =>
    Math.floor(clock.wall() / 1000),
  );
  const events: ResponseEvent[] = [];
  const counts = { query: 0, probe: 0, malformed: 0 };
  const observer: PipelineObserver = {
    query: () => void counts.query++,
    probe: () => void counts.probe++,
    // The event is reused by the next query: keep a copy.
    response: (e) => void events.push({ ...e }),
    malformed: () => void counts.malformed++,
  };
  const limited: Limited[] = [];
  const verdicts: CookieVerdict[] = [];
  const shed: string[] = [];
  const defence: DefenceObserver = {
    limited: (action, logOnly, started, client, kind) => void limited.push({ action, logOnly, started, client, kind }),
    cookie: (v) => void verdicts.push(v),
    shed: (what, action) => void shed.push(`${what} ${action}`),
  };
  const rrl = o.rrl === undefined ? { logOnly: false } : o.rrl;
  const pipeline = new Pipeline({
    zones: zones(),
    identity: buildIdentity({ siteId: SITE, hostname: 'edge-fra1.example.test', version: 'edgedns 1.2.3' }),
    udpPayload: 1232,
    forwarder,
    recursionAllow: new CidrSet(['192.0.2.0/24']),
    // 5 responses a second per account, every 2nd limited one slipped (TC=1), on the test's clock.
    rateLimit:
      rrl === null
        ? null
        : {
            limiter: new RateLimiter(
              { responsesPerSecond: 5, windowMs: 15_000, slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, tableSize: 1024 },
              () => clock.now(),
            ),
            logOnly: rrl.logOnly,
          },
    cookies,
    observer,
    defence,
  });
  return { clock, resolver, cookies, pipeline, events, counts, limited, verdicts, shed };
}

/** An answer given at once (not after asking the upstreams). */
function now(a: Answer): Buffer | null {
  assert.ok(!(a instanceof Promise), 'answered at once');
  return a;
}

function sent(a: Answer): Buffer {
  const b = now(a);
  assert.ok(b, 'a response');
  return b;
}

describe('Pipeline: zones, CHAOS, refusals', () => {
  it('a zone answer: authoritative, to any client, and the event names the zone and the sizes', () => {
    const s = setup();
    const msg = q('WWW.example.test', { id: 77 });
    const out = sent(s.pipeline.handle(msg, 'udp', STRANGER));
    const r = decode(out);
    assert.deepEqual([r.id, r.rcode, r.flag_aa, r.answers[0]?.data], [77, 'NOERROR', true, '192.0.2.80']);
    assert.equal(r.questions[0]?.name, 'WWW.example.test', 'the question as asked');
    assert.equal(s.events.length, 1);
    const e = s.events[0] as ResponseEvent;
    assert.deepEqual(
      { ...e, seconds: 0 },
      {
        transport: 'udp',
        client: STRANGER,
        key: nameKey(nameFromText('www.example.test.', null)),
        qtype: 1,
        rcode: 0,
        source: 'zone',
        zone: 'example.test.',
        seconds: 0,
        requestBytes: msg.length,
        responseBytes: out.length,
      },
    );
    assert.ok(e.seconds >= 0);
    assert.equal(s.counts.query, 1);
  });

  it('NXDOMAIN and NODATA from a zone name the zone too', () => {
    const s = setup();
    assert.equal(decode(sent(s.pipeline.handle(q('nope.example.test'), 'tcp', FRIEND))).rcode, 'NXDOMAIN');
    const nodata = decode(sent(s.pipeline.handle(q('www.example.test', { type: 'MX' }), 'udp', FRIEND)));
    assert.deepEqual([nodata.rcode, nodata.answers.length, nodata.authorities[0]?.type], ['NOERROR', 0, 'SOA']);
    assert.deepEqual(
      s.events.map((e) => [e.transport, e.rcode, e.source, e.zone]),
      [
        ['tcp', 3, 'zone', 'example.test.'],
        ['udp', 0, 'zone', 'example.test.'],
      ],
    );
  });

  it('CHAOS: the site id (RFC 4892), NODATA for another type, REFUSED for an unknown name', () => {
    const s = setup();
    const id = decode(sent(s.pipeline.handle(q('id.server', { type: 'TXT', class: 'CH' }), 'udp', STRANGER)));
    assert.deepEqual([id.rcode, id.flag_aa, (id.answers[0]?.data as Buffer[])[0]?.toString()], ['NOERROR', true, SITE]);
    const a = decode(sent(s.pipeline.handle(q('id.server', { type: 'A', class: 'CH' }), 'udp', STRANGER)));
    assert.deepEqual([a.rcode, a.answers.length], ['NOERROR', 0]);
    assert.equal(
      decode(sent(s.pipeline.handle(q('secret.bind', { type: 'TXT', class: 'CH' }), 'udp', STRANGER))).rcode,
      'REFUSED',
    );
    assert.deepEqual(
      s.events.map((e) => [e.source, e.zone]),
      [
        ['chaos', null],
        ['chaos', null],
        ['error', null],
      ],
    );
  });

  it('NSID only when asked (RFC 5001)', () => {
    const s = setup();
    const asked = optOf(decode(sent(s.pipeline.handle(q('www.example.test', { nsid: true }), 'udp', STRANGER))));
    assert.equal(asked?.options.find((o) => o.code === 3)?.data.toString(), SITE);
    const plain = optOf(decode(sent(s.pipeline.handle(q('www.example.test', { edns: true }), 'udp', STRANGER))));
    assert.deepEqual(plain?.options, []);
  });

  it('recursion for a client outside the ACL: REFUSED with EDE 18, the upstreams not asked', () => {
    const s = setup();
    const r = decode(sent(s.pipeline.handle(q('www.example.org', { edns: true }), 'udp', STRANGER)));
    assert.equal(r.rcode, 'REFUSED');
    assert.deepEqual(edeOf(r), [EDE.PROHIBITED, '']);
    assert.equal(s.resolver.total, 0);
    assert.deepEqual(
      s.events.map((e) => [e.rcode, e.source, e.zone]),
      [[5, 'error', null]],
    );
    assert.ok(
      s.pipeline.handle(q('www.example.org'), 'udp', FRIEND) instanceof Promise,
      'a client inside it is forwarded',
    );
    assert.equal(s.resolver.total, 1);
  });

  it('without forwarding, names outside the zones are REFUSED; zone transfers and other classes always', () => {
    const s = setup({ forward: false });
    for (const msg of [
      q('www.example.org'),
      q('example.test', { type: 'AXFR' }),
      q('www.example.test', { class: 'HS' }),
    ]) {
      const r = decode(sent(s.pipeline.handle(msg, 'tcp', FRIEND)));
      assert.deepEqual([r.rcode, edeOf(r)], ['REFUSED', null]);
    }
  });
});

describe('Pipeline: malformed queries', () => {
  const cases: [string, (m: Buffer) => Buffer, number | null][] = [
    ['shorter than a header: dropped', (m) => m.subarray(0, 11), null],
    [
      'a response (QR set): dropped',
      (m) => Buffer.concat([m.subarray(0, 2), Buffer.from([(m[2] as number) | 0x80]), m.subarray(3)]),
      null,
    ],
    [
      'two questions: FORMERR',
      (m) => Buffer.concat([m.subarray(0, 4), Buffer.from([0, 2]), m.subarray(6), m.subarray(12)]),
      1,
    ],
    ['the question cut short: FORMERR', (m) => m.subarray(0, m.length - 3), 1],
    [
      'opcode NOTIFY: NOTIMP',
      (m) => Buffer.concat([m.subarray(0, 2), Buffer.from([((m[2] as number) & 0x87) | (4 << 3)]), m.subarray(3)]),
      4,
    ],
  ];
  for (const [name, mangle, rcode] of cases) {
    it(name, () => {
      const s = setup();
      const msg = mangle(q('www.example.test'));
      const out = now(s.pipeline.handle(msg, 'udp', STRANGER));
      if (rcode === null) {
        assert.equal(out, null);
        assert.deepEqual([s.counts.malformed, s.counts.query, s.events.length], [1, 0, 0]);
        return;
      }
      assert.ok(out);
      assert.equal(rcodeOf(out), rcode);
      assert.equal(decode(out).id, 4242);
      assert.deepEqual(
        s.events.map((e) => [e.rcode, e.source, e.requestBytes, e.responseBytes]),
        [[rcode, 'error', msg.length, out.length]],
      );
    });
  }

  it('EDNS version 1: BADVERS (RFC 6891 §6.1.3)', () => {
    const s = setup();
    const msg = q('www.example.test', { edns: true });
    msg[msg.length - 5] = 1; // the OPT's version: its TTL's second byte (then flags, and RDLEN 0)
    assert.equal(rcodeOf(sent(s.pipeline.handle(msg, 'udp', STRANGER))), 16);
  });
});

describe('Pipeline: cache and upstreams', () => {
  it('a miss is forwarded; the same question later is a cache hit: synchronous, its ID and TTL patched', async () => {
    const s = setup();
    const first = s.pipeline.handle(q('www.example.org', { id: 1 }), 'udp', FRIEND);
    assert.ok(first instanceof Promise);
    s.resolver.settleAll((n) => upstreamReply(n, { a: '192.0.2.1' }));
    const r1 = decode((await first) as Buffer);
    assert.deepEqual([r1.id, r1.rcode, r1.flag_aa, r1.answers[0]?.ttl], [1, 'NOERROR', false, 300]);
    s.clock.advance(100_000);
    const msg = q('www.example.org', { id: 2 });
    const out = sent(s.pipeline.handle(msg, 'udp', FRIEND));
    const r2 = decode(out);
    assert.deepEqual([r2.id, r2.rcode, r2.answers[0]?.data, r2.answers[0]?.ttl], [2, 'NOERROR', '192.0.2.1', 200]);
    assert.equal((out[3] as number) & 0x80, 0x80, 'RA');
    assert.equal(s.resolver.total, 1);
    assert.deepEqual(
      s.events.map((e) => [e.source, e.zone, e.responseBytes > 0]),
      [
        ['upstream', null, true],
        ['cache', null, true],
      ],
    );
    assert.equal(s.events[1]?.responseBytes, out.length);
  });

  it('queries waiting upstream keep their own ID, question and EDNS while others are answered meanwhile', async () => {
    // The pipeline parses every query into one reused exchange; one that waits upstream gets a copy.
    const s = setup({ rrl: null });
    const a = s.pipeline.handle(q('A.example.org', { id: 11, nsid: true }), 'udp', FRIEND);
    const b = s.pipeline.handle(q('b.example.org', { id: 12, type: 'AAAA' }), 'tcp', FRIEND);
    assert.ok(a instanceof Promise && b instanceof Promise);
    // Answered at once in between: a zone answer with EDNS, a malformed query, a CHAOS question.
    const z = decode(sent(s.pipeline.handle(q('www.example.test', { id: 13, edns: true }), 'udp', STRANGER)));
    assert.deepEqual([z.id, z.questions[0]?.name, optOf(z) !== undefined], [13, 'www.example.test', true]);
    assert.equal(now(s.pipeline.handle(Buffer.alloc(5), 'udp', FRIEND)), null);
    sent(s.pipeline.handle(q('id.server', { id: 14, type: 'TXT', class: 'CH' }), 'udp', FRIEND));
    s.resolver.settleAll((n) =>
      n.startsWith('a.')
        ? upstreamReply(n, { a: '192.0.2.1' })
        : upstreamReply(n, { qtype: 'AAAA', nxZone: 'example.org' }),
    );
    const [ra, rb] = [decode((await a) as Buffer), decode((await b) as Buffer)];
    assert.deepEqual(
      [ra.id, ra.questions[0]?.name, ra.questions[0]?.type, ra.answers[0]?.data],
      [11, 'A.example.org', 'A', '192.0.2.1'],
    );
    const nsid = optOf(ra)?.options.find((o) => o.code === 3);
    assert.equal(nsid?.data.toString(), SITE, 'NSID: the first query asked for it');
    assert.deepEqual(
      [rb.id, rb.questions[0]?.name, rb.questions[0]?.type, rb.rcode],
      [12, 'b.example.org', 'AAAA', 'NXDOMAIN'],
    );
    assert.equal(optOf(rb), undefined, 'no OPT: the second query had none');
    const late = s.events.filter((e) => e.source === 'upstream');
    assert.deepEqual(
      late.map((e) => [e.transport, e.qtype]),
      [
        ['udp', 1],
        ['tcp', 28],
      ],
    );
  });

  it('framed (TCP): every kind of answer comes with its 2-byte length, the same bytes as unframed', async () => {
    const s = setup({ rrl: null });
    const unframe = (b: Buffer): Buffer => {
      assert.equal(b.readUInt16BE(0), b.length - 2, 'the length in front');
      return b.subarray(2);
    };
    // A miss answered later, then the same question as a cache hit, a zone answer, an error.
    const miss = s.pipeline.handle(q('f.example.org', { id: 5 }), 'tcp', FRIEND, undefined, true);
    assert.ok(miss instanceof Promise);
    s.resolver.settleAll((n) => upstreamReply(n, { a: '192.0.2.1' }));
    const upstream = decode(unframe((await miss) as Buffer));
    assert.deepEqual([upstream.id, upstream.answers[0]?.data], [5, '192.0.2.1']);
    for (const [msg, client] of [
      [q('f.example.org', { id: 6, nsid: true }), FRIEND],
      [q('www.example.test', { id: 7, edns: true }), STRANGER],
      [q('f.example.org', { id: 8 }), STRANGER],
      [q('id.server', { id: 9, type: 'TXT', class: 'CH' }), FRIEND],
    ] as const) {
      const framed = unframe(sent(s.pipeline.handle(msg, 'tcp', client, undefined, true)));
      const plain = sent(s.pipeline.handle(msg, 'tcp', client));
      assert.deepEqual(framed, plain);
    }
    // The observers count the message, not its frame.
    const last = s.events.slice(-2);
    assert.equal(last[0]?.responseBytes, last[1]?.responseBytes);
  });

  it('without RD a miss is REFUSED, not forwarded', () => {
    const s = setup();
    assert.equal(decode(sent(s.pipeline.handle(q('www.example.org', { rd: false }), 'udp', FRIEND))).rcode, 'REFUSED');
    assert.equal(s.resolver.total, 0);
  });

  it('upstreams failing: stale with TTL 30 and EDE 3 (RFC 8767), else SERVFAIL with EDE 22', async () => {
    const s = setup();
    const fill = s.pipeline.handle(q('www.example.org'), 'udp', FRIEND);
    s.resolver.settleAll((n) => upstreamReply(n, { a: '192.0.2.1' }));
    await fill;
    s.clock.advance(400_000);
    const stale = s.pipeline.handle(q('www.example.org', { edns: true }), 'udp', FRIEND);
    const fail = s.pipeline.handle(q('new.example.org', { edns: true }), 'udp', FRIEND);
    s.resolver.settleAll(() => new ResolveError('timeout', 'no reply from 192.0.2.53:53 within 700 ms'));
    const r = decode((await stale) as Buffer);
    assert.deepEqual(
      [r.rcode, r.answers[0]?.data, r.answers[0]?.ttl, edeOf(r)],
      ['NOERROR', '192.0.2.1', 30, [EDE.STALE_ANSWER, '']],
    );
    const f = decode((await fail) as Buffer);
    assert.deepEqual(
      [f.rcode, edeOf(f)],
      ['SERVFAIL', [EDE.NO_REACHABLE_AUTHORITY, 'no reply from 192.0.2.53:53 within 700 ms']],
    );
    assert.deepEqual(
      s.events.slice(1).map((e) => [e.source, e.rcode]),
      [
        ['stale', 0],
        ['error', 2],
      ],
    );
  });
});

describe('Pipeline: rate limiting on the limiter’s clock', () => {
  /** `n` identical zone answers to one client: what each got (full, slip, drop). */
  function flood(
    s: ReturnType<typeof setup>,
    n: number,
    transport: Transport = 'udp',
    client = STRANGER,
    o: QueryOptions = {},
  ): string[] {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const b = now(s.pipeline.handle(q('www.example.test', o), transport, client));
      if (b === null) out.push('drop');
      else {
        const r = decode(b);
        out.push(
          r.flag_tc && r.answers.length === 0 ? 'slip' : r.answers.length === 1 ? 'full' : `rcode ${rcodeOf(b)}`,
        );
      }
    }
    return out;
  }

  it('past the rate: every 2nd limited response slips (TC=1, empty), the rest are dropped; a second later, answers again', () => {
    const s = setup();
    assert.deepEqual(flood(s, 9), ['full', 'full', 'full', 'full', 'full', 'drop', 'slip', 'drop', 'slip']);
    assert.deepEqual(
      s.limited.map((l) => [l.action, l.started, l.kind, l.logOnly]),
      [
        ['drop', true, RrlKind.ANSWER, false],
        ['slip', false, RrlKind.ANSWER, false],
        ['drop', false, RrlKind.ANSWER, false],
        ['slip', false, RrlKind.ANSWER, false],
      ],
    );
    // A drop sends nothing: the event says 0 bytes; a slip's bytes are the truncated response's.
    const sizes = s.events.map((e) => e.responseBytes);
    assert.equal(sizes[5], 0);
    assert.equal(sizes[7], 0);
    assert.ok((sizes[6] as number) > 0 && (sizes[6] as number) < (sizes[0] as number));
    assert.ok(s.events.every((e) => e.requestBytes > 0 && e.source === 'zone' && e.zone === 'example.test.'));
    s.clock.advance(999);
    assert.deepEqual(flood(s, 1), ['drop'], 'the clock has not given the account a response back yet');
    s.clock.advance(1001);
    assert.deepEqual(flood(s, 1), ['full']);
  });

  it('a neighbour in the same /24 shares the account; another /24 and TCP do not', () => {
    const s = setup();
    flood(s, 5);
    assert.deepEqual(flood(s, 1, 'udp', '198.51.100.8'), ['drop']);
    assert.deepEqual(flood(s, 1, 'udp', '203.0.113.9'), ['full']);
    assert.deepEqual(flood(s, 3, 'tcp'), ['full', 'full', 'full']);
  });

  it('log-only: reported, but every response is sent in full', () => {
    const s = setup({ rrl: { logOnly: true } });
    assert.deepEqual(flood(s, 8), Array(8).fill('full'));
    assert.deepEqual(
      s.limited.map((l) => [l.action, l.logOnly]),
      [
        ['drop', true],
        ['slip', true],
        ['drop', true],
      ],
    );
  });

  it('off: no limit', () => {
    const s = setup({ rrl: null });
    assert.deepEqual(flood(s, 20), Array(20).fill('full'));
  });
});

describe('Pipeline: cookies (RFC 7873, RFC 9018)', () => {
  const CLIENT = Buffer.from('0102030405060708', 'hex');

  /** The server cookie the node gives `client` for CLIENT (the option's 24 bytes). */
  function serverCookie(s: ReturnType<typeof setup>, client: string): Buffer {
    const r = decode(sent(s.pipeline.handle(q('ns1.example.test', { cookie: CLIENT }), 'tcp', client)));
    const c = optOf(r)?.options.find((o) => o.code === 10)?.data;
    assert.ok(c && c.length === 24, 'a server cookie');
    assert.deepEqual(c.subarray(0, 8), CLIENT, 'the client cookie echoed');
    return c;
  }

  it('a client with a valid server cookie is never rate limited; its verdicts are reported', () => {
    const s = setup();
    const cookie = serverCookie(s, STRANGER);
    s.verdicts.length = 0;
    for (let i = 0; i < 20; i++) {
      const r = decode(sent(s.pipeline.handle(q('www.example.test', { cookie }), 'udp', STRANGER)));
      assert.equal(r.answers.length, 1, `response ${i} in full`);
    }
    assert.deepEqual(new Set(s.verdicts), new Set([CookieVerdict.VALID]));
    assert.equal(s.limited.length, 0);
  });

  it('the same cookie from another address is invalid, and limited like no cookie', () => {
    const s = setup();
    const cookie = serverCookie(s, STRANGER);
    s.verdicts.length = 0;
    const other = '203.0.113.9';
    const got: string[] = [];
    for (let i = 0; i < 8; i++) {
      const b = now(s.pipeline.handle(q('www.example.test', { cookie }), 'udp', other));
      got.push(b === null ? 'drop' : `rcode ${rcodeOf(b)}`);
    }
    // RFC 7873 §5.2.3: a limited client that sent a cookie is told the right one (BADCOOKIE) instead of TC=1.
    assert.deepEqual(got, ['rcode 0', 'rcode 0', 'rcode 0', 'rcode 0', 'rcode 0', 'drop', 'rcode 23', 'drop']);
    assert.deepEqual(new Set(s.verdicts), new Set([CookieVerdict.INVALID]));
    assert.deepEqual(
      s.limited.map((l) => l.action),
      ['drop', 'badcookie', 'drop'],
    );
  });

  it('a client cookie alone: a server cookie in the reply, and BADCOOKIE instead of a slip when limited', () => {
    const s = setup();
    const got: number[] = [];
    for (let i = 0; i < 7; i++) {
      const b = now(s.pipeline.handle(q('www.example.test', { cookie: CLIENT }), 'udp', STRANGER));
      if (b === null) got.push(-1);
      else {
        got.push(rcodeOf(b));
        assert.equal(optOf(decode(b))?.options.find((o) => o.code === 10)?.data.length, 24);
      }
    }
    assert.deepEqual(got, [0, 0, 0, 0, 0, -1, 23]);
    assert.deepEqual(new Set(s.verdicts), new Set([CookieVerdict.CLIENT_ONLY]));
  });

  it('the node’s own probes (their client cookie) are counted apart, not as client queries or responses', () => {
    const s = setup();
    const probe = Buffer.from(s.cookies.probeClient);
    const b = sent(s.pipeline.handle(q('www.example.test', { cookie: probe }), 'udp', '127.0.0.1'));
    assert.equal(decode(b).answers.length, 1);
    assert.deepEqual([s.counts.probe, s.counts.query, s.events.length, s.verdicts.length], [1, 0, 0, 0]);
  });
});

describe('Pipeline: shedding (SHEDDING, overloaded)', () => {
  const CLIENT = Buffer.from('0102030405060708', 'hex');
  const what = (a: Answer): string => {
    const b = now(a);
    if (b === null) return 'drop';
    const r = decode(b);
    return `${r.rcode}${r.flag_tc ? ' TC' : ''} ${r.answers.length + r.authorities.length}`;
  };

  it('NXDOMAIN to an unproven UDP client: dropped and truncated in turn; zone answers, TCP and cookies as always', () => {
    const s = setup({ rrl: null });
    s.pipeline.shed(true);
    const nx = [0, 1, 2, 3].map((i) => what(s.pipeline.handle(q(`nx${i}.example.test`), 'udp', STRANGER)));
    assert.deepEqual(nx, ['drop', 'NXDOMAIN TC 0', 'drop', 'NXDOMAIN TC 0']);
    assert.deepEqual(s.shed, ['nxdomain drop', 'nxdomain truncate', 'nxdomain drop', 'nxdomain truncate']);
    assert.equal(what(s.pipeline.handle(q('www.example.test'), 'udp', STRANGER)), 'NOERROR 1');
    assert.equal(what(s.pipeline.handle(q('nx.example.test'), 'tcp', STRANGER)), 'NXDOMAIN 1');
    const r = decode(sent(s.pipeline.handle(q('nx.example.test', { cookie: CLIENT }), 'tcp', STRANGER)));
    const cookie = optOf(r)?.options.find((o) => o.code === 10)?.data;
    assert.ok(cookie);
    assert.equal(what(s.pipeline.handle(q('nx.example.test', { cookie }), 'udp', STRANGER)), 'NXDOMAIN 1');
    assert.equal(s.shed.length, 4, 'nothing else shed');
    s.pipeline.shed(false);
    assert.equal(what(s.pipeline.handle(q('nx9.example.test'), 'udp', STRANGER)), 'NXDOMAIN 1');
  });

  it('cache misses of an unproven UDP client are dropped and not forwarded; over TCP they are', () => {
    const s = setup({ rrl: null });
    s.pipeline.shed(true);
    assert.equal(what(s.pipeline.handle(q('www.example.org'), 'udp', FRIEND)), 'drop');
    assert.equal(s.resolver.total, 0, 'the upstreams not asked');
    assert.deepEqual(s.shed, ['forward drop']);
    assert.ok(s.pipeline.handle(q('www.example.org'), 'tcp', FRIEND) instanceof Promise, 'forwarded over TCP');
    assert.equal(s.resolver.total, 1);
  });
});

describe('LatencySampler: which queries are timed', () => {
  it('every 1: every query; Infinity: none', () => {
    const all = new LatencySampler(1);
    const none = new LatencySampler(Infinity);
    for (let i = 0; i < 100; i++) {
      assert.equal(all.next(), true);
      assert.equal(none.next(), false);
    }
  });

  it('every N: the first query, then gaps of 1 … 2N−1 drawn at random (N on average)', () => {
    // random() → 0 gives the shortest gap (1), → just under 1 the longest (2N−1).
    const draws = [0, 0.999999, 0.5];
    const sampler = new LatencySampler(16, () => draws.shift() ?? 0.5);
    const timed: number[] = [];
    for (let i = 0; i < 80; i++) if (sampler.next()) timed.push(i);
    assert.deepEqual(timed.slice(0, 4), [0, 1, 32, 48]);
  });

  it('every N over many queries: close to one in N', () => {
    let seed = 1;
    const random = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const sampler = new LatencySampler(16, random);
    let n = 0;
    for (let i = 0; i < 160_000; i++) if (sampler.next()) n++;
    assert.ok(n > 9000 && n < 11_000, `${n} timed of 160000`);
  });

  it('the pipeline times as often as its observer asks; the others report -1', () => {
    const seen: number[] = [];
    const pipeline = new Pipeline({
      zones: zones(),
      identity: buildIdentity({ siteId: SITE, hostname: 'h', version: 'v' }),
      udpPayload: 1232,
      forwarder: null,
      recursionAllow: new CidrSet([]),
      rateLimit: null,
      cookies: new Cookies({ current: new Uint8Array(16), previous: null }, () => 0),
      observer: {
        timeEvery: 4,
        query: () => {},
        probe: () => {},
        malformed: () => {},
        response: (e) => void seen.push(e.seconds),
      },
    });
    for (let i = 0; i < 400; i++) sent(pipeline.handle(q('www.example.test'), 'udp', STRANGER));
    const timed = seen.filter((x) => x >= 0).length;
    assert.equal(seen.filter((x) => x !== -1 && x < 0).length, 0);
    assert.ok(timed > 40 && timed < 200, `${timed} of 400 timed`);
  });
});
