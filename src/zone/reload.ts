// What a reload may change: a zone whose content changed keeps the fleet identical only if its SOA
// serial went up (secondaries and monitoring compare serials), and a zone whose file vanished is
// not dropped by accident. Pure: the caller loads, this decides.

import type { ZoneInfo } from './store.js';

export type SerialPolicy = 'increase' | 'any';

/** RFC 1982 §3.2: serial s2 is greater than s1 in 32-bit sequence-space arithmetic. */
export function serialGreater(s1: number, s2: number): boolean {
  const d = (s2 - s1) >>> 0;
  return d !== 0 && d < 0x80000000;
}

export interface ReloadCheck {
  policy: SerialPolicy;
  /** Whether a zone that is served now and missing from the new set was removed on purpose. */
  removable(zone: ZoneInfo): boolean;
}

export interface ReloadVerdict {
  problems: string[];
  /** Zones refused because their serial did not increase (for the metric). */
  serialRefused: number;
  /** True when every zone is the same as the running one (same origin, file and content). */
  unchanged: boolean;
}

/** Compare the zones served now with those just loaded. */
export function checkReload(
  running: readonly ZoneInfo[],
  next: readonly ZoneInfo[],
  check: ReloadCheck,
): ReloadVerdict {
  const problems: string[] = [];
  let serialRefused = 0;
  const nextBy = new Map(next.map((z) => [z.origin, z]));
  const runningBy = new Map(running.map((z) => [z.origin, z]));
  for (const old of running) {
    const now = nextBy.get(old.origin);
    if (!now) {
      if (!check.removable(old)) {
        problems.push(
          `${old.file}: zone ${old.origin} is gone from the zone files; it is still served. To stop serving it, reload with --remove ${old.origin} (or remove it from the config)`,
        );
      }
      continue;
    }
    if (now.digest === old.digest || check.policy === 'any') continue;
    if (!serialGreater(old.serial, now.serial)) {
      serialRefused++;
      problems.push(
        `${now.file}: zone ${old.origin} changed but its SOA serial did not increase (running ${old.serial}, file ${now.serial}); raise the serial, or let zones.serialPolicy accept it (BIND's behaviour)`,
      );
    }
  }
  const unchanged =
    running.length === next.length &&
    next.every((z) => {
      const old = runningBy.get(z.origin);
      return old !== undefined && old.digest === z.digest && old.file === z.file;
    });
  return { problems, serialRefused, unchanged };
}
