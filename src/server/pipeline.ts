// The query path, in its fixed order (DESIGN.md): check and parse the header bytes, CHAOS, zone,
// recursion ACL, cache, forward, then finalize. Everything but the upstream step is synchronous.

import type { CidrSet } from '../core/index.js';
import type { Identity } from '../identity/index.js';
import type { Query, ResponseOpt, Sections, TtlPatch } from '../wire/index.js';
import { CLASSIC_UDP_SIZE, Class, EMPTY_SECTIONS, FLAG_AA, FLAG_RA, FLAG_RD, OPT_EDE, QueryStatus, Rcode, buildResponse, encodeOption, parseQuery } from '../wire/index.js';
import type { ZoneStore } from '../zone/index.js';
import type { Forwarded, Forwarder } from './forward.js';
import { EDE } from './forward.js';

export type Transport = 'udp' | 'tcp';

/** Where an answer came from, for metrics and the query log. */
export type AnswerSource = 'zone' | 'cache' | 'upstream' | 'stale' | 'chaos' | 'error';

/** What the pipeline reports per query; metrics/ implements it. A no-op by default. Arguments are
 * positional so that reporting a response allocates nothing. */
export interface PipelineObserver {
  query(transport: Transport, qtype: number): void;
  response(transport: Transport, client: string, key: string, qtype: number, rcode: number, source: AnswerSource, seconds: number): void;
  malformed(transport: Transport): void;
}

export const NOOP_OBSERVER: PipelineObserver = { query: () => {}, response: () => {}, malformed: () => {} };

export interface PipelineOptions {
  zones: ZoneStore;
  identity: Identity;
  /** Our EDNS UDP payload limit (RFC 6891 §6.2.5). */
  udpPayload: number;
  /** Cache and upstreams; null when forwarding is off (names outside the zones are REFUSED). */
  forwarder: Forwarder | null;
  /** Clients allowed recursion. */
  recursionAllow: CidrSet;
  observer?: PipelineObserver;
}

export type Answer = Buffer | null | Promise<Buffer | null>;

const NO_OPTIONS = new Uint8Array(0);
const TCP_LIMIT = 65535;
const AXFR = 252;
const IXFR = 251;
/** RFC 8767 §4: stale answers carry a TTL of 30 seconds. */
const STALE: TtlPatch = { age: 0, fixed: 30 };
const PROHIBITED = [EDE.PROHIBITED, ''] as const;

export class Pipeline {
  #zones: ZoneStore;
  #identity: Identity;
  readonly #udpPayload: number;
  readonly #fwd: Forwarder | null;
  readonly #allow: CidrSet;
  readonly #obs: PipelineObserver;
  /** The OPT of most responses (no options), built once. */
  readonly #optPlain: ResponseOpt;
  readonly #optDo: ResponseOpt;

  constructor(opts: PipelineOptions) {
    this.#zones = opts.zones;
    this.#identity = opts.identity;
    this.#udpPayload = opts.udpPayload;
    this.#fwd = opts.forwarder;
    this.#allow = opts.recursionAllow;
    this.#obs = opts.observer ?? NOOP_OBSERVER;
    this.#optPlain = { udpSize: opts.udpPayload, dnssecOk: false, options: NO_OPTIONS };
    this.#optDo = { udpSize: opts.udpPayload, dnssecOk: true, options: NO_OPTIONS };
  }

  /** Swap in newly loaded zones and identity (reload). */
  update(zones: ZoneStore, identity: Identity): void {
    this.#zones = zones;
    this.#identity = identity;
  }

  get zones(): ZoneStore {
    return this.#zones;
  }

  get forwarder(): Forwarder | null {
    return this.#fwd;
  }

