// Transfers in (SOA check, AXFR, IXFR) against a fake primary on loopback that sends what the test
// scripts, message by message: a transfer over several messages, IXFR's three kinds of answer, and each way a primary can get it wrong or be
// hostile (no SOA first, a closing SOA with another serial, records after it, a connection closed
// early, silence, TSIG missing at the start, the end or for 100 messages in a row).
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { TransferError, axfr, ixfr, soaSerialOf } from '../../../src/client/index.ts';
import type { TsigKey } from '../../../src/wire/index.ts';
import type { WireRecord } from '../../../src/wire/index.ts';
import {
  FrameReader,
  NSCOUNT,
  frame,
  parseMessage,
  soaSerial,
  tsigSign,
  tsigVerify,
  u16,
} from '../../../src/wire/index.ts';

const ZONE = 'example.net.';
const KEY: TsigKey = {
  name: 'xfr-key.',
  algorithm: 'hmac-sha256',
  secret: Buffer.from('0123456789abcdef0123456789abcdef'),
};
const SOA = (serial: number): dnsPacket.Answer => ({
  name: 'example.net',
  type: 'SOA',
  ttl: 300,
  data: { mname: 'ns.example.net', rname: 'h.example.net', serial, refresh: 1, retry: 1, expire: 1, minimum: 1 },
});
const A = (i: number): dnsPacket.Answer => ({
  name: `h${i}.example.net`,
  type: 'A',
  ttl: 60,
  data: `192.0.2.${i % 250}`,
});

/** A message of the answer to request `id`, with these records. */
const answer = (id: number, answers: dnsPacket.Answer[]): Buffer =>
  dnsPacket.encode({ id, type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER, answers });

