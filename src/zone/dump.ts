// A served zone's records for an outgoing transfer (AXFR, RFC 5936), read again from its file in a
// thread: parsed and checked as a load does (the same parser and policy), and only when it gives
// the zone being served (the same content digest), so that a transfer sends what queries are
// answered from. The answering thread never parses: it gets one buffer of records back,
// transferred, not copied, and reads it a message at a time.
//
//   records = RR · RR · …     each uncompressed, as on the wire (RFC 1035 §4.1.3):
//             owner · type u16 · class u16 · TTL u32 · rdlength u16 · rdata
//             every record of the zone but the apex SOA, node by node as the zone holds them

import { EdgeError, ErrorCode } from '../core/index.js';
import type { WireRecord } from '../wire/index.js';
import { readRecord, recordAt } from '../wire/index.js';
import { startThread } from './loader.js';

/** What the thread is asked: the zone as served. */
export interface DumpRequest {
  file: string;
  /** Presentation form, e.g. "example.test.". */
  origin: string;
  /** The content digest of the zone served (ZoneInfo.digest). */
  digest: string;
}

export type DumpReply = { ok: true; records: Uint8Array; count: number } | { ok: false; problem: string };

/** A zone's records but its SOA, ready to be sent. */
export interface ZoneDump {
  records: Uint8Array;
  count: number;
}

/** Longest a zone's read may take (a file on a hung mount must not hold a transfer slot forever). */
const DUMP_TIMEOUT_MS = 5 * 60_000;

/**
 * Read the records of the zone served from `z.file`, in a thread at a lower priority than
 * answering. Rejects with an EdgeError (ZONE_READ) when the file no longer gives the zone served
 * (changed since the load, gone, unreadable) or the thread fails.
 */
export function dumpZone(z: DumpRequest, timeoutMs = DUMP_TIMEOUT_MS): Promise<ZoneDump> {
  return new Promise((resolve, reject) => {
    const w = startThread('dump-thread', { file: z.file, origin: z.origin, digest: z.digest } satisfies DumpRequest);
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void w.terminate();
      reject(new EdgeError(ErrorCode.ZONE_READ, why));
    };
    const timer = setTimeout(() => fail(`${z.file}: not read within ${timeoutMs / 1000} s`), timeoutMs);
    w.once('message', (m: DumpReply) => {
      if (!m.ok) return fail(m.problem);
      settled = true;
      clearTimeout(timer);
      resolve({ records: m.records, count: m.count });
    });
    w.once('error', (e) => fail(`${z.file}: reading the zone failed: ${e.message}`));
    w.once('exit', (code) => fail(`${z.file}: the reading thread exited (code ${code}) without a result`));
  });
}

/** The records of a dump, in order: each a view into the dump's buffer. */
export function* dumpRecords(d: ZoneDump): Generator<WireRecord> {
  const buf = d.records;
  const r = recordAt();
  for (let i = 0; i < buf.length; i = r.end) {
    // The thread wrote them: a record that does not read is a bug, not input.
    if (!readRecord(buf, i, r)) throw new EdgeError(ErrorCode.ZONE_READ, `zone dump: bad record at byte ${i}`);
    yield {
      // Uncompressed: the owner ends where type, class, TTL and rdlength (10 bytes) begin.
      owner: buf.subarray(r.owner, r.rdata - 10),
      type: r.type,
      class: r.class,
      ttl: r.ttl,
      rdata: buf.subarray(r.rdata, r.end),
    };
  }
}
