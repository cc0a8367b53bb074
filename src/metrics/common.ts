// What the metric files share: the latency buckets and the zeroing of known label sets.

import type { Counter } from 'prom-client';

export const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** Every series of a counter whose label values are known in advance, at 0: a rate() over it works before the first event. */
export function zeroes(c: Counter<string>, ...labelSets: string[][]): void {
  for (const values of labelSets) c.labels(...values).inc(0);
}
