// The part of a node that answers DNS (its "plane"): zones, cache, upstreams, the query pipeline
// and the listeners. A node runs it in its own process (LocalPlane, `workers: 1`) or in worker
// processes that share the listeners (WorkerPlane, workers.ts); a worker runs a LocalPlane.

import { randomBytes } from 'node:crypto';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import {
  buildCache,
  buildForwardResolvers,
  buildResolver,
  configBase,
  configuredZoneSpecs,
  identityConfig,
  transferRules,
} from '../compose/index.js';
import type { ForwardZoneResolver } from '../compose/index.js';
import type { Config, LoadedConfig } from '../config/index.js';
import { loadConfig } from '../config/index.js';
import type { Logger } from '../core/index.js';
import { CidrSet, systemClock } from '../core/index.js';
import type { CheckOutcome, LoadSample } from '../health/index.js';
import { processLoadSampler, udpBacklog } from '../health/index.js';
import { loopBusy, watchBursts } from './burst.js';
import type { Identity } from '../identity/index.js';
import { buildIdentity } from '../identity/index.js';
import type { Metrics, MetricsJson } from '../metrics/index.js';
import type { Resolver, ResolverObserver, UpstreamStatus } from '../resolver/index.js';
import type {
  CookieSecrets,
  DefenceObserver,
  ForwarderOptions,
  ListenAddress,
  ListenerSet,
  TcpLimits,
  TlsMaterial,
  TransferLimits,
  TransferRule,
} from '../server/index.js';
import {
  Cookies,
  ForwardZones,
  Forwarder,
  OutgoingTransfers,
  Pipeline,
  TRANSFER_LIMITS,
  RateLimiter,
  RrlKind,
  queryLog,
  readCookieSecrets,
  readTlsMaterial,
  startListeners,
  teeObservers,
} from '../server/index.js';
import type { NotifyHandler, SecondaryServing } from '../secondary/index.js';
import { NO_SECONDARIES, SecondaryGate } from '../secondary/index.js';
import type { ZoneImage, ZoneInfo, ZoneSpec, ZoneStore } from '../zone/index.js';
import { openStore, loadInThread } from '../zone/index.js';
import { absoluteName, keyToText, nameKey } from '../wire/index.js';

/** How `edgedns serve` was asked to run: the config file and the flags that override it. */
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
  /** `--admin-socket PATH`, or "off". */
  adminSocket?: string;
  /** `--workers N`. */
  workers?: number;
  /** `--dot`, `--doh` (repeatable), replacing dot.listen and doh.listen. */
  dot?: string[];
  doh?: string[];
  /** `--tls-cert FILE`, `--tls-key FILE` (both, or the config's). */
  tlsCert?: string;
  tlsKey?: string;
  logger?: Logger;
  /** The service manager's notify socket (systemd's NOTIFY_SOCKET), taken out of the environment. */
  notifySocket?: string;
}

/** Command-line flags as config overrides, validated with the file. */
function flagOverrides(opts: ServeOptions): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (opts.listen && opts.listen.length > 0) o.listen = opts.listen;
  if (opts.zonesDir !== undefined) o.zones = { dir: resolvePath(opts.zonesDir), files: [] };
  if (opts.upstreams) o.upstreams = opts.upstreams;
  if (opts.allowRecursion && opts.allowRecursion.length > 0) o.recursion = { allow: opts.allowRecursion };
  if (opts.siteId !== undefined) o.site = { id: opts.siteId };
  if (opts.admin !== undefined || opts.adminSocket !== undefined) {
    o.admin = {
      ...(opts.admin !== undefined && { listen: opts.admin === 'off' ? null : opts.admin }),
      // A relative path on the command line means the caller's folder, as elsewhere.
      ...(opts.adminSocket !== undefined && {
        socket: opts.adminSocket === 'off' ? null : resolvePath(opts.adminSocket),
      }),
    };
  }
  if (opts.workers !== undefined) o.workers = opts.workers;
  if (opts.dot && opts.dot.length > 0) o.dot = { listen: opts.dot };
  if (opts.doh && opts.doh.length > 0) o.doh = { listen: opts.doh };
  if (opts.tlsCert !== undefined || opts.tlsKey !== undefined)
    o.tls = { certFile: resolvePath(opts.tlsCert ?? ''), keyFile: resolvePath(opts.tlsKey ?? '') };
  return o;
}

