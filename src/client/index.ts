// Public API of client/: every DNS query the node sends — to upstreams, to its own listeners
// (health probes, the guard's sentinels) and from a client's side (the drill stream).
export { checkReply, randomId } from './query.js';
export type { Question, ReplyCheck } from './query.js';
export { ExchangeError, UdpTransport, checkSource, tcpExchange, tcpRoundTrip } from './transport.js';
export type { Endpoint, ExchangeFailure, ExchangeTransport, MismatchReason, SecureConnect } from './transport.js';
export { certificateProblem, dohRoundTrip, spkiPin, upstreamCertificateProblem, upstreamDot } from './secure.js';
export type { UpstreamAuth } from './secure.js';
export { DOT_MAX_IN_FLIGHT, DotClient } from './dot.js';
export type { DotOptions } from './dot.js';
export { probeDoh, probeDot, probeNsid, probeQuestion, probeTcp, probeUdp, sentinel } from './probe.js';
export type { ProbeCookie, ProbeQuestion, ProbeTarget } from './probe.js';
export { STREAM_LIMITS, responseOpt, runStream } from './stream.js';
export type { ResponseOpt, Sample, StreamOptions } from './stream.js';
export { TransferError, axfr, ixfr, soaSerialOf } from './transfer.js';
export type { IncrementalTransfer, TransferOptions, ZoneDiff, ZoneTransfer } from './transfer.js';
