// Public API of metrics/: metric definitions, the observers, and the admin HTTP endpoint.
export { createMetrics } from './metrics.js';
export type { MetricSources, Metrics } from './metrics.js';
export { isLoopback, startAdmin } from './admin.js';
export type { Action, ActionResult, AdminOptions, AdminServer } from './admin.js';
