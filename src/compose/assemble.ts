// Building the modules from a validated config: zones, cache, resolver. Used by the
// composition root (app.ts) at startup and on reload.

import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { CacheObserver } from '../cache/index.js';
import { AnswerCache } from '../cache/index.js';
import type { Config, LoadedConfig } from '../config/index.js';
import type { Logger } from '../core/index.js';
import { systemClock } from '../core/index.js';
import type { ResolverObserver } from '../resolver/index.js';
import { Resolver, readResolvConf } from '../resolver/index.js';
import type { ZoneSpec } from '../zone/index.js';
import { zoneSpecsFromDir } from '../zone/index.js';

/** Zone files named by the config; relative paths are resolved from `base`. */
export function zoneSpecs(config: Config, base: string): ZoneSpec[] {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolvePath(base, p));
  const specs = config.zones.dir === null ? [] : zoneSpecsFromDir(abs(config.zones.dir));
  for (const z of config.zones.files) specs.push({ file: abs(z.file), origin: z.origin });
  return specs;
}

/** The zone files of a config (relative to the config file's folder, or the working directory). */
export function configuredZoneSpecs(loaded: LoadedConfig): ZoneSpec[] {
  return zoneSpecs(loaded.config, configBase(loaded));
}

/** The folder relative paths of a config are resolved from. */
export function configBase(loaded: LoadedConfig): string {
  return loaded.source.startsWith('<') ? process.cwd() : dirname(loaded.source);
}

export function buildCache(c: Config, observer: CacheObserver): AnswerCache {
  const s = (ms: number): number => Math.round(ms / 1000);
  const k = c.cache;
  return new AnswerCache({
    maxEntries: k.maxEntries,
    maxBytes: k.maxBytes,
    minTtl: s(k.minTtl),
    maxTtl: s(k.maxTtl),
    maxNegativeTtl: s(k.maxNegativeTtl),
    servfailTtl: s(k.servfailTtl),
    maxStale: s(k.maxStale),
    staleRecheck: s(k.staleRecheck),
    prefetch: k.prefetch,
    clock: systemClock,
    observer,
  });
}

/** The upstreams (config, else resolv.conf) without our own listen addresses; null when none. */
export function buildResolver(c: Config, log: Logger, observer: ResolverObserver): Resolver | null {
  const configured = c.upstreams ?? readResolvConf();
  const ours = (u: { host: string; port: number }): boolean =>
    c.listen.some((l) => l.port === u.port && (l.host === u.host || l.host === '0.0.0.0' || l.host === '::'));
  const upstreams = configured.filter((u) => {
    // Forwarding to ourselves would loop.
    if (ours(u)) log.warn('upstream is one of our own listen addresses; skipped', { upstream: `${u.host}:${u.port}` });
    return !ours(u);
  });
  if (upstreams.length === 0) {
    if (c.upstreams === null || configured.length > 0)
      log.warn('no upstream resolvers: names outside the local zones are REFUSED');
    else log.info('authoritative only: names outside the local zones are REFUSED');
    return null;
  }
  log.info('upstreams', {
    upstreams: upstreams.map((u) => `${u.host}:${u.port}`),
    source: c.upstreams ? 'config' : '/etc/resolv.conf',
  });
  const logHealth: ResolverObserver = {
    ...observer,
    health: (u, healthy) => {
      observer.health(u, healthy);
      log[healthy ? 'info' : 'warn'](healthy ? 'upstream healthy' : 'upstream unhealthy', { upstream: u });
    },
  };
  return new Resolver({
    upstreams,
    timeoutMs: c.resolver.timeout,
    deadlineMs: c.resolver.deadline,
    udpPayload: c.edns.udpPayload,
    querySource: c.resolver.querySource,
    querySourceV6: c.resolver.querySourceV6,
    clock: systemClock,
    observer: logHealth,
  });
}
