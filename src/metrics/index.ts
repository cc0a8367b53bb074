// Public API of metrics/: metric definitions, the observers, and the admin HTTP endpoint.
export { createMetrics, mergeMetrics } from './metrics.js';
export type { MetricSources, Metrics, MetricsJson } from './metrics.js';
export { durationField, hostAllowed, startAdmin, unknownField } from './admin.js';
export { ADMIN_LIMITS } from './admin-listen.js';
export type { Action, ActionResult, AdminOptions, AdminServer, Page } from './admin.js';
export type { Registry } from 'prom-client';
