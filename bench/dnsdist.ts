// dnsdist (PowerDNS's load balancer, Debian's 1.7) with its packet cache in front of the bench's
// upstream: what an operator would put at an edge instead of edgedns, in the hit and miss
// workloads. Its config is Lua, written to a file and run in the foreground:
//
//   dnsdist --supervised --disable-syslog -C FILE      (no console; stopped by its pid)

import { spawnSync } from 'node:child_process';

/** Whether dnsdist runs here (Debian: apt-get install dnsdist; scripts/install-deps.sh bench). */
export const dnsdistInstalled = (): boolean => spawnSync('dnsdist', ['--version']).status === 0;

export interface DnsdistConfigOptions {
  /** The one UDP (and TCP) listener on 127.0.0.1. */
  port: number;
  upstreamPort: number;
  /** Entries of the packet cache (dnsdist does not evict to insert: a full cache stops storing). */
  cacheEntries?: number;
}

/** The dnsdist command line that runs `configFile` in the foreground. */
export const dnsdistArgs = (configFile: string): string[] => ['--supervised', '--disable-syslog', '-C', configFile];

export function dnsdistConfig(o: DnsdistConfigOptions): string {
  return `-- One listener (one UDP thread) on loopback; the default ACL admits 127.0.0.0/8.
setLocal("127.0.0.1:${o.port}")
-- No security poll: it would ask secpoll.powerdns.com through the system's resolver.
setSecurityPollSuffix("")
-- The health check asks a name the upstream answers at once (its redirect zone), not the root's.
newServer({address="127.0.0.1:${o.upstreamPort}", name="upstream", checkName="a.bench.test."})
-- The packet cache: stored answers keyed by the whole question, TTLs aged on the way out.
pc = newPacketCache(${o.cacheEntries ?? 1_000_000}, {maxTTL=86400, minTTL=0, numberOfShards=1})
getPool(""):setCache(pc)
`;
}
