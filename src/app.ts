// The composition root: builds every module from the config and wires them together (listeners,
// zones, cache and upstreams, identity, metrics and the admin endpoint, reload and stop on
// signals). The CLI reaches the rest of the program only through here.

import { hostname } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { buildCache, buildResolver, identityConfig, loadConfiguredZones, zoneSpecs } from './assemble.js';
import type { Config, LoadedConfig } from './config/index.js';
import { formatHostPort, loadConfig } from './config/index.js';
import type { Logger } from './core/index.js';
import { CidrSet, EdgeError, ErrorCode, createJsonLogger, errorMessage } from './core/index.js';
import { buildIdentity } from './identity/index.js';
import type { AdminServer, Metrics } from './metrics/index.js';
import { createMetrics, startAdmin } from './metrics/index.js';
import type { Resolver } from './resolver/index.js';
import type { ListenAddress, ListenerSet } from './server/index.js';
import { Forwarder, Pipeline, queryLog, startListeners, teeObservers } from './server/index.js';
import { VERSION } from './version.js';
import { keyToText, nameFromText, nameKey } from './wire/index.js';
import { buildZone, formatRecord, loadZones, parseZoneFile } from './zone/index.js';

export { EdgeError, ErrorCode, isEdgeError } from './core/index.js';

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
  const specs = zoneSpecs(config, resolvePath(file, '..'));
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
  /** `--admin ADDRESS:PORT`, or "off". */
  admin?: string;
  logger?: Logger;
}

/** Command-line flags as config overrides, validated with the file. */
function flagOverrides(opts: ServeOptions): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (opts.listen && opts.listen.length > 0) o.listen = opts.listen;
  if (opts.zonesDir !== undefined) o.zones = { dir: resolvePath(opts.zonesDir), files: [] };
  if (opts.upstreams) o.upstreams = opts.upstreams;
  if (opts.allowRecursion && opts.allowRecursion.length > 0) o.recursion = { allow: opts.allowRecursion };
  if (opts.siteId !== undefined) o.site = { id: opts.siteId };
  if (opts.admin !== undefined) o.admin = { listen: opts.admin === 'off' ? null : opts.admin };
  return o;
}

export interface ReloadResult {
  ok: boolean;
  message: string;
}

/** Keys a reload cannot apply to a running node. */
const RESTART_KEYS = ['listen', 'tcp', 'edns', 'upstreams', 'resolver', 'cache', 'recursion', 'admin', 'log'] as const;

/** A running node: listeners bound, zones loaded, reload and stop. */
export class EdgeNode {
  readonly log: Logger;
  readonly listeners: ListenerSet;
  readonly pipeline: Pipeline;
  readonly resolver: Resolver | null;
  readonly metrics: Metrics;
  #admin: AdminServer | null = null;
  #loaded: LoadedConfig;
  readonly #opts: ServeOptions;
  readonly #startedAt = Date.now();
  #stopping: Promise<void> | undefined;

  private constructor(loaded: LoadedConfig, opts: ServeOptions, log: Logger, pipeline: Pipeline, listeners: ListenerSet, resolver: Resolver | null, metrics: Metrics) {
    this.#loaded = loaded;
    this.#opts = opts;
    this.log = log;
    this.pipeline = pipeline;
    this.listeners = listeners;
    this.resolver = resolver;
    this.metrics = metrics;
  }

  /** Startup: config and zones (fatal when bad) → listeners → admin endpoint. */
  static async start(opts: ServeOptions): Promise<EdgeNode> {
    const loaded = loadConfig(opts.configPath, flagOverrides(opts));
    const c = loaded.config;
    const identity = buildIdentity(identityConfig(c));
    const log = opts.logger ?? createJsonLogger({ level: c.log.level, base: { site: identity.siteId } });
    const zones = loadConfiguredZones(loaded);
    for (const z of zones.zones()) log.info('zone loaded', { zone: z.origin, serial: z.serial, records: z.records, file: z.file });
    // Metrics read the live objects through these late-bound sources.
    let pipeline: Pipeline | undefined;
    let resolver: Resolver | null = null;
    const metrics = createMetrics({ version: VERSION, site: identity.siteId }, {
      cache: () => pipeline?.forwarder?.cache ?? null,
      zones: () => pipeline?.zones.zones() ?? [],
      upstreams: () => resolver?.status() ?? [],
    });
    resolver = buildResolver(c, log, metrics.resolver);
    const forwarder = resolver ? new Forwarder(buildCache(c, metrics.cache), resolver, log) : null;
    pipeline = new Pipeline({
      zones,
      identity,
      udpPayload: c.edns.udpPayload,
      forwarder,
      recursionAllow: new CidrSet(c.recursion.allow),
      observer: teeObservers(metrics.pipeline, queryLog(log, c.log.queries, c.log.sampleRate)),
    });
    let listeners: ListenerSet | undefined;
    try {
      listeners = await startListeners(
        c.listen as ListenAddress[],
        pipeline,
        { idleTimeoutMs: c.tcp.idleTimeout, maxConnections: c.tcp.maxConnections, maxInFlight: c.tcp.maxInFlight },
        log,
        metrics.tcp,
      );
      const node = new EdgeNode(loaded, opts, log, pipeline, listeners, resolver, metrics);
      if (c.admin.listen) node.#admin = await node.#startAdmin(c.admin.listen.host, c.admin.listen.port, c.admin.tokenFile);
      return node;
    } catch (e) {
      await listeners?.close();
      resolver?.close();
      throw e;
    }
  }

