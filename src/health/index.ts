// Public API of health/: the pure state machine, the checks, and the monitor that runs them.
export { State, holdDownFor, initialState, nextInterval, shouldAnnounce, step } from './fsm.js';
export type { Event, FsmParams, HealthState } from './fsm.js';
export { commandCheck, eventLoopCheck, heapCheck, predicateCheck, probeCheck, runChecks } from './checks.js';
export type { Check, CheckKind, CheckOutcome, CheckResult } from './checks.js';
export { HealthMonitor } from './monitor.js';
export type { ChangeReason, HealthObserver, MonitorOptions } from './monitor.js';
