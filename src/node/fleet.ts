// The node's side of the fleet: the Fleet built from `fleet:` (peers, key, budget), its data-plane
// check, and the admin pages it serves (/fleet for people and `status --fleet`, /fleet/state for
// peers).

import { isAbsolute, resolve as resolvePath } from 'node:path';
import { probeNsid } from '../client/index.js';
import type { Config } from '../config/index.js';
import { minAnnouncedOf } from '../config/index.js';
import type { Clock, Logger } from '../core/index.js';
import type { FleetRow, SiteState } from '../fleet/index.js';
import { Fleet, STATE_PATH, fetchState, readFleetKey, stateAnswer } from '../fleet/index.js';
import type { Check } from '../health/index.js';
import type { Page } from '../metrics/index.js';

export interface NodeFleet {
  fleet: Fleet;
  /** Fails on a data-plane fault (local: it withdraws; load-sensitive: not while overloaded). */
  check: Check;
  pages: Record<string, (url: URL) => Page>;
  minAnnounced: number;
}

/** The fleet of `c`, or null for a single node (no `fleet.peers`). Throws when the key cannot be read. */
export function buildFleet(
  c: Config,
  base: string,
  self: string,
  clock: Clock,
  log: Logger,
  local: () => Omit<SiteState, 'sees' | 'acks'>,
): NodeFleet | null {
  const f = c.fleet;
  if (f.peers.length === 0 || !f.keyFile) return null;
  const key = readFleetKey(isAbsolute(f.keyFile) ? f.keyFile : resolvePath(base, f.keyFile));
  if (!f.peers.some((p) => p.site === self))
    log.warn('fleet: this site is not in fleet.peers: its peers will neither read nor probe it', { site: self });
  const minAnnounced = minAnnouncedOf(f.minAnnounced, f.peers.length);
  const fleet = new Fleet({
    self,
    peers: f.peers.filter((p) => p.site !== self),
    intervalMs: f.interval,
    staleAfterMs: f.staleAfter,
    probeTimeoutMs: f.probeTimeout,
    probeFall: f.probeFall,
    minAnnounced,
    clock,
    log,
    local,
    fetch: (peer) => fetchState(peer.admin, key, f.interval),
    probe: probeNsid,
  });
  return {
    fleet,
    minAnnounced,
    check: { name: 'data-plane', kind: 'local', loadSensitive: true, run: () => fleet.dataPlane() },
    pages: {
      '/fleet': () => ({
        status: 200,
        body: `${JSON.stringify({ site: self, minAnnounced, sites: fleet.table() })}\n`,
      }),
      [STATE_PATH]: (url) => stateAnswer(key, url, fleet.state()),
    },
  };
}

export type { FleetRow };
