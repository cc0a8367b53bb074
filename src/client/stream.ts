// A steady stream of queries from a client, each answer attributed to a site by its NSID: what
// an operator watches during a drill (`edgedns drill stream`), and what the lab measures with.

import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import {
  ANCOUNT,
  ARCOUNT,
  Class,
  NSCOUNT,
  OPT_COOKIE,
  OPT_NSID,
  OPT_TYPE,
  T,
  absoluteName,
  encodeOption,
  encodeQuery,
  firstRecord,
  readOpt,
  readRecord,
  recordAt,
  u16,
} from '../wire/index.js';
import { randomId } from './query.js';

export interface StreamOptions {
  host: string;
  port: number;
  /** Queries per second (at most 5000). */
  rate: number;
  /** How long to send, ms (at most 10 minutes). */
  durationMs: number;
  /** A query without an answer after this long is lost. */
  lostAfterMs: number;
  qname: string;
}

export interface Sample {
  /** When it was sent (ms since the epoch). */
  t: number;
  /** Round trip in ms, or null when lost. */
  rtt: number | null;
  /** The NSID of the answer, or "" when it had none; null when lost. */
  site: string | null;
}

export const STREAM_LIMITS = { maxRate: 5000, maxDurationMs: 600_000 } as const;

const NSID_ASKED = encodeOption(OPT_NSID, new Uint8Array(0));

/**
 * A query for A, no RD, with an empty NSID option (RFC 5001 §2.1) and a COOKIE option (RFC 7873
 * §5.1): the stream is a client like any resolver, so a rate-limiting site exempts it once it has
 * returned the server cookie (the same at every site of a fleet that shares its secret).
 */
function buildQuery(id: number, qname: Uint8Array, cookie: Uint8Array): Buffer {
  const options = Buffer.concat([NSID_ASKED, encodeOption(OPT_COOKIE, cookie)]);
  return encodeQuery({
    id,
    flags: 0,
    qname,
    qtype: T.A,
    qclass: Class.IN,
    edns: { udpSize: 1232, dnssecOk: false, options },
  });
}

/** What a response's OPT says: its NSID ("" when none) and its COOKIE option's data (null when none). */
export interface ResponseOpt {
  nsid: string;
  cookie: Uint8Array | null;
}

/** The NSID and cookie of a response's OPT; undefined when the message is malformed. */
export function responseOpt(msg: Uint8Array): ResponseOpt | undefined {
  let i = firstRecord(msg);
  if (i < 0) return undefined;
  const out: ResponseOpt = { nsid: '', cookie: null };
  const r = recordAt();
  const records = u16(msg, ANCOUNT) + u16(msg, NSCOUNT) + u16(msg, ARCOUNT);
  for (let n = 0; n < records; n++) {
    if (!readRecord(msg, i, r)) return undefined;
    i = r.end;
    if (r.type !== OPT_TYPE) continue;
    const e = readOpt(msg, r);
    if (!e) return undefined;
    if (e.nsidAt !== 0)
      out.nsid = Buffer.from(msg.subarray(e.nsidAt, e.nsidAt + u16(msg, e.nsidAt - 2))).toString('utf8');
    // A server cookie follows the client's (16 to 40 bytes in all).
    if (e.cookieLen >= 16) out.cookie = Uint8Array.from(msg.subarray(e.cookieAt, e.cookieAt + e.cookieLen));
  }
  return out;
}

/** Send the stream; resolves with one sample per query once the last one is answered or lost. */
export function runStream(o: StreamOptions, onSample?: (s: Sample) => void): { done: Promise<Sample[]>; stop(): void } {
  const rate = Math.min(Math.max(o.rate, 1), STREAM_LIMITS.maxRate);
  const duration = Math.min(Math.max(o.durationMs, 0), STREAM_LIMITS.maxDurationMs);
  const qname = absoluteName(o.qname);
  const sock = dgram.createSocket(o.host.includes(':') ? 'udp6' : 'udp4');
  const samples: Sample[] = [];
  const pending = new Map<number, Sample>();
  const base = randomId();
  // Our client cookie, then the client and server cookie of the latest answer (RFC 7873 §5.3).
  let cookie: Uint8Array = randomBytes(8);
  let sent = 0;
  let stopped = false;
  const start = Date.now();
  sock.on('error', () => {});
  sock.on('message', (m) => {
    if (m.length < 2) return;
    const s = pending.get(m.readUInt16BE(0));
    if (!s) return;
    pending.delete(m.readUInt16BE(0));
    const rtt = Date.now() - s.t;
    if (rtt > o.lostAfterMs) return; // too late: it counts as lost
    s.rtt = rtt;
    const opt = responseOpt(m);
    s.site = opt?.nsid ?? '';
    if (opt?.cookie && Buffer.compare(opt.cookie.subarray(0, 8), cookie.subarray(0, 8)) === 0) cookie = opt.cookie;
    onSample?.(s);
  });
  const done = new Promise<Sample[]>((resolve) => {
    const tick = (): void => {
      const now = Date.now();
      // Catch up to where the clock says the stream should be, so the rate holds under jitter.
      const due = Math.min(Math.floor(((now - start) * rate) / 1000), Math.floor((duration * rate) / 1000));
      while (!stopped && sent < due) {
        const id = (base + sent) & 0xffff;
        const s: Sample = { t: Date.now(), rtt: null, site: null };
        samples.push(s);
        pending.set(id, s);
        sock.send(buildQuery(id, qname, cookie), o.port, o.host);
        sent++;
      }
      if (stopped || now - start >= duration) {
        setTimeout(() => {
          sock.close();
          resolve(samples);
        }, o.lostAfterMs + 50);
        return;
      }
      setTimeout(tick, Math.max(1, Math.floor(1000 / rate)));
    };
    tick();
  });
  return {
    done,
    stop: () => {
      stopped = true;
    },
  };
}
