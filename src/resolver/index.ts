// Public API of resolver/: forwarding to upstream resolvers.
export { ResolveError, Resolver, readResolvConf } from './resolver.js';
export type { ResolverObserver, ResolverOptions, UpstreamAnswer, UpstreamSpec, UpstreamStatus } from './resolver.js';
export type { SentOver } from './transports.js';
