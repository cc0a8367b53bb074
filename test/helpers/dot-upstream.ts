// A DNS-over-TLS upstream on loopback that tests steer: answer (pipelined, in order), hold the
// replies for the test to send in any order, close on a query, or misbehave after the handshake —
// never answer, trickle a byte at a time, send garbage, or answer with wrong IDs.

import * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import type { TestCertificate } from './tls.ts';

export type DotMode = 'answer' | 'hold' | 'close' | 'silent' | 'trickle' | 'garbage' | 'wrong-id' | 'wrong-question';

interface Held {
  sock: tls.TLSSocket;
  query: Buffer;
}

export class FakeDotUpstream {
  mode: DotMode = 'answer';
  port = 0;
  /** TLS connections accepted, and open now. */
  accepted = 0;
  open = 0;
  /** Queries received (whole frames). */
  queries = 0;
  /** Names asked, lower case, in order. */
  readonly names: string[] = [];
  /** A records by name (lower case, no final dot); any other name gets NXDOMAIN. */
  readonly a = new Map<string, string>();
  /** Queries kept in `hold` mode, in arrival order. */
  readonly held: Held[] = [];
  readonly #server: tls.Server;
  readonly #conns = new Set<tls.TLSSocket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Bytes each connection still has to trickle. */
  readonly #trickling = new Map<tls.TLSSocket, Buffer>();

  private constructor(cert: TestCertificate) {
    this.#server = tls.createServer(
      { cert: readFileSync(cert.cert), key: readFileSync(cert.key), ALPNProtocols: ['dot'] },
      (s) => this.#serve(s),
    );
    this.#server.on('tlsClientError', () => {});
  }

  static async start(cert: TestCertificate): Promise<FakeDotUpstream> {
    const f = new FakeDotUpstream(cert);
    await new Promise<void>((r) => f.#server.listen(0, '127.0.0.1', () => r()));
    f.port = (f.#server.address() as { port: number }).port;
    return f;
  }

  /** Send the held replies (every one, or those `order` picks by index) and forget them. */
  release(order?: number[]): void {
    const held = this.held.splice(0);
    for (const i of order ?? held.map((_, k) => k)) {
      const h = held[i];
      if (h && !h.sock.destroyed) h.sock.write(framed(this.reply(h.query)));
    }
  }

  /** The reply to `query` (ID and question copied). */
  reply(query: Buffer, id?: number): Buffer {
    const q = dnsPacket.decode(query);
    const question = q.questions?.[0] ?? { name: '.', type: 'A' as const, class: 'IN' as const };
    const data = this.a.get(question.name.toLowerCase().replace(/\.$/, ''));
    return dnsPacket.encode({
      type: 'response',
      id: id ?? q.id ?? 0,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (data ? 0 : 3),
      questions: [question],
      answers: data ? [{ name: question.name, type: 'A', ttl: 60, class: 'IN', data }] : [],
    });
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    for (const c of this.#conns) c.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  #serve(s: tls.TLSSocket): void {
    this.accepted++;
    this.open++;
    this.#conns.add(s);
    s.once('close', () => {
      this.open--;
      this.#conns.delete(s);
    });
    s.on('error', () => s.destroy());
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + m.length);
        this.queries++;
        try {
          this.names.push(String(dnsPacket.decode(m).questions?.[0]?.name).toLowerCase());
        } catch {
          // not a message: nothing to record
        }
        this.#answer(s, m);
      }
    });
  }

  /** Queue `bytes` on `s`, sent one byte every 200 ms (one timer per connection). */
  #trickle(s: tls.TLSSocket, bytes: Buffer): void {
    const queued = this.#trickling.get(s);
    this.#trickling.set(s, queued ? Buffer.concat([queued, bytes]) : bytes);
    if (queued) return;
    const next = (): void => {
      const left = this.#trickling.get(s);
      if (!left || left.length === 0 || s.destroyed) return void this.#trickling.delete(s);
      s.write(left.subarray(0, 1));
      this.#trickling.set(s, left.subarray(1));
      const t = setTimeout(() => {
        this.#timers.delete(t);
        next();
      }, 200);
      this.#timers.add(t);
    };
    next();
  }

  #answer(s: tls.TLSSocket, m: Buffer): void {
    switch (this.mode) {
      case 'answer':
        return void s.write(framed(this.reply(m)));
      case 'hold':
        return void this.held.push({ sock: s, query: m });
      case 'close':
        return void s.destroy();
      case 'silent':
        return;
      case 'wrong-id':
        return void s.write(framed(this.reply(m, m.readUInt16BE(0) ^ 0x5555)));
      case 'wrong-question': {
        const r = this.reply(m);
        // The first label's first letter changed: the same shape, another name.
        r[13] = r[13] === 0x7a ? 0x79 : 0x7a;
        return void s.write(framed(r));
      }
      case 'garbage':
        // A frame that is no message, then a frame as long as a message and as random.
        s.write(framed(Buffer.from([1, 2, 3])));
        return void s.write(framed(Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + m[1]!) & 0xff))));
      case 'trickle':
        // The right answers, in order, one byte every 200 ms: none whole within a query's timeout.
        return this.#trickle(s, framed(this.reply(m)));
    }
  }
}

export function framed(m: Buffer): Buffer {
  const out = Buffer.alloc(m.length + 2);
  out.writeUInt16BE(m.length, 0);
  m.copy(out, 2);
  return out;
}
