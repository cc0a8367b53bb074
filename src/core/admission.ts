// Connection admission: at most so many connections in all and per client (an IPv4 address or an
// IPv6 /64), with a few slots kept for the node's own addresses. The DNS TCP listeners (RFC 7766
// §6) and the admin listener count with it.

import { clientPrefix } from './cidr.js';

export type RefuseReason = 'total' | 'per_client';

export type Admitted = { ok: true; reserved: boolean; release(): void } | { ok: false; reason: RefuseReason };

/**
 * Counts connections in total and per client prefix, and decides at accept. Connections from one
 * of `own` (the listen addresses: only this host can open a connection from them) take one of
 * `reserve` slots first, so an attacker who fills the caps cannot starve the node's own probes.
 */
export class Admission {
  readonly #limits: { maxConnections: number; maxPerClient: number };
  readonly #own: ReadonlySet<string>;
  readonly #reserve: number;
  readonly #perClient = new Map<string, number>();
  #total = 0;
  #reserved = 0;

  constructor(limits: { maxConnections: number; maxPerClient: number }, own: Iterable<string> = [], reserve = 0) {
    this.#limits = limits;
    this.#own = new Set(own);
    this.#reserve = reserve;
  }

  admit(address: string): Admitted {
    if (this.#own.has(address) && this.#reserved < this.#reserve) {
      this.#reserved++;
      return { ok: true, reserved: true, release: once(() => this.#reserved--) };
    }
    const key = clientPrefix(address);
    const n = this.#perClient.get(key) ?? 0;
    // The client's own cap first: the reason then says who is asking too much.
    if (n >= this.#limits.maxPerClient) return { ok: false, reason: 'per_client' };
    if (this.#total >= this.#limits.maxConnections) return { ok: false, reason: 'total' };
    this.#total++;
    this.#perClient.set(key, n + 1);
    return {
      ok: true,
      reserved: false,
      release: once(() => {
        this.#total--;
        const left = (this.#perClient.get(key) ?? 1) - 1;
        if (left === 0) this.#perClient.delete(key);
        else this.#perClient.set(key, left);
      }),
    };
  }

  /** Connections counted against the caps, and clients holding at least one. */
  get counts(): { total: number; reserved: number; clients: number } {
    return { total: this.#total, reserved: this.#reserved, clients: this.#perClient.size };
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
