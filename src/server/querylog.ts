// The optional query log (one JSON line per query), and joining observers. Which observer runs is
// chosen once at construction: a disabled log costs nothing per query.

import type { Logger } from '../core/index.js';
import { keyToText, rcodeName, typeName } from '../wire/index.js';
import type { PipelineObserver, ResponseEvent } from './observers.js';
import { NOOP_OBSERVER } from './observers.js';

/** An observer that logs every query ('all') or a random sample of them; NOOP for 'off'. */
export function queryLog(log: Logger, mode: 'off' | 'sample' | 'all', sampleRate: number): PipelineObserver {
  if (mode === 'off' || (mode === 'sample' && sampleRate <= 0)) return NOOP_OBSERVER;
  const line = (e: Readonly<ResponseEvent>): void =>
    log.info('query', {
      client: e.client,
      name: e.key ? keyToText(e.key) : null,
      type: typeName(e.qtype),
      transport: e.transport,
      rcode: rcodeName(e.rcode),
      source: e.source,
      ...(e.zone === null ? {} : { zone: e.zone }),
      bytes: e.responseBytes,
      ms: Math.round(e.seconds * 1e6) / 1000,
    });
  const response = mode === 'all' ? line : (e: Readonly<ResponseEvent>) => void (Math.random() < sampleRate && line(e));
  // Every line says how long its query took: every query is timed while the log is on.
  return { timeEvery: 1, query: () => {}, probe: () => {}, response, malformed: () => {} };
}

/** One observer calling several; NOOP observers are left out. */
export function teeObservers(...all: PipelineObserver[]): PipelineObserver {
  const obs = all.filter((o) => o !== NOOP_OBSERVER);
  if (obs.length === 0) return NOOP_OBSERVER;
  if (obs.length === 1) return obs[0] as PipelineObserver;
  return {
    // Timed as often as the most demanding of them asks.
    timeEvery: Math.min(...obs.map((o) => o.timeEvery ?? 1)),
    query: (t, q) => {
      for (const o of obs) o.query(t, q);
    },
    probe: (t) => {
      for (const o of obs) o.probe(t);
    },
    response: (e) => {
      for (const o of obs) o.response(e);
    },
    malformed: (t) => {
      for (const o of obs) o.malformed(t);
    },
  };
}
