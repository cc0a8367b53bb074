// Public API of health/: the pure state machine, the checks, the load, and the monitor that runs them.
export { State, holdDownFor, initialState, nextInterval, shouldAnnounce, step } from './fsm.js';
export type { Event, FsmParams, HealthState, Verdict } from './fsm.js';
export { commandCheck, heapCheck, predicateCheck, probeCheck, runChecks } from './checks.js';
export type { Check, CheckKind, CheckOutcome, CheckResult } from './checks.js';
export { loadCheck, processLoadSampler, ratePerSecond, udpBacklog } from './load.js';
export type { LoadSample, OverloadLimits, ProcessLoad, UdpBacklog } from './load.js';
export { HealthMonitor } from './monitor.js';
export type { BudgetDecision, ChangeReason, HealthObserver, MonitorOptions } from './monitor.js';
