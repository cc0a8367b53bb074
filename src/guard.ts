// `edgedns guard`: a small watchdog beside the node. It sends real DNS queries to the node's
// addresses and, when the node stops answering (crashed, hung, SIGSTOPped), withdraws the
// address itself — the node cannot do that when it is dead. It never announces: the node does
// that when it is healthy again (after `rise`, having noticed its stall).

import { buildAdapter, identityConfig } from './assemble.js';
import type { Config } from './config/index.js';
import { formatHostPort } from './config/index.js';
import type { Logger } from './core/index.js';
import { errorMessage } from './core/index.js';
import { probeQuestion, probeUdp } from './server/index.js';

export interface GuardHandle {
  stop(): void;
  done: Promise<void>;
}

export function runGuard(c: Config, log: Logger, probeZone: string | undefined): GuardHandle {
  const adapter = buildAdapter(c, log);
  const siteId = identityConfig(c).siteId;
  const targets = c.listen;
  const q = probeQuestion(probeZone);
  let stopped = false;
  let wake: () => void = () => {};
  let failures = 0;
  let withdrawn = false;
  let seq = 0;
  log.info('guard watching', { targets: targets.map(formatHostPort), intervalMs: c.guard.interval, timeoutMs: c.guard.timeout, fall: c.guard.fall, adapter: adapter.name, question: q });

  const sleep = (ms: number): Promise<void> =>
    new Promise((r) => {
      const t = setTimeout(r, ms);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });

  const done = (async () => {
    while (!stopped) {
      const t0 = Date.now();
      // The node is alive when every address answers.
      const results = await Promise.allSettled(targets.map((t) => probeUdp(t, q, c.guard.timeout)));
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [errorMessage(r.reason)] : []));
      if (failed.length === 0) {
        if (failures >= c.guard.fall) log.info('node answers again; it re-announces by itself after rise', {});
        failures = 0;
        withdrawn = false;
      } else {
        failures++;
        if (failures === 1) log.warn('node did not answer', { errors: failed });
        if (failures >= c.guard.fall && !withdrawn) {
          try {
            const out = await adapter.apply({ action: 'withdraw', prefixes: c.announce.prefixes, siteId, reason: 'guard: node not answering', seq: ++seq });
            withdrawn = true;
            log.warn('guard withdrew the address: the node is not answering', { failures, prefixes: c.announce.prefixes, output: out, at: new Date().toISOString() });
          } catch (e) {
            log.error('guard could not withdraw; retrying', { error: errorMessage(e) });
          }
        }
      }
      await sleep(Math.max(0, c.guard.interval - (Date.now() - t0)));
    }
  })();
  return {
    stop: () => {
      stopped = true;
      wake();
    },
    done,
  };
}