type Script = (request: Buffer, send: (m: Buffer) => void, sock: net.Socket) => void;

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** A primary that runs `script` on the first request of each connection. */
async function primary(script: Script): Promise<{ host: string; port: number }> {
  const server = net.createServer((sock) => {
    const reader = new FrameReader();
    sock.on('error', () => {});
    sock.on('data', (d) => {
      reader.push(d);
      const req = reader.next();
      if (req) script(req, (m) => sock.write(frame(m)), sock);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
}

const OPTS = { key: null, timeoutMs: 10_000, maxBytes: 1 << 20 };
const rejectsWith = (p: Promise<unknown>, re: RegExp): Promise<void> =>
  assert.rejects(p, (e: unknown) => e instanceof TransferError && re.test(e.message));

describe('axfr against a scripted primary', () => {
  it('several messages: every record once, the closing SOA left out', async () => {
    const p = await primary((req, send) => {
      const id = u16(req, 0);
      send(answer(id, [SOA(7), A(1), A(2)]));
      send(answer(id, [A(3)]));
      send(answer(id, [A(4), SOA(7)]));
    });
    const t = await axfr(p, ZONE, OPTS);
    assert.equal(t.serial, 7);
    assert.equal(t.messages, 3);
    assert.equal(t.records.length, 5);
  });

  it('a primary that gets it wrong: each case named', async () => {
    const cases: [dnsPacket.Answer[][], RegExp][] = [
      [[[A(1), SOA(7)]], /does not open with the zone’s SOA/],
      [[[SOA(7), A(1)], [SOA(8)]], /closing SOA has another serial/],
      [[[SOA(7), A(1), SOA(7), A(2)]], /records after the closing SOA/],
      [[[SOA(7), A(1)]], /connection closed after 1 messages, before the answer ended/],
    ];
    for (const [messages, re] of cases) {
      const p = await primary((req, send, sock) => {
        for (const m of messages) send(answer(u16(req, 0), m));
        sock.end();
      });
      await rejectsWith(axfr(p, ZONE, OPTS), re);
    }
    const refused = await primary((req, send) =>
      send(dnsPacket.encode({ id: u16(req, 0), type: 'response', flags: 5 })),
    );
    await rejectsWith(axfr(refused, ZONE, OPTS), /refused: rcode REFUSED/);
    const otherId = await primary((req, send) => send(answer(u16(req, 0) ^ 1, [SOA(7), SOA(7)])));
    await rejectsWith(axfr(otherId, ZONE, OPTS), /does not answer the request/);
  });

  it('a silent or endless primary: stopped at the deadline or the byte cap', async () => {
    const silent = await primary(() => {});
    await rejectsWith(axfr(silent, ZONE, { ...OPTS, timeoutMs: 300 }), /not complete within 300 ms \(0 messages\)/);
    const endless = await primary((req, send) => {
      const id = u16(req, 0);
      send(answer(id, [SOA(7)]));
      for (let i = 0; i < 200; i++)
        send(
          answer(
            id,
            Array.from({ length: 50 }, (_, k) => A(k)),
          ),
        );
    });
    await rejectsWith(axfr(endless, ZONE, { ...OPTS, maxBytes: 50_000 }), /more than 50000 bytes/);
  });
});

describe('axfr with TSIG against a scripted primary', () => {
  const now = (): number => Math.floor(Date.now() / 1000);
  /** Sends `plan.length` messages (the last closes); plan[i] says whether message i is signed. */
  const signedPrimary = (plan: boolean[]): Promise<{ host: string; port: number }> =>
    primary((req, send) => {
      const v = tsigVerify(req, (n) => (n === KEY.name ? KEY : undefined), { now: now() });
      assert.equal(v.status, 'ok', 'the request is signed');
      const id = u16(req, 0);
      let prior: Uint8Array = v.mac;
      let unsigned: Buffer[] = [];
      plan.forEach((sign, i) => {
        const body = i === 0 ? [SOA(7), A(i)] : i === plan.length - 1 ? [A(i), SOA(7)] : [A(i)];
        const m = answer(id, body);
        if (!sign) {
          unsigned.push(m);
          send(m);
          return;
        }
        const s = tsigSign(m, KEY, { now: now(), priorMac: prior, unsignedBefore: unsigned, timersOnly: i > 0 });
        prior = s.mac;
        unsigned = [];
        send(s.message);
      });
    });
  const opts = { ...OPTS, key: KEY };

  it('signed first and last, unsigned runs between: taken', async () => {
    const t = await axfr(await signedPrimary([true, false, false, true, false, true]), ZONE, opts);
    assert.equal(t.messages, 6);
    assert.equal(t.records.length, 7, 'the SOA and one A record a message');
  });

  it('the first or the last unsigned, or 100 in a row: refused', async () => {
    await rejectsWith(axfr(await signedPrimary([false, true]), ZONE, opts), /first message is not signed/);
    await rejectsWith(axfr(await signedPrimary([true, true, false]), ZONE, opts), /last message is not signed/);
    const long = [true, ...Array<boolean>(100).fill(false), true];
    await rejectsWith(axfr(await signedPrimary(long), ZONE, opts), /100 messages in a row unsigned/);
  });

  it('a message changed on the way: badsig', async () => {
    const p = await primary((req, send) => {
      const v = tsigVerify(req, () => KEY, { now: now() });
      const s = tsigSign(answer(u16(req, 0), [SOA(7), A(1), SOA(7)]), KEY, { now: now(), priorMac: v.mac });
      const m = Buffer.from(s.message);
      m[m.length - 80] = (m[m.length - 80] as number) ^ 0xff;
      send(m);
    });
    await rejectsWith(axfr(p, ZONE, opts), /TSIG (badsig|formerr) in message 1/);
  });
});

/** Our version's SOA, as an IXFR request carries it. */
const have = (serial: number): WireRecord => {
  const m = parseMessage(answer(1, [SOA(serial)]));
  return m?.answer[0] as WireRecord;
};

describe('ixfr and the SOA check against a scripted primary', () => {
  it('the SOA check: the primary’s serial', async () => {
    const p = await primary((req, send) => send(answer(u16(req, 0), [SOA(12)])));
    assert.equal(await soaSerialOf(p, ZONE, OPTS), 12);
    const none = await primary((req, send) => send(answer(u16(req, 0), [A(1)])));
    await rejectsWith(soaSerialOf(none, ZONE, OPTS), /no SOA for the zone/);
  });

  it('the request: IXFR with our SOA in the authority section (RFC 1995 §3)', async () => {
    let seen: { qtype: number; ns: number; serial: number } | undefined;
    const p = await primary((req, send) => {
      const m = parseMessage(req);
      const soa = m?.authority[0];
      seen = { qtype: m?.qtype ?? 0, ns: u16(req, NSCOUNT), serial: soa ? soaSerial(soa.rdata) : -1 };
      send(answer(u16(req, 0), [SOA(7)]));
    });
    const t = await ixfr(p, ZONE, have(7), OPTS);
    assert.deepEqual(seen, { qtype: 251, ns: 1, serial: 7 });
    assert.equal(t.kind, 'current');
    assert.equal(t.serial, 7);
  });

  it('the steps from our serial, over several messages', async () => {
    const p = await primary((req, send) => {
      const id = u16(req, 0);
      send(answer(id, [SOA(9), SOA(7), A(1), SOA(8), A(2)]));
      send(answer(id, [SOA(8), A(2), SOA(9), A(3), A(4)]));
      send(answer(id, [SOA(9)]));
    });
    const t = await ixfr(p, ZONE, have(7), OPTS);
    assert.equal(t.kind, 'incremental');
    if (t.kind !== 'incremental') return;
    assert.equal(t.serial, 9);
    const name = (rr: WireRecord): string => `${rr.type}:${Buffer.from(rr.rdata).toString('hex').slice(-8)}`;
    assert.deepEqual(
      t.diffs.map((d) => ({ from: d.from, to: d.to, deleted: d.deleted.length, added: d.added.map(name).slice(1) })),
      [
        { from: 7, to: 8, deleted: 2, added: ['1:c0000202'] },
        { from: 8, to: 9, deleted: 2, added: ['1:c0000203', '1:c0000204'] },
      ],
    );
  });

  it('the whole zone when the primary has no steps to give', async () => {
    const p = await primary((req, send) => send(answer(u16(req, 0), [SOA(9), A(1), A(2), SOA(9)])));
    const t = await ixfr(p, ZONE, have(7), OPTS);
    assert.equal(t.kind, 'full');
    if (t.kind === 'full') assert.equal(t.records.length, 3);
  });

  it('a primary that gets the steps wrong: each case named', async () => {
    const cases: [dnsPacket.Answer[], RegExp][] = [
      [[SOA(9), SOA(7), A(1), SOA(8), A(2), SOA(6), SOA(9), SOA(9)], /a step from serial 6 after one that ended at 8/],
      [[SOA(9), SOA(7), SOA(9), SOA(9), A(5)], /records after the closing SOA/],
      [[SOA(9), SOA(7), A(1), SOA(8), SOA(9)], /the last step does not end at the primary’s serial/],
      [[A(1)], /does not open with the zone’s SOA/],
    ];
    for (const [records, re] of cases) {
      const p = await primary((req, send, sock) => {
        send(answer(u16(req, 0), records));
        sock.end();
      });
      await rejectsWith(ixfr(p, ZONE, have(7), OPTS), re);
    }
  });
});
