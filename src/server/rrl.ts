// Response rate limiting, with the semantics operators know from BIND `rate-limit` and Knot
// `mod-rrl`: responses per second per client prefix and per response kind, averaged over a window,
// and `slip` (every Nth limited response goes out truncated, so a real client retries over TCP,
// where nothing is limited). Pure: the clock is injected, the caller decides what to send.
//
//   account = hash(client prefix, kind, name, type) → balance (responses), last update (ms), slips
//   each response: balance += elapsed × rate (at most `rate`), balance −= 1
//   balance ≥ 0 → send; below 0 → limited; never below −window × rate, so a limited account
//   comes back after `window` seconds without responses (BIND's "window").
//
// Accounts live in a fixed table of typed arrays: no allocation per response, and a flood of
// spoofed prefixes can only recycle accounts, never grow memory.

import { addressBytes } from '../core/index.js';

export interface RateLimitOptions {
  responsesPerSecond: number;
  windowMs: number;
  /** Every Nth limited response is sent truncated; 0 = drop them all, 1 = truncate them all. */
  slip: number;
  ipv4Prefix: number;
  ipv6Prefix: number;
  /** Accounts kept (a power of two); the least recently used of a neighbourhood is recycled. */
  tableSize?: number;
}

/** What a response is counted as (the account's second part). */
export const RrlKind = {
  /** A positive answer: counted per name and type (a wildcard's answers per wildcard). */
  ANSWER: 1,
  /** NOERROR without data: per name and type. */
  NODATA: 2,
  /** NXDOMAIN: per zone, so random names under one zone share one account. */
  NXDOMAIN: 3,
  /** A delegation: per zone. */
  REFERRAL: 4,
  /** REFUSED, FORMERR, NOTIMP and the like: one account per client prefix. */
  ERROR: 5,
  /** Answers synthesized from a wildcard: per zone (Knot's "wildcard" class). */
  WILDCARD: 6,
} as const;
export type RrlKind = (typeof RrlKind)[keyof typeof RrlKind];

export const RrlAction = { SEND: 0, DROP: 1, SLIP: 2 } as const;
export type RrlAction = (typeof RrlAction)[keyof typeof RrlAction];

/** A decision; `started` is true on the first limited response of an account (for the log). */
export interface RrlDecision {
  action: RrlAction;
  started: boolean;
}

