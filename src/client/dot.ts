// DNS over TLS to one upstream (RFC 7858): one long-lived connection carrying many queries at once,
// each matched to its reply by ID and question (RFC 7766 §6.2.1.1: pipelined, answered in any
// order; RFC 5452 §9.1), opened when a query needs it, reopened after a close, and closed after
// `idleTimeoutMs` with nothing in flight (RFC 7858 §3.4: reuse, and close when idle).
//
//   exchange ─▶ connection (opened on demand) ─ handshake ─ check: name, CA, pin ─▶ queued frames written
//                 pending: id ─▶ { question, timer, resolve, reject }   (at most maxInFlight)
//   reply ─▶ pending.get(id) ─ checkReply ─▶ settled   (an unknown ID or another question: dropped, counted)
//   timeout ─▶ that query fails; nothing received on the connection since it was sent: the connection is closed
//   close · error · certificate problem ─▶ every pending query fails; the next exchange opens a new one
//
// Nothing is sent before the certificate check passes (RFC 8310 §5: strict privacy).

import type * as tls from 'node:tls';
import type { Question } from './query.js';
import type { Endpoint, ExchangeFailure, MismatchReason, SecureConnect } from './transport.js';
import { ExchangeError } from './transport.js';
import { FrameReader, HEADER_LEN, frame, u16 } from '../wire/index.js';
import { checkReply, randomId } from './query.js';

export interface DotOptions {
  to: Endpoint;
  secure: SecureConnect;
  /** A connection with nothing in flight for this long is closed. */
  idleTimeoutMs: number;
  /** The address connections leave from (resolver.querySource); absent: the kernel's choice. */
  from?: string | undefined;
  /** Queries in flight on the connection at most; one more fails at once. */
  maxInFlight?: number;
  /** A reply dropped, and why. */
  onMismatch?: (reason: MismatchReason) => void;
}

/** Far below the 65536 IDs, so that a random free one is found in a try or two. */
export const DOT_MAX_IN_FLIGHT = 1000;

interface Pending {
  id: number;
  q: Question;
  timeoutMs: number;
  /** performance.now() when it was queued. */
  sentAt: number;
  timer: NodeJS.Timeout | undefined;
  resolve(reply: Buffer): void;
  reject(e: Error): void;
}

/** One TLS connection and the queries on it. */
class Connection {
  readonly sock: tls.TLSSocket;
  readonly reader = new FrameReader();
  readonly pending = new Map<number, Pending>();
  /** Frames held until the certificate check passes; null once it has. */
  queue: Buffer[] | null = [];
  /** performance.now() of the last bytes received (-1: none yet). */
  lastData = -1;
  idle: NodeJS.Timeout | null = null;
  closed = false;

  constructor(sock: tls.TLSSocket) {
    this.sock = sock;
  }
}

/** Queries to one DoT upstream over one pipelined connection at a time. */
export class DotClient {
  readonly #o: DotOptions;
  readonly #max: number;
  #conn: Connection | null = null;
  #closed = false;
  /** Connections opened so far (the first and every reopening). */
  opened = 0;

  constructor(opts: DotOptions) {
    this.#o = opts;
    this.#max = opts.maxInFlight ?? DOT_MAX_IN_FLIGHT;
  }

  /** Queries waiting for their reply now. */
  get inFlight(): number {
    return this.#conn?.pending.size ?? 0;
  }

  /** Whether a connection is open (or opening). */
  get connected(): boolean {
    return this.#conn !== null;
  }

