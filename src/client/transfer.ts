// Zone transfers in, over TCP, signed with TSIG when a key is given: the SOA check (what serial the
// primary has), AXFR (RFC 5936: the whole zone) and IXFR (RFC 1995: the differences since a
// serial, or the whole zone when the primary cannot tell them). An answer is a stream of messages;
// with a key, the first and the last must be signed and no more than 99 in a row unsigned, each
// checked over the MAC before it (RFC 8945 §5.3.1). A primary is trusted for its data, not for its
// size or its pace: every exchange has a byte cap and a deadline.

import * as net from 'node:net';
import { EdgeError, ErrorCode } from '../core/index.js';
import type { TsigKey, WireRecord } from '../wire/index.js';
import {
  Class,
  FLAG_QR,
  FrameReader,
  Rcode,
  T,
  TsigError,
  absoluteName,
  encodeQuery,
  frame,
  nameKey,
  parseMessage,
  rcodeName,
  soaSerial,
  tsigSign,
  tsigVerify,
} from '../wire/index.js';
import { randomId } from './query.js';
import type { Endpoint } from './transport.js';

const AXFR = 252;
const IXFR = 251;
/** RFC 8945 §5.3.1: a message signed at least every 100. */
const MAX_UNSIGNED_RUN = 99;

export interface TransferOptions {
  /** Sign the request and check every answer with it; null: unsigned. */
  key: TsigKey | null;
  /** The whole exchange's deadline (ms). */
  timeoutMs: number;
  /** The most bytes the primary may send. */
  maxBytes: number;
  /** The local address to connect from. */
  from?: string;
  /** Seconds since the epoch, for TSIG. */
  now?: () => number;
}

interface Counts {
  messages: number;
  bytes: number;
}

/** The whole zone: every record, the SOA first (once), names and RDATA uncompressed. */
export interface ZoneTransfer extends Counts {
  serial: number;
  records: WireRecord[];
}

/** One step of an incremental transfer: from serial `from` to `to`, these records out, these in. */
export interface ZoneDiff {
  from: number;
  to: number;
  /** The old SOA first, then the records removed. */
  deleted: WireRecord[];
  /** The new SOA first, then the records added. */
  added: WireRecord[];
}

/** What an IXFR brought: nothing new, the steps from the serial asked for, or the whole zone. */
export type IncrementalTransfer =
  | ({ kind: 'current'; serial: number } & Counts)
  | ({ kind: 'incremental'; serial: number; diffs: ZoneDiff[] } & Counts)
  | ({ kind: 'full' } & ZoneTransfer);

/** A transfer that failed; the message says why, without the primary's address. */
export class TransferError extends EdgeError {
  constructor(message: string) {
    super(ErrorCode.TRANSFER, message);
  }
}

/**
 * Takes the answer's records as they come. `record` returns true at the closing record (nothing
 * may follow it); `messageEnd` true when the message just read ends the answer.
 */
interface Consumer {
  record(rr: WireRecord, last: boolean): boolean;
  messageEnd(): boolean;
}

/** The serial of the zone's SOA on the primary (RFC 1035 §4.3.5's refresh check). */
export async function soaSerialOf(to: Endpoint, zone: string, o: TransferOptions): Promise<number> {
  const zoneKey = nameKey(absoluteName(zone));
  let serial = -1;
  await exchange(to, zone, T.SOA, null, o, {
    record(rr) {
      if (serial < 0 && rr.type === T.SOA && nameKey(rr.owner) === zoneKey) serial = soaSerial(rr.rdata);
      return false;
    },
    messageEnd() {
      if (serial < 0) throw new TransferError('the answer has no SOA for the zone');
      return true;
    },
  });
  return serial;
}

/** AXFR `zone` (absolute, e.g. "example.net.") from `to`. Rejects with TransferError. */
export async function axfr(to: Endpoint, zone: string, o: TransferOptions): Promise<ZoneTransfer> {
  const full = fullZone(zone);
  const counts = await exchange(to, zone, AXFR, null, o, full);
  return { serial: full.serial, records: full.records, ...counts };
}

