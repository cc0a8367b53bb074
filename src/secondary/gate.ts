// Secondary zones as the query path meets them, in every process that answers: NOTIFY messages
// (RFC 1996) answered at once and passed on to the refresh runtime, and the names of a secondary
// zone that is not served (not transferred yet, or expired) answered SERVFAIL instead of being
// forwarded or answered from a parent zone. Built from plain data, so that worker processes build
// the same gate from what the primary sends them.

import { isIP } from 'node:net';
import type { ZoneGate } from '../server/index.js';
import type { TsigKey, TsigKeyText } from '../wire/index.js';
import {
  FLAG_AA,
  FLAG_QR,
  HEADER_LEN,
  Opcode,
  Rcode,
  T,
  absoluteName,
  nameKey,
  parseMessage,
  tsigKeyFromText,
  tsigSign,
  tsigVerify,
} from '../wire/index.js';

/** What the answering processes need to know of the secondary zones. */
export interface SecondaryServing {
  zones: { origin: string; primaries: string[]; key: TsigKeyText | null }[];
  /** Zones not served, and why (said in the SERVFAIL's extended error). */
  unavailable: { origin: string; why: string }[];
}

export const NO_SECONDARIES: SecondaryServing = { zones: [], unavailable: [] };

/** A NOTIFY taken: the zone (as configured) and the primary it came from. */
export type NotifyHandler = (origin: string, from: string) => void;

/** An address as the listeners give it, without the IPv4-mapped prefix. */
const plainAddress = (a: string): string => (a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a);

export class SecondaryGate implements ZoneGate {
  readonly blocking: boolean;
  readonly #unavailable: Map<string, string>;
  readonly #zones: Map<string, { origin: string; primaries: Set<string>; key: TsigKey | null }>;
  readonly #onNotify: NotifyHandler;
  readonly #now: () => number;

  constructor(s: SecondaryServing, onNotify: NotifyHandler, now = (): number => Math.floor(Date.now() / 1000)) {
    this.#unavailable = new Map(s.unavailable.map((u) => [nameKey(absoluteName(u.origin)), u.why]));
    this.blocking = this.#unavailable.size > 0;
    this.#zones = new Map(
      s.zones.map((z) => [
        nameKey(absoluteName(z.origin)),
        { origin: z.origin, primaries: new Set(z.primaries.map(plainAddress)), key: z.key && tsigKeyFromText(z.key) },
      ]),
    );
    this.#onNotify = onNotify;
    this.#now = now;
  }

  unavailable(key: string): string | null {
    // The name, then each parent: keys are length-prefixed labels.
    for (let i = 0; i < key.length; i += key.charCodeAt(i) + 1) {
      const why = this.#unavailable.get(i === 0 ? key : key.slice(i));
      if (why !== undefined) return why;
      if (key.charCodeAt(i) === 0) break;
    }
    return null;
  }

  /**
   * RFC 1996 §3.7: a NOTIFY for a secondary zone from one of its primaries (signed with the zone's
   * key when it has one) is answered NOERROR and starts a refresh; from anyone else REFUSED, for
   * another zone NOTAUTH, with a bad signature NOTAUTH. Malformed: nothing.
   */
  notify(msg: Uint8Array, client: string): Uint8Array | null {
    const m = parseMessage(msg);
    if (!m || m.qname === undefined || (m.flags & FLAG_QR) !== 0) return null;
    const zone = this.#zones.get(nameKey(m.qname));
    const from = plainAddress(client);
    if (!zone || m.qtype !== T.SOA) return reply(msg, Rcode.NOTAUTH);
    if (!zone.primaries.has(from)) return reply(msg, Rcode.REFUSED);
    if (!zone.key) {
      this.#onNotify(zone.origin, from);
      return reply(msg, Rcode.NOERROR);
    }
    const key = zone.key;
    const v = tsigVerify(msg, (name) => (name === key.name ? key : undefined), { now: this.#now() });
    if (v.status === 'unsigned') return reply(msg, Rcode.REFUSED);
    if (v.status !== 'ok') return reply(msg, Rcode.NOTAUTH);
    this.#onNotify(zone.origin, from);
    return tsigSign(reply(msg, Rcode.NOERROR), key, { now: this.#now(), priorMac: v.mac }).message;
  }
}

/** The answer to a NOTIFY: its ID and question, QR and AA, opcode NOTIFY, `rcode`. */
function reply(msg: Uint8Array, rcode: number): Uint8Array {
  const m = parseMessage(msg);
  const qlen = m?.qname ? m.qname.length + 4 : 0;
  const out = Buffer.alloc(HEADER_LEN + qlen);
  out.set(msg.subarray(0, 2), 0);
  out.writeUInt16BE(FLAG_QR | (Opcode.NOTIFY << 11) | FLAG_AA | rcode, 2);
  if (m?.qname) {
    out.writeUInt16BE(1, 4);
    out.set(m.qname, HEADER_LEN);
    out.writeUInt16BE(m.qtype, HEADER_LEN + m.qname.length);
    out.writeUInt16BE(m.qclass, HEADER_LEN + m.qname.length + 2);
  }
  return out;
}
