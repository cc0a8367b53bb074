// Outgoing zone transfers (RFC 5936 AXFR, RFC 1995 IXFR) to the clients of `zones.transferTo`, so
// that one edge can feed another, or a monitoring host compare what a site serves. The query path
// hands AXFR and IXFR here (only those: nothing is added to other queries); a whole zone goes out
// over TCP as a stream of messages the connection writes one at a time (tcp.ts), each built when
// the one before has been written, with a turn of the event loop in between.
//
//   request ─▶ ACL + TSIG (transfer-acl.ts) ─▶ a zone served here, at its apex? ─▶ UDP? IXFR current?
//           ─▶ a slot (2 per client, 10 in all) ─▶ the zone's file read in a thread (zone/dump.ts)
//           ─▶ SOA · records · SOA in messages of ≤ 64 KiB, each signed (transfer-messages.ts)
//
// The node keeps no history of its zones, so an IXFR is answered with the current SOA alone when the
// client is current (its serial at ours or newer), and with the whole zone otherwise (RFC 1995 §4).

import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from '../core/index.js';
import { Admission, errorMessage } from '../core/index.js';
import type { Query, ResponseOpt, WireRecord } from '../wire/index.js';
import {
  ANCOUNT,
  ARCOUNT,
  NSCOUNT,
  Rcode,
  T,
  keyToText,
  rcodeName,
  readRecord,
  recordAt,
  tsigSign,
  tsigUnsigned,
  u16,
  u32,
} from '../wire/index.js';
import type { DumpRequest, Zone, ZoneDump, ZoneStore } from '../zone/index.js';
import { dumpRecords, dumpZone, serialGreater } from '../zone/index.js';
import type { AclVerdict, TransferRule } from './transfer-acl.js';
import { TransferAcl } from './transfer-acl.js';
import type { Answering, Signer } from './transfer-messages.js';
import { UNSIGNED, singleMessage, tsigSigner, zoneMessages } from './transfer-messages.js';

const AXFR = 252;

export type TransferKind = 'axfr' | 'ixfr';

/**
 * How a transfer request ended: `ok` the whole zone sent; `uptodate` the SOA alone (an IXFR at our
 * serial or newer); `udp` over UDP (AXFR: FORMERR; IXFR of an older serial: the SOA alone, so the
 * client asks again over TCP); `refused` (the ACL, a missing or foreign key); `badtsig` (NOTAUTH
 * with a TSIG error); `notauth` (not a zone served here); `formerr`; `limited` (over a concurrency
 * cap); `failed` (the file no longer gives the zone served, or the client stopped reading).
 */
export type TransferResult =
  'ok' | 'uptodate' | 'udp' | 'refused' | 'badtsig' | 'notauth' | 'formerr' | 'limited' | 'failed';

/** What metrics/ counts: each request, by zone ("other" for a name that is no zone here). */
export interface TransferObserver {
  transfer(zone: string, kind: TransferKind, result: TransferResult): void;
}

/** Where the messages of a whole-zone answer go (a TCP connection, which writes them in order). */
export type TransferSink = (messages: AsyncIterable<Buffer>) => void;

export interface TransferLimits {
  /** Transfers of one client (IPv4 address, IPv6 /64) at once. */
  perClient: number;
  /** Transfers at once in this process. */
  total: number;
}

/** The node-wide defaults: 2 per client, 10 in all (shared out between `workers`). */
export const TRANSFER_LIMITS: TransferLimits = { perClient: 2, total: 10 };

/** The metric's zone label for a name that is no zone served here (bounded: not the name itself). */
export const OTHER_ZONE = 'other';

export interface TransferOptions {
  /** The zones served now (the pipeline's store: it changes on reload). */
  zones(): ZoneStore;
  log: Logger;
  /** Our EDNS payload size, in the OPT of answers to a request that had one. */
  udpPayload: number;
  limits?: TransferLimits;
  observer?: TransferObserver;
  /** Seconds since the epoch, for TSIG. */
  now?: () => number;
  /** How a zone's records are read (tests give their own). */
  dump?: (z: DumpRequest) => Promise<ZoneDump>;
}

const NO_OPTIONS = new Uint8Array(0);

export class OutgoingTransfers {
  #acl: TransferAcl;
  readonly #o: TransferOptions;
  readonly #admission: Admission;
  readonly #now: () => number;
  readonly #dump: (z: DumpRequest) => Promise<ZoneDump>;
  /** Zone reads shared by the transfers of one zone version running at once. */
  readonly #dumps = new Map<string, { dump: Promise<ZoneDump>; users: number }>();

  constructor(rules: readonly TransferRule[], o: TransferOptions) {
    this.#acl = new TransferAcl(rules);
    this.#o = o;
    const limits = o.limits ?? TRANSFER_LIMITS;
    this.#admission = new Admission({ maxConnections: limits.total, maxPerClient: limits.perClient });
    this.#now = o.now ?? ((): number => Math.floor(Date.now() / 1000));
    this.#dump = o.dump ?? dumpZone;
  }

