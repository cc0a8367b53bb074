// Public API of secondary/: zones transferred from primaries (SOA checks, NOTIFY, IXFR/AXFR, the
// kept files, expiry) and the gate the query path asks about them.
export { NO_SECONDARIES, SecondaryGate } from './gate.js';
export type { NotifyHandler, SecondaryServing } from './gate.js';
export { SecondaryZones } from './secondary.js';
export type {
  SecondaryObserver,
  SecondaryOptions,
  SecondaryZoneSpec,
  SecondaryZoneStatus,
  TransferKind,
  Transfers,
} from './secondary.js';
export { applyDiffs, readStored, storedFile, writeZoneFile } from './files.js';
export type { SoaTimers, StoredZone } from './files.js';
