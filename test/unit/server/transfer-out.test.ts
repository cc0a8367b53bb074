// Outgoing zone transfers without dig: the messages of a whole zone (SOA first and last, several
// records a message, none over its cap, every one signed over the MAC before it), the answers the
// query path gives over UDP and TCP (FORMERR for AXFR over UDP, the SOA alone for a current IXFR,
// NOTAUTH for a name that is no zone here), the concurrency caps and their release, a zone file
// changed since it was loaded, and the node's own transfer client (client/transfer.ts) taking a
// zone from a real listener, signed and unsigned.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TransferError, axfr, ixfr, soaSerialOf } from '../../../src/client/index.ts';
import { CidrSet, silentLogger } from '../../../src/core/index.ts';
import { buildIdentity } from '../../../src/identity/index.ts';
import type { ListenerSet, TransferKind, TransferResult, TransferSink } from '../../../src/server/index.ts';
import { Cookies, OutgoingTransfers, Pipeline, startListeners } from '../../../src/server/index.ts';
import { tsigSigner, zoneMessages, UNSIGNED } from '../../../src/server/transfer-messages.ts';
import type { Query, TsigKey, WireRecord } from '../../../src/wire/index.ts';
import {
  Class,
  T,
  absoluteName,
  encodeQuery,
  nameKey,
  newQuery,
  parseQuery,
  tsigKeyToText,
  tsigSign,
  tsigVerify,
} from '../../../src/wire/index.ts';
import type { ZoneDump } from '../../../src/zone/index.ts';
import { ZoneStore, buildZone, formatRecord, parseZoneFile, parseZoneText } from '../../../src/zone/index.ts';
import { decode } from '../../helpers/wire.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { KEY, NOW, RULES } from '../../helpers/transfer.ts';

const ORIGIN = 'example.test.';
const SIGNED_CLIENT = '192.0.2.1';
const OPEN_CLIENT = '192.0.2.17';
const STRANGER = '198.51.100.1';
const zoneText = (hosts: number, serial = 7): string =>
  [
    '$TTL 300',
    `@ SOA ns1 hostmaster ${serial} 3600 600 86400 300`,
    '@ NS ns1',
    'ns1 A 192.0.2.1',
    'www A 192.0.2.80',
    ...Array.from({ length: hosts }, (_, i) => `host-${i} TXT "record ${i} of the zone, long enough to fill messages"`),
  ].join('\n');

const dir = tempDir('edgedns-xfr-out-');
/** A zone file of `hosts` TXT records and the store serving it. */
function served(hosts: number, name = 'zone'): { file: string; store: ZoneStore } {
  const file = join(dir, `${name}.zone`);
  writeFileSync(file, `${zoneText(hosts)}\n`);
  const o = absoluteName(ORIGIN);
  return { file, store: new ZoneStore([buildZone(parseZoneFile(file, o), o, file)]) };
}