  /** Take a new `zones.transferTo` (reload); transfers running go on. */
  configure(rules: readonly TransferRule[]): void {
    this.#acl = new TransferAcl(rules);
  }

  /** Transfers sending now. */
  get active(): number {
    return this.#admission.counts.total;
  }

  /**
   * Answer an AXFR or IXFR (class IN) from `client`, parsed as `q`. Undefined: the client is in no
   * `transferTo` entry, and is answered REFUSED like every other query. Otherwise the one message to
   * send, or null when the whole zone goes to `stream` (TCP; null over UDP).
   */
  answer(msg: Uint8Array, q: Query, client: string, stream: TransferSink | null): Buffer | null | undefined {
    const kind: TransferKind = q.qtype === AXFR ? 'axfr' : 'ixfr';
    const found = this.#o.zones().findZone(q.key);
    // RFC 5936 §2.2.1: a transfer is of a zone, asked at its apex; any other name is no zone here.
    const zone = found !== undefined && found.key === q.key ? found : undefined;
    const label = zone ? keyToText(zone.key) : OTHER_ZONE;
    if (!this.#acl.covers(client)) {
      this.#o.observer?.transfer(label, kind, 'refused');
      return undefined;
    }
    const now = this.#now();
    const v = this.#acl.check(msg, client, now);
    const opt = this.#optOf(q);
    const signer: Signer = v.ok && v.key && v.mac ? tsigSigner(v.key, v.mac, this.#now) : UNSIGNED;
    const a: Answering = { query: msg, q, opt, signer };
    const done = (result: TransferResult, rcode: number, why: string): void => {
      this.#o.observer?.transfer(label, kind, result);
      this.#o.log.warn('zone transfer refused', {
        client,
        zone: keyToText(q.key),
        kind,
        rcode: rcodeName(rcode),
        why,
      });
    };
    if (!v.ok) {
      done(v.result, v.rcode, v.why);
      return refusal(a, v, now);
    }
    if (!zone) {
      done('notauth', Rcode.NOTAUTH, 'not a zone served here (RFC 5936 §2.2.1: NOTAUTH)');
      return singleMessage(a, Rcode.NOTAUTH, []);
    }
    const soa = soaOf(zone);
    if (kind === 'ixfr') {
      const theirs = ixfrSerial(msg, q);
      if (theirs === undefined) {
        done('formerr', Rcode.FORMERR, 'IXFR without the client’s SOA in the authority section (RFC 1995 §3)');
        return singleMessage(a, Rcode.FORMERR, []);
      }
      // RFC 1995 §4: the client has our version or a newer one: the SOA alone says so.
      if (!serialGreater(theirs, zone.serial)) {
        this.#o.observer?.transfer(label, kind, 'uptodate');
        return singleMessage(a, Rcode.NOERROR, [soa]);
      }
      // RFC 1995 §2: an answer that does not fit in a datagram is the SOA alone, and the client
      // asks again over TCP. A whole zone never goes over UDP here.
      if (!stream) {
        this.#o.observer?.transfer(label, kind, 'udp');
        return singleMessage(a, Rcode.NOERROR, [soa]);
      }
    } else if (!stream) {
      // RFC 5936 §4.2: AXFR over UDP is not defined. FORMERR, as BIND answers it: the request is
      // not one this transport can carry (REFUSED would say the policy forbids it, which is false).
      done('udp', Rcode.FORMERR, 'AXFR over UDP (RFC 5936 §4.2)');
      return singleMessage(a, Rcode.FORMERR, []);
    }
    const slot = this.#admission.admit(client);
    if (!slot.ok) {
      const cap = this.#o.limits ?? TRANSFER_LIMITS;
      done(
        'limited',
        Rcode.REFUSED,
        slot.reason === 'per_client'
          ? `${cap.perClient} transfers of this client already running`
          : `${cap.total} transfers already running`,
      );
      return singleMessage(a, Rcode.REFUSED, []);
    }
    stream(this.#send({ a, zone, soa, kind, label, client, release: () => slot.release() }));
    return null;
  }

