// What keeps one TCP client from holding the node (RFC 7766 §6): who may open a connection, when
// a connection must be closed, and how many answer bytes may wait unwritten. Pure logic over an
// injected clock and timers, so tests move time without sleeping.

export interface TcpLimits {
  /** Connections of this process (RFC 7766 §6.2.2), beyond the reserve for the node's own probes. */
  maxConnections: number;
  /** Connections of one client: its IPv4 address, or its IPv6 /64. */
  maxPerClient: number;
  /** From accept to the first whole query. */
  firstQueryTimeoutMs: number;
  /** From the first byte of a message to its last: a trickle cannot extend it. */
  messageTimeoutMs: number;
  /** Between queries, when nothing is being received, answered or written (RFC 7766 §6.2.3). */
  idleTimeoutMs: number;
  /** Queries of one connection waiting for an upstream answer before reading pauses. */
  maxInFlight: number;
  /** Answer bytes of one connection not yet handed to the kernel before reading pauses. */
  maxUnwrittenBytes: number;
  /** How long a connection may stay over `maxUnwrittenBytes` before it is closed. */
  drainTimeoutMs: number;
  /** Answer bytes not yet written across all connections of this process before reading pauses. */
  maxUnwrittenTotal: number;
}

/** Connections from the node's own listen addresses admitted beyond the caps (its health probes). */
export const SELF_RESERVE = 8;
export { Admission } from '../core/index.js';
export type { Admitted } from '../core/index.js';

type DeadlineLimits = Pick<TcpLimits, 'firstQueryTimeoutMs' | 'messageTimeoutMs' | 'idleTimeoutMs' | 'drainTimeoutMs'>;

export type { RefuseReason } from '../core/index.js';

/** The deadline that closed a connection. */
/** `handshake`: a TLS handshake (DoT, DoH) that did not end within the first query's deadline. */
export type Deadline = 'first_query' | 'message' | 'idle' | 'drain' | 'handshake';

/** A monotonic clock and one-shot timers. */
export interface Timers {
  now(): number;
  set(fn: () => void, ms: number): { cancel(): void };
}

export const realTimers: Timers = {
  now: () => performance.now(),
  set: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * The deadlines of one connection, kept with one timer. The timer is armed for the earliest
 * deadline and only moved earlier; when it fires the deadlines are computed again, so bytes
 * arriving (a trickle) cost no timer work and cannot push a deadline back.
 *
 *   accept ──first_query──▶ query ──idle──▶ query …     (a message in progress: `message`)
 *                           over the unwritten cap: `drain`
 */
export class Deadlines {
  readonly #limits: DeadlineLimits;
  readonly #timers: Timers;
  readonly #expire: (why: Deadline) => void;
  readonly #openedAt: number;
  #queried = false;
  #messageSince: number | null = null;
  #activeAt: number;
  #busy = false;
  #drainSince: number | null = null;
  #timer: { cancel(): void } | null = null;
  #armedAt = Infinity;
  #stopped = false;
  /** The earliest deadline #earliest found, and its kind. */
  #at = Infinity;
  #why: Deadline = 'first_query';

  constructor(limits: DeadlineLimits, timers: Timers, expire: (why: Deadline) => void) {
    this.#limits = limits;
    this.#timers = timers;
    this.#expire = expire;
    this.#openedAt = timers.now();
    this.#activeAt = this.#openedAt;
    this.#arm();
  }

  /** Bytes were read: whether a message is now partly received. */
  reading(partial: boolean): void {
    if (!partial) this.#messageSince = null;
    else if (this.#messageSince === null) this.#messageSince = this.#timers.now();
    this.#arm();
  }

  /** A whole query was taken. */
  query(): void {
    this.#queried = true;
    this.#messageSince = null;
    this.activity();
  }

  /** Progress other than bytes in: a query taken, an answer written. */
  activity(): void {
    this.#activeAt = this.#timers.now();
    this.#arm();
  }

  /** Whether queries of this connection wait for an answer (no idle deadline meanwhile). */
  busy(b: boolean): void {
    // The last awaited answer came: idleness counts from now, not from the query.
    if (this.#busy && !b) this.#activeAt = this.#timers.now();
    this.#busy = b;
    this.#arm();
  }

  /** Whether the connection is over its unwritten-bytes cap. */
  backlogged(over: boolean): void {
    if (!over) this.#drainSince = null;
    else if (this.#drainSince === null) this.#drainSince = this.#timers.now();
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** The earliest deadline now, or null when none applies. */
  next(): { at: number; why: Deadline } | null {
    const at = this.#earliest();
    return at === Infinity ? null : { at, why: this.#why };
  }

  /**
   * When the earliest deadline falls (Infinity: none), its kind left in #why; nothing allocated,
   * as it runs several times per query.
   */
  #earliest(): number {
    const l = this.#limits;
    this.#at = Infinity;
    if (!this.#queried) this.#consider(this.#openedAt + l.firstQueryTimeoutMs, 'first_query');
    if (this.#messageSince !== null) this.#consider(this.#messageSince + l.messageTimeoutMs, 'message');
    else if (this.#queried && !this.#busy) this.#consider(this.#activeAt + l.idleTimeoutMs, 'idle');
    if (this.#drainSince !== null) this.#consider(this.#drainSince + l.drainTimeoutMs, 'drain');
    return this.#at;
  }

  /** A deadline at `at`: the earliest so far (the first of equal ones) is kept. */
  #consider(at: number, why: Deadline): void {
    if (at < this.#at) {
      this.#at = at;
      this.#why = why;
    }
  }

  #arm(): void {
    if (this.#stopped) return;
    const at = this.#earliest();
    if (at >= this.#armedAt) return;
    this.#timer?.cancel();
    this.#armedAt = at;
    this.#timer = this.#timers.set(() => this.#fire(), Math.max(0, at - this.#timers.now()));
  }

  #fire(): void {
    this.#timer = null;
    this.#armedAt = Infinity;
    if (this.#stopped) return;
    const at = this.#earliest();
    if (at <= this.#timers.now()) {
      this.stop();
      this.#expire(this.#why);
    } else this.#arm();
  }
}

/**
 * Answer bytes not yet written, across all connections of a process. Over the cap, connections
 * stop reading and wait here; they are woken when the total falls back to half the cap.
 */
export class WriteBudget {
  readonly #max: number;
  readonly #onChange: (total: number) => void;
  readonly #waiting = new Set<() => void>();
  #total = 0;

  constructor(max: number, onChange: (total: number) => void = () => {}) {
    this.#max = max;
    this.#onChange = onChange;
  }

  get total(): number {
    return this.#total;
  }

  over(): boolean {
    return this.#total > this.#max;
  }

  add(n: number): void {
    this.#total += n;
    this.#onChange(this.#total);
  }

  release(n: number): void {
    this.#total -= n;
    this.#onChange(this.#total);
    if (this.#waiting.size > 0 && this.#total <= this.#max / 2) {
      const woken = [...this.#waiting];
      this.#waiting.clear();
      for (const w of woken) w();
    }
  }

  /** Call `wake` once when the total is low again; returns a function that cancels. */
  wait(wake: () => void): () => void {
    this.#waiting.add(wake);
    return () => this.#waiting.delete(wake);
  }
}
