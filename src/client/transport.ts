// Sending one query to one server over UDP or TCP, and accepting only a reply from the address
// and port it was sent to, with the same ID and question (RFC 5452): upstream queries and probes.
//
//   UDP: one socket per query (RFC 5452 §9.2: the source port is as random as the ID)
//     bind(port 0 → a fresh kernel-chosen port, on querySource or the wildcard, exclusive)
//     → connect(upstream)   the kernel drops datagrams from any other address or port
//     → send → reply with the same ID and question, ICMP error, or timeout → close
//   An attacker must guess the ID and the port of this one query (≈ 16 + 15 bits), not an ID
//   on one of a few long-lived ports.

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import type { Question, ReplyCheck } from './query.js';
import { EdgeError, ErrorCode, literalLookup } from '../core/index.js';
import { FrameReader, frame } from '../wire/index.js';
import { checkReply, randomId } from './query.js';

export interface Endpoint {
  host: string;
  port: number;
}

/** How a query went: plain UDP or TCP, DNS over TLS, DNS over HTTPS. */
export type ExchangeTransport = 'UDP' | 'TCP' | 'DoT' | 'DoH';

/**
 * Why: no reply in time, a network fault (refused, reset, closed), or a DoT server whose
 * certificate does not authenticate it (wrong name, untrusted, pin mismatch, expired).
 */
export type ExchangeFailure = 'timeout' | 'network' | 'certificate';

/**
 * A query that got no usable reply. The message leaves out the server's address: the caller names
 * the server once, in its own words ("UDP 192.0.2.53:53: …", "no reply from 192.0.2.53:53 …").
 */
export class ExchangeError extends EdgeError {
  readonly kind: ExchangeFailure;
  readonly transport: ExchangeTransport;
  /** How long it waited for the reply (ms, rounded). */
  readonly timeoutMs: number;
  constructor(kind: ExchangeFailure, transport: ExchangeTransport, timeoutMs: number, message: string) {
    super(ErrorCode.EXCHANGE, message);
    this.kind = kind;
    this.transport = transport;
    this.timeoutMs = timeoutMs;
  }
}

function udpError(u: UdpQuery, kind: 'timeout' | 'network', message: string): ExchangeError {
  return new ExchangeError(kind, 'UDP', Math.round(u.timeoutMs), message);
}

/**
 * Why a reply was dropped: wrong ID or question, not a response. `source` (from an address or
 * port we did not ask) is no longer seen over UDP: the connected socket's kernel drops those.
 */
export type MismatchReason = 'source' | Exclude<ReplyCheck, 'ok'>;

/** Where the socket of a query finds its query: the listeners below are shared by every socket. */
const QUERY = Symbol('edgedns.upstreamQuery');
type QuerySocket = dgram.Socket & { [QUERY]?: UdpQuery | undefined };

/** One query on a socket of its own; settled exactly once, and the socket closed then. */
class UdpQuery {
  readonly transport: UdpTransport;
  readonly sock: QuerySocket;
  readonly q: Question;
  readonly id: number;
  readonly msg: Uint8Array;
  readonly timeoutMs: number;
  readonly timer: NodeJS.Timeout;
  resolve!: (reply: Buffer) => void;
  reject!: (e: Error) => void;
  settled = false;

  constructor(transport: UdpTransport, sock: QuerySocket, q: Question, id: number, msg: Uint8Array, timeoutMs: number) {
    this.transport = transport;
    this.sock = sock;
    this.q = q;
    this.id = id;
    this.msg = msg;
    this.timeoutMs = timeoutMs;
    this.timer = setTimeout(onTimeout, timeoutMs, this);
  }

  settle(err: Error | null, reply?: Buffer): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.transport.outstanding.delete(this);
    this.sock[QUERY] = undefined;
    try {
      this.sock.close();
    } catch {
      // never bound, or already closed
    }
    if (err) this.reject(err);
    else this.resolve(reply as Buffer);
  }
}

function onTimeout(u: UdpQuery): void {
  u.settle(udpError(u, 'timeout', `no reply within ${Math.round(u.timeoutMs)} ms`));
}

function onConnect(this: QuerySocket, err?: Error | null): void {
  const u = this[QUERY];
  if (!u) return;
  if (err) return u.settle(udpError(u, 'network', `connect: ${err.message}`));
  // The only closure per query: a send refused at once (EPERM, ENOBUFS) is reported only here.
  this.send(u.msg, (e: Error | null) => {
    if (e) u.settle(udpError(u, 'network', `send: ${e.message}`));
  });
}

function onMessage(this: QuerySocket, msg: Buffer): void {
  const u = this[QUERY];
  if (!u) return;
  // RFC 5452 §9.1: the ID and the question must match; the address and port already do (connect).
  const check = checkReply(msg, u.id, u.q);
  if (check !== 'ok') return u.transport.onMismatch(check);
  u.settle(null, msg);
}

function onError(this: QuerySocket, err: Error): void {
  // A bind that failed (EADDRNOTAVAIL, EMFILE), or an ICMP error on the connected socket
  // (ECONNREFUSED: nothing listens on the upstream's port): fail now rather than at the timeout.
  const u = this[QUERY];
  if (u) u.settle(udpError(u, 'network', err.message));
}

/** UDP queries, each on a fresh socket, from `querySource`/`querySourceV6` when set. */
export class UdpTransport {
  readonly #source4: string | undefined;
  readonly #source6: string | undefined;
  readonly onMismatch: (reason: MismatchReason) => void;
  /** Queries waiting for a reply (each holds one socket). */
  readonly outstanding = new Set<UdpQuery>();
  #closed = false;

