// A transferred zone on disk: one master file per zone in the store folder, its SOA on the first
// line, written under a temporary name and renamed, so that a restart (or a crash mid-write) finds
// the old zone or the new one, never half of one. The file's modification time is when the zone was
// last known current (a transfer, or a SOA check that found the same serial): after a restart, the
// expire timer runs from there, as BIND's does.

import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { ZoneDiff } from '../client/index.js';
import type { WireRecord } from '../wire/index.js';
import { EdgeError, ErrorCode } from '../core/index.js';
import { T, absoluteName, nameKey } from '../wire/index.js';
import { formatRecord, parseZoneFile, parseZoneText } from '../zone/index.js';

/** The SOA timers of a zone (seconds, RFC 1035 §3.3.13) and its serial. */
export interface SoaTimers {
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
}

export interface StoredZone extends SoaTimers {
  soa: WireRecord;
  /** Wall-clock ms when the zone was last known current (the file's mtime). */
  currentAt: number;
}

/** The file a zone is kept in: `<storeDir>/<origin without its final dot>.zone`. */
export function storedFile(storeDir: string, origin: string): string {
  const base = origin.replace(/\.$/, '').toLowerCase() || 'root';
  return join(storeDir, `${base.replace(/[/\\]/g, '_')}.zone`);
}

/** A SOA's timers. */
export function soaTimers(rdata: Uint8Array): SoaTimers {
  const v = new DataView(rdata.buffer, rdata.byteOffset + rdata.length - 20, 20);
  return { serial: v.getUint32(0), refresh: v.getUint32(4), retry: v.getUint32(8), expire: v.getUint32(12) };
}

/** The zone kept in `file`, read from its first line; null when there is none (or it is unreadable). */
export function readStored(file: string, origin: string): StoredZone | null {
  let text: string;
  let mtime: number;
  try {
    text = readFileSync(file, 'utf8');
    mtime = statSync(file).mtimeMs;
  } catch {
    return null;
  }
  const first = text.slice(0, text.indexOf('\n') + 1 || undefined);
  try {
    const soa = parseZoneText(first, absoluteName(origin), file)[0];
    if (!soa || soa.type !== T.SOA) return null;
    return { ...soaTimers(soa.rdata), soa, currentAt: mtime };
  } catch {
    return null;
  }
}

/** Every record of the zone kept in `file`. */
export function readStoredRecords(file: string, origin: string): WireRecord[] {
  return parseZoneFile(file, absoluteName(origin));
}

/** Write `records` (the SOA among them) to `path`, the SOA first; throws EdgeError. */
export function writeZoneFile(path: string, origin: string, records: readonly WireRecord[]): void {
  const apex = nameKey(absoluteName(origin));
  const soa = records.find((r) => r.type === T.SOA && nameKey(r.owner) === apex);
  if (!soa) throw new EdgeError(ErrorCode.TRANSFER, `zone ${origin}: no SOA to write`);
  const lines = [formatRecord(soa), ...records.filter((r) => r !== soa).map((r) => formatRecord(r))];
  try {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, `${lines.join('\n')}\n`);
  } catch (e) {
    throw new EdgeError(ErrorCode.TRANSFER, `cannot write ${path}: ${(e as Error).message}`);
  }
}

/** Put a file written by `writeZoneFile` in place (atomically). */
export function replaceFile(from: string, to: string): void {
  renameSync(from, to);
}

/** Mark the kept zone current as of `at` (wall-clock ms). */
export function touchStored(file: string, at: number): void {
  try {
    utimesSync(file, at / 1000, at / 1000);
  } catch {
    // A file gone meanwhile: the next transfer writes it again.
  }
}

const identity = (r: WireRecord): string =>
  `${nameKey(r.owner)}|${r.type}|${r.class}|${Buffer.from(r.rdata).toString('hex')}`;

/**
 * Apply IXFR steps (RFC 1995 §4) to a zone's records: each step's records out, then its records in,
 * the SOA replaced by the step's new one. Throws when a step removes a record the zone does not hold
 * (the primary's history and ours differ: the caller falls back to AXFR).
 */
export function applyDiffs(records: readonly WireRecord[], diffs: readonly ZoneDiff[]): WireRecord[] {
  const held = new Map(records.filter((r) => r.type !== T.SOA).map((r) => [identity(r), r]));
  let soa = records.find((r) => r.type === T.SOA);
  for (const d of diffs) {
    for (const r of d.deleted.slice(1))
      if (!held.delete(identity(r)))
        throw new EdgeError(ErrorCode.TRANSFER, `IXFR ${d.from} → ${d.to} removes a record the zone does not hold`);
    for (const r of d.added.slice(1)) held.set(identity(r), r);
    soa = d.added[0];
  }
  if (!soa) throw new EdgeError(ErrorCode.TRANSFER, 'the zone has no SOA');
  return [soa, ...held.values()];
}
