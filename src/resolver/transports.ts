// How one upstream is asked: plain DNS (UDP, and TCP after a truncated answer) or DNS over TLS on
// one pipelined connection (RFC 7858). Two implementations of one interface, chosen per upstream
// when the resolver is built; selection, retries and health (resolver.ts) do not tell them apart.

import type { Endpoint, MismatchReason, Question, UdpTransport, UpstreamAuth } from '../client/index.js';
import { DotClient, tcpExchange, upstreamDot } from '../client/index.js';
import { FLAG_TC } from '../wire/index.js';

/** What a query went out over, as the metrics count it. */
export type SentOver = 'udp' | 'tcp' | 'dot';

/** One upstream's way of carrying queries. */
export interface UpstreamTransport {
  /** `udp` for plain DNS (TCP after TC included), `tls` for DNS over TLS. */
  readonly kind: 'udp' | 'tls';
  /** Send `build(id)` and resolve with the reply that answers it; rejects with ExchangeError. */
  exchange(q: Question, build: (id: number) => Uint8Array, timeoutMs: number): Promise<Buffer>;
  /** Queries of this upstream waiting for a reply now (on its own sockets or connection). */
  readonly inFlight: number;
  close(): void;
}

/** What a transport reports and shares with the resolver. */
export interface TransportContext {
  /** The resolver's UDP queries (one socket each), shared by its plain upstreams. */
  udp: UdpTransport;
  /** The address TCP and TLS connections leave from (querySource of the upstream's family). */
  from: string | undefined;
  /** The resolver's clock (ms). */
  now(): number;
  sent(over: SentOver): void;
  mismatched(reason: MismatchReason): void;
}

/** Plain DNS: UDP from a socket of its own per query; a truncated reply asked again over TCP. */
export class PlainTransport implements UpstreamTransport {
  readonly kind = 'udp';
  readonly #to: Endpoint;
  readonly #x: TransportContext;

  constructor(to: Endpoint, x: TransportContext) {
    this.#to = to;
    this.#x = x;
  }

  get inFlight(): number {
    return 0; // counted by the shared UdpTransport
  }

  async exchange(q: Question, build: (id: number) => Uint8Array, timeoutMs: number): Promise<Buffer> {
    this.#x.sent('udp');
    const t0 = this.#x.now();
    const reply = await this.#x.udp.exchange(this.#to, q, build, timeoutMs);
    if ((reply.readUInt16BE(2) & FLAG_TC) === 0) return reply;
    // RFC 7766 §5: a truncated UDP reply means asking again over TCP.
    this.#x.sent('tcp');
    const left = Math.max(1, timeoutMs - (this.#x.now() - t0));
    return tcpExchange(this.#to, q, build, left, (r) => this.#x.mismatched(r), this.#x.from);
  }

  close(): void {}
}

/** DNS over TLS: one long-lived connection, queries pipelined on it (client/dot.ts). */
export class DotTransport implements UpstreamTransport {
  readonly kind = 'tls';
  readonly #client: DotClient;
  readonly #x: TransportContext;

  constructor(to: Endpoint, auth: UpstreamAuth, idleTimeoutMs: number, x: TransportContext) {
    this.#x = x;
    this.#client = new DotClient({
      to,
      secure: upstreamDot(auth),
      idleTimeoutMs,
      from: x.from,
      onMismatch: (r) => x.mismatched(r),
    });
  }

  get inFlight(): number {
    return this.#client.inFlight;
  }

  exchange(q: Question, build: (id: number) => Uint8Array, timeoutMs: number): Promise<Buffer> {
    this.#x.sent('dot');
    return this.#client.exchange(q, build, timeoutMs);
  }

  close(): void {
    this.#client.close();
  }
}