  constructor(sources: { v4: string | null; v6: string | null }, onMismatch: (reason: MismatchReason) => void) {
    this.#source4 = sources.v4 ?? undefined;
    this.#source6 = sources.v6 ?? undefined;
    this.onMismatch = onMismatch;
  }

  /** Send `build(id)` to `to` from a socket of its own (on `from`, else the query source) and wait for the matching reply. */
  exchange(
    to: Endpoint,
    q: Question,
    build: (id: number) => Uint8Array,
    timeoutMs: number,
    from?: string,
  ): Promise<Buffer> {
    if (this.#closed)
      return Promise.reject(new ExchangeError('network', 'UDP', Math.round(timeoutMs), 'resolver is closed'));
    const v6 = to.host.includes(':');
    const sock: QuerySocket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', lookup: literalLookup });
    const id = randomId();
    const u = new UdpQuery(this, sock, q, id, build(id), timeoutMs);
    const p = new Promise<Buffer>((resolve, reject) => {
      u.resolve = resolve;
      u.reject = reject;
    });
    this.outstanding.add(u);
    sock[QUERY] = u;
    sock.on('message', onMessage);
    sock.on('error', onError);
    try {
      // Port 0: a port of its own, chosen by the kernel, for this query alone. Exclusive: in a
      // node:cluster worker a plain bind goes through the primary and hands every worker the SAME
      // socket, so each would read (and discard as unknown) the replies to its siblings' queries.
      sock.bind({ port: 0, address: from ?? (v6 ? this.#source6 : this.#source4), exclusive: true });
      // A bind error was reported (and the query settled) synchronously by onError.
      if (!u.settled) {
        sock.connect(to.port, to.host, onConnect);
        sock.unref();
      }
    } catch (e) {
      u.settle(udpError(u, 'network', e instanceof Error ? e.message : String(e)));
    }
    return p;
  }

  /** Fail every query still waiting; later ones are refused. */
  close(): void {
    this.#closed = true;
    for (const u of [...this.outstanding]) u.settle(udpError(u, 'network', 'resolver closed'));
  }
}

/**
 * Whether a UDP socket can be bound to `address` (port 0). Checked once at startup, so that a
 * querySource this host does not have is a startup error, not every upstream "down".
 */
export function checkSource(address: string): Promise<void> {
  const sock = dgram.createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', lookup: literalLookup });
  return new Promise<void>((resolve, reject) => {
    sock.once('error', (e) => {
      sock.close();
      reject(e);
    });
    sock.bind({ port: 0, address, exclusive: true }, () => {
      sock.close();
      resolve();
    });
  });
}

/** One query over TCP (after TC): the reply must answer it (same ID and question). */
export async function tcpExchange(
  to: Endpoint,
  q: Question,
  build: (id: number) => Uint8Array,
  timeoutMs: number,
  onMismatch: (r: MismatchReason) => void,
  from?: string,
  secure?: SecureConnect,
): Promise<Buffer> {
  const id = randomId();
  const reply = await tcpRoundTrip(to, build(id), timeoutMs, from, secure);
  return checkReplyOrThrow(reply, id, q, secure ? 'DoT' : 'TCP', timeoutMs, onMismatch);
}

/** `reply` when it answers the query `id` for `q`; else ExchangeError (and `onMismatch` told why). */
export function checkReplyOrThrow(
  reply: Buffer,
  id: number,
  q: Question,
  transport: ExchangeTransport,
  timeoutMs: number,
  onMismatch: (r: MismatchReason) => void = () => {},
): Buffer {
  const check = checkReply(reply, id, q);
  if (check === 'ok') return reply;
  onMismatch(check);
  throw new ExchangeError('network', transport, Math.round(timeoutMs), `the reply does not match the query (${check})`);
}

/** DNS over TLS (RFC 7858): how to open the connection, and what to check once it is up. */
export interface SecureConnect {
  connect(where: net.TcpNetConnectOpts): tls.TLSSocket;
  /** What is wrong with the connection made (its certificate), or null. */
  check(sock: tls.TLSSocket): string | null;
}

/**
 * Connect (from `from` when given; over TLS with `secure`), send one framed message, and resolve with the first framed
 * message that comes back; the connection is closed either way. Rejects with ExchangeError
 * ('timeout' or 'network').
 */
export function tcpRoundTrip(
  to: Endpoint,
  msg: Uint8Array,
  timeoutMs: number,
  from?: string,
  secure?: SecureConnect,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const where = { host: to.host, port: to.port, ...(from === undefined ? {} : { localAddress: from }) };
    const sock = secure ? secure.connect(where) : net.connect(where);
    const transport = secure ? 'DoT' : 'TCP';
    const reader = new FrameReader();
    const finish = (err: Error | null, reply?: Buffer): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply as Buffer);
    };
    const fail = (kind: 'timeout' | 'network', message: string): void =>
      finish(new ExchangeError(kind, transport, Math.round(timeoutMs), message));
    const timer = setTimeout(() => fail('timeout', `no reply within ${Math.round(timeoutMs)} ms`), timeoutMs);
    sock.on(secure ? 'secureConnect' : 'connect', () => {
      const problem = secure?.check(sock as tls.TLSSocket);
      if (problem) fail('network', problem);
      else sock.write(frame(msg));
    });
    sock.on('data', (d: Buffer) => {
      reader.push(d);
      const reply = reader.next();
      if (reply) finish(null, reply);
    });
    sock.on('error', (e: Error) => fail('network', e.message));
    sock.on('close', () => fail('network', 'the connection closed before a reply'));
  });
}
