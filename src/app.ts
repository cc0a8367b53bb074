// The composition root: builds every module from the config and wires them together (listeners,
// zones, reload and stop on signals). The CLI reaches the rest of the program only through here.

import { hostname } from 'node:os';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { AnswerCache } from './cache/index.js';
import type { Logger } from './core/index.js';
import { CidrSet, EdgeError, ErrorCode, createJsonLogger, errorMessage, systemClock } from './core/index.js';
import type { IdentityConfig } from './identity/index.js';
import { buildIdentity } from './identity/index.js';
import { Resolver, readResolvConf } from './resolver/index.js';
import { VERSION } from './version.js';
import type { Config, LoadedConfig } from './config/index.js';
import { loadConfig } from './config/index.js';
import type { ListenAddress, ListenerSet } from './server/index.js';
import { Forwarder, Pipeline, startListeners } from './server/index.js';
import { nameFromText } from './wire/index.js';
import type { ZoneSpec, ZoneStore } from './zone/index.js';
import { buildZone, formatRecord, loadZones, parseZoneFile, zoneSpecsFromDir } from './zone/index.js';

export { EdgeError, isEdgeError } from './core/index.js';

/** A command-line mistake: exit 2 with the message. */
export class UsageError extends EdgeError {
  constructor(message: string) {
    super(ErrorCode.USAGE, message);
  }
}

function originOf(text: string): Uint8Array {
  return nameFromText(text.endsWith('.') ? text : `${text}.`, null);
}

/** `edgedns zone print`: parse only, one record per line. */
export function printZone(file: string, origin: string, generic: boolean): string[] {
  return parseZoneFile(file, originOf(origin)).map((r) => formatRecord(r, generic));
}

/** `edgedns zone check`: parse plus zone policy; returns a one-line summary. */
export function checkZone(file: string, origin: string): string {
  const o = originOf(origin);
  const zone = buildZone(parseZoneFile(file, o), o, file);
  return `${file}: zone ${origin} OK: serial ${zone.serial}, ${zone.recordCount} records, ${zone.nodes.size} names`;
}

/** `edgedns config check`: load and validate; returns a one-line summary. */
export function checkConfig(file: string): string {
  const { config } = loadConfig(file);
  const specs = zoneSpecs(config, dirname(file));
  loadZones(specs);
  return `${file}: OK (${config.listen.length} listen address(es), ${specs.length} zone(s))`;
}

export interface ServeOptions {
  configPath?: string;
  /** `--listen`, replacing the config's addresses. */
  listen?: string[];
  /** `--zones DIR`, replacing the config's zones. */
  zonesDir?: string;
  /** `--upstream` (or [] for `--authoritative-only`), replacing the config's upstreams. */
  upstreams?: string[];
  /** `--allow-recursion`, replacing recursion.allow. */
  allowRecursion?: string[];
  /** `--site-id`. */
  siteId?: string;
  logger?: Logger;
}

/** Resolve a config file's relative paths against the file's folder. */
function zoneSpecs(config: Config, base: string): ZoneSpec[] {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolvePath(base, p));
  const specs = config.zones.dir === null ? [] : zoneSpecsFromDir(abs(config.zones.dir));
  for (const z of config.zones.files) specs.push({ file: abs(z.file), origin: z.origin });
  return specs;
}

/** Command-line flags as config overrides, validated with the file. */
function flagOverrides(opts: ServeOptions): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (opts.listen && opts.listen.length > 0) o.listen = opts.listen;
  if (opts.zonesDir !== undefined) o.zones = { dir: resolvePath(opts.zonesDir), files: [] };
  if (opts.upstreams) o.upstreams = opts.upstreams;
  if (opts.allowRecursion && opts.allowRecursion.length > 0) o.recursion = { allow: opts.allowRecursion };
  if (opts.siteId !== undefined) o.site = { id: opts.siteId };
  return o;
}

/** Keys a reload cannot apply to a running node. */
const RESTART_KEYS = ['listen', 'tcp', 'edns', 'upstreams', 'resolver', 'cache', 'recursion'] as const;

function identityConfig(c: Config): IdentityConfig {
  const host = hostname();
  return { siteId: c.site.id ?? host, hostname: c.site.hostname ?? host, version: c.site.version === false ? null : (c.site.version ?? `edgedns ${VERSION}`) };
}

function buildCache(c: Config): AnswerCache {
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
  });
}

/** The upstreams (config, else resolv.conf) without our own listen addresses; null when none. */
function buildResolver(c: Config, log: Logger): Resolver | null {
  const configured = c.upstreams ?? readResolvConf();
  const ours = (u: { host: string; port: number }): boolean => c.listen.some((l) => l.port === u.port && (l.host === u.host || l.host === '0.0.0.0' || l.host === '::'));
  const upstreams = configured.filter((u) => {
    // Forwarding to ourselves would loop.
    if (ours(u)) log.warn('upstream is one of our own listen addresses; skipped', { upstream: `${u.host}:${u.port}` });
    return !ours(u);
  });
  if (upstreams.length === 0) {
    if (c.upstreams === null || configured.length > 0) log.warn('no upstream resolvers: names outside the local zones are REFUSED');
    else log.info('authoritative only: names outside the local zones are REFUSED');
    return null;
  }
  log.info('upstreams', { upstreams: upstreams.map((u) => `${u.host}:${u.port}`), source: c.upstreams ? 'config' : '/etc/resolv.conf' });
  return new Resolver({ upstreams, timeoutMs: c.resolver.timeout, deadlineMs: c.resolver.deadline, udpPayload: c.edns.udpPayload, socketReuse: c.resolver.socketReuse, clock: systemClock });
}

