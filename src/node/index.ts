// Public API of node/: one edge node put together (EdgeNode: planes, health, announcement, admin,
// reload, signals) and the commands that check files the way the node loads them.
export { EdgeNode } from './node.js';
export type { ServeOptions } from './node.js';
export { checkConfig, checkZone, printZone } from './commands.js';
export type { ReloadResult } from './reload.js';
export type { FleetRow } from './fleet.js';
export { probeCookieOf } from '../process/index.js';
