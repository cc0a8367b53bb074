// The thread of dump.ts: parse and check a served zone's file, compare it with what is served, and
// hand its records back as one buffer, transferred, not copied.

import { parentPort, workerData } from 'node:worker_threads';
import { EdgeError } from '../core/index.js';
import { T, absoluteName } from '../wire/index.js';
import type { DumpReply, DumpRequest } from './dump.js';
import { runInBackground } from './loader.js';
import { buildZoneFromFile } from './zone.js';
import type { BuiltZone } from './zone.js';

const { file, origin, digest } = workerData as DumpRequest;
// Beside a serving node: answering first.
runInBackground();

/** Every record but the apex SOA, uncompressed, back to back (dump.ts). */
function encode(zone: BuiltZone): { records: Uint8Array; count: number } {
  let size = 0;
  let count = 0;
  for (const node of zone.values())
    for (const set of node.rrsets.values()) {
      if (set.type === T.SOA && node.key === zone.key) continue;
      for (const rd of set.rdatas) {
        size += set.owner.length + 10 + rd.length;
        count++;
      }
    }
  const out = Buffer.alloc(size);
  let i = 0;
  for (const node of zone.values())
    for (const set of node.rrsets.values()) {
      if (set.type === T.SOA && node.key === zone.key) continue;
      for (const rd of set.rdatas) {
        out.set(set.owner, i);
        i += set.owner.length;
        i = out.writeUInt16BE(set.type, i);
        i = out.writeUInt16BE(set.class, i);
        i = out.writeUInt32BE(set.ttl, i);
        i = out.writeUInt16BE(rd.length, i);
        out.set(rd, i);
        i += rd.length;
      }
    }
  return { records: out, count };
}

let reply: DumpReply;
let transfer: ArrayBuffer[] = [];
try {
  const o = absoluteName(origin);
  const zone = buildZoneFromFile(file, o);
  if (zone.digest !== digest) {
    reply = {
      ok: false,
      problem: `${file} no longer holds zone ${origin} as served (the file has serial ${zone.serial}): reload to serve and transfer it`,
    };
  } else {
    const { records, count } = encode(zone);
    // Buffer.alloc of this size has an ArrayBuffer of its own (not the shared pool's).
    transfer = [records.buffer as ArrayBuffer];
    reply = { ok: true, records, count };
  }
} catch (e) {
  reply = { ok: false, problem: e instanceof EdgeError ? e.problems.join('; ') : (e as Error).message };
}
parentPort?.postMessage(reply, transfer);
