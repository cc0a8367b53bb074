// Public API of process/: where DNS is answered — in this process (LocalPlane) or in N worker
// processes (WorkerPlane) — and the state both start from.
export { LocalPlane, cookiesOf, loadServeConfig, loadState, probeCookieOf } from './plane.js';
export type { CacheStats, DnsPlane, PlaneUpstreamStatus, ServeOptions, ServingState } from './plane.js';
export { WorkerPlane } from './workers.js';
