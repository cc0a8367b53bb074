// The rules between a config's keys, checked once every key is valid on its own: what the
// chosen adapter needs, announced prefixes a router takes and this node answers on, intervals
// that make sense.

import { CidrSet, formatHostPort, prefixNetwork } from '../core/index.js';
import type { Config } from './config.js';
import { fleetProblems } from './fleet.js';
import { secondaryProblems } from './secondary.js';
import { encryptedProblems } from './encrypted.js';
import { forwardProblems } from './upstreams.js';
import type { HostPort } from './schema.js';

/**
 * Rules between keys: the chosen adapter has what it needs, every announced prefix is one a
 * router takes and this node answers on, the intervals make sense. Only what is wrong on any
 * host: what depends on the host (files, sockets, commands) is `hostWarnings`.
 */
export function crossChecks(c: Config): string[] {
  const p: string[] = [];
  const a = c.announce;
  a.prefixes.forEach((prefix, i) => p.push(...prefixProblems(prefix, `announce.prefixes[${i}]`, c.listen)));
  if (a.adapter === 'exec' && !a.exec.command) p.push('announce.exec.command: required when announce.adapter is exec');
  if (a.adapter === 'bird' && !a.bird.includeFile)
    p.push('announce.bird.includeFile: required when announce.adapter is bird');
  if (a.adapter === 'bird' && a.prefixes.some((x) => x.includes(':')) && !a.bird.includeFile6)
    p.push('announce.bird.includeFile6: required for IPv6 prefixes (a BIRD static protocol has one channel)');
  if (a.adapter === 'exabgp' && !a.exabgp.pipe)
    p.push('announce.exabgp.pipe: required when announce.adapter is exabgp');
  if (a.adapter !== 'none' && a.prefixes.length === 0)
    p.push(`announce.prefixes: required when announce.adapter is ${a.adapter}`);
  if (c.rateLimit && c.rateLimit.window < 1000) p.push('rateLimit.window: must be at least 1s');
  if (c.cookies.previousSecretFile && !c.cookies.secretFile)
    p.push('cookies.previousSecretFile: needs cookies.secretFile (the secret that replaced it)');
  if (c.fetchLimits.perZone > c.fetchLimits.inFlight)
    p.push('fetchLimits.perZone: must not be more than fetchLimits.inFlight');
  if (c.health.fastInterval > c.health.interval) p.push('health.fastInterval: must not be longer than health.interval');
  if (c.health.holdDown.initial > c.health.holdDown.max)
    p.push('health.holdDown.initial: must not be longer than health.holdDown.max');
  const d = a.deprefer;
  if (d && d.prepend > 0 && d.asn === 0) p.push('announce.deprefer.asn: required to prepend (the AS number to repeat)');
  if (d && d.prepend === 0 && d.med === null)
    p.push('announce.deprefer: set prepend (with asn) or med, or write null for no de-preference');
  p.push(...fleetProblems(c.fleet));
  p.push(...encryptedProblems(c));
  p.push(...forwardProblems(c.forward));
  const z = c.zones;
  p.push(
    ...secondaryProblems(
      z.secondary,
      z.transferTo,
      z.files.map((f) => f.origin),
      z.dir,
    ),
  );
  return p;
}

/**
 * An announced prefix must be a network (no host bits: BIRD refuses "192.0.2.53/24") and hold at
 * least one listen address: a route to an address nothing answers on draws traffic into a hole.
 * A wildcard listener does not count: Node cannot reply from the address a datagram came to
 * (DESIGN.md), so anycast addresses are listed one by one.
 */
function prefixProblems(prefix: string, path: string, listen: readonly HostPort[]): string[] {
  const p: string[] = [];
  const net = prefixNetwork(prefix);
  if (net !== undefined) {
    const one = `${prefix.split('/')[0]}/${prefix.includes(':') ? 128 : 32}`;
    p.push(`${path}: ${prefix} has host bits set, which BIRD rejects: write ${net}, or ${one} for the one address`);
  }
  const inside = new CidrSet([prefix]);
  if (!listen.some((l) => inside.has(l.host))) {
    const wildcard = listen.some((l) => l.host === '0.0.0.0' || l.host === '::')
      ? '; a wildcard (0.0.0.0, ::) does not count: answers must leave from the announced address'
      : '';
    p.push(
      `${path}: no listen address is in ${prefix} (listen: ${listen.map(formatHostPort).join(', ') || 'none'}): the route would draw queries that nothing here answers; add the address to listen${wildcard}`,
    );
  }
  return p;
}
