// The query path, in its fixed order (DESIGN.md): check and parse the header bytes, CHAOS, zone,
// then finalize. Synchronous; allocates the response and little else.

import type { Query, ResponseOpt, Sections } from '../wire/index.js';
import { CLASSIC_UDP_SIZE, Class, EMPTY_SECTIONS, QueryStatus, Rcode, buildResponse, parseQuery } from '../wire/index.js';
import type { ZoneStore } from '../zone/index.js';

export type Transport = 'udp' | 'tcp';

/** Where an answer came from, for metrics and the query log. */
export type AnswerSource = 'zone' | 'chaos' | 'error';

/** What the pipeline reports per query; metrics/ implements it. A no-op by default. */
export interface PipelineObserver {
  query(transport: Transport, qtype: number): void;
  response(rcode: number, source: AnswerSource, seconds: number): void;
  malformed(transport: Transport): void;
}

export const NOOP_OBSERVER: PipelineObserver = { query: () => {}, response: () => {}, malformed: () => {} };

export interface PipelineOptions {
  zones: ZoneStore;
  /** Our EDNS UDP payload limit (RFC 6891 §6.2.5). */
  udpPayload: number;
  observer?: PipelineObserver;
}

const NO_OPTIONS = new Uint8Array(0);
const TCP_LIMIT = 65535;
const AXFR = 252;
const IXFR = 251;

export class Pipeline {
  #zones: ZoneStore;
  readonly #udpPayload: number;
  readonly #obs: PipelineObserver;

  constructor(opts: PipelineOptions) {
    this.#zones = opts.zones;
    this.#udpPayload = opts.udpPayload;
    this.#obs = opts.observer ?? NOOP_OBSERVER;
  }

  /** Swap in a newly loaded zone store (reload). */
  setZones(zones: ZoneStore): void {
    this.#zones = zones;
  }

  get zones(): ZoneStore {
    return this.#zones;
  }

  /** Answer one message; null means send nothing. Never throws on bad input. */
  handle(msg: Uint8Array, transport: Transport): Buffer | null {
    const start = performance.now();
    // 1–2. check and parse: header bytes, the question, OPT.
    const q = parseQuery(msg);
    if (q.status === QueryStatus.DROP) {
      this.#obs.malformed(transport);
      return null;
    }
    this.#obs.query(transport, q.qtype);
    if (q.status === QueryStatus.ERROR) return this.#finish(msg, q, q.rcode, 0, EMPTY_SECTIONS, transport, 'error', start);
    // 3. CHAOS: identity answers arrive with the identity module; until then, refused.
    if (q.qclass !== Class.IN) return this.#finish(msg, q, Rcode.REFUSED, 0, EMPTY_SECTIONS, transport, 'error', start);
    // Zone transfers are not served (RFC 5936 would need TCP and ACLs).
    if (q.qtype === AXFR || q.qtype === IXFR) return this.#finish(msg, q, Rcode.REFUSED, 0, EMPTY_SECTIONS, transport, 'error', start);
    // 5. zone
    const ans = this.#zones.answer(q.key, q.qtype);
    if (ans) return this.#finish(msg, q, ans.rcode, ans.flags, ans.sections, transport, 'zone', start);
    return this.#finish(msg, q, Rcode.REFUSED, 0, EMPTY_SECTIONS, transport, 'error', start);
  }

  /** 8. finalize: the one place that builds the response's OPT and applies the size limit. */
  #finish(msg: Uint8Array, q: Query, rcode: number, flags: number, sections: Sections, transport: Transport, source: AnswerSource, start: number): Buffer {
    const opt: ResponseOpt | null = q.edns ? { udpSize: this.#udpPayload, dnssecOk: q.edns.dnssecOk, options: NO_OPTIONS } : null;
    // RFC 6891 §7: the smaller of the requestor's size and ours; 512 without EDNS (RFC 1035 §4.2.1).
    const limit = transport === 'tcp' ? TCP_LIMIT : q.edns ? Math.min(q.edns.udpSize, this.#udpPayload) : CLASSIC_UDP_SIZE;
    const out = buildResponse(msg, q, rcode, flags, sections, opt, limit);
    this.#obs.response(rcode, source, (performance.now() - start) / 1000);
    return out;
  }
}
