// Building the modules from a validated config: zones, cache, resolver. Used by the
// composition root (app.ts) at startup and on reload.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { CacheObserver } from '../cache/index.js';
import { AnswerCache } from '../cache/index.js';
import type { Config, LoadedConfig, UpstreamConfig } from '../config/index.js';
import { formatUpstream, forwardAllow } from '../config/index.js';
import type { Logger } from '../core/index.js';
import { EdgeError, ErrorCode, errorMessage, systemClock } from '../core/index.js';
import type { ResolverObserver, UpstreamSpec } from '../resolver/index.js';
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
  const upstreams = upstreamSpecs(c, configured, 'upstreams', base, log);
  if (upstreams.length === 0) {
    if (c.upstreams === null || configured.length > 0)
      log.warn(
        c.forward.length > 0
          ? 'no upstream resolvers: names outside the local and forward zones are REFUSED'
          : 'no upstream resolvers: names outside the local zones are REFUSED',
      );
    else log.info('authoritative only: names outside the local zones are REFUSED');
    return null;
  }
  log.info('upstreams', {
    upstreams: upstreams.map((u) => u.text),
    source: c.upstreams ? 'config' : '/etc/resolv.conf',
  });
  return newResolver(c, upstreams, null, log, observer);
}

/** A forward zone with its resolver (null: every upstream of it was this node itself). */
export interface ForwardZoneResolver {
  zone: string;
  resolver: Resolver | null;
  /** Who may ask for its names: its own, an enclosing forward zone's, or recursion.allow (`forwardAllow`). */
  recursionAllow: readonly string[];
}

/** A resolver per forward zone (`forward`), each with its own upstreams and their health. */
export function buildForwardResolvers(
  c: Config,
  base: string,
  log: Logger,
  observer: ResolverObserver,
): ForwardZoneResolver[] {
  const allow = forwardAllow(c.forward, c.recursion.allow);
  return c.forward.map((f, i) => {
    const upstreams = upstreamSpecs(c, f.upstreams, `forward[${i}].upstreams`, base, log);
    if (upstreams.length === 0) log.warn('forward zone without upstreams: its names are REFUSED', { zone: f.zone });
    else
      log.info('forward zone', {
        zone: f.zone,
        upstreams: upstreams.map((u) => u.text),
        recursionAllow: allow[i],
      });
    return {
      zone: f.zone,
      resolver: upstreams.length === 0 ? null : newResolver(c, upstreams, f.zone, log, observer),
      recursionAllow: allow[i] ?? c.recursion.allow,
    };
  });
}

type Spec = UpstreamSpec & { text: string };

/**
 * The upstreams of a list (`at`: its key) as the resolver takes them, with their CA files read
 * (theirs, else resolver.tlsCaFile; relative to `base`; a file that cannot be read is a config
 * error naming the key), without those that are this node itself: a plain one equal to a listen
 * address, a DoT one equal to a DoT listen address (or a wildcard listener on its port).
 * Forwarding there would loop.
 */
function upstreamSpecs(c: Config, ups: readonly UpstreamConfig[], at: string, base: string, log: Logger): Spec[] {
  const out: Spec[] = [];
  ups.forEach((u, i) => {
    const text = formatUpstream(u);
    const listen = u.tls ? c.dot.listen : c.listen;
    if (listen.some((l) => l.port === u.port && (l.host === u.host || l.host === '0.0.0.0' || l.host === '::'))) {
      log.warn(`upstream is one of our own ${u.tls ? 'DoT ' : ''}listen addresses; skipped`, { upstream: text });
      return;
    }
    const t = u.tls;
    // A pin authenticates alone (RFC 7858 §4.2): no chain is checked, no CA read.
    const caFile = t === null || t.spki !== null ? null : (t.caFile ?? c.resolver.tlsCaFile);
    const caKey = t?.caFile ? `${at}[${i}].tls.caFile` : 'resolver.tlsCaFile';
    out.push({
      host: u.host,
      port: u.port,
      text,
      tls: t && { name: t.name, spki: t.spki, ca: caFile === null ? null : readCa(caFile, caKey, base) },
    });
  });
  return out;
}

/** A CA file's PEM; one that cannot be read or holds no certificate is a config error naming `key`. */
function readCa(file: string, key: string, base: string): Buffer {
  const path = isAbsolute(file) ? file : resolvePath(base, file);
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (e) {
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `${key}: cannot read ${path}: ${errorMessage(e)}`);
  }
  try {
    new X509Certificate(pem);
  } catch (e) {
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `${key}: no PEM certificate in ${path}: ${errorMessage(e)}`);
  }
  return pem;
}

function newResolver(
  c: Config,
  upstreams: readonly UpstreamSpec[],
  zone: string | null,
  log: Logger,
  observer: ResolverObserver,
): Resolver {
  const where = zone === null ? {} : { zone };
  const logHealth: ResolverObserver = {
    ...observer,
    health: (u, healthy) => {
      observer.health(u, healthy);
      log[healthy ? 'info' : 'warn'](healthy ? 'upstream healthy' : 'upstream unhealthy', { upstream: u, ...where });
    },
  };
  return new Resolver({
    upstreams: upstreams.map(({ host, port, tls }) => ({ host, port, tls: tls ?? null })),
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
