// Public API of drill/: the figures of a drill report (the query stream itself is client/'s).
export { figures, formatTable, median, summarize } from './report.js';
export type { RouteChange, RunFigures, RunInput, ScenarioReport } from './report.js';