/** What the files say: the config, the zones (compiled, as an image) and the identity. */
export interface ServingState {
  loaded: LoadedConfig;
  zones: ZoneInfo[];
  /** The zones' data; null on a reload that found every zone unchanged (the running data stays). */
  image: ZoneImage | null;
  identity: Identity;
  /** The DNS cookie secrets (RFC 9018): the files' or, without a file, the node's own random one. */
  secrets: CookieSecrets;
  /** The secondary zones as the query path needs them (NOTIFY, zones not served). */
  secondary: SecondaryServing;
  /** The DoT and DoH listeners' certificate and key, or null without `tls`. */
  tls: TlsMaterial | null;
  /** Who may transfer the zones out (`zones.transferTo`, keys read). */
  transferTo: TransferRule[];
}

/** What a node's secondary zones add to a load: the kept files served, and the gate's data. */
export interface SecondaryLoad {
  specs: ZoneSpec[];
  serving: SecondaryServing;
}

/** The config as `serve` was asked to run: the file with the flags over it. Throws EdgeError. */
export function loadServeConfig(opts: ServeOptions): LoadedConfig {
  return loadConfig(opts.configPath, flagOverrides(opts));
}

/**
 * Load and compile the zones of a config in a loader thread; throws EdgeError naming file, line and
 * problem. `background`: a reload beside a serving node, at a lower priority than answering.
 */
export async function loadState(
  loaded: LoadedConfig,
  { background = false, secondary = null as SecondaryLoad | null } = {},
): Promise<ServingState> {
  const image = await loadInThread([...configuredZoneSpecs(loaded), ...(secondary?.specs ?? [])], { background });
  return {
    loaded,
    zones: image.header.zones,
    image,
    identity: buildIdentity(identityConfig(loaded.config)),
    secrets: cookieSecrets(loaded),
    secondary: secondary?.serving ?? NO_SECONDARIES,
    tls: tlsMaterial(loaded),
    transferTo: transferRules(loaded),
  };
}

/** The certificate and key a config names (read now: a bad file fails the load, the running one stays). */
export function tlsMaterial(loaded: LoadedConfig): TlsMaterial | null {
  const t = loaded.config.tls;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolvePath(configBase(loaded), p));
  return t ? readTlsMaterial(abs(t.certFile), abs(t.keyFile)) : null;
}

/** The query path's gate for secondary zones, or null without any. */
export function gateOf(s: SecondaryServing, onNotify: NotifyHandler): SecondaryGate | null {
  return s.zones.length === 0 ? null : new SecondaryGate(s, onNotify);
}

/** How often the drops are read for bursts, and how long a burst sheds at least (process/burst.ts). */
const BURST_EVERY_MS = 100;
const BURST_HOLD_MS = 5000;
/** The backlog is read only after a reading interval at least this busy (process/burst.ts). */
const BURST_MIN_BUSY = 0.5;

/** Without a secret file: one random secret for the node's life, the same across reloads and workers. */
let nodeSecret: Uint8Array | null = null;

/** The cookie secrets a config names (read now: a bad file fails the load and keeps the running state). */
export function cookieSecrets(loaded: LoadedConfig): CookieSecrets {
  const c = loaded.config.cookies;
  if (!c.secretFile) return { current: (nodeSecret ??= randomBytes(16)), previous: null };
  const abs = (p: string): string => (isAbsolute(p) ? p : resolvePath(configBase(loaded), p));
  return readCookieSecrets(abs(c.secretFile), c.previousSecretFile ? abs(c.previousSecretFile) : null);
}

/** Cookie secrets as text (hex), to hand to worker processes. */
export interface SecretsText {
  current: string;
  previous: string | null;
}

