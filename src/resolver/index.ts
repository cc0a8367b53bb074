// Public API of resolver/: forwarding to upstream resolvers.
export { NOOP_RESOLVER_OBSERVER, ResolveError, Resolver, readResolvConf } from './resolver.js';
export type { ResolverObserver, ResolverOptions, UpstreamAnswer, UpstreamSpec, UpstreamStatus } from './resolver.js';
export type { SentOver } from './transports.js';
