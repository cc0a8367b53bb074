// Forwarding to upstream resolvers: the healthy upstream with the lowest smoothed RTT first, the
// next one on timeout/SERVFAIL/REFUSED, a per-try timeout and an overall deadline, TC → TCP.
// (Identical questions in flight are coalesced one level up, where the cache is filled.)

import { readFileSync } from 'node:fs';
import type { Clock } from '../core/index.js';
import { FLAG_TC, Rcode, parseMessage } from '../wire/index.js';
import type { Message } from '../wire/index.js';
import type { Question } from './query.js';
import { buildQuery } from './query.js';
import type { Endpoint, MismatchReason } from './transport.js';
import { ExchangeError, UdpPool, tcpExchange } from './transport.js';

export interface ResolverObserver {
  sent(upstream: string, transport: 'udp' | 'tcp'): void;
  timeout(upstream: string): void;
  error(upstream: string, kind: 'network' | 'servfail' | 'refused' | 'malformed'): void;
  mismatched(reason: MismatchReason): void;
  rtt(upstream: string, seconds: number): void;
  /** An upstream became healthy or unhealthy. */
  health(upstream: string, healthy: boolean): void;
}

const NOOP: ResolverObserver = { sent: () => {}, timeout: () => {}, error: () => {}, mismatched: () => {}, rtt: () => {}, health: () => {} };

export interface ResolverOptions {
  upstreams: readonly Endpoint[];
  /** Per-try timeout (ms). */
  timeoutMs: number;
  /** Overall deadline for one resolution (ms). */
  deadlineMs: number;
  udpPayload: number;
  /** Queries per UDP socket before it is replaced. */
  socketReuse: number;
  clock: Clock;
  observer?: ResolverObserver;
}

