// Public API of announce/: route-announcement adapters behind one interface, and the announcer.
export { AdapterError } from './adapter.js';
export type { Action, Adapter, AnnounceRequest } from './adapter.js';
export { dryRun, execAdapter, noneAdapter } from './adapters.js';
export { birdAdapter, birdInclude, birdRouteProtocols } from './bird.js';
export { exabgpAdapter } from './exabgp.js';
export { gobgpAdapter, gobgpLocalPaths } from './gobgp.js';
export { Announcer } from './announcer.js';
export type { AnnounceObserver, AnnounceStatus, AnnouncerOptions } from './announcer.js';
