// Sending one query to one upstream over UDP (from a pool of sockets on random ports, each used
// for a bounded number of queries: RFC 5452 §9.2) or TCP, and accepting only a reply from the
// address and port it was sent to, with the same ID and question.
//
//   UdpPool (per address family)
//   ├─ slot: socket on a kernel-chosen random port, `uses` so far, pending: id → Pending
//   └─ a slot that has served `maxUses` queries is retired: no new queries, closed when empty

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type { Question, ReplyCheck } from './query.js';
import { randomInt } from 'node:crypto';
import { literalLookup } from '../core/index.js';
import { FrameReader, frame } from '../wire/index.js';
import { checkReply, randomId } from './query.js';

export interface Endpoint {
  host: string;
  port: number;
}

export class ExchangeError extends Error {
  readonly kind: 'timeout' | 'network';
  constructor(kind: 'timeout' | 'network', message: string) {
    super(message);
    this.kind = kind;
  }
}

/** Why a reply was dropped: from an address/port we did not ask, wrong ID or question, not a response. */
export type MismatchReason = 'source' | Exclude<ReplyCheck, 'ok'>;

interface Pending {
  id: number;
  to: Endpoint;
  q: Question;
  done(err: Error | null, reply?: Buffer): void;
}

interface Slot {
  sock: dgram.Socket;
  uses: number;
  retired: boolean;
  pending: Map<number, Pending>;
}

/** Sockets in use at once; each query takes a random one, so its source port is unpredictable. */
const SLOTS = 16;

export class UdpPool {
  readonly #type: 'udp4' | 'udp6';
  readonly #maxUses: number;
  readonly #onMismatch: (reason: MismatchReason) => void;
  #slots: Slot[] = [];
  #closed = false;

  constructor(type: 'udp4' | 'udp6', maxUses: number, onMismatch: (reason: MismatchReason) => void) {
    this.#type = type;
    this.#maxUses = maxUses;
    this.#onMismatch = onMismatch;
  }

  /** Send `build(id)` to `to` and wait for the matching reply. */
  exchange(to: Endpoint, q: Question, build: (id: number) => Uint8Array, timeoutMs: number): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new ExchangeError('network', 'resolver is closed'));
    const slot = this.#slot();
    let id = randomId();
    while (slot.pending.has(id)) id = randomId();
    slot.uses++;
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => p.done(new ExchangeError('timeout', `no reply from ${to.host}:${to.port} within ${timeoutMs} ms`)), timeoutMs);
      const p: Pending = {
        id,
        to,
        q,
        done: (err, reply) => {
          clearTimeout(timer);
          slot.pending.delete(id);
          this.#maybeClose(slot);
          if (err) reject(err);
          else resolve(reply as Buffer);
        },
      };
      slot.pending.set(id, p);
      slot.sock.send(build(id), to.port, to.host, (err) => {
        if (err) p.done(new ExchangeError('network', `send to ${to.host}:${to.port}: ${err.message}`));
      });
    });
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#slots.filter(Boolean)) {
      s.retired = true;
      for (const p of [...s.pending.values()]) p.done(new ExchangeError('network', 'resolver closed'));
      this.#maybeClose(s);
    }
    this.#slots = [];
  }

  #slot(): Slot {
    const i = randomInt(SLOTS);
    let s = this.#slots[i];
    if (!s || s.uses >= this.#maxUses) {
      if (s) {
        s.retired = true;
        this.#maybeClose(s);
      }
      s = this.#open();
      this.#slots[i] = s;
    }
    return s;
  }

  #open(): Slot {
    const sock = dgram.createSocket({ type: this.#type, lookup: literalLookup });
    const slot: Slot = { sock, uses: 0, retired: false, pending: new Map() };
    sock.on('message', (msg, rinfo) => {
      if (msg.length < 2) return this.#onMismatch('question');
      const p = slot.pending.get(msg.readUInt16BE(0));
      if (!p) return this.#onMismatch('id');
      if (rinfo.address !== p.to.host || rinfo.port !== p.to.port) return this.#onMismatch('source');
      const check = checkReply(msg, p.id, p.q);
      if (check !== 'ok') return this.#onMismatch(check);
      p.done(null, msg);
    });
    sock.on('error', () => {
      // ICMP errors surface here on some systems; the pending queries time out and move on.
    });
    // Port 0: the kernel picks a random ephemeral port for each new socket. Exclusive: in a
    // node:cluster worker a plain bind goes through the primary and hands every worker the SAME
    // socket, so each would read (and discard as unknown) the replies to its siblings' queries.
    sock.bind({ port: 0, exclusive: true });
    sock.unref();
    return slot;
  }

  #maybeClose(s: Slot): void {
    if (s.retired && s.pending.size === 0) {
      try {
        s.sock.close();
      } catch {
        // already closed
      }
    }
  }
}

/** One query over TCP (after TC): the reply must answer it (same ID and question). */
export async function tcpExchange(to: Endpoint, q: Question, build: (id: number) => Uint8Array, timeoutMs: number, onMismatch: (r: MismatchReason) => void): Promise<Buffer> {
  const id = randomId();
  const reply = await tcpRoundTrip(to, build(id), timeoutMs);
  const check = checkReply(reply, id, q);
  if (check === 'ok') return reply;
  onMismatch(check);
  throw new ExchangeError('network', `TCP reply from ${to.host}:${to.port} does not match the query (${check})`);
}

/**
 * Connect (from `from` when given), send one framed message, and resolve with the first framed
 * message that comes back; the connection is closed either way. Rejects with ExchangeError
 * ('timeout' or 'network').
 */
export function tcpRoundTrip(to: Endpoint, msg: Uint8Array, timeoutMs: number, from?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: to.host, port: to.port, ...(from === undefined ? {} : { localAddress: from }) });
    const reader = new FrameReader();
    const finish = (err: Error | null, reply?: Buffer): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply as Buffer);
    };
    const timer = setTimeout(() => finish(new ExchangeError('timeout', `no TCP reply from ${to.host}:${to.port} within ${timeoutMs} ms`)), timeoutMs);
    sock.on('connect', () => sock.write(frame(msg)));
    sock.on('data', (d: Buffer) => {
      reader.push(d);
      const reply = reader.next();
      if (reply) finish(null, reply);
    });
    sock.on('error', (e) => finish(new ExchangeError('network', `TCP to ${to.host}:${to.port}: ${e.message}`)));
    sock.on('close', () => finish(new ExchangeError('network', `TCP connection to ${to.host}:${to.port} closed before a reply`)));
  });
}