  /**
   * A signed query other than a transfer (the SOA check of a secondary's refresh, RFC 1035 §4.3.5)
   * from a `transferTo` client: how to sign the answer the query path builds (RFC 8945 §5.3), or
   * the error answer when the signature fails (§5.2). Null (no TSIG, or a client of no entry): the
   * query is answered like every other, unsigned.
   */
  signed(msg: Uint8Array, q: Query, client: string): ((answer: Buffer) => Buffer) | Buffer | null {
    // Nothing in the additional section but the OPT: not signed.
    if (u16(msg, ARCOUNT) === (q.edns === null ? 0 : 1) || !this.#acl.covers(client)) return null;
    const now = this.#now();
    const v = this.#acl.check(msg, client, now);
    if (v.ok) {
      const { key, mac } = v;
      return key && mac ? (answer) => tsigSigner(key, mac, this.#now).sign(answer) : null;
    }
    if (v.tsig || v.rcode === Rcode.FORMERR) {
      this.#o.log.warn('signed query refused', { client, name: keyToText(q.key), qtype: q.qtype, why: v.why });
      return refusal({ query: msg, q, opt: this.#optOf(q), signer: UNSIGNED }, v, now);
    }
    // Verified with a key this address is not given: the answer anyone gets, signed as asked.
    const by = v.signed;
    return by ? (answer) => tsigSigner(by.key, by.mac, this.#now).sign(answer) : null;
  }

  #optOf(q: Query): ResponseOpt | null {
    return q.edns === null ? null : { udpSize: this.#o.udpPayload, dnssecOk: q.edns.dnssecOk, options: NO_OPTIONS };
  }

  /** The messages of a whole zone, one at a time; the slot is released however it ends. */
  async *#send(t: {
    a: Answering;
    zone: Zone;
    soa: WireRecord;
    kind: TransferKind;
    label: string;
    client: string;
    release: () => void;
  }): AsyncGenerator<Buffer> {
    const t0 = performance.now();
    const key = `${t.zone.file}|${t.zone.digest}`;
    let result: TransferResult = 'failed';
    let messages = 0;
    let records = 0;
    let problem: string | null = null;
    try {
      let dump: ZoneDump;
      try {
        dump = await this.#share(key, t.zone);
      } catch (e) {
        problem = errorMessage(e);
        yield singleMessage(t.a, Rcode.SERVFAIL, []);
        return;
      }
      records = dump.count + 2;
      for (const m of zoneMessages(t.a, t.soa, dumpRecords(dump))) {
        yield m;
        messages++;
        // Between messages: other sockets (UDP queries included) get their turn.
        await nextTurn();
      }
      result = 'ok';
    } catch (e) {
      problem = errorMessage(e);
    } finally {
      this.#unshare(key);
      t.release();
      this.#o.observer?.transfer(t.label, t.kind, result);
      const fields = {
        client: t.client,
        zone: t.label,
        kind: t.kind,
        serial: t.zone.serial,
        records,
        messages,
        ms: Math.round(performance.now() - t0),
        signed: t.a.signer !== UNSIGNED,
      };
      if (result === 'ok') this.#o.log.info('zone transferred out', fields);
      else
        this.#o.log.warn('zone transfer out failed', {
          ...fields,
          why: problem ?? 'the client closed or stopped reading before the end',
        });
    }
  }

  /** The zone's records, read once for all the transfers of this version running at once. */
  #share(key: string, zone: Zone): Promise<ZoneDump> {
    let s = this.#dumps.get(key);
    if (!s) {
      s = { dump: this.#dump({ file: zone.file, origin: keyToText(zone.key), digest: zone.digest }), users: 0 };
      this.#dumps.set(key, s);
    }
    s.users++;
    return s.dump;
  }

  #unshare(key: string): void {
    const s = this.#dumps.get(key);
    if (s && --s.users <= 0) this.#dumps.delete(key);
  }
}

/** The served SOA, as a record. */
function soaOf(zone: Zone): WireRecord {
  const s = zone.soa;
  return { owner: s.owner, type: T.SOA, class: s.class, ttl: s.ttl, rdata: s.rdatas[0] as Uint8Array };
}

/**
 * RFC 1995 §3: the serial of the SOA an IXFR carries in its authority section. Read from the end of
 * the RDATA (SERIAL … MINIMUM are its last 20 bytes), so compressed MNAME and RNAME do not matter.
 */
function ixfrSerial(msg: Uint8Array, q: Query): number | undefined {
  let i = q.questionEnd;
  const r = recordAt();
  const an = u16(msg, ANCOUNT);
  for (let n = 0; n < an + u16(msg, NSCOUNT); n++) {
    if (!readRecord(msg, i, r)) return undefined;
    if (n >= an && r.type === T.SOA && r.rdlen >= 22) return u32(msg, r.end - 20);
    i = r.end;
  }
  return undefined;
}

/** The answer to a request the ACL turned away, with the TSIG RFC 8945 §5.2 gives it. */
function refusal(a: Answering, v: Extract<AclVerdict, { ok: false }>, now: number): Buffer {
  const plain = singleMessage({ ...a, signer: UNSIGNED }, v.rcode, []);
  if (v.tsig && v.signed) {
    // BADTIME: signed over the request's MAC, its time signed echoed, ours in other data.
    const other = Buffer.alloc(6);
    other.writeUIntBE(now, 0, 6);
    return tsigSign(plain, v.signed.key, {
      now: v.tsig.timeSigned,
      priorMac: v.signed.mac,
      error: v.tsig.error,
      otherData: other,
    }).message;
  }
  if (v.tsig) return tsigUnsigned(plain, v.tsig, v.tsig.error, now);
  if (v.signed) return tsigSigner(v.signed.key, v.signed.mac, () => now).sign(plain);
  return plain;
}
