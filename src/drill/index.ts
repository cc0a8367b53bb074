// Public API of drill/: the figures of a drill report (the query stream itself is client/'s).
export { figures, formatTable, median, summarize } from './report.js';
export type { RouteChange, RunFigures, RunInput, ScenarioReport } from './report.js';
export {
  answeredPct,
  lostBySecond,
  formatTargets,
  leftRibAt,
  leftState,
  mergeTargets,
  minAnnounced,
  parseBfd,
  parseBgp,
  parseRib,
  sessionsStable,
  stateTimeline,
  target,
} from './targets.js';
export type { RouterPoll, SitePoll, Target } from './targets.js';