function request(qtype: number, o: { name?: string; serial?: number; key?: TsigKey; now?: number } = {}): Buffer {
  const qname = absoluteName(o.name ?? ORIGIN);
  const authority: WireRecord | undefined =
    o.serial === undefined
      ? undefined
      : {
          owner: qname,
          type: T.SOA,
          class: Class.IN,
          ttl: 0,
          rdata: Buffer.concat([
            Buffer.from([0, 0]),
            Buffer.from([0, 0, 0, o.serial, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
          ]),
        };
  const msg = encodeQuery({
    id: 4242,
    flags: 0,
    qname,
    qtype,
    qclass: Class.IN,
    edns: null,
    ...(authority && { authority }),
  });
  return o.key ? tsigSign(msg, o.key, { now: o.now ?? NOW }).message : msg;
}

const AXFR = 252;
const IXFR = 251;

/** What the observer was told, in order. */
type Told = [string, TransferKind, TransferResult];

function setup(o: {
  store: ZoneStore;
  dump?: (z: { file: string }) => Promise<ZoneDump>;
  perClient?: number;
  total?: number;
  now?: () => number;
}) {
  const told: Told[] = [];
  const transfers = new OutgoingTransfers(RULES, {
    zones: () => o.store,
    log: silentLogger,
    udpPayload: 1232,
    limits: { perClient: o.perClient ?? 2, total: o.total ?? 10 },
    observer: { transfer: (...t) => told.push(t) },
    now: o.now ?? ((): number => NOW),
    ...(o.dump && { dump: o.dump }),
  });
  const pipeline = new Pipeline({
    zones: o.store,
    identity: buildIdentity({ siteId: 'fra1', hostname: 'edge', version: 'edgedns' }),
    udpPayload: 1232,
    forwarder: null,
    recursionAllow: new CidrSet([]),
    rateLimit: null,
    cookies: new Cookies({ current: randomBytes(16), previous: null }, () => NOW),
    transfers,
  });
  return { pipeline, transfers, told };
}

/** Everything a stream sends, and the stream itself (null when the answer was one message). */
async function drain(messages: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const m of messages) out.push(m);
  return out;
}

function one(answer: unknown): Buffer {
  assert.ok(Buffer.isBuffer(answer), `one message, got ${String(answer)}`);
  return answer;
}

/** The records of every message's answer section, as text (the TSIG is in additional). */
function recordsOf(messages: readonly Buffer[]): string[] {
  return messages.flatMap((m) => decode(m).answers.map((r) => `${r.name} ${r.type}`));
}

/** The query as the pipeline parses it. */
function parsed(msg: Buffer): Query {
  return parseQuery(msg, newQuery());
}

describe('zoneMessages: a whole zone in messages', () => {
  const { store } = served(300, 'split');
  const zone = store.findZone(nameKey(absoluteName(ORIGIN)));
  const soa: WireRecord = {
    owner: absoluteName(ORIGIN),
    type: T.SOA,
    class: Class.IN,
    ttl: 300,
    rdata: zone?.soa.rdatas[0] as Uint8Array,
  };
  const records = parseZoneText(zoneText(300), absoluteName(ORIGIN), 'z').filter((r) => r.type !== T.SOA);
  const msg = request(AXFR);

  it('SOA first and last, every record once, in order, several a message, none over the cap', () => {
    const messages = [...zoneMessages({ query: msg, q: parsed(msg), opt: null, signer: UNSIGNED }, soa, records, 2048)];
    assert.ok(messages.length > 10, `${messages.length} messages`);
    for (const m of messages) assert.ok(m.length <= 2048, `a message of ${m.length} bytes`);
    const got = recordsOf(messages);
    assert.equal(got.length, records.length + 2);
    assert.equal(got[0], 'example.test SOA');
    assert.equal(got.at(-1), 'example.test SOA');
    assert.deepEqual(
      got.slice(1, -1),
      records.map((r) => `${formatRecord(r).split('\t')[0]?.replace(/\.$/, '')} ${formatRecord(r).split('\t')[3]}`),
    );
    for (const m of messages) {
      const d = decode(m);
      assert.ok(d.answers.length >= 2, 'several records a message');
      assert.equal(d.id, 4242);
      assert.ok(d.flag_aa);
      assert.equal(d.questions[0]?.name, 'example.test');
    }
  });

  it('a record larger than a message cannot be sent', () => {
    const big: WireRecord = {
      owner: absoluteName(`x.${ORIGIN}`),
      type: 16,
      class: 1,
      ttl: 1,
      rdata: Buffer.alloc(3000, 1),
    };
    assert.throws(
      () => [...zoneMessages({ query: msg, q: parsed(msg), opt: null, signer: UNSIGNED }, soa, [big], 2048)],
      /does not fit in a message/,
    );
  });

  it('with TSIG every message is signed: the first over the request’s MAC, each next over the one before, timers only', () => {
    const req = request(AXFR, { key: KEY });
    const requestMac = tsigVerify(req, () => KEY, { now: NOW }).mac;
    const messages = [
      ...zoneMessages(
        { query: req, q: parsed(req), opt: null, signer: tsigSigner(KEY, requestMac, () => NOW) },
        soa,
        records,
        4096,
      ),
    ];
    assert.ok(messages.length > 5);
    let prior = requestMac;
    messages.forEach((m, i) => {
      assert.ok(m.length <= 4096, 'the TSIG fits in the cap');
      const v = tsigVerify(m, () => KEY, { now: NOW, priorMac: prior, timersOnly: i > 0 });
      assert.equal(v.status, 'ok', `message ${i + 1}`);
      prior = v.mac;
    });
    // The second message does not verify as a first one would (all variables): timers only.
    const second = messages[1] as Buffer;
    const firstMac = tsigVerify(messages[0] as Buffer, () => KEY, { now: NOW, priorMac: requestMac }).mac;
    assert.equal(tsigVerify(second, () => KEY, { now: NOW, priorMac: firstMac }).status, 'badsig');
  });
});

describe('OutgoingTransfers in the query path', () => {
  const fake = (store: ZoneStore): ((z: { file: string }) => Promise<ZoneDump>) => {
    // What the thread would give: every record but the SOA, uncompressed.
    const zone = store.findZone(nameKey(absoluteName(ORIGIN)));
    const parts: Buffer[] = [];
    let count = 0;
    for (const r of parseZoneText(zoneText(300), absoluteName(ORIGIN), 'z')) {
      if (r.type === T.SOA) continue;
      const head = Buffer.alloc(10);
      head.writeUInt16BE(r.type, 0);
      head.writeUInt16BE(r.class, 2);
      head.writeUInt32BE(r.ttl, 4);
      head.writeUInt16BE(r.rdata.length, 8);
      parts.push(Buffer.from(r.owner), head, Buffer.from(r.rdata));
      count++;
    }
    assert.ok(zone);
    return () => Promise.resolve({ records: Buffer.concat(parts), count });
  };
  const { store } = served(300, 'path');

  it('UDP: AXFR is FORMERR (RFC 5936 §4.2), an older IXFR the SOA alone, a stranger REFUSED as ever', () => {
    const s = setup({ store, dump: fake(store) });
    const formerr = decode(one(s.pipeline.handle(request(AXFR), 'udp', OPEN_CLIENT)));
    assert.equal(formerr.rcode, 'FORMERR');
    const older = decode(one(s.pipeline.handle(request(IXFR, { serial: 6 }), 'udp', OPEN_CLIENT)));
    assert.equal(older.rcode, 'NOERROR');
    assert.deepEqual(recordsOf([one(s.pipeline.handle(request(IXFR, { serial: 6 }), 'udp', OPEN_CLIENT))]), [
      'example.test SOA',
    ]);
    assert.equal(older.answers.length, 1);
    assert.equal(decode(one(s.pipeline.handle(request(AXFR), 'udp', STRANGER))).rcode, 'REFUSED');
    assert.deepEqual(s.told, [
      ['example.test.', 'axfr', 'udp'],
      ['example.test.', 'ixfr', 'udp'],
      ['example.test.', 'ixfr', 'udp'],
      ['example.test.', 'axfr', 'refused'],
    ]);
  });

  it('TCP: a current IXFR gets the SOA alone, signed; a name that is no zone NOTAUTH; an IXFR without its SOA FORMERR', () => {
    const s = setup({ store, dump: fake(store) });
    let streamed = false;
    const sink: TransferSink = () => (streamed = true);
    for (const serial of [7, 8]) {
      const req = request(IXFR, { serial, key: KEY });
      const out = one(s.pipeline.handle(req, 'tcp', SIGNED_CLIENT, sink));
      assert.deepEqual(recordsOf([out]), ['example.test SOA']);
      const requestMac = tsigVerify(req, () => KEY, { now: NOW }).mac;
      assert.equal(tsigVerify(out, () => KEY, { now: NOW, priorMac: requestMac }).status, 'ok');
    }
    assert.equal(
      decode(one(s.pipeline.handle(request(AXFR, { name: 'www.example.test.' }), 'tcp', OPEN_CLIENT, sink))).rcode,
      'NOTAUTH',
    );
    assert.equal(
      decode(one(s.pipeline.handle(request(AXFR, { name: 'example.org.' }), 'tcp', OPEN_CLIENT, sink))).rcode,
      'NOTAUTH',
    );
    assert.equal(decode(one(s.pipeline.handle(request(IXFR), 'tcp', OPEN_CLIENT, sink))).rcode, 'FORMERR');
    assert.equal(decode(one(s.pipeline.handle(request(AXFR), 'tcp', SIGNED_CLIENT, sink))).rcode, 'REFUSED');
    assert.ok(!streamed, 'no stream for any of these');
    assert.deepEqual(
      s.told.map((t) => t.slice(0, 3).join(' ')),
      [
        'example.test. ixfr uptodate',
        'example.test. ixfr uptodate',
        'other axfr notauth',
        'other axfr notauth',
        'example.test. ixfr formerr',
        'example.test. axfr refused',
      ],
    );
  });

  it('a signed SOA query (a secondary’s refresh check) is answered signed; a bad signature NOTAUTH; others as ever', () => {
    const s = setup({ store, dump: fake(store) });
    const soa = (key?: TsigKey): Buffer => request(T.SOA, key ? { key } : {});
    const req = soa(KEY);
    const out = one(s.pipeline.handle(req, 'udp', SIGNED_CLIENT));
    assert.deepEqual(recordsOf([out]), ['example.test SOA']);
    const requestMac = tsigVerify(req, () => KEY, { now: NOW }).mac;
    assert.equal(tsigVerify(out, () => KEY, { now: NOW, priorMac: requestMac }).status, 'ok');
    const bad = decode(
      one(s.pipeline.handle(soa({ ...KEY, secret: Buffer.from('x'.repeat(32)) }), 'tcp', SIGNED_CLIENT)),
    );
    assert.equal(bad.rcode, 'NOTAUTH');
    assert.equal(bad.answers.length, 0);
    for (const [msg, client] of [
      [soa(), SIGNED_CLIENT],
      [soa(KEY), STRANGER],
    ] as const) {
      const plain = one(s.pipeline.handle(msg, 'udp', client));
      assert.deepEqual(recordsOf([plain]), ['example.test SOA']);
      assert.equal(tsigVerify(plain, () => KEY, { now: NOW }).status, 'unsigned');
    }
  });

  it('TCP: AXFR and an older IXFR stream the whole zone', async () => {
    const s = setup({ store, dump: fake(store) });
    for (const req of [request(AXFR), request(IXFR, { serial: 6 })]) {
      let stream: AsyncIterable<Buffer> | null = null;
      assert.equal(
        s.pipeline.handle(req, 'tcp', OPEN_CLIENT, (m) => (stream = m)),
        null,
      );
      assert.ok(stream);
      assert.equal(s.transfers.active, 1, 'a slot held while it streams');
      const got = recordsOf(await drain(stream));
      assert.equal(got.length, 300 + 3 + 2);
      assert.equal(s.transfers.active, 0, 'and released at its end');
    }
    assert.deepEqual(s.told, [
      ['example.test.', 'axfr', 'ok'],
      ['example.test.', 'ixfr', 'ok'],
    ]);
  });

  it('2 transfers per client and 3 in all at once; over either REFUSED; a slot comes back when a stream ends early', async () => {
    const s = setup({ store, dump: fake(store), perClient: 2, total: 3 });
    const streams: AsyncIterable<Buffer>[] = [];
    const sink: TransferSink = (m) => streams.push(m);
    const start = (client: string): string => {
      const out = s.pipeline.handle(request(AXFR), 'tcp', client, sink);
      return out === null ? 'stream' : decode(one(out)).rcode;
    };
    assert.deepEqual(
      [start('192.0.2.17'), start('192.0.2.17'), start('192.0.2.17'), start('192.0.2.18'), start('192.0.2.19')],
      ['stream', 'stream', 'REFUSED', 'stream', 'REFUSED'],
    );
    assert.equal(s.transfers.active, 3);
    // The first stream's reader takes one message and goes away.
    const it0 = (streams[0] as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    assert.ok(!(await it0.next()).done);
    await it0.return?.();
    assert.equal(s.transfers.active, 2);
    assert.equal(start('192.0.2.19'), 'stream');
    for (const st of streams.slice(1)) await drain(st);
    assert.equal(s.transfers.active, 0);
    assert.deepEqual(
      s.told.map((t) => t[2]),
      ['limited', 'limited', 'failed', 'ok', 'ok', 'ok'],
    );
  });

  it('a zone file changed since it was loaded: SERVFAIL, not another version than the one served', async () => {
    const z = served(20, 'changed');
    const s = setup({ store: z.store });
    writeFileSync(z.file, `${zoneText(21, 8)}\n`);
    let stream: AsyncIterable<Buffer> | null = null;
    assert.equal(
      s.pipeline.handle(request(AXFR), 'tcp', OPEN_CLIENT, (m) => (stream = m)),
      null,
    );
    assert.ok(stream);
    const out = await drain(stream);
    assert.equal(out.length, 1);
    assert.equal(decode(out[0] as Buffer).rcode, 'SERVFAIL');
    assert.deepEqual(s.told, [['example.test.', 'axfr', 'failed']]);
  });
});

describe('the node’s own transfer client takes a zone from a listener (the zone file read in a thread)', () => {
  const z = served(3000, 'listener');
  let listeners: ListenerSet;
  let port = 0;
  const to = (): { host: string; port: number } => ({ host: '127.0.0.1', port });
  before(async () => {
    const s = setup({ store: z.store, now: () => Math.floor(Date.now() / 1000) });
    // Clients on loopback: the key required from 127.0.0.1, none from 127.0.0.2.
    s.transfers.configure([
      { address: '127.0.0.1/32', key: tsigKeyToText(KEY) },
      { address: '127.0.0.2/32', key: null },
    ]);
    listeners = await startListeners(
      [{ host: '127.0.0.1', port: 0 }],
      s.pipeline,
      {
        maxConnections: 10,
        maxPerClient: 10,
        firstQueryTimeoutMs: 5000,
        messageTimeoutMs: 5000,
        idleTimeoutMs: 10_000,
        maxInFlight: 10,
        maxUnwrittenBytes: 128 * 1024,
        drainTimeoutMs: 5000,
        maxUnwrittenTotal: 1 << 24,
      },
      silentLogger,
    );
    port = listeners.bound[0]?.port ?? 0;
  });
  after(async () => {
    await listeners.close();
  });
  const wanted = (): string[] =>
    parseZoneFile(z.file, absoluteName(ORIGIN))
      .map((r) => formatRecord(r))
      .sort();
  const opts = { timeoutMs: 30_000, maxBytes: 64 << 20, now: () => Math.floor(Date.now() / 1000) };

  it('AXFR with TSIG: every record of the file, over several messages', async () => {
    assert.equal(await soaSerialOf(to(), ORIGIN, { ...opts, key: KEY }), 7, 'the signed SOA check first');
    const t = await axfr(to(), ORIGIN, { ...opts, key: KEY });
    assert.equal(t.serial, 7);
    assert.ok(t.messages > 2, `${t.messages} messages`);
    assert.deepEqual(t.records.map((r) => formatRecord(r)).sort(), wanted());
  });

  it('IXFR: current at our serial, the whole zone from an older one', async () => {
    const soa = parseZoneFile(z.file, absoluteName(ORIGIN)).find((r) => r.type === T.SOA) as WireRecord;
    const current = await ixfr(to(), ORIGIN, soa, { ...opts, key: KEY });
    assert.equal(current.kind, 'current');
    const older = { ...soa, rdata: Buffer.from(soa.rdata) };
    older.rdata.writeUInt32BE(6, older.rdata.length - 20);
    const full = await ixfr(to(), ORIGIN, older, { ...opts, key: KEY });
    assert.equal(full.kind, 'full');
    assert.equal(full.kind === 'full' ? full.records.length : 0, wanted().length);
  });

  it('unsigned where the key is required: refused; another secret: the TSIG error', async () => {
    await assert.rejects(axfr(to(), ORIGIN, { ...opts, key: null }), (e: unknown) => {
      assert.ok(e instanceof TransferError);
      assert.match(e.message, /refused: rcode REFUSED/);
      return true;
    });
    await assert.rejects(
      axfr(to(), ORIGIN, { ...opts, key: { ...KEY, secret: Buffer.from('not the transfer key, but as long') } }),
      /TSIG BADSIG/,
    );
  });

  it('an entry without a key: unsigned', async () => {
    const t = await axfr(to(), ORIGIN, { ...opts, key: null, from: '127.0.0.2' });
    assert.equal(t.records.length, wanted().length);
  });
});
