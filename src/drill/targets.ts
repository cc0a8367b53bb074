// The fleet drills' figures (attack, blackhole, shared): what the router's RIB, its BGP and BFD
// sessions and each site's /status did during a fault, and the targets they are held to.

import type { Sample } from '../client/index.js';

/** One look at the router: which sites have a route in its RIB, and its sessions. */
export interface RouterPoll {
  /** ms since the epoch */
  t: number;
  /** Sites with a path to the service address in the RIB (best or not); null when the read failed. */
  rib: string[] | null;
  /** BGP protocol → "state info since" (e.g. "up Established 04:04:19.719"); null when the read failed. */
  bgp: Record<string, string> | null;
  /** BFD peer address → "state since"; null when the read failed. */
  bfd: Record<string, string> | null;
}

/** One look at a site's /status. */
export interface SitePoll {
  t: number;
  site: string;
  /** The health state, or "unreachable" when /status did not answer in time. */
  state: string;
  /** The announcement it asks for (announce, deprefer, withdraw), null when unreachable. */
  desired: string | null;
}

/** Parse `birdc show route P` into the sites whose protocol (s1, s2, …) has a path. */
export function parseRib(out: string): string[] {
  const sites = new Set<string>();
  for (const m of out.matchAll(/\[s(\d+) /g)) sites.add(`site${m[1] as string}`);
  return [...sites].sort();
}

/**
 * Parse `birdc show protocols`: each BGP protocol's state, info and since. Null when it lists
 * none: BIRD lists every configured protocol whatever its state, so that is a read that failed
 * (seen under load: birdc exiting 0 with no protocol at all, every session "gone" for one read).
 */
export function parseBgp(out: string): Record<string, string> | null {
  const r: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^(\S+)\s+BGP\s+\S+\s+(\S+)\s+(\S+)\s*(\S*)/.exec(line);
    if (m) r[m[1] as string] = `${m[2] as string} ${m[4] as string} ${m[3] as string}`;
  }
  return Object.keys(r).length > 0 ? r : null;
}

/** Parse `birdc show bfd sessions`: each peer's state and since; null when it lists none (a down one is listed). */
export function parseBfd(out: string): Record<string, string> | null {
  const r: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^(\d+\.\d+\.\d+\.\d+|[0-9a-f:]+:[0-9a-f:]*)\s+\S+\s+(\S+)\s+(\S+)/i.exec(line);
    if (m) r[m[1] as string] = `${m[2] as string} ${m[3] as string}`;
  }
  return Object.keys(r).length > 0 ? r : null;
}

/** "04:04:19.719" → ms of the day (NaN when it is not such a time). */
const timeOfDay = (t: string): number => {
  const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,3}))?$/.exec(t);
  if (!m) return NaN;
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number((m[4] ?? '0').padEnd(3, '0'));
};

/**
 * Whether a session's "state since" is the same as before: the same state and a since within
 * 100 ms (BIRD derives the wall-clock "since" from its monotonic clock at each read, and it moves
 * by a millisecond now and then; a session that went down and up again moves it by far more).
 */
function sameSession(before: string, now: string | undefined): boolean {
  if (now === undefined) return false;
  const a = before.split(' ');
  const b = now.split(' ');
  if (a.length !== b.length || a.slice(0, -1).join(' ') !== b.slice(0, -1).join(' ')) return false;
  const ta = timeOfDay(a.at(-1) as string);
  const tb = timeOfDay(b.at(-1) as string);
  return Number.isNaN(ta) || Number.isNaN(tb) ? a.at(-1) === b.at(-1) : Math.abs(ta - tb) <= 100;
}

/**
 * Whether every BGP and BFD session stayed up the whole time: every read shows each session of
 * the first read, still Established / Up and with the same "since" (a reset changes it, even one
 * shorter than the polling interval). Failed reads are counted, not held against the sessions.
 */
export function sessionsStable(polls: readonly RouterPoll[]): {
  stable: boolean;
  resets: string[];
  failedReads: number;
} {
  const first = polls.find((p) => p.bgp !== null && p.bfd !== null);
  const resets = new Set<string>();
  let failedReads = 0;
  if (!first) return { stable: false, resets: ['no read of the router'], failedReads: polls.length };
  for (const p of polls) {
    if (p.bgp === null || p.bfd === null) {
      failedReads++;
      continue;
    }
    for (const [k, v] of Object.entries(first.bgp ?? {}))
      if (!sameSession(v, p.bgp[k]) || !v.startsWith('up Established'))
        resets.add(`bgp ${k}: ${v} → ${p.bgp[k] ?? 'gone'}`);
    for (const [k, v] of Object.entries(first.bfd ?? {}))
      if (!sameSession(v, p.bfd[k]) || !v.startsWith('Up')) resets.add(`bfd ${k}: ${v} → ${p.bfd[k] ?? 'gone'}`);
  }
  return { stable: resets.size === 0, resets: [...resets], failedReads };
}