export function secretsToText(s: CookieSecrets): SecretsText {
  return {
    current: Buffer.from(s.current).toString('hex'),
    previous: s.previous ? Buffer.from(s.previous).toString('hex') : null,
  };
}

export function secretsFromText(t: SecretsText): CookieSecrets {
  return {
    current: Buffer.from(t.current, 'hex'),
    previous: t.previous === null ? null : Buffer.from(t.previous, 'hex'),
  };
}

export function cookiesOf(secrets: CookieSecrets): Cookies {
  return new Cookies(secrets, () => Math.floor(systemClock.wall() / 1000));
}

/**
 * The probe cookie of the node a config describes, for another process (`edgedns guard`): minted
 * with the node's secret, so its probes are exempt from the rate limiter and from shedding as the
 * node's own are. Null without `cookies.secretFile` (the node's secret is then its own).
 */
export function probeCookieOf(loaded: LoadedConfig): ((from: string) => Uint8Array) | null {
  if (!loaded.config.cookies.secretFile) return null;
  const cookies = cookiesOf(cookieSecrets(loaded));
  return (from) => cookies.probeOption(from);
}

const KIND_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(RrlKind).map(([k, v]) => [v, k.toLowerCase()]),
);
/** Lines a second the rate limiter may log; what is over is only counted. */
const LIMIT_LOG_PER_SECOND = 10;

/** The defences' metrics, and a log line (at most 10 a second) when a client's responses start being limited. */
function defenceObserver(metrics: DefenceObserver, log: Logger): DefenceObserver {
  let second = 0;
  let lines = 0;
  return {
    cookie: (verdict) => metrics.cookie(verdict),
    shed: (what, action) => metrics.shed(what, action),
    limited(action, logOnly, started, client, kind, name) {
      metrics.limited(action, logOnly, started, client, kind, name);
      if (!started) return;
      const now = Math.floor(systemClock.now() / 1000);
      if (now !== second) {
        second = now;
        lines = 0;
      }
      if (++lines > LIMIT_LOG_PER_SECOND) return;
      log.warn(logOnly ? 'rate limit would limit responses (logOnly)' : 'rate limit: limiting responses', {
        client,
        kind: KIND_NAMES[kind],
        name: name ? keyToText(name) : null,
        action,
      });
    },
  };
}

/** The store of an image, or the running one when the image is null (nothing changed). */
function storeOf(image: ZoneImage | null, running: ZoneStore | null): ZoneStore {
  if (image) return openStore(image);
  if (!running) throw new Error('no zone image to start from');
  return running;
}

export interface CacheStats {
  entries: number;
  bytes: number;
}

/** An upstream in the plane's status: of the default set (`zone` null) or of a forward zone. */
export interface PlaneUpstreamStatus extends UpstreamStatus {
  zone: string | null;
}

/** A resolver of the plane: the default upstreams (`zone` null) or a forward zone's. */
interface ZoneResolver {
  zone: string | null;
  resolver: Resolver;
}

export interface EncryptedBound {
  dot: readonly ListenAddress[];
  doh: readonly ListenAddress[];
}

