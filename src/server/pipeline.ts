// The query path, in its fixed order (DESIGN.md): check and parse the header bytes, CHAOS, zone,
// recursion ACL, cache, forward, then finalize. Everything but the upstream step is synchronous.

import type { CidrSet } from '../core/index.js';
import type { Identity } from '../identity/index.js';
import type { Edns, Query, ResponseOpt, ResponseParts, Sections, TtlPatch } from '../wire/index.js';
import {
  CLASSIC_UDP_SIZE,
  Class,
  EMPTY_SECTIONS,
  FLAG_AA,
  FLAG_RA,
  FLAG_RD,
  FLAG_TC,
  OPT_EDE,
  QueryStatus,
  Opcode,
  Rcode,
  buildResponse,
  padResponse,
  encodeOption,
  frame,
  newEdns,
  newQuery,
  parseQuery,
  resetQuery,
} from '../wire/index.js';
import type { ZoneStore } from '../zone/index.js';
import type { CookieVerdict, Cookies } from './cookies.js';
import { CookieVerdict as Verdict } from './cookies.js';
import type { Forwarded, Forwarder } from './forward.js';
import type { ForwardZones } from './forward-zones.js';
import { EDE } from './forward.js';
import type { RateLimiter } from './rrl.js';
import type { TransferSink } from './transfer-out.js';
import { RrlAction, RrlKind } from './rrl.js';
import type {
  AnswerSource,
  DefenceObserver,
  LimitAction,
  PipelineObserver,
  ResponseEvent,
  Transport,
} from './observers.js';
import { NOOP_DEFENCE, NOOP_OBSERVER } from './observers.js';

export interface PipelineOptions {
  zones: ZoneStore;
  identity: Identity;
  /** Our EDNS UDP payload limit (RFC 6891 §6.2.5). */
  udpPayload: number;
  /** Cache and upstreams; null when forwarding is off (names outside the zones are REFUSED). */
  forwarder: Forwarder | null;
  /** Clients allowed recursion. */
  recursionAllow: CidrSet;
  /** Forward zones: their names go to their own upstreams, under their own ACL when set; null: none. */
  forwardZones?: ForwardZones | null;
  /** Response rate limiting of UDP answers not forwarded; null = off. */
  rateLimit: { limiter: RateLimiter; logOnly: boolean } | null;
  /** DNS cookies (RFC 7873): server cookies minted and checked with the site's shared secret. */
  cookies: Cookies;
  observer?: PipelineObserver;
  defence?: DefenceObserver;
  /** Secondary zones: NOTIFY, and names of zones not served now; null without secondaries. */
  gate?: ZoneGate | null;
  /** Outgoing zone transfers (`zones.transferTo`); null: AXFR and IXFR are REFUSED to everyone. */
  transfers?: ZoneTransfers | null;
}

/** Outgoing zone transfers as the query path sees them (transfer-out.ts), asked about AXFR and IXFR only. */
export interface ZoneTransfers {
  /**
   * The answer to an AXFR or IXFR: undefined for a client that may not transfer (REFUSED like every
   * other query); one message; or null when the whole zone goes to `stream`.
   */
  answer(msg: Uint8Array, q: Query, client: string, stream: TransferSink | null): Buffer | null | undefined;
  /**
   * A signed SOA query (a secondary's refresh check): how to sign the zone's answer, or the error
   * answer (a TSIG that does not verify); null: answered like every query, unsigned.
   */
  signed(msg: Uint8Array, q: Query, client: string): ((answer: Buffer) => Buffer) | Buffer | null;
}

/** Secondary zones as the query path sees them (secondary/ builds it). */
export interface ZoneGate {
  /** Whether some zone is not served now: only then is `unavailable` asked. */
  readonly blocking: boolean;
  /** Why the names under `key` get SERVFAIL (their zone is not transferred yet or expired), or null. */
  unavailable(key: string): string | null;
  /** The answer to a NOTIFY from `client` (RFC 1996); null: send nothing. */
  notify(msg: Uint8Array, client: string): Uint8Array | null;
}

export type Answer = Buffer | null | Promise<Buffer | null>;

/** One query on its way through the pipeline: the parsed query, where it came from, when, and what answered it. */
interface Exchange extends Query {
  msg: Uint8Array;
  transport: Transport;
  client: string;
  /** performance.now() when it arrived, for a query whose latency is measured; else -1. */
  start: number;
  /** The local zone that answered (its origin), or null. */
  zone: string | null;
  /** The answer goes back with its 2-byte TCP length in front (see `handle`). */
  framed: boolean;
}