  /** Answer one message from `client`; null means send nothing. Never throws on bad input. */
  handle(msg: Uint8Array, transport: Transport, client: string): Answer {
    const start = performance.now();
    // 1–2. check and parse: header bytes, the question, OPT.
    const q = parseQuery(msg);
    if (q.status === QueryStatus.DROP) {
      this.#obs.malformed(transport);
      return null;
    }
    this.#obs.query(transport, q.qtype);
    if (q.status === QueryStatus.ERROR) return this.#finish(msg, q, transport, client, start, q.rcode, 0, EMPTY_SECTIONS, 'error');
    // 3. CHAOS identity (RFC 4892).
    if (q.qclass === Class.CH) {
      const c = this.#identity.chaos(q.key, q.qtype);
      if (c.kind === 'refused') return this.#finish(msg, q, transport, client, start, Rcode.REFUSED, 0, EMPTY_SECTIONS, 'error');
      return this.#finish(msg, q, transport, client, start, Rcode.NOERROR, FLAG_AA, c.kind === 'answer' ? c.sections : EMPTY_SECTIONS, 'chaos');
    }
    if (q.qclass !== Class.IN || q.qtype === AXFR || q.qtype === IXFR) {
      // Zone transfers are not served; other classes have no data here.
      return this.#finish(msg, q, transport, client, start, Rcode.REFUSED, 0, EMPTY_SECTIONS, 'error');
    }
    // 5. local zones answer everyone.
    const ans = this.#zones.answer(q.key, q.qtype);
    if (ans) return this.#finish(msg, q, transport, client, start, ans.rcode, ans.flags, ans.sections, 'zone');
    // 4. recursion ACL: only for names outside the zones, so zone answers never pay for it.
    const fwd = this.#fwd;
    if (!fwd) return this.#finish(msg, q, transport, client, start, Rcode.REFUSED, 0, EMPTY_SECTIONS, 'error');
    if (!this.#allow.has(client)) return this.#finish(msg, q, transport, client, start, Rcode.REFUSED, 0, EMPTY_SECTIONS, 'error', null, PROHIBITED);
    // 6. cache: a fresh hit is a copy with the ID and TTLs patched.
    const { key, found } = fwd.lookup(q);
    if (found.kind === 'fresh') {
      const e = found.entry;
      return this.#finish(msg, q, transport, client, start, e.rcode, FLAG_RA | e.flags, e, 'cache', { age: found.age, fixed: -1 });
    }
    // Without RD the client asks for what we have, not for us to go and look.
    if ((q.flags & FLAG_RD) === 0) return this.#finish(msg, q, transport, client, start, Rcode.REFUSED, FLAG_RA, EMPTY_SECTIONS, 'error');
    // 7. forward (coalesced), serve stale on failure; answered at once when nothing is asked.
    const f = fwd.fetch(q, key, found);
    if (!(f instanceof Promise)) return this.#finishForwarded(msg, q, transport, client, start, f);
    return f.then((x) => this.#finishForwarded(msg, q, transport, client, start, x));
  }

  #finishForwarded(msg: Uint8Array, q: Query, transport: Transport, client: string, start: number, f: Forwarded): Buffer {
    const e = f.entry;
    const ttl = f.age < 0 ? STALE : null;
    return this.#finish(msg, q, transport, client, start, f.rcode, FLAG_RA | (e?.flags ?? 0), e ?? EMPTY_SECTIONS, f.source, ttl, f.ede);
  }

  /** 8. finalize: the one place that builds the response's OPT (NSID, EDE) and applies the size limit. */
  #finish(
    msg: Uint8Array,
    q: Query,
    transport: Transport,
    client: string,
    start: number,
    rcode: number,
    flags: number,
    sections: Sections,
    source: AnswerSource,
    ttl: TtlPatch | null = null,
    ede: readonly [number, string] | null = null,
  ): Buffer {
    let opt: ResponseOpt | null = null;
    if (q.edns) {
      // RFC 5001 §2.1: NSID only when asked; RFC 8914: the extended error, when there is one.
      const e = q.edns;
      if (!e.nsid && !ede) opt = e.dnssecOk ? this.#optDo : this.#optPlain;
      else {
        const nsid = e.nsid ? this.#identity.nsidOption : NO_OPTIONS;
        opt = { udpSize: this.#udpPayload, dnssecOk: e.dnssecOk, options: ede ? concat(nsid, encodeEde(ede)) : nsid };
      }
    }
    // RFC 6891 §7: the smaller of the requestor's size and ours; 512 without EDNS (RFC 1035 §4.2.1).
    const limit = transport === 'tcp' ? TCP_LIMIT : q.edns ? Math.min(q.edns.udpSize, this.#udpPayload) : CLASSIC_UDP_SIZE;
    const out = buildResponse(msg, q, rcode, flags, sections, opt, limit, ttl);
    this.#obs.response(transport, client, q.key, q.qtype, rcode, source, (performance.now() - start) / 1000);
    return out;
  }
}

function encodeEde([code, text]: readonly [number, string]): Uint8Array {
  const t = Buffer.from(text, 'utf8');
  const data = new Uint8Array(2 + t.length);
  data[0] = code >> 8;
  data[1] = code & 0xff;
  data.set(t, 2);
  return encodeOption(OPT_EDE, data);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
