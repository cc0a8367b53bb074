// What the metric files share: the latency buckets and the zeroing of known label sets.

import type { Counter } from 'prom-client';
import type { Transport } from '../server/index.js';

export const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** Every series of a counter whose label values are known in advance, at 0: a rate() over it works before the first event. */
export function zeroes(c: Counter<string>, ...labelSets: string[][]): void {
  for (const values of labelSets) c.labels(...values).inc(0);
}

/** Every transport a query comes by (the record makes the compiler check the list is whole). */
const TRANSPORT_SET: Record<Transport, true> = { udp: true, tcp: true, dot: true, doh: true };
export const TRANSPORTS = Object.keys(TRANSPORT_SET) as Transport[];

/** One value per transport, made by `f`. */
export function perTransport<T>(f: (t: Transport) => T): Record<Transport, T> {
  return Object.fromEntries(TRANSPORTS.map((t) => [t, f(t)])) as Record<Transport, T>;
}