/** The DNS-answering part of a node, as the node's health, admin and reload see it. */
export interface DnsPlane {
  /** The bound addresses (with real ports when 0 was asked). */
  readonly bound: readonly ListenAddress[];
  /** The DoT and DoH addresses bound (real ports). */
  readonly boundEncrypted: EncryptedBound;
  listening(): CheckOutcome;
  /** Whether every process that answers serves the zones of the last load (`expected`). */
  serving(expected: readonly ZoneInfo[]): CheckOutcome;
  /** Answer from newly loaded files (a worker plane has every worker load them). Throws with the problems. */
  apply(state: ServingState): Promise<void>;
  /** Every upstream: the default ones (`zone` null), then each forward zone's. */
  upstreams(): Promise<PlaneUpstreamStatus[]>;
  /** The load since the previous call: the busiest answering process, and UDP drops on the listeners. */
  load(): Promise<LoadSample>;
  /** Shed load (SHEDDING) or stop shedding: what the pipeline refuses first is in server/pipeline.ts. */
  shed(on: boolean): void;
  cache(): Promise<CacheStats | null>;
  /** Remove every entry, or those of one name key; null when there is no cache. */
  flush(key: string | undefined): Promise<number | null>;
  /** The metrics of the processes answering, other than this one (none for a local plane). */
  metrics(): Promise<MetricsJson[]>;
  /** Worker processes (configured, listening, their pids), or null for a local plane. */
  workers(): { configured: number; listening: number; pids: number[] } | null;
  closeTcp(): Promise<void>;
  /** Close the UDP sockets and everything left (upstream sockets, worker processes). */
  closeUdp(): Promise<void>;
  /** Where the NOTIFY messages the answering processes took go (the secondary zones' runtime). */
  onNotify(handler: NotifyHandler): void;
}

/**
 * The TCP limits of one answering process. The node-wide caps (connections, unwritten bytes) are
 * shared out between the `workers` processes (node:cluster hands each connection to one of them
 * in turn); per-client and per-connection limits hold in each process.
 */
export function tcpLimits(c: Config): TcpLimits {
  const share = (n: number): number => Math.max(1, Math.ceil(n / c.workers));
  return {
    maxConnections: share(c.tcp.maxConnections),
    maxPerClient: c.tcp.maxPerClient,
    firstQueryTimeoutMs: c.tcp.firstQueryTimeout,
    messageTimeoutMs: c.tcp.messageTimeout,
    idleTimeoutMs: c.tcp.idleTimeout,
    maxInFlight: c.tcp.maxInFlight,
    maxUnwrittenBytes: c.tcp.maxUnwritten,
    drainTimeoutMs: c.tcp.drainTimeout,
    maxUnwrittenTotal: share(c.tcp.maxUnwrittenTotal),
  };
}

/** The transfer caps of one answering process: the node's total shared out between `workers`. */
export function transferLimits(c: Config): TransferLimits {
  return { perClient: TRANSFER_LIMITS.perClient, total: Math.max(1, Math.ceil(TRANSFER_LIMITS.total / c.workers)) };
}

/**
 * The fetch limits of one answering process: the node's caps shared out between the `workers`
 * processes (each resolves the questions it was asked), like the TCP caps.
 */
export function fetchLimits(c: Config, metrics: Pick<Metrics, 'forward'>): ForwarderOptions {
  const share = (n: number): number => Math.max(1, Math.ceil(n / c.workers));
  return {
    inFlight: share(c.fetchLimits.inFlight),
    perZone: share(c.fetchLimits.perZone),
    clock: systemClock,
    observer: metrics.forward,
  };
}

/**
 * The default upstreams' resolver and each forward zone's, with their source addresses checked
 * (a querySource this host does not have is a startup error, not every upstream "down"); what was
 * built is closed again when something fails.
 */
async function buildResolvers(
  loaded: LoadedConfig,
  log: Logger,
  observer: ResolverObserver,
): Promise<{ resolver: Resolver | null; zoned: ForwardZoneResolver[]; resolvers: ZoneResolver[] }> {
  const c = loaded.config;
  const resolvers: ZoneResolver[] = [];
  try {
    const resolver = buildResolver(c, configBase(loaded), log, observer);
    if (resolver) resolvers.push({ zone: null, resolver });
    const zoned = buildForwardResolvers(c, configBase(loaded), log, observer);
    for (const z of zoned) if (z.resolver) resolvers.push({ zone: z.zone, resolver: z.resolver });
    for (const r of resolvers) await r.resolver.checkSources();
    return { resolver, zoned, resolvers };
  } catch (e) {
    for (const r of resolvers) r.resolver.close();
    throw e;
  }
}

