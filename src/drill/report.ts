// Turning a drill's samples and route changes into the figures of a drill report.

import type { Sample } from '../client/index.js';
import type { Target } from './targets.js';

export interface RouteChange {
  /** ms since the epoch */
  t: number;
  /** The site the best route now leads to, or null when there is none. */
  site: string | null;
}

export interface RunFigures {
  /** Fault → the old site's route gone from the router (ms), null if it never went. */
  withdrawMs: number | null;
  /** Fault → the first answer from another site (ms, by send time). */
  movedMs: number | null;
  /** Queries sent between the fault and the restore that got no answer in time. */
  lost: number;
  /** Answers from the old site to queries sent after its route was withdrawn, until the route
   * leads back to it (a flap that re-announces makes later answers from it correct again). */
  oldSiteAnswers: number;
  /** Restore → the first answer from the old site again (ms). */
  failbackMs: number | null;
  /** Queries sent after the restore that got no answer in time. */
  failbackLost: number;
  /** How many times the best route changed during the run. */
  routeMoves: number;
}

export interface RunInput {
  samples: Sample[];
  routes: RouteChange[];
  oldSite: string;
  faultAt: number;
  restoreAt: number | null;
  endAt: number;
}

export function figures(r: RunInput): RunFigures {
  const gone = r.routes.find((c) => c.t >= r.faultAt && c.site !== r.oldSite);
  const withdrawAt = gone?.t ?? null;
  const moved = r.samples.find((s) => s.t >= r.faultAt && s.site !== null && s.site !== r.oldSite);
  const restore = r.restoreAt ?? r.endAt;
  const during = r.samples.filter((s) => s.t >= r.faultAt && s.t < restore);
  const after = r.restoreAt === null ? [] : r.samples.filter((s) => s.t >= (r.restoreAt as number) && s.t < r.endAt);
  const back = r.restoreAt === null ? undefined : after.find((s) => s.site === r.oldSite);
  let moves = 0;
  for (let i = 1; i < r.routes.length; i++)
    if ((r.routes[i] as RouteChange).site !== (r.routes[i - 1] as RouteChange).site) moves++;
  return {
    withdrawMs: withdrawAt === null ? null : withdrawAt - r.faultAt,
    movedMs: moved ? moved.t - r.faultAt : null,
    lost: during.filter((s) => s.rtt === null).length,
    oldSiteAnswers:
      withdrawAt === null
        ? 0
        : r.samples.filter(
            (s) =>
              s.t > withdrawAt &&
              s.site === r.oldSite &&
              s.t < Math.min(restore, returnAt(r.routes, r.oldSite, withdrawAt)),
          ).length,
    failbackMs: back && r.restoreAt !== null ? back.t - r.restoreAt : null,
    failbackLost: after.filter((s) => s.rtt === null).length,
    routeMoves: moves,
  };
}

function returnAt(routes: readonly RouteChange[], site: string, after: number): number {
  return routes.find((c) => c.t > after && c.site === site)?.t ?? Infinity;
}

export function median(xs: readonly (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
}

export interface ScenarioReport {
  scenario: string;
  runs: number;
  withdrawMs: number | null;
  movedMs: number | null;
  lost: number | null;
  oldSiteAnswers: number | null;
  failbackMs: number | null;
  failbackLost: number | null;
  routeMoves: number | null;
  /** The fleet drills' own figures, per run (attack, blackhole, blackhole-other, shared). */
  extra?: Record<string, unknown>[];
  /** The targets the scenario is held to; each passes only when every run met it. */
  targets?: Target[];
}

export function summarize(scenario: string, runs: readonly RunFigures[]): ScenarioReport {
  const m = (k: keyof RunFigures): number | null => median(runs.map((r) => r[k]));
  return {
    scenario,
    runs: runs.length,
    withdrawMs: m('withdrawMs'),
    movedMs: m('movedMs'),
    lost: m('lost'),
    oldSiteAnswers: m('oldSiteAnswers'),
    failbackMs: m('failbackMs'),
    failbackLost: m('failbackLost'),
    routeMoves: m('routeMoves'),
  };
}

export function formatTable(rows: readonly ScenarioReport[]): string {
  const cols: (keyof ScenarioReport)[] = [
    'scenario',
    'runs',
    'withdrawMs',
    'movedMs',
    'lost',
    'oldSiteAnswers',
    'failbackMs',
    'failbackLost',
    'routeMoves',
  ];
  const cell = (v: ScenarioReport[keyof ScenarioReport]): string =>
    v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]): string => vals.map((v, i) => v.padEnd(widths[i] as number)).join('  ');
  return [
    line(cols),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(cols.map((c) => cell(r[c])))),
  ].join('\n');
}
