// Public API of compose/: building the modules' objects from the config — zone specs, the cache,
// the resolver, the routing adapter, the site identity. What the node and the CLI share.
export {
  buildCache,
  buildForwardResolvers,
  buildResolver,
  configBase,
  configuredZoneSpecs,
  zoneSpecs,
} from './assemble.js';
export type { ForwardZoneResolver } from './assemble.js';
export { announceOnce, buildAdapter } from './routing.js';
export { identityConfig } from './site.js';
export { readTsigKey, transferRules } from './tsig.js';
