// The health state machine's and the announcer's metrics.

import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { AnnounceObserver } from '../announce/index.js';
import { systemClock } from '../core/index.js';
import type { CheckResult, HealthObserver, HealthState } from '../health/index.js';
import type { MetricSources } from './metrics.js';

/** Health and announcement. */
export function healthMetrics(
  registry: Registry,
  sources: MetricSources,
): { health: HealthObserver; announce: AnnounceObserver } {
  const r = [registry];
  const STATES = ['INIT', 'RISING', 'UP', 'FALLING', 'DOWN', 'SHEDDING', 'DISABLED', 'STOPPING'];
  const stateGauge = new Gauge({
    name: 'edgedns_health_state',
    help: 'Health state machine: 1 for the current state.',
    labelNames: ['state'],
    registers: r,
    aggregator: 'first',
  });
  for (const st of STATES) stateGauge.labels(st).set(st === 'INIT' ? 1 : 0);
  const checkGauge = new Gauge({
    name: 'edgedns_health_check_ok',
    help: '1 when the check passed on its last run.',
    labelNames: ['check', 'kind'],
    registers: r,
    aggregator: 'first',
  });
  const flaps = new Counter({
    name: 'edgedns_health_flaps_total',
    help: 'Withdrawals for health (not drains).',
    registers: r,
  });
  // holdUntil is the monitor's monotonic time (systemClock in the app): read it on the same clock.
  let holdUntil = 0;
  new Gauge({
    name: 'edgedns_health_holddown_seconds',
    help: 'Time left before the address may be announced again (re-announce hold-down).',
    registers: r,
    aggregator: 'first',
    collect() {
      this.set(Math.max(0, holdUntil - systemClock.now()) / 1000);
    },
  });
  const held = new Gauge({
    name: 'edgedns_health_withdraw_held',
    help: '1 while shared checks fail and the fleet withdraw budget keeps the address announced.',
    registers: r,
    aggregator: 'first',
  });
  held.set(0);
  const health: HealthObserver = {
    held: (on) => held.set(on ? 1 : 0),
    state(st: HealthState) {
      for (const x of STATES) stateGauge.labels(x).set(x === st.state ? 1 : 0);
      holdUntil = st.holdUntil;
    },
    checks(results: readonly CheckResult[]) {
      for (const c of results) checkGauge.labels(c.name, c.kind).set(c.ok ? 1 : 0);
    },
    flap: () => flaps.inc(),
  };
  const desired = new Gauge({
    name: 'edgedns_announce_desired',
    help: '1 when the prefix should be announced (with the normal or a de-preferred path).',
    labelNames: ['prefix'],
    registers: r,
    aggregator: 'first',
  });
  const confirmed = new Gauge({
    name: 'edgedns_announce_confirmed',
    help: '1 when the last successful adapter call announced (or de-preferred) the prefix, 0 withdrew it, -1 unknown.',
    labelNames: ['prefix'],
    registers: r,
    aggregator: 'first',
  });
  for (const p of sources.prefixes()) {
    desired.labels(p).set(0);
    confirmed.labels(p).set(-1);
  }
  const transitions = new Counter({
    name: 'edgedns_announce_transitions_total',
    help: 'Changes of the desired announcement, by action and reason.',
    labelNames: ['action', 'reason'],
    registers: r,
  });
  const callDuration = new Histogram({
    name: 'edgedns_announce_adapter_duration_seconds',
    help: 'Duration of adapter calls.',
    labelNames: ['adapter'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: r,
  });
  const callFailures = new Counter({
    name: 'edgedns_announce_adapter_failures_total',
    help: 'Adapter calls that failed (they are retried).',
    labelNames: ['adapter'],
    registers: r,
  });
  const announce: AnnounceObserver = {
    desired: (a) => {
      // 'deprefer' keeps the prefix announced (with a worse path): 1, as announce.
      for (const p of sources.prefixes()) desired.labels(p).set(a === 'withdraw' ? 0 : 1);
    },
    confirmed: (a) => {
      for (const p of sources.prefixes()) confirmed.labels(p).set(a === null ? -1 : a === 'withdraw' ? 0 : 1);
    },
    transition: (a, reason) => transitions.labels(a, reason).inc(),
    call: (adapter, seconds, ok) => {
      callDuration.labels(adapter).observe(seconds);
      if (!ok) callFailures.labels(adapter).inc();
    },
  };
  return { health, announce };
}
