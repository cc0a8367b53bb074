// Public API of core/: errors, logging, the clock and small helpers every module may use.
export { EdgeError, ErrorCode, errorMessage, isEdgeError } from './errors.js';
export type { Logger, LogFields, LogFormat, LogLevel, LoggerOptions, RootLogger } from './log.js';
export { createLogger, silentLogger } from './log.js';
export type { Clock } from './clock.js';
export { ManualClock, systemClock } from './clock.js';
export { parseDuration } from './duration.js';
export {
  CidrSet,
  addressBytes,
  clientPrefix,
  formatHostPort,
  literalLookup,
  parseCidr,
  prefixNetwork,
} from './cidr.js';
export { runCommand } from './run.js';
export type { RunResult } from './run.js';
export { SYSTEM_RUNTIME_DIR, adminSocketCandidates, currentRuntimeEnv, defaultAdminSocket } from './paths.js';
export type { RuntimeEnv } from './paths.js';
export { NO_NOTIFIER, createNotifier, systemdNotify, takeNotifySocket } from './notify.js';
export type { Notifier, NotifierOptions, NotifySender } from './notify.js';
export { SIPHASH_KEY_LEN, SIPHASH_OUT_LEN, siphash24 } from './siphash.js';
export { VERSION } from './version.js';
export { Admission } from './admission.js';
export type { Admitted, RefuseReason } from './admission.js';
