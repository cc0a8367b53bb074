// A zone transfer in (AXFR, RFC 5936): ask a primary for a whole zone over TCP, signed with TSIG
// when a key is given, and take its records. The answer is a stream of messages that opens and
// closes with the zone's SOA; with a key, the first and the last message must be signed and no
// more than 99 in a row unsigned, each checked over the MAC before it (RFC 8945 §5.3.1). A primary
// is trusted for its data, not for its size or its pace: the transfer has a byte cap and a deadline.

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
/** RFC 8945 §5.3.1: a message signed at least every 100. */
const MAX_UNSIGNED_RUN = 99;

export interface TransferOptions {
  /** Sign the request and check every answer with it; null: unsigned. */
  key: TsigKey | null;
  /** The whole transfer's deadline (ms). */
  timeoutMs: number;
  /** The most bytes the primary may send. */
  maxBytes: number;
  /** The local address to connect from. */
  from?: string;
  /** Seconds since the epoch, for TSIG. */
  now?: () => number;
}

export interface ZoneTransfer {
  serial: number;
  /** Every record, the SOA first (once), names and RDATA uncompressed. */
  records: WireRecord[];
  messages: number;
  bytes: number;
}

/** A transfer that failed; the message says why, without the primary's address. */
export class TransferError extends EdgeError {
  constructor(message: string) {
    super(ErrorCode.TRANSFER, message);
  }
}

/** AXFR `zone` (absolute, e.g. "example.net.") from `to`. Rejects with TransferError. */
export function axfr(to: Endpoint, zone: string, o: TransferOptions): Promise<ZoneTransfer> {
  const now = o.now ?? ((): number => Math.floor(Date.now() / 1000));
  const zoneKey = nameKey(absoluteName(zone));
  const id = randomId();
  let request: Uint8Array = encodeQuery({
    id,
    flags: 0,
    qname: absoluteName(zone),
    qtype: AXFR,
    qclass: Class.IN,
    edns: null,
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
    const records: WireRecord[] = [];
    let unsigned: Uint8Array[] = [];
    let messages = 0;
    let bytes = 0;
    let serial = -1;
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve({ serial, records, messages, bytes });
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
      for (const rr of m.answer) {
        const isSoa = rr.type === T.SOA && nameKey(rr.owner) === zoneKey;
        if (records.length === 0) {
          if (!isSoa) throw new TransferError('the answer does not open with the zone’s SOA');
          serial = soaSerial(rr.rdata);
        } else if (isSoa) {
          // The closing SOA: the last record of the last message, the serial of the first.
          if (rr !== m.answer.at(-1)) throw new TransferError('records after the closing SOA');
          if (soaSerial(rr.rdata) !== serial) throw new TransferError('the closing SOA has another serial');
          if (key && unsigned.length > 0) throw new TransferError('the last message is not signed');
          return true;
        }
        records.push(rr);
      }
      return false;
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
    sock.on('close', () => fail(`the connection closed after ${messages} messages, before the closing SOA`));
  });
}

const tsigErrorName = (error: number): string =>
  Object.entries(TsigError).find(([, v]) => v === error)?.[0] ?? String(error);