/**
 * IXFR `zone` from `to`, telling it we hold `have` (our SOA record): the primary answers with its
 * SOA alone (nothing newer), the steps from our serial, or the whole zone as AXFR would.
 */
export async function ixfr(
  to: Endpoint,
  zone: string,
  have: WireRecord,
  o: TransferOptions,
): Promise<IncrementalTransfer> {
  const zoneKey = nameKey(absoluteName(zone));
  const ours = soaSerial(have.rdata);
  const isSoa = (rr: WireRecord): boolean => rr.type === T.SOA && nameKey(rr.owner) === zoneKey;
  // Held in an object: what the consumer sets is read after the exchange.
  const got: { first: WireRecord | null; full: ReturnType<typeof fullZone> | null } = { first: null, full: null };
  let seen = 0;
  const diffs: ZoneDiff[] = [];
  let diff: ZoneDiff | null = null;
  let adding = false;
  const consumer: Consumer = {
    record(rr, last) {
      seen++;
      const first = got.first;
      if (first === null) {
        if (!isSoa(rr)) throw new TransferError('the answer does not open with the zone’s SOA');
        got.first = rr;
        return false;
      }
      // RFC 1995 §4: a second record that is not our version's SOA means the whole zone follows.
      if (seen === 2 && (!isSoa(rr) || soaSerial(rr.rdata) !== ours)) {
        got.full = fullZone(zone);
        got.full.record(first, false);
      }
      if (got.full) return got.full.record(rr, last);
      const serial = soaSerial(first.rdata);
      if (isSoa(rr)) {
        const s = soaSerial(rr.rdata);
        if (diff && !adding) {
          diff.to = s;
          diff.added.push(rr);
          adding = true;
          return false;
        }
        if (diff && s === serial) {
          // The closing SOA: the primary's serial again, after the last step's additions.
          if (!last) throw new TransferError('records after the closing SOA');
          if (diff.to !== serial) throw new TransferError('the last step does not end at the primary’s serial');
          return true;
        }
        if (diff && s !== diff.to)
          throw new TransferError(`a step from serial ${s} after one that ended at ${diff.to}`);
        diff = { from: s, to: s, deleted: [rr], added: [] };
        diffs.push(diff);
        adding = false;
        return false;
      }
      if (!diff) throw new TransferError('a record before the first step’s SOA');
      (adding ? diff.added : diff.deleted).push(rr);
      return false;
    },
    messageEnd() {
      // Our serial or newer: the primary's SOA alone, in one message.
      return seen === 1;
    },
  };
  const counts = await exchange(to, zone, IXFR, have, o, consumer);
  const { first, full } = got;
  if (full) return { kind: 'full', serial: full.serial, records: full.records, ...counts };
  if (!first) throw new TransferError('the answer has no SOA');
  const serial = soaSerial(first.rdata);
  if (diffs.length === 0) return { kind: 'current', serial, ...counts };
  return { kind: 'incremental', serial, diffs, ...counts };
}

/** The records of a whole zone as AXFR sends them: the SOA, the rest, the SOA again. */
function fullZone(zone: string): Consumer & { serial: number; records: WireRecord[] } {
  const zoneKey = nameKey(absoluteName(zone));
  return {
    serial: -1,
    records: [],
    record(rr, last) {
      const isSoa = rr.type === T.SOA && nameKey(rr.owner) === zoneKey;
      if (this.records.length === 0) {
        if (!isSoa) throw new TransferError('the answer does not open with the zone’s SOA');
        this.serial = soaSerial(rr.rdata);
      } else if (isSoa) {
        // The closing SOA: the last record of the last message, the serial of the first.
        if (!last) throw new TransferError('records after the closing SOA');
        if (soaSerial(rr.rdata) !== this.serial) throw new TransferError('the closing SOA has another serial');
        return true;
      }
      this.records.push(rr);
      return false;
    },
    messageEnd: () => false,
  };
}

