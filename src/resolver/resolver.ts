// Forwarding to upstream resolvers: the healthy upstream with the lowest smoothed RTT first, the
// next one on timeout/SERVFAIL/REFUSED, a per-try timeout and an overall deadline, TC → TCP.
// An upstream that stopped answering is marked down and probed with back-off: one query at a
// time once the back-off has passed, and nothing at all sent to it otherwise.
// (Identical questions in flight are coalesced one level up, where the cache is filled.)
//
//   up ──3 failures in a row, nothing answered for a timeout──▶ down (probe after 1 s)
//   down ──back-off passed: the next resolution's first try is the probe (one at a time)──▶
//        answered → up (back-off reset)    failed → down (back-off doubled, at most 30 s)

import { readFileSync } from 'node:fs';
import type { Clock } from '../core/index.js';
import { EdgeError, ErrorCode, errorMessage, formatHostPort } from '../core/index.js';
import { Rcode, parseMessage } from '../wire/index.js';
import type { Message } from '../wire/index.js';
import type { Endpoint, MismatchReason, Question, UpstreamAuth } from '../client/index.js';
import { ExchangeError, UdpTransport, checkSource } from '../client/index.js';
import { buildQuery } from './query.js';
import type { SentOver, TransportContext, UpstreamTransport } from './transports.js';
import { DotTransport, PlainTransport } from './transports.js';

export interface ResolverObserver {
  sent(upstream: string, transport: SentOver): void;
  timeout(upstream: string): void;
  /** `certificate`: a DoT upstream's certificate did not authenticate it (it is marked down at once). */
  error(upstream: string, kind: 'network' | 'certificate' | 'servfail' | 'refused' | 'malformed'): void;
  mismatched(reason: MismatchReason): void;
  rtt(upstream: string, seconds: number): void;
  /** An upstream became healthy or unhealthy. */
  health(upstream: string, healthy: boolean): void;
}

/** An observer that records nothing (the default, and for tests). */
export const NOOP_RESOLVER_OBSERVER: ResolverObserver = {
  sent: () => {},
  timeout: () => {},
  error: () => {},
  mismatched: () => {},
  rtt: () => {},
  health: () => {},
};

/** An upstream: its address, and for DNS over TLS how it is authenticated (null or absent: plain DNS). */
export interface UpstreamSpec extends Endpoint {
  tls?: UpstreamAuth | null;
}

/** A DoT connection with nothing in flight is closed after this long unless told otherwise. */
const TLS_IDLE_MS = 10_000;

export interface ResolverOptions {
  upstreams: readonly UpstreamSpec[];
  /** Per-try timeout (ms). */
  timeoutMs: number;
  /** Overall deadline for one resolution (ms). */
  deadlineMs: number;
  udpPayload: number;
  /** The address IPv4 / IPv6 queries leave from; null or absent: the kernel's choice. */
  querySource?: string | null;
  querySourceV6?: string | null;
  /** A DoT connection with nothing in flight this long is closed (ms; default 10 s). */
  tlsIdleTimeoutMs?: number;
  /** Probes of an upstream marked down: the first after `initialMs`, doubling to `maxMs`. */
  probeBackoff?: { initialMs: number; maxMs: number };
  clock: Clock;
  observer?: ResolverObserver;
}

/** Why a resolution produced no usable answer. */
export class ResolveError extends EdgeError {
  readonly reason: 'timeout' | 'unreachable' | 'servfail' | 'no-upstreams';
  /** Whether any upstream was asked (false: every upstream is down and none was due for a probe). */
  readonly asked: boolean;
  constructor(reason: ResolveError['reason'], message: string, asked = true) {
    super(ErrorCode.RESOLVE, message);
    this.reason = reason;
    this.asked = asked;
  }
}

export interface UpstreamAnswer {
  message: Message;
  upstream: string;
}