  get config(): Readonly<Config> {
    return this.#loaded.config;
  }

  /** The admin endpoint's port, or null when it is off. */
  get adminPort(): number | null {
    return this.#admin?.port ?? null;
  }

  /** Reload config and zones; on any error keep everything as it runs and report why. */
  reload(): ReloadResult {
    try {
      const loaded = loadConfig(this.#opts.configPath, flagOverrides(this.#opts));
      const zones = loadConfiguredZones(loaded);
      const restartOnly = RESTART_KEYS.filter((k) => JSON.stringify(loaded.config[k]) !== JSON.stringify(this.#loaded.config[k]));
      if (restartOnly.length > 0) this.log.warn('config changes that need a restart were not applied', { keys: restartOnly });
      this.pipeline.update(zones, buildIdentity(identityConfig(loaded.config)));
      this.#loaded = loaded;
      for (const z of zones.zones()) this.log.info('zone loaded', { zone: z.origin, serial: z.serial, records: z.records });
      this.metrics.reload(true);
      this.log.info('reload ok', { zones: zones.size });
      return { ok: true, message: `reloaded: ${zones.size} zone(s)` };
    } catch (e) {
      const problems = e instanceof EdgeError ? e.problems : [errorMessage(e)];
      this.metrics.reload(false);
      this.log.error('reload failed; keeping the running config and zones', { problems });
      return { ok: false, message: problems.join('\n') };
    }
  }

  /** Should this node get traffic now? */
  ready(): { ready: boolean; reason: string } {
    if (this.#stopping) return { ready: false, reason: 'stopping' };
    return { ready: true, reason: `serving ${this.pipeline.zones.size} zone(s) on ${this.listeners.bound.length} address(es)` };
  }

  async status(): Promise<Record<string, unknown>> {
    const c = this.#loaded.config;
    const id = identityConfig(c);
    const cache = this.pipeline.forwarder?.cache ?? null;
    const counter = async (name: string): Promise<number> => (await this.metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
    return {
      site: { id: id.siteId, hostname: id.hostname },
      version: VERSION,
      node: process.version,
      pid: process.pid,
      host: hostname(),
      uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
      startedAt: new Date(this.#startedAt).toISOString(),
      ready: this.ready(),
      listeners: this.listeners.bound.map((b) => ({ address: formatHostPort(b), transports: ['udp', 'tcp'] })),
      zones: this.pipeline.zones.zones().map((z) => ({ ...z, loadedAt: new Date(z.loadedAt).toISOString() })),
      upstreams: this.resolver?.status() ?? [],
      cache: cache
        ? { entries: cache.entries, bytes: cache.bytes, hits: await counter('edgedns_cache_hits_total'), misses: await counter('edgedns_cache_misses_total'), staleServed: await counter('edgedns_cache_stale_served_total') }
        : null,
      config: { source: this.#loaded.source, sha256: this.#loaded.hash },
    };
  }

  #startAdmin(host: string, port: number, tokenFile: string | null): Promise<AdminServer> {
    return startAdmin({
      host,
      port,
      tokenFile,
      registry: this.metrics.registry,
      status: () => this.status(),
      ready: () => this.ready(),
      log: this.log,
      actions: {
        '/reload': () => ({ ...this.reload() }),
        '/cache/flush': (body) => {
          const cache = this.pipeline.forwarder?.cache;
          if (!cache) return { ok: false, message: 'there is no cache: forwarding is off' };
          const name = typeof body.name === 'string' && body.name !== '' ? body.name : undefined;
          let key: string | undefined;
          try {
            key = name === undefined ? undefined : nameKey(originOf(name));
          } catch (e) {
            return { ok: false, message: `bad name "${name}": ${errorMessage(e)}` };
          }
          const removed = cache.flush(key);
          return { ok: true, message: key === undefined ? `flushed ${removed} entries` : `flushed ${removed} entries of ${keyToText(key)}`, removed };
        },
      },
    });
  }

  /** Stop: admin, then TCP, then UDP. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.log.info('stopping');
      await this.#admin?.close();
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
    this.log.info('started', { config: this.#loaded.source, zones: this.pipeline.zones.size, listen: this.listeners.bound, admin: this.adminPort });
    await requested;
    await stopped;
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  }
}
