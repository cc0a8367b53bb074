// Public API of identity/: NSID and CHAOS identity answers.
export { buildIdentity } from './identity.js';
export type { ChaosAnswer, Identity, IdentityConfig } from './identity.js';
