// Public API of server/: the query pipeline and the UDP/TCP listeners.
export { LatencySampler, Pipeline } from './pipeline.js';
export type { Answer, PipelineOptions, ZoneGate, ZoneTransfers } from './pipeline.js';
export { NOOP_DEFENCE, NOOP_OBSERVER } from './observers.js';
export type {
  AnswerSource,
  DefenceObserver,
  LimitAction,
  ShedAction,
  ShedWhat,
  PipelineObserver,
  ResponseEvent,
  Transport,
} from './observers.js';
export { RateLimiter, RrlKind } from './rrl.js';
export { CookieVerdict, Cookies, readCookieSecrets } from './cookies.js';
export type { CookieSecrets } from './cookies.js';
export { EDE, Forwarder } from './forward.js';
export type { ForwardObserver, Forwarded, ForwarderOptions, Upstreams } from './forward.js';
export { ForwardZones } from './forward-zones.js';
export type { ForwardZone } from './forward-zones.js';
export { FetchLimits, ZoneCuts } from './fetch-limits.js';
export type { FetchLimit } from './fetch-limits.js';
export { FailureCache } from './failures.js';
export { startListeners } from './listeners.js';
export type { EncryptedListen, ListenAddress, ListenerObserver, ListenerSet, SendFailure } from './listeners.js';
export type { TlsMaterial } from './encrypted.js';
export { readTlsMaterial } from './encrypted.js';
export { udpReusePort } from './reuse-port.js';
export type { CreateUdpSocket, ReusableSocketOptions } from './reuse-port.js';
export { Admission, Deadlines, SELF_RESERVE, WriteBudget } from './tcp-limits.js';
export type { Deadline, RefuseReason, TcpLimits, Timers } from './tcp-limits.js';
export { queryLog, teeObservers } from './querylog.js';
export { OTHER_ZONE, OutgoingTransfers, TRANSFER_LIMITS } from './transfer-out.js';
export type {
  TransferKind,
  TransferLimits,
  TransferObserver,
  TransferOptions,
  TransferResult,
  TransferSink,
} from './transfer-out.js';
export type { TransferRule } from './transfer-acl.js';