export interface UpstreamStatus {
  address: string;
  /** `udp`: plain DNS (TCP after a truncated answer); `tls`: DNS over TLS. */
  transport: 'udp' | 'tls';
  /** The name a DoT upstream's certificate must carry (null: plain, or a pin alone). */
  name: string | null;
  healthy: boolean;
  /** Why it is down: the failure that took it down, or its last failed probe; null while healthy. */
  reason: string | null;
  srttMs: number;
  queries: number;
  failures: number;
}

interface Upstream extends Endpoint {
  label: string;
  transport: UpstreamTransport;
  name: string | null;
  srtt: number;
  healthy: boolean;
  reason: string | null;
  consecutiveFailures: number;
  queries: number;
  failures: number;
  /** When it last answered anything (ms; 0: never). */
  lastAnswer: number;
  /** While down: the back-off before the next probe (ms), and when that probe may go. */
  backoffMs: number;
  probeAt: number;
  /** A probe query is out. */
  probing: boolean;
}

const INITIAL_SRTT_MS = 50;
const FAILURES_TO_UNHEALTHY = 3;
/** RFC 9520 §3.2-style back-off for probing a down upstream: 1 s, doubling, at most 30 s. */
const PROBE_BACKOFF = { initialMs: 1000, maxMs: 30_000 };

export class Resolver {
  readonly #o: ResolverOptions;
  readonly #obs: ResolverObserver;
  readonly #ups: Upstream[];
  readonly #udp: UdpTransport;
  readonly #backoff: { initialMs: number; maxMs: number };
  /** The error of "every upstream down", built once per probe time (an Error costs a stack trace). */
  #down: { at: number; err: ResolveError } | null = null;

