// The optional query log (one JSON line per query), and joining observers. Which observer runs is
// chosen once at construction: a disabled log costs nothing per query.

import type { Logger } from '../core/index.js';
import { keyToText, typeName } from '../wire/index.js';
import type { AnswerSource, PipelineObserver, Transport } from './pipeline.js';
import { NOOP_OBSERVER } from './pipeline.js';

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** An observer that logs every query ('all') or a random sample of them; NOOP for 'off'. */
export function queryLog(log: Logger, mode: 'off' | 'sample' | 'all', sampleRate: number): PipelineObserver {
  if (mode === 'off' || (mode === 'sample' && sampleRate <= 0)) return NOOP_OBSERVER;
  type Response = PipelineObserver['response'];
  const line: Response = (transport: Transport, client: string, key: string, qtype: number, rcode: number, source: AnswerSource, seconds: number): void =>
    log.info('query', {
      client,
      name: key ? keyToText(key) : null,
      type: typeName(qtype),
      transport,
      rcode: RCODES[rcode] ?? String(rcode),
      source,
      ms: Math.round(seconds * 1e6) / 1000,
    });
  const response: Response = mode === 'all' ? line : (...a) => void (Math.random() < sampleRate && line(...a));
  return { query: () => {}, probe: () => {}, response, malformed: () => {} };
}

/** One observer calling several; NOOP observers are left out. */
export function teeObservers(...all: PipelineObserver[]): PipelineObserver {
  const obs = all.filter((o) => o !== NOOP_OBSERVER);
  if (obs.length === 0) return NOOP_OBSERVER;
  if (obs.length === 1) return obs[0] as PipelineObserver;
  return {
    query: (t, q) => {
      for (const o of obs) o.query(t, q);
    },
    probe: (t) => {
      for (const o of obs) o.probe(t);
    },
    response: (...a) => {
      for (const o of obs) o.response(...a);
    },
    malformed: (t) => {
      for (const o of obs) o.malformed(t);
    },
  };
}
