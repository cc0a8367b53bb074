// What the query pipeline reports, and to whom: per query (PipelineObserver, one reused
// ResponseEvent) and per defence decision (DefenceObserver). metrics/ and the query log implement
// them; the no-op ones are the defaults.

import type { CookieVerdict } from './cookies.js';
import type { RrlKind } from './rrl.js';

/** How a query came: plain UDP and TCP, DNS over TLS (RFC 7858), DNS over HTTPS (RFC 8484). */
export const TRANSPORTS = ['udp', 'tcp', 'dot', 'doh'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** Where an answer came from, for metrics and the query log. */
export type AnswerSource = 'zone' | 'cache' | 'upstream' | 'stale' | 'chaos' | 'error';

/** What the pipeline reports per query; metrics/ implements it. A no-op by default. Nothing is
 * allocated to report: arguments are positional, and a response is one reused ResponseEvent. */
export interface PipelineObserver {
  /**
   * How often this observer needs a response's `seconds`: every query (1, the default), one query
   * in N on average (N), or never (Infinity). Queries not timed report `seconds` -1.
   */
  readonly timeEvery?: number;
  query(transport: Transport, qtype: number): void;
  /** A query of the node's own health probes (counted apart from clients' queries and responses). */
  probe(transport: Transport): void;
  /** A query answered or held back; `e` is reused by the next query: read it, do not keep it. */
  response(e: Readonly<ResponseEvent>): void;
  malformed(transport: Transport): void;
}

/** One query's outcome, as the observers see it. */
export interface ResponseEvent {
  transport: Transport;
  client: string;
  /** The question's name key (wire/ names). */
  key: string;
  qtype: number;
  rcode: number;
  source: AnswerSource;
  /** The local zone that answered, in presentation form (e.g. "example.test."); null for other sources. */
  zone: string | null;
  /** Query received to response built; -1 when this query was not timed (PipelineObserver.timeEvery). */
  seconds: number;
  requestBytes: number;
  /** The response's size; 0 when the rate limiter dropped it (nothing sent). */
  responseBytes: number;
}

export const NOOP_OBSERVER: PipelineObserver = {
  timeEvery: Infinity,
  query: () => {},
  probe: () => {},
  response: () => {},
  malformed: () => {},
};

/** How a limited response went out: not at all, truncated (TC=1), or as BADCOOKIE with a fresh cookie. */
export type LimitAction = 'drop' | 'slip' | 'badcookie';

/** What shedding refused: a negative zone answer, or a cache miss that would have been forwarded. */
export type ShedWhat = 'nxdomain' | 'forward';
/** How: dropped, sent truncated and empty (TC=1: a real resolver asks again over TCP), or answered stale. */
export type ShedAction = 'drop' | 'truncate' | 'stale';

/** What the abuse defences report; metrics/ and the log implement it. */
export interface DefenceObserver {
  /** A response held back by the rate limiter (or that would have been, `logOnly`); `started`: the first of an episode. */
  limited(action: LimitAction, logOnly: boolean, started: boolean, client: string, kind: RrlKind, name: string): void;
  /** A query carried a COOKIE option. */
  cookie(verdict: CookieVerdict): void;
  /** A query refused by shedding (the node is SHEDDING). */
  shed(what: ShedWhat, action: ShedAction): void;
}

export const NOOP_DEFENCE: DefenceObserver = { limited: () => {}, cookie: () => {}, shed: () => {} };
