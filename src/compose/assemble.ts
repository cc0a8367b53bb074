// Building the modules from a validated config: zones, cache, resolver. Used by the
// composition root (app.ts) at startup and on reload.

import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { CacheObserver } from '../cache/index.js';
import { AnswerCache } from '../cache/index.js';
import type { Config, LoadedConfig, UpstreamConfig } from '../config/index.js';
import { formatUpstream } from '../config/index.js';
import type { Logger } from '../core/index.js';
import { EdgeError, ErrorCode, errorMessage, systemClock } from '../core/index.js';
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
export function buildResolver(c: Config, base: string, log: Logger, observer: ResolverObserver): Resolver | null {
  const configured = c.upstreams ?? readResolvConf().map((u) => ({ ...u, tls: null }));
  const upstreams = notOurs(c, configured, log);
  if (upstreams.length === 0) {
    if (c.upstreams === null || configured.length > 0)
      log.warn('no upstream resolvers: names outside the local zones are REFUSED');
    else log.info('authoritative only: names outside the local zones are REFUSED');
    return null;
  }
  log.info('upstreams', {
    upstreams: upstreams.map(formatUpstream),
    source: c.upstreams ? 'config' : '/etc/resolv.conf',
  });
  return newResolver(c, upstreams, new CaFiles(c, base, 'upstreams'), log, observer);
}

/**
 * Without the upstreams that are this node itself: a plain one equal to a listen address, a DoT
 * one equal to a DoT listen address (or a wildcard listener on its port). Forwarding there would loop.
 */
function notOurs(c: Config, ups: readonly UpstreamConfig[], log: Logger): UpstreamConfig[] {
  return ups.filter((u) => {
    const listen = u.tls ? c.dot.listen : c.listen;
    const ours = listen.some(
      (l) => l.port === u.port && (l.host === u.host || l.host === '0.0.0.0' || l.host === '::'),
    );
    if (ours)
      log.warn(`upstream is one of our own ${u.tls ? 'DoT ' : ''}listen addresses; skipped`, {
        upstream: formatUpstream(u),
      });
    return !ours;
  });
}

/** The CA files DoT upstreams name (theirs, else resolver.tlsCaFile), each read once; relative to `base`. */
class CaFiles {
  readonly #c: Config;
  readonly #base: string;
  readonly #at: string;
  readonly #read = new Map<string, Buffer>();

  constructor(c: Config, base: string, at: string) {
    this.#c = c;
    this.#base = base;
    this.#at = at;
  }

  /** The PEM CAs of upstream `i` (null: the system's); throws ERR_CONFIG_INVALID naming the key. */
  of(u: UpstreamConfig, i: number): Buffer | null {
    const own = u.tls?.caFile ?? null;
    const file = own ?? this.#c.resolver.tlsCaFile;
    if (file === null) return null;
    const path = isAbsolute(file) ? file : resolvePath(this.#base, file);
    let pem = this.#read.get(path);
    if (!pem) {
      try {
        pem = readFileSync(path);
      } catch (e) {
        const key = own !== null ? `${this.#at}[${i}].tls.caFile` : 'resolver.tlsCaFile';
        throw new EdgeError(ErrorCode.CONFIG_INVALID, `${key}: cannot read ${path}: ${errorMessage(e)}`);
      }
      this.#read.set(path, pem);
    }
    return pem;
  }
}

function newResolver(
  c: Config,
  upstreams: readonly UpstreamConfig[],
  ca: CaFiles,
  log: Logger,
  observer: ResolverObserver,
): Resolver {
  const logHealth: ResolverObserver = {
    ...observer,
    health: (u, healthy) => {
      observer.health(u, healthy);
      log[healthy ? 'info' : 'warn'](healthy ? 'upstream healthy' : 'upstream unhealthy', { upstream: u });
    },
  };
  return new Resolver({
    upstreams: upstreams.map((u, i) => ({
      host: u.host,
      port: u.port,
      tls: u.tls && { name: u.tls.name, spki: u.tls.spki, ca: u.tls.spki !== null ? null : ca.of(u, i) },
    })),
    timeoutMs: c.resolver.timeout,
    deadlineMs: c.resolver.deadline,
    udpPayload: c.edns.udpPayload,
    querySource: c.resolver.querySource,
    querySourceV6: c.resolver.querySourceV6,
    tlsIdleTimeoutMs: c.resolver.tlsIdleTimeout,
    clock: systemClock,
    observer: logHealth,
  });
}
