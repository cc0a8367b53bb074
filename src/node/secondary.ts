// The node's secondary zones: the runtime built from `zones.secondary` (TSIG secrets read from
// their files now, so that a bad one stops the start with its name), and its health check.

import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import type { Clock, Logger } from '../core/index.js';
import type { Check } from '../health/index.js';
import type { SecondaryObserver } from '../secondary/index.js';
import { SecondaryZones, storedFile } from '../secondary/index.js';
import { loadInThread } from '../zone/index.js';
import { canonicalZone } from './reload.js';
import { configBase, readTsigKey } from '../compose/index.js';

/** The runtime of the config's secondary zones, or null when there are none. */
export function buildSecondaries(
  loaded: LoadedConfig,
  o: {
    clock: Clock;
    log: Logger;
    observer: SecondaryObserver;
    apply(): Promise<{ ok: boolean; message: string }>;
  },
): SecondaryZones | null {
  const zones = loaded.config.zones.secondary;
  if (zones.length === 0) return null;
  const base = configBase(loaded);
  return new SecondaryZones({
    zones: zones.map((z) => {
      const origin = canonicalZone(z.origin);
      return {
        origin,
        primaries: z.primaries,
        key: z.tsig && readTsigKey(z.tsig, base),
        file: storedFile(isAbsolute(z.storeDir) ? z.storeDir : resolvePath(base, z.storeDir), origin),
      };
    }),
    clock: o.clock,
    log: o.log,
    observer: o.observer,
    apply: () => o.apply(),
    // The same parser and policy as a load, in a thread; the image is thrown away.
    check: async (file, origin) => {
      await loadInThread([{ file, origin }], { background: true });
    },
  });
}

/**
 * Fails while a secondary zone is not served (expired, or never transferred). A shared cause when
 * every site lost the same primary, so it goes through the fleet's withdraw budget; but it
 * withdraws even without `health.sharedWithdraw`: a site must not serve a zone the fleet has moved
 * past, nor draw queries for a zone it cannot answer.
 */
export function secondaryCheck(s: SecondaryZones): Check {
  return {
    name: 'secondary zones',
    kind: 'shared',
    withdraws: true,
    run() {
      const unserved = s.unserved();
      if (unserved.length === 0) return { ok: true, detail: `${s.size} secondary zone(s) served` };
      return { ok: false, detail: `not served (expired or not transferred): ${unserved.join(', ')}` };
    },
  };
}
