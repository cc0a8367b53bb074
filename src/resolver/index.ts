// Public API of resolver/: forwarding to upstream resolvers.
export { ResolveError, Resolver, readResolvConf } from './resolver.js';
export type { ResolverObserver, ResolverOptions, UpstreamAnswer, UpstreamStatus } from './resolver.js';
export type { Question } from './query.js';
export type { Endpoint, MismatchReason } from './transport.js';
export { tcpRoundTrip } from './transport.js';
