// The `fleet:` section: the sites of the anycast fleet (the same list at every site), the shared key
// of their state exchange, and the withdraw budget. Its shape, defaults and rules live here.

import type { Check, HostPort } from './schema.js';
import { adminListen, duration, hostPort, int, list, obj, optional, str } from './schema.js';

export interface FleetPeer {
  /** The site's id (its NSID): a node finds itself in the list by its own `site.id`. */
  site: string;
  /** Unicast addresses where the site answers DNS, for the data-plane probes. */
  dns: HostPort[];
  /** The site's admin listener, where its fleet state is read. */
  admin: HostPort;
}

/** At least this many sites stay announced: a count, or a percentage of the fleet rounded up. */
export type MinAnnounced = { sites: number } | { percent: number };

export interface FleetConfig {
  /** Every site of the fleet, this one included; none = a single node. */
  peers: FleetPeer[];
  /** The shared secret that authenticates the state exchange (at least 16 bytes). */
  keyFile: string | null;
  /** How often states are exchanged and peers probed. */
  interval: number;
  /** A peer's state older than this is unknown. */
  staleAfter: number;
  minAnnounced: MinAnnounced;
  probeTimeout: number;
  /** Lost probes in a row before a peer counts as unreachable over DNS. */
  probeFall: number;
}

export const FLEET_DEFAULTS = {
  peers: [] as FleetPeer[],
  keyFile: null,
  interval: '1s',
  staleAfter: '3s',
  minAnnounced: 1,
  probeTimeout: '500ms',
  probeFall: 3,
} as const;

const minAnnounced = (): Check<MinAnnounced> => (v, path, p) => {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 10_000) return { sites: v };
  const m = typeof v === 'string' ? /^(\d{1,3})%$/.exec(v) : null;
  if (m && Number(m[1]) <= 100) return { percent: Number(m[1]) };
  p.push(`${path}: expected a number of sites or a percentage like "50%", got ${JSON.stringify(v)}`);
  return { sites: 0 };
};

export const fleetSchema: Check<FleetConfig> = obj<FleetConfig>({
  peers: list(obj<FleetPeer>({ site: str(), dns: list(hostPort(53)), admin: adminListen(9153) })),
  keyFile: optional(str()),
  interval: duration(60_000),
  staleAfter: duration(600_000),
  minAnnounced: minAnnounced(),
  probeTimeout: duration(60_000),
  probeFall: int(1, 100),
});

/** How many sites must stay announced in a fleet of `size` sites. */
export function minAnnouncedOf(m: MinAnnounced, size: number): number {
  return 'sites' in m ? m.sites : Math.ceil((m.percent * size) / 100);
}

/** Rules between the fleet's keys. */
export function fleetProblems(f: FleetConfig): string[] {
  const p: string[] = [];
  if (f.peers.length === 0) return p;
  if (!f.keyFile) p.push('fleet.keyFile: required when fleet.peers is set (the state exchange is authenticated)');
  const seen = new Set<string>();
  f.peers.forEach((peer, i) => {
    if (seen.has(peer.site)) p.push(`fleet.peers[${i}].site: ${peer.site} is listed twice`);
    seen.add(peer.site);
    if (peer.dns.length === 0) p.push(`fleet.peers[${i}].dns: at least one address, for the data-plane probes`);
  });
  if (f.staleAfter < f.interval) p.push('fleet.staleAfter: must not be shorter than fleet.interval');
  if (f.probeTimeout >= f.interval) p.push('fleet.probeTimeout: must be shorter than fleet.interval');
  if ('sites' in f.minAnnounced && f.minAnnounced.sites > f.peers.length)
    p.push(`fleet.minAnnounced: ${f.minAnnounced.sites} is more than the ${f.peers.length} sites of fleet.peers`);
  return p;
}
