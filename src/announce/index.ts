// Public API of announce/: route-announcement adapters behind one interface, and the announcer.
export { AdapterError, depreferOf, depreferProblems, describeDeprefer } from './adapter.js';
export type { Action, Adapter, AnnounceRequest, Deprefer } from './adapter.js';
export { dryRun, execAdapter, noneAdapter } from './adapters.js';
export { birdAdapter, birdInclude, birdRouteProtocols, birdRoutes } from './bird.js';
export type { BirdRoute } from './bird.js';
export { exabgpAdapter, exabgpLines } from './exabgp.js';
export { gobgpAdapter, gobgpLocalAttributes, gobgpLocalPaths } from './gobgp.js';
export type { GobgpPath } from './gobgp.js';
export { Announcer } from './announcer.js';
export type { AnnounceObserver, AnnounceStatus, AnnouncerOptions } from './announcer.js';
