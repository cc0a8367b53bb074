// Public API of fleet/: the sites of one anycast fleet sharing their state, the withdraw budget and
// the data-plane verdict.
export { Fleet, serialLag } from './fleet.js';
export type { FleetOptions, FleetRow, Peer } from './fleet.js';
export { MAC_HEADER, STATE_PATH, fetchState, macOf, parseState, readFleetKey, stateAnswer } from './exchange.js';
export { dataPlaneFault, withdrawBudget } from './rules.js';
export type { Decision, Fault, PeerView, SiteState } from './rules.js';