/**
 * An exchange: the pipeline keeps one (with one Edns) for every query answered synchronously, and
 * copies it (`#keep`) only for what outlives `handle`: a query waiting upstream, a transfer.
 */
function newExchange(
  q: Readonly<Query>,
  edns: Edns | null,
  msg: Uint8Array,
  transport: Transport,
  client: string,
  start: number,
  zone: string | null,
  framed: boolean,
): Exchange {
  return {
    status: q.status,
    rcode: q.rcode,
    id: q.id,
    flags: q.flags,
    opcode: q.opcode,
    questionEnd: q.questionEnd,
    key: q.key,
    qtype: q.qtype,
    qclass: q.qclass,
    edns,
    msg,
    transport,
    client,
    start,
    zone,
    framed,
  };
}

const EMPTY_QUERY: Readonly<Query> = newQuery();

const NO_OPTIONS = new Uint8Array(0);
const TCP_LIMIT = 65535;
/** The 2-byte length of a message over TCP (RFC 1035 §4.2.2). */
const FRAME_LEN = 2;
const AXFR = 252;
const IXFR = 251;
const SOA = 6;
/** RFC 8767 §4: stale answers carry a TTL of 30 seconds. */
const STALE: TtlPatch = { age: 0, fixed: 30 };
const PROHIBITED = [EDE.PROHIBITED, ''] as const;
/** No COOKIE option in the query. */
const NO_COOKIE = -1;