/** Share of the stream's queries sent in [from, to) that were answered, in percent (null: none sent). */
export function answeredPct(samples: readonly Sample[], from: number, to: number): number | null {
  const during = samples.filter((s) => s.t >= from && s.t < to);
  if (during.length === 0) return null;
  return Math.round((1000 * during.filter((s) => s.rtt !== null).length) / during.length) / 10;
}

/** The stream's queries lost in each second of [from, to): where in a fault the losses fall. */
export function lostBySecond(samples: readonly Sample[], from: number, to: number): number[] {
  const out = new Array<number>(Math.max(0, Math.ceil((to - from) / 1000))).fill(0);
  for (const s of samples) {
    const i = Math.floor((s.t - from) / 1000);
    if (s.rtt === null && s.t >= from && s.t < to) out[i] = (out[i] ?? 0) + 1;
  }
  return out;
}

/** The fewest sites announced at once in [from, to), by the RIB reads (null: no read). */
export function minAnnounced(polls: readonly RouterPoll[], from: number, to: number): number | null {
  const n = polls.filter((p) => p.t >= from && p.t < to && p.rib !== null).map((p) => (p.rib as string[]).length);
  return n.length === 0 ? null : Math.min(...n);
}

/** When `site` first had no path in the RIB at or after `from` (null: it never left). */
export function leftRibAt(polls: readonly RouterPoll[], site: string, from: number, to = Infinity): number | null {
  return polls.find((p) => p.t >= from && p.t < to && p.rib !== null && !p.rib.includes(site))?.t ?? null;
}

/**
 * A site's states in [from, to), compressed to its changes: "UP@0 SHEDDING@2140 UP@9020" (ms from
 * `from`); the state before `from` opens it at 0.
 */
export function stateTimeline(polls: readonly SitePoll[], site: string, from: number, to: number): string {
  const mine = polls.filter((p) => p.site === site && p.t < to);
  const before = mine.filter((p) => p.t < from).at(-1);
  const out: string[] = [];
  let last = before?.state ?? null;
  if (last !== null) out.push(`${last}@0`);
  for (const p of mine.filter((x) => x.t >= from)) {
    if (p.state === last) continue;
    last = p.state;
    out.push(`${p.state}@${p.t - from}`);
  }
  return out.join(' ');
}

/** Whether a site showed any state other than `steady` in [from, to). */
export function leftState(polls: readonly SitePoll[], site: string, from: number, to: number, steady = 'UP'): boolean {
  return polls.some((p) => p.site === site && p.t >= from && p.t < to && p.state !== steady);
}

/** A target a drill is held to, and whether this run met it. */
export interface Target {
  name: string;
  want: string;
  got: string;
  pass: boolean;
}

export const target = (name: string, want: string, got: unknown, pass: boolean): Target => ({
  name,
  want,
  got:
    got === null || got === undefined
      ? '-'
      : typeof got === 'string' || typeof got === 'number' || typeof got === 'boolean'
        ? String(got)
        : JSON.stringify(got),
  pass,
});

/** Targets over several runs: a target passes only when it passed in every run; `got` lists each run's. */
export function mergeTargets(runs: readonly (readonly Target[])[]): Target[] {
  const names = [...new Set(runs.flatMap((r) => r.map((t) => t.name)))];
  return names.map((name) => {
    const each = runs.map((r) => r.find((t) => t.name === name));
    const first = each.find((t) => t !== undefined) as Target;
    return {
      name,
      want: first.want,
      got: each.map((t) => t?.got ?? '-').join(', '),
      pass: each.every((t) => t?.pass === true),
    };
  });
}

export function formatTargets(scenario: string, targets: readonly Target[]): string {
  return targets
    .map((t) => `${t.pass ? 'PASS' : 'FAIL'}  ${scenario}: ${t.name} — want ${t.want}, got ${t.got}`)
    .join('\n');
}