/** DNS answered in this process. */
export class LocalPlane implements DnsPlane {
  readonly pipeline: Pipeline;
  /** Outgoing zone transfers (AXFR/IXFR to `zones.transferTo`). */
  readonly transfers: OutgoingTransfers;
  readonly #listeners: ListenerSet;
  readonly #resolvers: readonly ZoneResolver[];
  readonly #load = processLoadSampler();
  readonly #bursts: { close(): void };
  /** Where a NOTIFY taken goes: the node's secondary runtime, or a worker's message to the primary. */
  #onNotify: NotifyHandler = () => {};

  private constructor(
    pipeline: Pipeline,
    transfers: OutgoingTransfers,
    listeners: ListenerSet,
    resolvers: readonly ZoneResolver[],
    c: Config,
    log: Logger,
  ) {
    this.pipeline = pipeline;
    this.transfers = transfers;
    this.#listeners = listeners;
    this.#resolvers = resolvers;
    this.#bursts = watchBursts({
      backlog: () => udpBacklog(boundPorts(this.bound)),
      maxRate: c.health.overload.maxDropRate,
      maxQueued: c.health.overload.maxUdpQueue,
      everyMs: BURST_EVERY_MS,
      holdMs: BURST_HOLD_MS,
      busy: loopBusy(),
      minBusy: BURST_MIN_BUSY,
      now: () => systemClock.now(),
      shed: (on) => pipeline.shed(on, 'burst'),
      log,
    });
  }

  /**
   * Build cache, upstreams and pipeline and bind the listeners; `metrics` observes them. A worker
   * may say where (`listen`: the ports the first worker got for port 0) and bind UDP with
   * `reusePort`.
   */
  static async start(
    state: ServingState,
    log: Logger,
    metrics: Metrics,
    udp: { listen?: readonly ListenAddress[]; reusePort?: boolean } = {},
  ): Promise<LocalPlane> {
    const c = state.loaded.config;
    const zones = storeOf(state.image, null);
    const { resolver, zoned, resolvers } = await buildResolvers(state.loaded, log, metrics.resolver);
    const forwarder =
      resolver || zoned.length > 0
        ? new Forwarder(buildCache(c, metrics.cache), resolver, log, fetchLimits(c, metrics))
        : null;
    const forwardZones =
      zoned.length === 0
        ? null
        : new ForwardZones(
            zoned.map((z) => ({
              key: nameKey(absoluteName(z.zone)),
              zone: z.zone,
              upstreams: z.resolver,
              allow: new CidrSet(z.recursionAllow),
            })),
          );
    const transfers: OutgoingTransfers = new OutgoingTransfers(state.transferTo, {
      // The pipeline's store, which a reload replaces: read when a transfer starts (after this).
      zones: (): ZoneStore => pipeline.zones,
      log,
      udpPayload: c.edns.udpPayload,
      limits: transferLimits(c),
      observer: metrics.transfers,
    });
    const pipeline: Pipeline = new Pipeline({
      zones,
      identity: state.identity,
      udpPayload: c.edns.udpPayload,
      forwarder,
      recursionAllow: new CidrSet(c.recursion.allow),
      forwardZones,
      rateLimit: c.rateLimit
        ? {
            limiter: new RateLimiter(
              {
                responsesPerSecond: c.rateLimit.responsesPerSecond,
                windowMs: c.rateLimit.window,
                slip: c.rateLimit.slip,
                ipv4Prefix: c.rateLimit.ipv4Prefix,
                ipv6Prefix: c.rateLimit.ipv6Prefix,
              },
              () => systemClock.now(),
            ),
            logOnly: c.rateLimit.logOnly,
          }
        : null,
      cookies: cookiesOf(state.secrets),
      observer: teeObservers(metrics.pipeline, queryLog(log, c.log.queries, c.log.sampleRate)),
      defence: defenceObserver(metrics.defence, log),
      transfers,
    });

    try {
      const listeners = await startListeners(
        udp.listen ?? c.listen,
        pipeline,
        tcpLimits(c),
        log,
        metrics.listeners,
        undefined,
        {
          reusePort: udp.reusePort === true,
          encrypted: { dot: c.dot.listen, doh: c.doh.listen, dohPath: c.doh.path, tls: state.tls },
        },
      );
      const plane = new LocalPlane(pipeline, transfers, listeners, resolvers, c, log);
      pipeline.update(zones, state.identity, cookiesOf(state.secrets), plane.gate(state.secondary));
      return plane;
    } catch (e) {
      for (const r of resolvers) r.resolver.close();
      throw e;
    }
  }

  get bound(): readonly ListenAddress[] {
    return this.#listeners.bound;
  }

  /** The DoT and DoH addresses bound (real ports). */
  get boundEncrypted(): EncryptedBound {
    return { dot: this.#listeners.boundDot, doh: this.#listeners.boundDoh };
  }

  /** The certificate for the DoT and DoH connections to come. */
  setTls(tls: TlsMaterial | null): void {
    if (tls) this.#listeners.setTls(tls);
  }

  listening(): CheckOutcome {
    return this.#listeners.listening();
  }

  serving(expected: readonly ZoneInfo[]): CheckOutcome {
    const served = new Map(this.pipeline.zones.zones().map((z) => [z.origin, z.digest]));
    const missing = expected.filter((z) => served.get(z.origin) !== z.digest).map((z) => z.origin);
    if (missing.length > 0 || served.size !== expected.length)
      return { ok: false, detail: `not served as loaded: ${missing.join(', ') || 'extra zones'}` };
    return { ok: true, detail: `${expected.length} zone(s) loaded` };
  }

  /** Open the new zones' image (nothing decoded until queries ask) and swap them in whole. */
  async apply(state: ServingState): Promise<void> {
    this.setTls(state.tls);
    this.pipeline.update(
      storeOf(state.image, this.pipeline.zones),
      state.identity,
      cookiesOf(state.secrets),
      this.gate(state.secondary),
    );
    this.transfers.configure(state.transferTo);
  }

  /** The gate for `s`, its NOTIFYs sent where `onNotify` says. */
  gate(s: SecondaryServing): SecondaryGate | null {
    return gateOf(s, (origin, from) => this.#onNotify(origin, from));
  }

  onNotify(handler: NotifyHandler): void {
    this.#onNotify = handler;
  }

  /** For metrics, read at scrape time. */
  cacheStats(): CacheStats | null {
    const cache = this.pipeline.forwarder?.cache;
    return cache ? { entries: cache.entries, bytes: cache.bytes } : null;
  }

  /** Upstream resolutions in flight now, for metrics (read at scrape time). */
  upstreamInFlight(): number {
    return this.pipeline.forwarder?.inFlight ?? 0;
  }

  upstreamStatus(): PlaneUpstreamStatus[] {
    return this.#resolvers.flatMap(({ zone, resolver }) => resolver.status().map((u) => ({ ...u, zone })));
  }

  async upstreams(): Promise<PlaneUpstreamStatus[]> {
    return this.upstreamStatus();
  }

  async load(): Promise<LoadSample> {
    return { ...this.#load.sample(), ...udpBacklog(boundPorts(this.bound)), shed: this.pipeline.shedCount };
  }

  shed(on: boolean): void {
    this.pipeline.shed(on);
  }

  async cache(): Promise<CacheStats | null> {
    return this.cacheStats();
  }

  async flush(key: string | undefined): Promise<number | null> {
    return this.pipeline.forwarder?.cache.flush(key) ?? null;
  }

  async metrics(): Promise<MetricsJson[]> {
    return [];
  }

  workers(): null {
    return null;
  }

  closeTcp(): Promise<void> {
    return this.#listeners.closeTcp();
  }

  async closeUdp(): Promise<void> {
    await this.#listeners.closeUdp();
    for (const r of this.#resolvers) r.resolver.close();
    this.#load.close();
    this.#bursts.close();
  }
}

/** The ports of the listening addresses, whose UDP sockets' drops tell of overload. */
export const boundPorts = (bound: readonly ListenAddress[]): Set<number> => new Set(bound.map((b) => b.port));