export interface ReloadResult {
  ok: boolean;
  message: string;
}

/** A running node: listeners bound, zones loaded, reload and stop. */
export class EdgeNode {
  readonly log: Logger;
  readonly listeners: ListenerSet;
  readonly pipeline: Pipeline;
  #loaded: LoadedConfig;
  readonly #opts: ServeOptions;
  #stopping: Promise<void> | undefined;

  readonly resolver: Resolver | null;

  private constructor(loaded: LoadedConfig, opts: ServeOptions, log: Logger, pipeline: Pipeline, listeners: ListenerSet, resolver: Resolver | null) {
    this.#loaded = loaded;
    this.#opts = opts;
    this.log = log;
    this.pipeline = pipeline;
    this.listeners = listeners;
    this.resolver = resolver;
  }

  /** Startup: config and zones (fatal when bad) → listeners. */
  static async start(opts: ServeOptions): Promise<EdgeNode> {
    const loaded = loadConfig(opts.configPath, flagOverrides(opts));
    const c = loaded.config;
    const identity = buildIdentity(identityConfig(c));
    const log = opts.logger ?? createJsonLogger({ level: c.log.level, base: { site: identity.siteId } });
    const zones = EdgeNode.#loadZones(loaded);
    for (const z of zones.zones()) log.info('zone loaded', { zone: z.origin, serial: z.serial, records: z.records, file: z.file });
    const resolver = buildResolver(c, log);
    const forwarder = resolver ? new Forwarder(buildCache(c), resolver, log) : null;
    const pipeline = new Pipeline({ zones, identity, udpPayload: c.edns.udpPayload, forwarder, recursionAllow: new CidrSet(c.recursion.allow) });
    let listeners: ListenerSet;
    try {
      listeners = await startListeners(
        c.listen as ListenAddress[],
        pipeline,
        { idleTimeoutMs: c.tcp.idleTimeout, maxConnections: c.tcp.maxConnections, maxInFlight: c.tcp.maxInFlight },
        log,
      );
    } catch (e) {
      resolver?.close();
      throw e;
    }
    return new EdgeNode(loaded, opts, log, pipeline, listeners, resolver);
  }

  static #loadZones(loaded: LoadedConfig): ZoneStore {
    const base = loaded.source.startsWith('<') ? process.cwd() : dirname(loaded.source);
    return loadZones(zoneSpecs(loaded.config, base));
  }

  get config(): Readonly<Config> {
    return this.#loaded.config;
  }

  /** Reload config and zones; on any error keep everything as it runs and report why. */
  reload(): ReloadResult {
    try {
      const loaded = loadConfig(this.#opts.configPath, flagOverrides(this.#opts));
      const zones = EdgeNode.#loadZones(loaded);
      const restartOnly = RESTART_KEYS.filter((k) => JSON.stringify(loaded.config[k]) !== JSON.stringify(this.#loaded.config[k]));
      if (restartOnly.length > 0) this.log.warn('config changes that need a restart were not applied', { keys: restartOnly });
      this.pipeline.update(zones, buildIdentity(identityConfig(loaded.config)));
      this.#loaded = loaded;
      for (const z of zones.zones()) this.log.info('zone loaded', { zone: z.origin, serial: z.serial, records: z.records });
      const message = `reloaded: ${zones.size} zone(s)`;
      this.log.info('reload ok', { zones: zones.size });
      return { ok: true, message };
    } catch (e) {
      const problems = e instanceof EdgeError ? e.problems : [errorMessage(e)];
      this.log.error('reload failed; keeping the running config and zones', { problems });
      return { ok: false, message: problems.join('\n') };
    }
  }

  /** Stop: close TCP, then UDP. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.log.info('stopping');
      await this.listeners.closeTcp();
      await this.listeners.closeUdp();
      this.resolver?.close();
      this.log.info('stopped');
    })();
    return this.#stopping;
  }

  /** SIGHUP reloads; SIGTERM and SIGINT stop. Resolves when the node has stopped. */
  async runUntilSignalled(): Promise<void> {
    let stopped: Promise<void> | undefined;
    let wake: () => void = () => {};
    const requested = new Promise<void>((r) => (wake = r));
    const onHup = (): void => void this.reload();
    const onStop = (sig: string): void => {
      this.log.info('signal', { signal: sig });
      stopped ??= this.stop();
      wake();
    };
    process.on('SIGHUP', onHup);
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    // Logged once the signal handlers are in place: from here a SIGTERM is a clean stop.
    this.log.info('started', { config: this.#loaded.source, zones: this.pipeline.zones.size, listen: this.listeners.bound });
    await requested;
    await stopped;
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  }
}