export class Pipeline {
  #zones: ZoneStore;
  #identity: Identity;
  readonly #udpPayload: number;
  readonly #fwd: Forwarder | null;
  readonly #allow: CidrSet;
  readonly #forwardZones: ForwardZones | null;
  readonly #obs: PipelineObserver;
  readonly #rrl: RateLimiter | null;
  readonly #rrlLogOnly: boolean;
  #cookies: Cookies;
  #gate: ZoneGate | null;
  readonly #transfers: ZoneTransfers | null;
  readonly #defence: DefenceObserver;
  /** The OPT of most responses (no options), built once. */
  readonly #optPlain: ResponseOpt;
  readonly #optDo: ResponseOpt;
  /** The parts of the response being built, filled in place (buildResponse reads them at once). */
  readonly #parts: ResponseParts = { rcode: 0, flags: 0, sections: EMPTY_SECTIONS, opt: null, limit: 0, ttl: null };
  /** The observers' view of each response, filled in place: nothing allocated per query for it. */
  readonly #event: ResponseEvent = {
    transport: 'udp',
    client: '',
    key: '',
    qtype: 0,
    rcode: 0,
    source: 'error',
    zone: null,
    seconds: 0,
    requestBytes: 0,
    responseBytes: 0,
  };

  /** The exchange of the query being answered, and its OPT's fields: reused, see newExchange. */
  readonly #x: Exchange = newExchange(EMPTY_QUERY, null, NO_OPTIONS, 'udp', '', -1, null, false);
  readonly #edns: Edns = newEdns();
  /** TTLs of a cache hit counted down by its age: filled in place per hit. */
  readonly #aged: TtlPatch = { age: 0, fixed: -1 };
  /** Which queries' latency is measured: see `LatencySampler`. */
  readonly #timing: LatencySampler;

  /** Shedding: refusing the cheapest queries first (see `shed`); one bit per reason. */
  #shedding = 0;
  /** Queries refused by shedding so far. */
  #shed = 0;
  /** Shed negative answers alternate: one dropped, the next sent truncated. */
  #truncateNext = false;

  constructor(opts: PipelineOptions) {
    this.#zones = opts.zones;
    this.#identity = opts.identity;
    this.#udpPayload = opts.udpPayload;
    this.#fwd = opts.forwarder;
    this.#allow = opts.recursionAllow;
    this.#forwardZones = opts.forwardZones ?? null;
    this.#obs = opts.observer ?? NOOP_OBSERVER;
    this.#rrl = opts.rateLimit?.limiter ?? null;
    this.#rrlLogOnly = opts.rateLimit?.logOnly ?? false;
    this.#cookies = opts.cookies;
    this.#gate = opts.gate ?? null;
    this.#transfers = opts.transfers ?? null;
    this.#defence = opts.defence ?? NOOP_DEFENCE;
    this.#timing = new LatencySampler(this.#obs.timeEvery ?? 1);
    this.#optPlain = { udpSize: opts.udpPayload, dnssecOk: false, options: NO_OPTIONS };
    this.#optDo = { udpSize: opts.udpPayload, dnssecOk: true, options: NO_OPTIONS };
  }

  /** Swap in newly loaded zones, identity and cookie secrets (reload). */
  update(zones: ZoneStore, identity: Identity, cookies: Cookies, gate: ZoneGate | null = this.#gate): void {
    this.#zones = zones;
    this.#identity = identity;
    this.#cookies = cookies;
    this.#gate = gate;
  }

  get zones(): ZoneStore {
    return this.#zones;
  }

  /**
   * Shed load or stop, for the health state (SHEDDING) or for a burst of kernel drops
   * (process/burst.ts): it sheds while either asks. What goes first is what costs a real
   * client least and an attacker most: UDP queries from clients that have not proven their address
   * (no valid server cookie) for names that do not exist (random-name floods: NXDOMAIN, half of them
   * dropped and half sent empty with TC=1 so that a real resolver asks again over TCP) and for
   * names not in the cache (water torture: answered stale when there is a stale answer, else
   * dropped, never forwarded). Zone answers, cache hits, TCP, cookie holders and the node's own
   * probes are answered as always.
   */
  shed(on: boolean, why: 'health' | 'burst' = 'health'): void {
    const bit = why === 'health' ? 1 : 2;
    this.#shedding = on ? this.#shedding | bit : this.#shedding & ~bit;
  }

  /** Queries refused by shedding since the pipeline was built. */
  get shedCount(): number {
    return this.#shed;
  }

  get forwarder(): Forwarder | null {
    return this.#fwd;
  }

  /**
   * Answer one message from `client`; null means send nothing. Never throws on bad input. `stream`:
   * where a TCP connection takes a zone transfer's messages. `framed`: the answer comes with its
   * 2-byte TCP length in front (RFC 1035 §4.2.2), built in place (tcp.ts: no copy per answer).
   */
  handle(msg: Uint8Array, transport: Transport, client: string, stream?: TransferSink, framed = false): Answer {
    // 1–2. check and parse: header bytes, the question, OPT.
    const x = this.#x;
    resetQuery(x);
    x.msg = msg;
    x.transport = transport;
    x.client = client;
    x.start = this.#timing.next() ? performance.now() : -1;
    x.zone = null;
    x.framed = framed;
    parseQuery(msg, x, this.#edns);
    if (x.status === QueryStatus.DROP) {
      this.#obs.malformed(transport);
      return null;
    }
    // The node's own health probes carry cookies too: kept out of the clients' counts. Decided once
    // and passed on as an argument: a field of the exchange would cost every query a slot.
    const probe = this.#isProbe(x);
    if (probe) this.#obs.probe(transport);
    else this.#obs.query(transport, x.qtype);
    if (x.status === QueryStatus.ERROR) {
      if (x.opcode === Opcode.NOTIFY && this.#gate) {
        const r = this.#gate.notify(msg, client);
        return r && framedIf(framed, Buffer.from(r.buffer, r.byteOffset, r.byteLength));
      }
      return this.#finish(x, probe, 'error', x.rcode, 0, EMPTY_SECTIONS);
    }
    // 3. CHAOS identity (RFC 4892).
    if (x.qclass === Class.CH) {
      const c = this.#identity.chaos(x.key, x.qtype);
      if (c.kind === 'refused') return this.#finish(x, probe, 'error', Rcode.REFUSED, 0, EMPTY_SECTIONS);
      return this.#finish(x, probe, 'chaos', Rcode.NOERROR, FLAG_AA, c.kind === 'answer' ? c.sections : EMPTY_SECTIONS);
    }
    if (x.qclass !== Class.IN || x.qtype === AXFR || x.qtype === IXFR) {
      // Zone transfers to the clients of zones.transferTo; to everyone else, and for other classes
      // (no data here): REFUSED.
      const out =
        x.qclass === Class.IN && this.#transfers !== null
          ? this.#transfers.answer(
              msg,
              this.#keep(x),
              client,
              transport === 'tcp' || transport === 'dot' ? (stream ?? null) : null,
            )
          : undefined;
      if (out !== undefined) return this.#observeTransfer(x, probe, out);
      return this.#finish(x, probe, 'error', Rcode.REFUSED, 0, EMPTY_SECTIONS);
    }
    // A secondary zone not transferred yet or expired: SERVFAIL, not a parent's or an upstream's answer.
    const why = this.#gate?.blocking ? this.#gate.unavailable(x.key) : null;
    if (why !== null)
      return this.#finish(x, probe, 'error', Rcode.SERVFAIL, 0, EMPTY_SECTIONS, null, [EDE.NOT_READY, why]);
    // 5. local zones answer everyone.
    const ans = this.#zones.answer(x.key, x.qtype, x.edns !== null && x.edns.dnssecOk);
    if (ans) {
      x.zone = this.#zones.zoneOf(ans, x.key);
      // RFC 8945 §5.3: a secondary's signed SOA check is answered signed (zone answers of other
      // types pay this one comparison).
      if (x.qtype === SOA && this.#transfers !== null) {
        const sign = this.#transfers.signed(msg, this.#keep(x), client);
        if (sign instanceof Uint8Array) return this.#observeTransfer(x, probe, sign);
        if (sign !== null) {
          // Signed over the message itself: framed (by a copy) once signed.
          x.framed = false;
          const out = this.#finish(x, probe, 'zone', ans.rcode, ans.flags, ans.sections);
          return out && framedIf(framed, sign(out));
        }
      }
      return this.#finish(x, probe, 'zone', ans.rcode, ans.flags, ans.sections);
    }
    // 4. recursion ACL: only for names outside the zones, so zone answers never pay for it. A name
    // under a forward zone goes to its upstreams, under its ACL when it has one (longest suffix).
    const fwd = this.#fwd;
    if (!fwd) return this.#finish(x, probe, 'error', Rcode.REFUSED, 0, EMPTY_SECTIONS);
    const fz = this.#forwardZones === null ? null : this.#forwardZones.find(x.key);
    const upstreams = fz === null ? fwd.upstreams : fz.upstreams;
    if (upstreams === null) return this.#finish(x, probe, 'error', Rcode.REFUSED, 0, EMPTY_SECTIONS);
    if (!(fz?.allow ?? this.#allow).has(client))
      return this.#finish(x, probe, 'error', Rcode.REFUSED, 0, EMPTY_SECTIONS, null, PROHIBITED);
    // 6. cache: a fresh hit is a copy with the ID and TTLs patched.
    const key = fwd.keyOf(x);
    const found = fwd.lookup(key, x, upstreams);
    if (found.kind === 'fresh') {
      const e = found.entry;
      const aged = this.#aged;
      aged.age = found.age;
      return this.#finish(x, probe, 'cache', e.rcode, FLAG_RA | e.flags, e, aged);
    }
    // Without RD the client asks for what we have, not for us to go and look.
    if ((x.flags & FLAG_RD) === 0) return this.#finish(x, probe, 'error', Rcode.REFUSED, FLAG_RA, EMPTY_SECTIONS);
    if (this.#shedding !== 0 && !probe && this.#unproven(x)) {
      this.#shed++;
      const stale = fwd.staleOnly(found);
      this.#defence.shed('forward', stale ? 'stale' : 'drop');
      return stale ? this.#finishForwarded(x, probe, stale) : this.#observe(x, probe, 'error', Rcode.SERVFAIL, null);
    }
    // 7. forward (coalesced), serve stale on failure; answered at once when nothing is asked.
    const f = fwd.fetch(x, key, found, upstreams);
    if (!(f instanceof Promise)) return this.#finishForwarded(x, probe, f);
    const kept = this.#keep(x);
    return f.then((r) => this.#finishForwarded(kept, probe, r));
  }

  /** A copy of the exchange (and its Edns) for what outlives this call: the next query reuses `x`. */
  #keep(x: Exchange): Exchange {
    const e = x.edns;
    return newExchange(x, e === null ? null : { ...e }, x.msg, x.transport, x.client, x.start, x.zone, x.framed);
  }

  #finishForwarded(x: Exchange, probe: boolean, f: Forwarded): Buffer | null {
    const e = f.entry;
    return this.#finish(
      x,
      probe,
      f.source,
      f.rcode,
      FLAG_RA | (e?.flags ?? 0),
      e ?? EMPTY_SECTIONS,
      f.age < 0 ? STALE : null,
      f.ede,
    );
  }

  /**
   * 8. finalize: the one place that builds the response's OPT (NSID, EDE, COOKIE), applies the
   * rate limit and the size limit. Null: the rate limiter dropped the response.
   */
  #finish(
    x: Exchange,
    probe: boolean,
    source: AnswerSource,
    rcode: number,
    flags: number,
    sections: Sections,
    ttl: TtlPatch | null = null,
    ede: readonly [number, string] | null = null,
  ): Buffer | null {
    const { msg, client, edns: e } = x;
    let cookie: number = NO_COOKIE;
    if (e !== null && e.cookieLen > 0) {
      cookie = this.#cookies.verdict(msg, e.cookieAt, e.cookieLen, client);
      if (!probe) this.#defence.cookie(cookie as CookieVerdict);
    }
    if (this.#shedding !== 0 && rcode === Rcode.NXDOMAIN && source === 'zone' && !probe && this.#unproven(x, cookie)) {
      this.#shed++;
      const truncate = this.#truncateNext;
      this.#truncateNext = !truncate;
      this.#defence.shed('nxdomain', truncate ? 'truncate' : 'drop');
      if (!truncate) return this.#observe(x, probe, source, rcode, null);
      sections = EMPTY_SECTIONS;
      flags |= FLAG_TC;
    }
    // Step 4's rate limit, decided here where the response's kind is known: UDP only (a TCP client
    // proved its address), never for a client that returned a valid server cookie (RFC 7873 §5.2.5).
    if (this.#rrl !== null && x.transport === 'udp' && cookie !== Verdict.VALID) {
      const action = this.#limit(this.#rrl, x, source, rcode, flags, sections, cookie);
      if (action !== null && !this.#rrlLogOnly) {
        if (action === 'drop') return this.#observe(x, probe, source, rcode, null);
        sections = EMPTY_SECTIONS;
        ttl = null;
        if (action === 'slip') flags |= FLAG_TC;
        else rcode = Rcode.BADCOOKIE;
      }
    }
    const r = this.#parts;
    r.rcode = rcode;
    r.flags = flags;
    r.sections = sections;
    r.ttl = ttl;
    r.opt = null;
    if (e !== null) {
      // RFC 5001 §2.1: NSID only when asked; RFC 8914: the extended error, when there is one;
      // RFC 7873 §5.2: the client's cookie with ours, whenever the query had one.
      if (e.nsidAt === 0 && !ede && cookie === NO_COOKIE) r.opt = e.dnssecOk ? this.#optDo : this.#optPlain;
      else {
        let options = e.nsidAt !== 0 ? this.#identity.nsidOption : NO_OPTIONS;
        if (ede) options = concat(options, encodeEde(ede));
        if (cookie !== NO_COOKIE)
          options = concat(
            options,
            this.#cookies.option(msg, e.cookieAt, e.cookieLen, client, cookie as CookieVerdict),
          );
        r.opt = { udpSize: this.#udpPayload, dnssecOk: e.dnssecOk, options };
      }
    }
    // RFC 6891 §7: the smaller of the requestor's size and ours; 512 without EDNS (RFC 1035 §4.2.1).
    // Over a stream (TCP, DoT, DoH) only the 2-byte length limits an answer.
    r.limit = x.transport !== 'udp' ? TCP_LIMIT : e ? Math.min(e.udpSize, this.#udpPayload) : CLASSIC_UDP_SIZE;
    // RFC 8467 §4.1: over an encrypted transport, a padded query gets a padded response (padded
    // as a message, then framed by a copy).
    if (e?.padded === true && (x.transport === 'dot' || x.transport === 'doh'))
      return this.#observe(x, probe, source, rcode, framedIf(x.framed, padResponse(buildResponse(msg, x, r))));
    return this.#observe(x, probe, source, rcode, buildResponse(msg, x, r, x.framed));
  }

  /** A transfer's answer: one message (its rcode read back), or null when a stream sends the zone. */
  #observeTransfer(x: Exchange, probe: boolean, out: Buffer | null): Buffer | null {
    const rcode = out === null ? Rcode.NOERROR : (out[3] as number) & 0x0f;
    return this.#observe(x, probe, rcode === Rcode.NOERROR ? 'zone' : 'error', rcode, out && framedIf(x.framed, out));
  }

  /** Report a response (null: dropped) to the observers, unless it answers the node's own probe. */
  #observe(x: Exchange, probe: boolean, source: AnswerSource, rcode: number, out: Buffer | null): Buffer | null {
    if (!probe) this.#report(x, source, rcode, out);
    return out;
  }

  // Apart from #observe: with the report inline, V8's inlining of #finish left 16 more bytes per query
  // (bench/alloc.ts).
  #report(x: Exchange, source: AnswerSource, rcode: number, out: Buffer | null): void {
    const e = this.#event;
    e.transport = x.transport;
    e.client = x.client;
    e.key = x.key;
    e.qtype = x.qtype;
    e.rcode = rcode;
    e.source = source;
    e.zone = x.zone;
    e.seconds = x.start < 0 ? -1 : (performance.now() - x.start) / 1000;
    e.requestBytes = x.msg.length;
    e.responseBytes = out === null ? 0 : x.framed ? out.length - FRAME_LEN : out.length;
    this.#obs.response(e);
  }

  /** One of the node's own health probes: its COOKIE starts with the probes' client cookie. */
  #isProbe(x: Exchange): boolean {
    return x.edns !== null && x.edns.cookieLen > 0 && this.#cookies.isProbe(x.msg, x.edns.cookieAt);
  }

  /** A UDP query without a valid server cookie: its source address is not proven. */
  #unproven(x: Exchange, cookie = this.#cookieOf(x)): boolean {
    return x.transport === 'udp' && cookie !== Verdict.VALID;
  }

  #cookieOf(x: Exchange): number {
    const e = x.edns;
    return e !== null && e.cookieLen > 0 ? this.#cookies.verdict(x.msg, e.cookieAt, e.cookieLen, x.client) : NO_COOKIE;
  }

  /** Count a response with the limiter: null to send it, else how it is held back (reported). */
  #limit(
    rrl: RateLimiter,
    q: Exchange,
    source: AnswerSource,
    rcode: number,
    flags: number,
    sections: Sections,
    cookie: number,
  ): LimitAction | null {
    const client = q.client;
    const kind = this.#kind(source, rcode, flags, sections);
    if (kind === 0) return null;
    const perName = kind === RrlKind.ANSWER || kind === RrlKind.NODATA;
    const name = perName ? q.key : kind === RrlKind.ERROR ? '' : (this.#zones.findZone(q.key)?.key ?? '');
    const d = rrl.decide(client, kind, name, perName ? q.qtype : 0);
    if (d.action === RrlAction.SEND) return null;
    // RFC 7873 §5.2.3: a client that sent a cookie is told the right one (BADCOOKIE) instead of TC=1.
    const action: LimitAction = d.action === RrlAction.DROP ? 'drop' : cookie === NO_COOKIE ? 'slip' : 'badcookie';
    this.#defence.limited(action, this.#rrlLogOnly, d.started, client, kind, name);
    return action;
  }

  /**
   * What the rate limiter counts a response as; 0 for what it does not limit: answers from the
   * cache and the upstreams, which only clients allowed recursion get, and SERVFAIL after
   * forwarding failed (the fetch limits bound that path).
   */
  #kind(source: AnswerSource, rcode: number, flags: number, sections: Sections): RrlKind | 0 {
    if (source === 'zone' || source === 'chaos') {
      if (rcode === Rcode.NXDOMAIN) return RrlKind.NXDOMAIN;
      if (rcode !== Rcode.NOERROR) return RrlKind.ERROR;
      if (sections.an === 0 && (flags & FLAG_AA) === 0) return RrlKind.REFERRAL;
      // Answers synthesized from a template (a wildcard's data or its NODATA) are counted per
      // zone, so random names under a wildcard share one account.
      if (sections.shift !== undefined) return RrlKind.WILDCARD;
      return sections.an > 0 ? RrlKind.ANSWER : RrlKind.NODATA;
    }
    return source === 'error' && rcode !== Rcode.SERVFAIL ? RrlKind.ERROR : 0;
  }
}

/**
 * Picks the queries whose latency is measured (two clock reads each): every `every`-th on average,
 * at random gaps (1 … 2·every − 1) so that no periodic pattern of queries is always, or never,
 * timed. `every` 1 times every query, Infinity none.
 */
export class LatencySampler {
  readonly #every: number;
  readonly #random: () => number;
  #left = 1;

  constructor(every: number, random: () => number = Math.random) {
    this.#every = Math.max(1, Math.floor(every));
    this.#random = random;
    // Infinity: never (no observer reads the time).
    if (!Number.isFinite(this.#every)) this.#left = Infinity;
  }

  /** Whether the query arriving now is timed. */
  next(): boolean {
    if (--this.#left > 0) return false;
    this.#left = this.#every === 1 ? 1 : 1 + Math.floor(this.#random() * (2 * this.#every - 1));
    return true;
  }
}

/** `out` with its 2-byte TCP length in front (a copy) when `framed`: the answers not built by #finish. */
function framedIf(framed: boolean, out: Buffer): Buffer {
  return framed ? frame(out) : out;
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