/** Why a resolution produced no usable answer. */
export class ResolveError extends Error {
  readonly reason: 'timeout' | 'unreachable' | 'servfail' | 'no-upstreams';
  constructor(reason: ResolveError['reason'], message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface UpstreamAnswer {
  message: Message;
  upstream: string;
}

export interface UpstreamStatus {
  address: string;
  healthy: boolean;
  srttMs: number;
  queries: number;
  failures: number;
}

interface Upstream extends Endpoint {
  label: string;
  srtt: number;
  healthy: boolean;
  consecutiveFailures: number;
  queries: number;
  failures: number;
  /** While unhealthy, not tried before this time (ms) unless nothing else is left. */
  retryAt: number;
}

const INITIAL_SRTT_MS = 50;
const FAILURES_TO_UNHEALTHY = 3;
const UNHEALTHY_BACKOFF_MS = 5000;

export class Resolver {
  readonly #o: ResolverOptions;
  readonly #obs: ResolverObserver;
  readonly #ups: Upstream[];
  readonly #pools: { udp4: UdpPool; udp6: UdpPool };

  constructor(opts: ResolverOptions) {
    this.#o = opts;
    this.#obs = opts.observer ?? NOOP;
    this.#ups = opts.upstreams.map((u) => ({ ...u, label: u.host.includes(':') ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`, srtt: INITIAL_SRTT_MS, healthy: true, consecutiveFailures: 0, queries: 0, failures: 0, retryAt: 0 }));
    const mismatch = (r: MismatchReason): void => this.#obs.mismatched(r);
    this.#pools = { udp4: new UdpPool('udp4', opts.socketReuse, mismatch), udp6: new UdpPool('udp6', opts.socketReuse, mismatch) };
  }

  get hasUpstreams(): boolean {
    return this.#ups.length > 0;
  }

  /** Resolve a question upstream. Rejects with ResolveError when no upstream gives an answer. */
  resolve(q: Question): Promise<UpstreamAnswer> {
    return this.#resolve(q);
  }

  status(): UpstreamStatus[] {
    return this.#ups.map((u) => ({ address: u.label, healthy: u.healthy, srttMs: Math.round(u.srtt * 10) / 10, queries: u.queries, failures: u.failures }));
  }

  close(): void {
    this.#pools.udp4.close();
    this.#pools.udp6.close();
  }

  async #resolve(q: Question): Promise<UpstreamAnswer> {
    if (this.#ups.length === 0) throw new ResolveError('no-upstreams', 'no upstream resolvers configured');
    const start = this.#o.clock.now();
    const deadline = start + this.#o.deadlineMs;
    const order = this.#order(start);
    // Built only when needed: an Error captures a stack trace, which costs more than a cache fill.
    let last: ResolveError | undefined;
    let servfail: UpstreamAnswer | undefined;
    // Each upstream once in order of preference, then again while time is left.
    for (let attempt = 0; attempt < order.length * 2; attempt++) {
      const now = this.#o.clock.now();
      const left = deadline - now;
      if (left <= 0) break;
      const up = order[attempt % order.length] as Upstream;
      up.queries++;
      try {
        const reply = await this.#exchange(up, q, Math.min(this.#o.timeoutMs, left));
        const msg = parseMessage(reply);
        if (!msg) {
          this.#obs.error(up.label, 'malformed');
          this.#fail(up);
          last = new ResolveError('unreachable', `malformed reply from ${up.label}`);
          continue;
        }
        this.#ok(up, this.#o.clock.now() - now);
        if (msg.rcode === Rcode.SERVFAIL || msg.rcode === Rcode.REFUSED) {
          // RFC 1034 §5.3.3: try another server; keep the SERVFAIL in case none does better.
          this.#obs.error(up.label, msg.rcode === Rcode.SERVFAIL ? 'servfail' : 'refused');
          if (msg.rcode === Rcode.SERVFAIL) servfail ??= { message: msg, upstream: up.label };
          last = new ResolveError('servfail', `${up.label} answered ${msg.rcode === Rcode.SERVFAIL ? 'SERVFAIL' : 'REFUSED'}`);
          continue;
        }
        return { message: msg, upstream: up.label };
      } catch (e) {
        if (!(e instanceof ExchangeError)) throw e;
        if (e.kind === 'timeout') this.#obs.timeout(up.label);
        else this.#obs.error(up.label, 'network');
        this.#fail(up);
        last = new ResolveError(e.kind === 'timeout' ? 'timeout' : 'unreachable', e.message);
      }
    }
    if (servfail) return servfail;
    throw last ?? new ResolveError('timeout', 'no upstream answered in time');
  }

  async #exchange(up: Upstream, q: Question, timeoutMs: number): Promise<Buffer> {
    const build = (id: number): Buffer => buildQuery(q, id, this.#o.udpPayload);
    const pool = up.host.includes(':') ? this.#pools.udp6 : this.#pools.udp4;
    this.#obs.sent(up.label, 'udp');
    const t0 = this.#o.clock.now();
    const reply = await pool.exchange(up, q, build, timeoutMs);
    if ((reply.readUInt16BE(2) & FLAG_TC) === 0) return reply;
    // RFC 7766 §5: a truncated UDP reply means asking again over TCP.
    this.#obs.sent(up.label, 'tcp');
    const left = Math.max(1, timeoutMs - (this.#o.clock.now() - t0));
    return tcpExchange(up, q, build, left, (r) => this.#obs.mismatched(r));
  }

  /** Healthy upstreams by smoothed RTT, then unhealthy ones whose back-off has passed, then the rest. */
  #order(now: number): Upstream[] {
    const healthy = this.#ups.filter((u) => u.healthy).sort((a, b) => a.srtt - b.srtt);
    const due = this.#ups.filter((u) => !u.healthy && u.retryAt <= now);
    const waiting = this.#ups.filter((u) => !u.healthy && u.retryAt > now);
    return [...healthy, ...due, ...waiting];
  }

  #ok(up: Upstream, rttMs: number): void {
    up.srtt = 0.7 * up.srtt + 0.3 * rttMs;
    up.consecutiveFailures = 0;
    this.#obs.rtt(up.label, rttMs / 1000);
    if (!up.healthy) {
      up.healthy = true;
      this.#obs.health(up.label, true);
    }
  }

  #fail(up: Upstream): void {
    up.failures++;
    up.consecutiveFailures++;
    up.srtt = Math.min(up.srtt * 2, 5000);
    up.retryAt = this.#o.clock.now() + UNHEALTHY_BACKOFF_MS;
    if (up.healthy && up.consecutiveFailures >= FAILURES_TO_UNHEALTHY) {
      up.healthy = false;
      this.#obs.health(up.label, false);
    }
  }
}

/** The `nameserver` lines of resolv.conf as endpoints on port 53. */
export function readResolvConf(path = '/etc/resolv.conf'): Endpoint[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: Endpoint[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+([0-9a-fA-F:.]+)(%\S+)?\s*$/.exec(line);
    if (m) out.push({ host: m[1] as string, port: 53 });
  }
  return out;
}