/** BIND's default max-table-size is 20,000; a site sees more prefixes than one BIND server. */
const DEFAULT_TABLE = 1 << 16;
/** Slots looked at for an account before the least recently used of them is recycled. */
const NEIGHBOURHOOD = 8;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export class RateLimiter {
  readonly #rate: number;
  readonly #floor: number;
  readonly #slip: number;
  readonly #v4Bits: number;
  readonly #v6Bits: number;
  readonly #now: () => number;
  readonly #mask: number;
  /** 0 = empty slot; otherwise the account's 32-bit hash (never 0). */
  readonly #tag: Uint32Array;
  readonly #balance: Float64Array;
  readonly #time: Float64Array;
  readonly #slips: Uint32Array;
  readonly #decision: RrlDecision = { action: RrlAction.SEND, started: false };

  constructor(o: RateLimitOptions, now: () => number) {
    const size = o.tableSize ?? DEFAULT_TABLE;
    if (size < NEIGHBOURHOOD || (size & (size - 1)) !== 0)
      throw new Error(`rate limit table size must be a power of two ≥ ${NEIGHBOURHOOD}`);
    this.#rate = o.responsesPerSecond;
    this.#floor = -(o.windowMs / 1000) * o.responsesPerSecond;
    this.#slip = o.slip;
    this.#v4Bits = o.ipv4Prefix;
    this.#v6Bits = o.ipv6Prefix;
    this.#now = now;
    this.#mask = size - 1;
    this.#tag = new Uint32Array(size);
    this.#balance = new Float64Array(size);
    this.#time = new Float64Array(size);
    this.#slips = new Uint32Array(size);
  }

  /**
   * Count one response to `client` of `kind` for `name` (a name key; the zone's for NXDOMAIN and
   * referrals, "" for errors) and `qtype`, and say whether to send it. The returned object is
   * reused by the next call.
   */
  decide(client: string, kind: RrlKind, name: string, qtype: number): RrlDecision {
    let h = this.#hashPrefix(client);
    h = mix(h, kind);
    for (let i = 0; i < name.length; i++) h = mix(h, name.charCodeAt(i));
    h = mix(mix(h, qtype >> 8), qtype & 0xff);
    const tag = h === 0 ? 1 : h;
    const now = this.#now();
    const slot = this.#slot(tag, now);
    const d = this.#decision;
    d.started = false;
    let balance: number;
    let wasSending = true;
    if (this.#tag[slot] !== tag) {
      // A new account starts with a full second's worth.
      this.#tag[slot] = tag;
      balance = this.#rate;
    } else {
      const stored = this.#balance[slot] as number;
      wasSending = stored >= 0;
      balance = Math.min(this.#rate, stored + (Math.max(0, now - (this.#time[slot] as number)) / 1000) * this.#rate);
    }
    balance -= 1;
    this.#balance[slot] = Math.max(balance, this.#floor);
    this.#time[slot] = now;
    if (balance >= 0) {
      d.action = RrlAction.SEND;
      return d;
    }
    if (wasSending) {
      d.started = true;
      this.#slips[slot] = 0;
    }
    const n = (this.#slips[slot] as number) + 1;
    this.#slips[slot] = n;
    d.action = this.#slip > 0 && n % this.#slip === 0 ? RrlAction.SLIP : RrlAction.DROP;
    return d;
  }

  /** The slot of account `tag`: its own, an empty or fully recovered one, else the least recently used nearby. */
  #slot(tag: number, now: number): number {
    const start = tag & this.#mask;
    let oldest = start;
    for (let k = 0; k < NEIGHBOURHOOD; k++) {
      const s = (start + k) & this.#mask;
      const t = this.#tag[s] as number;
      if (t === tag || t === 0) return s;
      // An account that would be back at a full balance loses nothing by being forgotten.
      if ((this.#balance[s] as number) + ((now - (this.#time[s] as number)) / 1000) * this.#rate >= this.#rate)
        return s;
      if ((this.#time[s] as number) < (this.#time[oldest] as number)) oldest = s;
    }
    return oldest;
  }

  /** The hash of the client's prefix (/ipv4Prefix or /ipv6Prefix); IPv4 text is read without allocating. */
  #hashPrefix(client: string): number {
    const v4 = parseIPv4(client, client.startsWith('::ffff:') ? 7 : 0);
    if (v4 >= 0) {
      const bits = this.#v4Bits;
      const masked = bits === 32 ? v4 : (v4 & ~(0xffffffff >>> bits)) >>> 0;
      return mix(
        mix(mix(mix(mix(FNV_OFFSET, 4), masked >>> 24), (masked >>> 16) & 0xff), (masked >>> 8) & 0xff),
        masked & 0xff,
      );
    }
    const b = addressBytes(client);
    let h = mix(FNV_OFFSET, 6);
    if (!b) return h;
    const bits = b.length === 4 ? this.#v4Bits : this.#v6Bits;
    for (let i = 0; i < b.length; i++) {
      const keep = Math.max(0, Math.min(8, bits - i * 8));
      h = mix(h, (b[i] as number) & (0xff << (8 - keep)) & 0xff);
    }
    return h;
  }
}

function mix(h: number, byte: number): number {
  return Math.imul(h ^ byte, FNV_PRIME) >>> 0;
}

/** Dotted-quad text from `at` as a 32-bit number, or -1 when it is not one. */
export function parseIPv4(s: string, at: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = at; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}
