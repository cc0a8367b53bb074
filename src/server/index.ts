// Public API of server/: the query pipeline and the UDP/TCP listeners.
export { NOOP_OBSERVER, Pipeline } from './pipeline.js';
export type { AnswerSource, PipelineObserver, PipelineOptions, Transport } from './pipeline.js';
export { startListeners } from './listeners.js';
export type { ListenAddress, ListenerSet, TcpLimits, TcpObserver } from './listeners.js';
