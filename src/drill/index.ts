// Public API of drill/: the client-side query stream and the figures of a drill report.
export { STREAM_LIMITS, responseOpt, runStream } from './stream.js';
export type { Sample, StreamOptions } from './stream.js';
export { figures, formatTable, median, summarize } from './report.js';
export type { RouteChange, RunFigures, RunInput, ScenarioReport } from './report.js';