  constructor(opts: ResolverOptions) {
    this.#o = opts;
    this.#obs = opts.observer ?? NOOP_RESOLVER_OBSERVER;
    this.#backoff = opts.probeBackoff ?? PROBE_BACKOFF;
    this.#udp = new UdpTransport({ v4: opts.querySource ?? null, v6: opts.querySourceV6 ?? null }, (r) =>
      this.#obs.mismatched(r),
    );
    this.#ups = opts.upstreams.map((u) => {
      const label = formatHostPort(u);
      return {
        host: u.host,
        port: u.port,
        label,
        transport: this.#transport(u, label),
        name: u.tls?.name ?? null,
        srtt: INITIAL_SRTT_MS,
        healthy: true,
        reason: null,
        consecutiveFailures: 0,
        queries: 0,
        failures: 0,
        lastAnswer: 0,
        backoffMs: this.#backoff.initialMs,
        probeAt: 0,
        probing: false,
      };
    });
  }

  /** Plain DNS or DNS over TLS, whichever `u` asks for. */
  #transport(u: UpstreamSpec, label: string): UpstreamTransport {
    const x: TransportContext = {
      udp: this.#udp,
      from: (u.host.includes(':') ? this.#o.querySourceV6 : this.#o.querySource) ?? undefined,
      now: () => this.#o.clock.now(),
      sent: (over) => this.#obs.sent(label, over),
      mismatched: (r) => this.#obs.mismatched(r),
    };
    return u.tls ? new DotTransport(u, u.tls, this.#o.tlsIdleTimeoutMs ?? TLS_IDLE_MS, x) : new PlainTransport(u, x);
  }

  get hasUpstreams(): boolean {
    return this.#ups.length > 0;
  }

  /** Queries waiting for a reply now: over UDP (one socket each) and on DoT connections. */
  get outstanding(): number {
    let n = this.#udp.outstanding.size;
    for (const u of this.#ups) n += u.transport.inFlight;
    return n;
  }

  /**
   * Check once, at startup, that the configured source addresses can be bound (for the upstreams
   * of their family): a querySource this host does not have is a config error, not every upstream
   * failing. Rejects with ERR_CONFIG_INVALID.
   */
  async checkSources(): Promise<void> {
    const problems: string[] = [];
    for (const [key, addr, v6] of [
      ['querySource', this.#o.querySource, false],
      ['querySourceV6', this.#o.querySourceV6, true],
    ] as const) {
      if (!addr || !this.#ups.some((u) => u.host.includes(':') === v6)) continue;
      try {
        await checkSource(addr);
      } catch (e) {
        problems.push(`resolver.${key}: cannot send from ${addr}: ${errorMessage(e)}`);
      }
    }
    if (problems.length > 0) throw new EdgeError(ErrorCode.CONFIG_INVALID, problems.join('\n'), problems);
  }

  /**
   * The error a resolution would fail with now without asking anyone (every upstream down, none
   * due for a probe or its probe already out), or null when one would be asked. Lets a caller
   * answer at once instead of through a rejected promise.
   */
  unavailable(): ResolveError | null {
    if (this.#ups.length === 0) return null;
    const now = this.#o.clock.now();
    for (const u of this.#ups) if (u.healthy || (!u.probing && u.probeAt <= now)) return null;
    return this.#downError(now);
  }

  /** Resolve a question upstream. Rejects with ResolveError when no upstream gives an answer. */
  resolve(q: Question): Promise<UpstreamAnswer> {
    return this.#resolve(q);
  }

  status(): UpstreamStatus[] {
    return this.#ups.map((u) => ({
      address: u.label,
      transport: u.transport.kind,
      name: u.name,
      healthy: u.healthy,
      reason: u.healthy ? null : u.reason,
      srttMs: Math.round(u.srtt * 10) / 10,
      queries: u.queries,
      failures: u.failures,
    }));
  }

  close(): void {
    this.#udp.close();
    for (const u of this.#ups) u.transport.close();
  }

  async #resolve(q: Question): Promise<UpstreamAnswer> {
    if (this.#ups.length === 0) throw new ResolveError('no-upstreams', 'no upstream resolvers configured');
    const start = this.#o.clock.now();
    const deadline = start + this.#o.deadlineMs;
    const probe = this.#takeProbe(start);
    const order = this.#ups.filter((u) => u.healthy).sort((a, b) => a.srtt - b.srtt);
    if (probe) order.unshift(probe);
    // Every upstream down, none due for a probe (or its probe is out): fail now, send nothing.
    if (order.length === 0) throw this.#downError(start);
    // Built only when needed: an Error captures a stack trace, which costs more than a cache fill.
    let last: ResolveError | undefined;
    let servfail: UpstreamAnswer | undefined;
    let asked = 0;
    // Each upstream once in order of preference, then again while time is left; the probe once.
    for (let attempt = 0; attempt < order.length * 2; attempt++) {
      const now = this.#o.clock.now();
      const left = deadline - now;
      if (left <= 0) break;
      const up = order[attempt % order.length] as Upstream;
      const isProbe = up === probe && attempt === 0;
      // Marked down meanwhile (by other resolutions' failures), or the probe already tried once.
      if (!up.healthy && !isProbe) continue;
      up.queries++;
      asked++;
      try {
        const build = (id: number): Buffer => buildQuery(q, id, this.#o.udpPayload);
        const reply = await up.transport.exchange(q, build, Math.min(this.#o.timeoutMs, left));
        const msg = parseMessage(reply);
        if (!msg) {
          this.#obs.error(up.label, 'malformed');
          last = new ResolveError('unreachable', `malformed reply from ${up.label}`);
          this.#fail(up, isProbe, last.message);
          continue;
        }
        this.#ok(up, this.#o.clock.now() - now);
        if (msg.rcode === Rcode.SERVFAIL || msg.rcode === Rcode.REFUSED) {
          // RFC 1034 §5.3.3: try another server; keep the SERVFAIL in case none does better.
          this.#obs.error(up.label, msg.rcode === Rcode.SERVFAIL ? 'servfail' : 'refused');
          if (msg.rcode === Rcode.SERVFAIL) servfail ??= { message: msg, upstream: up.label };
          last = new ResolveError(
            'servfail',
            `${up.label} answered ${msg.rcode === Rcode.SERVFAIL ? 'SERVFAIL' : 'REFUSED'}`,
          );
          continue;
        }
        return { message: msg, upstream: up.label };
      } catch (e) {
        if (!(e instanceof ExchangeError)) throw e;
        if (e.kind === 'timeout') this.#obs.timeout(up.label);
        else this.#obs.error(up.label, e.kind);
        last = new ResolveError(e.kind === 'timeout' ? 'timeout' : 'unreachable', exchangeFailure(e, up.label));
        // RFC 8310 §5: a server that does not authenticate is not used: down now, not after 3 tries.
        this.#fail(up, isProbe, last.message, e.kind === 'certificate');
      } finally {
        if (isProbe) up.probing = false;
      }
    }
    if (servfail) return servfail;
    if (asked === 0) throw this.#downError(this.#o.clock.now());
    throw last ?? new ResolveError('timeout', 'no upstream answered in time');
  }

  /** A down upstream whose back-off has passed and that has no probe out: it is this resolution's probe. */
  #takeProbe(now: number): Upstream | null {
    for (const u of this.#ups) {
      if (!u.healthy && !u.probing && u.probeAt <= now) {
        u.probing = true;
        return u;
      }
    }
    return null;
  }

  #downError(now: number): ResolveError {
    const next = Math.min(...this.#ups.map((u) => u.probeAt));
    if (this.#down?.at !== next) {
      const wait = Math.max(0, Math.ceil((next - now) / 1000));
      const names = this.#ups.map((u) => u.label).join(', ');
      this.#down = {
        at: next,
        err: new ResolveError(
          'unreachable',
          `every upstream is down (${names}); not asked: one probe at a time after a back-off, next in ${wait} s`,
          false,
        ),
      };
    }
    return this.#down.err;
  }

  #ok(up: Upstream, rttMs: number): void {
    up.srtt = 0.7 * up.srtt + 0.3 * rttMs;
    up.consecutiveFailures = 0;
    up.lastAnswer = this.#o.clock.now();
    this.#obs.rtt(up.label, rttMs / 1000);
    if (!up.healthy) {
      up.healthy = true;
      up.reason = null;
      up.backoffMs = this.#backoff.initialMs;
      this.#obs.health(up.label, true);
    }
  }

  /** A try failed (`reason`); `now`: mark it down at once (a certificate that does not authenticate it). */
  #fail(up: Upstream, probe: boolean, reason: string, downNow = false): void {
    const now = this.#o.clock.now();
    up.failures++;
    up.consecutiveFailures++;
    up.srtt = Math.min(up.srtt * 2, 5000);
    if (probe) {
      // The probe failed: wait twice as long before the next one.
      up.backoffMs = Math.min(up.backoffMs * 2, this.#backoff.maxMs);
      up.probeAt = now + up.backoffMs;
      up.reason = reason;
      return;
    }
    // Down when it stopped answering: failures in a row AND no answer to anything for a timeout.
    // Timeouts of one slow zone (a water torture) while other names are answered do not count.
    if (
      up.healthy &&
      (downNow || (up.consecutiveFailures >= FAILURES_TO_UNHEALTHY && now - up.lastAnswer >= this.#o.timeoutMs))
    ) {
      up.healthy = false;
      up.reason = reason;
      up.backoffMs = this.#backoff.initialMs;
      up.probeAt = now + up.backoffMs;
      this.#obs.health(up.label, false);
    }
  }
}

/**
 * What went wrong with one upstream, naming it (the transport's message leaves the address out).
 * A timeout keeps the words operators see in EDE texts and logs: "no reply from 192.0.2.53:53 within 700 ms".
 */
function exchangeFailure(e: ExchangeError, upstream: string): string {
  if (e.kind === 'timeout') {
    return `no ${e.transport === 'UDP' ? '' : `${e.transport} `}reply from ${upstream} within ${e.timeoutMs} ms`;
  }
  return `${e.transport} ${upstream}: ${e.message}`;
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