/** Send one request for `zone` over TCP and feed the answer's records to `c` until it ends. */
function exchange(
  to: Endpoint,
  zone: string,
  qtype: number,
  authority: WireRecord | null,
  o: TransferOptions,
  c: Consumer,
): Promise<Counts> {
  const now = o.now ?? ((): number => Math.floor(Date.now() / 1000));
  const id = randomId();
  let request: Uint8Array = encodeQuery({
    id,
    flags: 0,
    qname: absoluteName(zone),
    qtype,
    qclass: Class.IN,
    edns: null,
    ...(authority && { authority }),
  });
  let priorMac: Uint8Array | null = null;
  if (o.key) ({ message: request, mac: priorMac } = tsigSign(request, o.key, { now: now() }));
  const key = o.key;
  const keyOf = (name: string): TsigKey | undefined => (key && name === key.name ? key : undefined);

  return new Promise((resolve, reject) => {
    const sock = net.connect({
      host: to.host,
      port: to.port,
      ...(o.from === undefined ? {} : { localAddress: o.from }),
    });
    const reader = new FrameReader();
    let unsigned: Uint8Array[] = [];
    let messages = 0;
    let bytes = 0;
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve({ messages, bytes });
    };
    const fail = (why: string): void => finish(new TransferError(why));
    const timer = setTimeout(() => fail(`not complete within ${o.timeoutMs} ms (${messages} messages)`), o.timeoutMs);

    /** One message of the answer; true when it was the last. */
    const take = (raw: Buffer): boolean => {
      let msg: Uint8Array = raw;
      if (key) {
        const v = tsigVerify(raw, keyOf, { now: now(), priorMac, unsignedBefore: unsigned, timersOnly: messages > 0 });
        // A primary that refuses our key answers with the error in an unsigned TSIG (RFC 8945 §5.3.2).
        if (v.error !== TsigError.NOERROR)
          throw new TransferError(`the primary answered TSIG ${tsigErrorName(v.error)}`);
        if (v.status === 'unsigned') {
          if (messages === 0) throw new TransferError('the first message is not signed');
          if (unsigned.length >= MAX_UNSIGNED_RUN)
            throw new TransferError(`${unsigned.length + 1} messages in a row unsigned`);
          unsigned.push(raw);
        } else if (v.status === 'ok') {
          priorMac = v.mac;
          unsigned = [];
          msg = v.message;
        } else {
          throw new TransferError(`TSIG ${v.status} in message ${messages + 1}`);
        }
      }
      messages++;
      const m = parseMessage(msg);
      if (!m) throw new TransferError(`message ${messages} is malformed`);
      if (m.id !== id || (m.flags & FLAG_QR) === 0)
        throw new TransferError(`message ${messages} does not answer the request`);
      if (m.rcode !== Rcode.NOERROR) throw new TransferError(`refused: rcode ${rcodeName(m.rcode)}`);
      const end = (): boolean => {
        if (key && unsigned.length > 0) throw new TransferError('the last message is not signed');
        return true;
      };
      for (let i = 0; i < m.answer.length; i++)
        if (c.record(m.answer[i] as WireRecord, i === m.answer.length - 1)) return end();
      return c.messageEnd() && end();
    };

    sock.on('connect', () => sock.write(frame(request)));
    sock.on('data', (d: Buffer) => {
      bytes += d.length;
      if (bytes > o.maxBytes) return fail(`more than ${o.maxBytes} bytes`);
      reader.push(d);
      try {
        for (let m = reader.next(); m && !done; m = reader.next()) if (take(m)) finish(null);
      } catch (e) {
        finish(e as Error);
      }
    });
    sock.on('error', (e) => fail(e.message));
    sock.on('close', () => fail(`the connection closed after ${messages} messages, before the answer ended`));
  });
}

const tsigErrorName = (error: number): string =>
  Object.entries(TsigError).find(([, v]) => v === error)?.[0] ?? String(error);
