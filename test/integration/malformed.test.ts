// Thousands of random and mutated packets over UDP and TCP: FORMERR or silence, never a crash;
// the server still answers afterwards.
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { dig } from '../helpers/dig.ts';
import type { RunningServer } from '../helpers/server.ts';
import { startServer } from '../helpers/server.ts';
import { decode, frame, query, tcpConnect, udpExchange } from '../helpers/wire.ts';

let srv: RunningServer;
before(async () => {
  srv = await startServer();
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

let seed = 12345;
const rnd = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};

function mutate(base: Buffer): Buffer {
  const b = Buffer.from(base);
  switch (rnd(5)) {
    case 0: // flip random bytes
      for (let i = 0; i < 1 + rnd(4); i++) b[rnd(b.length)] = rnd(256);
      return b;
    case 1: // truncate
      return b.subarray(0, rnd(b.length));
    case 2: // huge counts
      b.writeUInt16BE(rnd(65536), 4 + 2 * rnd(4));
      return b;
    case 3: // a compression loop where the name is
      return Buffer.concat([b.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    default: // random bytes
      return Buffer.from(Array.from({ length: rnd(600) }, () => rnd(256)));
  }
}

describe('malformed packets', () => {
  it('survives 5000 bad UDP packets and still answers', async () => {
    const sock = dgram.createSocket('udp4');
    const base = [
      query('www.example.test', 'A'),
      query('big.example.test', 'TXT', { edns: true }),
      query('x.wild.example.test', 'A', { nsid: true }),
    ];
    let replies = 0;
    let bad = 0;
    sock.on('message', (m) => {
      replies++;
      try {
        decode(m);
      } catch {
        bad++;
      }
    });
    // From a /24 of its own: the rate limiter rightly holds back most answers to this flood, and
    // the other cases here ask from 127.0.0.1.
    await new Promise<void>((r) => sock.bind(0, '127.0.3.1', () => r()));
    for (let i = 0; i < 5000; i++) {
      sock.send(mutate(base[i % base.length] as Buffer), srv.port, '127.0.0.1');
      if (i % 200 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 300));
    sock.close();
    assert.ok(replies > 0, 'some mutated packets are still queries and get answers');
    assert.equal(bad, 0, 'every reply is a well-formed DNS message');
    // Asked from another /24 than the flood's (most of it answerable queries for three names).
    const r = await dig(srv, ['www.example.test']);
    assert.equal(r.status, 'NOERROR');
    assert.equal(srv.proc.exitCode, null);
  });

  it('FORMERR for a query with two questions, keeping the ID', async () => {
    const q = Buffer.from(query('www.example.test', 'A', { id: 777 }));
    q.writeUInt16BE(2, 4);
    const r = await udpExchange(srv.port, q);
    assert.ok(r);
    assert.equal(r.readUInt16BE(0), 777);
    assert.equal(r[3]! & 0x0f, 1);
  });

  it('no answer at all to a response (QR set) or a runt', async () => {
    const q = Buffer.from(query('www.example.test', 'A'));
    q[2] = q[2]! | 0x80;
    assert.equal(await udpExchange(srv.port, q, 400), null);
    assert.equal(await udpExchange(srv.port, Buffer.from([1, 2, 3]), 400), null);
  });

  it('drops a zero-length TCP message and answers the next one on the same connection', async () => {
    const c = await tcpConnect(srv.port, '127.0.0.1', '127.0.2.1');
    c.sock.write(Buffer.from([0, 0]));
    await new Promise((r) => setTimeout(r, 50));
    c.sock.write(frame(query('www.example.test', 'A', { id: 4321 })));
    const [reply] = await c.next(1);
    c.sock.destroy();
    assert.equal(reply?.readUInt16BE(0), 4321);
    assert.equal(srv.proc.exitCode, null);
  });

  it('survives garbage over TCP and keeps other connections working', async () => {
    for (let i = 0; i < 50; i++) {
      const c = await tcpConnect(srv.port);
      c.sock.write(frame(mutate(query('www.example.test', 'A'))));
      c.sock.write(Buffer.from(Array.from({ length: rnd(100) }, () => rnd(256))));
      c.sock.destroy();
    }
    // Another client: the 50 connections above came from 127.0.0.1 and, on a busy machine, may
    // still hold its 16 per-client slots while the node reaps them (tcp.maxPerClient).
    const r = await dig(srv, ['+tcp', '-b', '127.0.1.1', 'www.example.test']);
    assert.equal(r.status, 'NOERROR');
  });
});