  /** Send `build(id)` on the connection (opened when there is none) and wait for the reply that answers it. */
  exchange(q: Question, build: (id: number) => Uint8Array, timeoutMs: number): Promise<Buffer> {
    if (this.#closed) return Promise.reject(failure('network', timeoutMs, 'resolver is closed'));
    let c: Connection;
    try {
      c = this.#conn ?? this.#open();
    } catch (e) {
      // tls.connect refused its options (a bad local address): a network failure like any other.
      return Promise.reject(failure('network', timeoutMs, e instanceof Error ? e.message : String(e)));
    }
    if (c.pending.size >= this.#max)
      return Promise.reject(failure('network', timeoutMs, `${this.#max} queries in flight on the connection`));
    let id = randomId();
    while (c.pending.has(id)) id = randomId();
    const msg = frame(build(id));
    return new Promise<Buffer>((resolve, reject) => {
      const p: Pending = { id, q, timeoutMs, sentAt: performance.now(), timer: undefined, resolve, reject };
      p.timer = setTimeout(() => this.#timedOut(c, p), timeoutMs);
      c.pending.set(id, p);
      if (c.idle) {
        clearTimeout(c.idle);
        c.idle = null;
      }
      if (c.queue) c.queue.push(msg);
      else c.sock.write(msg);
    });
  }

  /** Fail every query in flight and close the connection; later exchanges are refused. */
  close(): void {
    this.#closed = true;
    if (this.#conn) this.#drop(this.#conn, 'network', 'resolver closed');
  }

  #open(): Connection {
    const { to, from } = this.#o;
    const sock = this.#o.secure.connect({
      host: to.host,
      port: to.port,
      ...(from === undefined ? {} : { localAddress: from }),
    });
    const c = new Connection(sock);
    this.#conn = c;
    this.opened++;
    sock.setNoDelay(true);
    // Like the UDP sockets: an idle upstream connection does not keep the process alive.
    sock.unref();
    sock.on('secureConnect', () => {
      const problem = this.#o.secure.check(sock);
      if (problem) return this.#drop(c, 'certificate', problem);
      const queued = c.queue ?? [];
      c.queue = null;
      if (queued.length > 0) sock.write(queued.length === 1 ? (queued[0] as Buffer) : Buffer.concat(queued));
    });
    sock.on('data', (d: Buffer) => this.#data(c, d));
    sock.on('error', (e: Error) => this.#drop(c, 'network', e.message));
    sock.on('close', () => this.#drop(c, 'network', 'the connection closed before a reply'));
    return c;
  }

  #data(c: Connection, d: Buffer): void {
    if (c.closed) return;
    c.lastData = performance.now();
    c.reader.push(d);
    for (let m = c.reader.next(); m !== null; m = c.reader.next()) {
      const p = m.length >= HEADER_LEN ? c.pending.get(u16(m, 0)) : undefined;
      // Not a query in flight: another ID, a query that already timed out, or garbage.
      if (!p) {
        this.#o.onMismatch?.(m.length >= HEADER_LEN ? 'id' : 'question');
        continue;
      }
      // RFC 5452 §9.1: the same question too; a reply that does not match leaves the query waiting.
      const check = checkReply(m, p.id, p.q);
      if (check !== 'ok') {
        this.#o.onMismatch?.(check);
        continue;
      }
      this.#settle(c, p);
      // A copy: the reply is kept (the cache), the TLS record it came in is not.
      p.resolve(Buffer.from(m));
    }
  }

  #settle(c: Connection, p: Pending): void {
    clearTimeout(p.timer);
    c.pending.delete(p.id);
    if (c.pending.size === 0 && !c.closed) this.#idle(c);
  }

  #timedOut(c: Connection, p: Pending): void {
    if (c.pending.get(p.id) !== p) return;
    this.#settle(c, p);
    p.reject(failure('timeout', p.timeoutMs, `no reply within ${Math.round(p.timeoutMs)} ms`));
    // Nothing at all since this query went out (or still no handshake): the connection is stuck,
    // not one slow answer among others. Close it; the next query opens a fresh one.
    if (c.queue !== null || c.lastData < p.sentAt)
      this.#drop(c, 'network', `nothing received on the connection for ${Math.round(p.timeoutMs)} ms`);
  }

  /** Close `c` after `idleTimeoutMs` with nothing in flight (a query meanwhile cancels it). */
  #idle(c: Connection): void {
    if (c.idle) clearTimeout(c.idle);
    c.idle = setTimeout(() => {
      c.idle = null;
      if (c.pending.size > 0 || c.closed) return;
      c.closed = true;
      if (this.#conn === c) this.#conn = null;
      // RFC 7766 §6.2.3: the client closes an idle connection, gracefully.
      c.sock.destroySoon();
    }, this.#o.idleTimeoutMs);
    c.idle.unref();
  }

  /** Close `c` and fail what is in flight on it. */
  #drop(c: Connection, kind: ExchangeFailure, message: string): void {
    if (c.closed) return;
    c.closed = true;
    if (this.#conn === c) this.#conn = null;
    if (c.idle) clearTimeout(c.idle);
    c.sock.destroy();
    const pending = [...c.pending.values()];
    c.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(failure(kind, p.timeoutMs, message));
    }
  }
}

function failure(kind: ExchangeFailure, timeoutMs: number, message: string): ExchangeError {
  return new ExchangeError(kind, 'DoT', Math.round(timeoutMs), message);
}
