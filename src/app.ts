// The composition root: builds every module from the config and wires them together (listeners,
// zones, cache and upstreams, identity, metrics and the admin endpoint, reload and stop on
// signals). The CLI reaches the rest of the program only through here.

import { hostname } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import { Announcer } from './announce/index.js';
import { configBase, zoneSpecs } from './assemble.js';
import { buildAdapter } from './routing.js';
import { identityConfig } from './site.js';
import type { Config } from './config/index.js';
import { formatHostPort, hostWarnings, loadConfig } from './config/index.js';
import type { LogLevel, Logger, Notifier, RootLogger } from './core/index.js';
import { EdgeError, ErrorCode, createLogger, createNotifier, errorMessage, systemClock } from './core/index.js';
import type { Check } from './health/index.js';
import { HealthMonitor, commandCheck, eventLoopCheck, heapCheck, predicateCheck, probeCheck } from './health/index.js';
import type { AdminServer, Metrics, Registry } from './metrics/index.js';
import { createMetrics, durationField, mergeMetrics, startAdmin, unknownField } from './metrics/index.js';
import type { DnsPlane, ServeOptions, ServingState } from './plane.js';
import { LocalPlane, cookiesOf, loadServeConfig, loadState } from './plane.js';
import { probeQuestion, probeTcp, probeUdp } from './client/index.js';
import { udpReusePort } from './server/index.js';
import { VERSION } from './version.js';
import { absoluteName, keyToText, nameKey } from './wire/index.js';
import type { ZoneInfo } from './zone/index.js';
import { buildZone, checkReload, formatRecord, loadZones, parseZoneFile, synthCounts } from './zone/index.js';

export type { ServeOptions } from './plane.js';
export { EdgeError, ErrorCode, isEdgeError } from './core/index.js';

/** `edgedns zone print`: parse only, one record per line. */
export function printZone(file: string, origin: string, generic: boolean): string[] {
  return parseZoneFile(file, absoluteName(origin)).map((r) => formatRecord(r, generic));
}

/** `edgedns zone check`: parse plus zone policy; returns a one-line summary. */
export function checkZone(file: string, origin: string): string {
  const o = absoluteName(origin);
  const zone = buildZone(parseZoneFile(file, o), o, file);
  return `${file}: zone ${origin} OK: serial ${zone.serial}, ${zone.recordCount} records, ${zone.nodes.size} names`;
}

/**
 * `edgedns config check`: load and validate (errors throw), load the zones, and list what the
 * config needs from this host that is missing here (warnings: it may be checked off its target).
 */
export function checkConfig(file: string): { summary: string; warnings: string[] } {
  const loaded = loadConfig(file);
  const { config } = loaded;
  const specs = zoneSpecs(config, configBase(loaded));
  loadZones(specs);
  const warnings = hostWarnings(config, { base: configBase(loaded), path: process.env.PATH });
  const w = warnings.length > 0 ? `, ${warnings.length} warning(s)` : '';
  return { summary: `${file}: OK (${config.listen.length} listen address(es), ${specs.length} zone(s)${w})`, warnings };
}

/** Bounds of the durations an admin request may ask for. */
const DRILL_MAX = { ms: 3_600_000, text: '1h' };
const DRAIN_MAX = { ms: 30 * 86_400_000, text: '30d' };
const MAX_REASON = 256;

const refuse = (message: string): { ok: false; message: string } => ({ ok: false, message });

/** A zone name as the zone list shows it (lower case, absolute); text that is no name stays as given. */
function canonicalZone(name: string): string {
  try {
    return keyToText(nameKey(absoluteName(name)));
  } catch {
    return name;
  }
}

export interface ReloadResult {
  ok: boolean;
  message: string;
  /** Why a reload was refused (ERR_ZONE_* or ERR_CONFIG_*): `edgedns reload` exits as `zone check` or `config check` would. */
  code?: ErrorCode;
}

/** Keys a reload cannot apply to a running node. */
const RESTART_KEYS = ['listen', 'workers', 'tcp', 'edns', 'upstreams', 'resolver', 'fetchLimits', 'cache', 'recursion', 'rateLimit', 'admin', 'log', 'health', 'announce', 'guard'] as const;

/** A running node: DNS answered (here or by workers), health, announcement, admin; reload and stop. */
export class EdgeNode {
  readonly log: Logger;
  readonly plane: DnsPlane;
  readonly metrics: Metrics;
  readonly announcer: Announcer;
  readonly health: HealthMonitor;
  #admin: AdminServer | null = null;
  /** Set by a second signal; skips the linger whether it has started yet or not. */
  #lingerSkipped = false;
  #skipLinger: () => void = () => {
    this.#lingerSkipped = true;
  };
  /** The reload running now, and the one asked for while it runs (more requests join that one). */
  #reloading: Promise<ReloadResult> | undefined;
  #reloadNext: { result: Promise<ReloadResult>; remove: Set<string>; resolve: (r: Promise<ReloadResult>) => void } | undefined;
  #closeChecks: () => void = () => {};
  /** What the files said at the last successful (re)load. */
  #state: ServingState;
  /** The logger this node made (none when one was given): its level follows reloads. */
  #root: RootLogger | null = null;
  /** The log level in force. */
  #levelAt: LogLevel;
  readonly #opts: ServeOptions;
  /** Monotonic, so uptime does not jump with the wall clock. */
  readonly #startedAt = systemClock.now();
  #stopping: Promise<void> | undefined;
  /** The service manager (systemd Type=notify), told once the node answers: READY=1 and what follows. */
  readonly #notify: Notifier;
  /** READY=1 was sent: reloads and the stop are told from then on. */
  #toldReady = false;

  private constructor(state: ServingState, opts: ServeOptions, log: Logger, plane: DnsPlane, metrics: Metrics) {
    // The image was handed to the plane; keeping it here would hold the whole zone set twice.
    this.#state = { ...state, image: null };
    this.#levelAt = state.loaded.config.log.level;
    this.#opts = opts;
    this.log = log;
    this.plane = plane;
    this.metrics = metrics;
    this.#notify = createNotifier({ socket: opts.notifySocket, onError: (message, e) => log.warn('could not notify the service manager', { message, error: errorMessage(e) }) });
    const c = state.loaded.config;
    this.announcer = new Announcer({
      adapter: buildAdapter(c, log),
      prefixes: c.announce.prefixes,
      siteId: identityConfig(c).siteId,
      reconcileMs: c.announce.reconcileInterval,
      log,
      observer: metrics.announce,
    });
    this.health = new HealthMonitor({
      params: {
        rise: c.health.rise,
        fall: c.health.fall,
        intervalMs: c.health.interval,
        fastIntervalMs: c.health.fastInterval,
        holdDown: { initialMs: c.health.holdDown.initial, maxMs: c.health.holdDown.max, decayMs: c.health.holdDown.decay },
      },
      checks: this.#checks(c),
      sharedWithdraw: c.health.sharedWithdraw,
      drainFile: c.health.drainFile,
      clock: systemClock,
      log,
      onDesired: (up, reason) => this.announcer.set(up ? 'announce' : 'withdraw', reason),
      onReassert: () => this.announcer.reassert(),
      observer: metrics.health,
    });
  }

  /** The zones served now, as last loaded. */
  get zones(): ZoneInfo[] {
    return this.#state.zones;
  }

  /** The health checks: local ones withdraw when they fail, the shared one only reports. */
  #checks(c: Config): Check[] {
    const loop = eventLoopCheck(c.health.maxEventLoopLag);
    this.#closeChecks = () => loop.close();
    const q = probeQuestion(this.zones[0]?.origin);
    const checks: Check[] = [
      predicateCheck('listeners', 'local', () => this.plane.listening()),
      ...this.plane.bound.flatMap((b) => [
        probeCheck(`udp ${formatHostPort(b)}`, () => probeUdp(b, q, c.health.probeTimeout, (from) => cookiesOf(this.#state.secrets).probeOption(from)), c.health.probeTimeout + 100),
        probeCheck(`tcp ${formatHostPort(b)}`, () => probeTcp(b, q, c.health.probeTimeout, (from) => cookiesOf(this.#state.secrets).probeOption(from)), c.health.probeTimeout + 100),
      ]),
      // Every process that answers serves the zones of the last successful load.
      predicateCheck('zones', 'local', () => this.plane.serving(this.zones)),
      loop,
      heapCheck(c.health.maxHeapFraction),
      {
        name: 'upstreams',
        kind: 'shared',
        run: async () => {
          const ups = await this.plane.upstreams();
          if (ups.length === 0) return { ok: true, detail: 'no upstreams' };
          const healthy = ups.filter((u) => u.healthy).length;
          return { ok: healthy > 0, detail: `${healthy} of ${ups.length} upstream(s) healthy` };
        },
      },
    ];
    if (c.health.command) checks.push(commandCheck(c.health.command.command, c.health.command.args, c.health.command.timeout));
    return checks;
  }

  /** Startup: config and zones (fatal when bad) → listeners (here or in workers) → admin endpoint. */
  static async start(opts: ServeOptions): Promise<EdgeNode> {
    const state = await loadState(loadServeConfig(opts));
    const c = state.loaded.config;
    const root = opts.logger ? null : createLogger({ level: c.log.level, format: c.log.format, base: { site: state.identity.siteId } });
    const log = opts.logger ?? (root as RootLogger);
    for (const z of state.zones) log.info('zone loaded', { zone: z.origin, serial: z.serial, records: z.records, file: z.file });
    // What `config check` warns about: missing here, needed later (an adapter call, a drain).
    for (const w of hostWarnings(c, { base: configBase(state.loaded), path: process.env.PATH })) log.warn('config: missing on this host', { problem: w });
    // Metrics read the live objects through these late-bound sources.
    let node: EdgeNode | undefined;
    let local: LocalPlane | undefined;
    const metrics = createMetrics({ version: VERSION, site: state.identity.siteId }, {
      prefixes: () => c.announce.prefixes,
      cache: () => local?.cacheStats() ?? null,
      zones: () => node?.zones ?? state.zones,
      upstreams: () => local?.upstreamStatus() ?? [],
      upstreamInFlight: () => local?.upstreamInFlight() ?? 0,
      workers: () => node?.plane.workers() ?? null,
      zoneAnswers: () => synthCounts,
    });
    const plane: DnsPlane =
      c.workers > 1
        ? await (await import('./workers.js')).WorkerPlane.start(state, c.workers, log, () => metrics.workerRestarted(), await udpReusePort())
        : (local = await LocalPlane.start(state, log, metrics));
    try {
      node = new EdgeNode(state, opts, log, plane, metrics);
      node.#root = root;
      if (c.admin.listen || c.admin.socket) node.#admin = await node.#startAdmin(c.admin);
      // Withdraw first (clears what a crashed predecessor left), then announce after `rise`.
      node.health.start();
      return node;
    } catch (e) {
      await plane.closeTcp();
      await plane.closeUdp();
      throw e;
    }
  }

  get config(): Readonly<Config> {
    return this.#state.loaded.config;
  }

  /** The admin endpoint's TCP port, or null when it is off. */
  get adminPort(): number | null {
    return this.#admin?.port ?? null;
  }

  /** The admin socket's path, or null when it is off. */
  get adminSocket(): string | null {
    return this.#admin?.socket ?? null;
  }

  /**
   * Reload config and zones; on any error keep everything as it runs and report why. One reload
   * runs at a time; those asked for meanwhile become one more, whatever their number.
   * `remove`: zones whose files are gone that may stop being served.
   */
  reload(removeZones: readonly string[] = []): Promise<ReloadResult> {
    const remove = removeZones.map(canonicalZone);
    if (!this.#reloading) return this.#runReload(new Set(remove));
    if (!this.#reloadNext) {
      let resolve: (r: Promise<ReloadResult>) => void = () => {};
      const result = new Promise<ReloadResult>((r) => (resolve = r));
      this.#reloadNext = { result, remove: new Set(), resolve };
    }
    for (const z of remove) this.#reloadNext.remove.add(z);
    return this.#reloadNext.result;
  }

  /** Run one reload; when it ends, the one asked for meanwhile (if any) starts. */
  #runReload(remove: ReadonlySet<string>): Promise<ReloadResult> {
    const running = this.#reloadOnce(remove); // never rejects: failures are results
    this.#reloading = running;
    void running.then(() => {
      const next = this.#reloadNext;
      this.#reloadNext = undefined;
      this.#reloading = undefined;
      if (next) next.resolve(this.#runReload(next.remove));
    });
    return running;
  }

  async #reloadOnce(remove: ReadonlySet<string>): Promise<ReloadResult> {
    if (this.#toldReady && !this.#stopping) this.#notify.reloading('reloading the config and zones');
    const result = await this.#reloadFiles(remove);
    // Answering all along; READY=1 ends the RELOADING=1 whatever the outcome.
    if (this.#toldReady && !this.#stopping) this.#notify.ready(result.ok ? `${this.#serving()}; ${result.message}` : `${this.#serving()}; the last reload failed: serving the previous config and zones`);
    return result;
  }

  /** What the node serves, for the service manager's status line. */
  #serving(): string {
    return `answering on ${this.plane.bound.map(formatHostPort).join(' ')} (UDP, TCP), ${this.zones.length} zone(s)`;
  }

  async #reloadFiles(remove: ReadonlySet<string>): Promise<ReloadResult> {
    try {
      const loaded = loadServeConfig(this.#opts);
      // log.level applies at once; the rest of log (format, query log) with a restart.
      const logRest = (c: Config): string => JSON.stringify({ ...c.log, level: undefined });
      const restartOnly = RESTART_KEYS.filter((k) => (k === 'log' ? logRest(loaded.config) !== logRest(this.config) : JSON.stringify(loaded.config[k]) !== JSON.stringify(this.config[k])));
      if (restartOnly.length > 0) this.log.warn('config changes that need a restart were not applied', { keys: restartOnly });
      const state = await loadState(loaded);
      // A zone file gone from the zone folder is an accident unless asked for (or the folder changed).
      const dir = loaded.config.zones.dir === null ? null : resolvePath(configBase(loaded), loaded.config.zones.dir);
      const verdict = checkReload(this.zones, state.zones, {
        policy: loaded.config.zones.serialPolicy,
        removable: (z) => remove.has(canonicalZone(z.origin)) || dirname(z.file) !== dir,
      });
      if (verdict.serialRefused > 0) this.metrics.zoneSerialRefused(verdict.serialRefused);
      if (verdict.problems.length > 0) throw new EdgeError(ErrorCode.ZONE_POLICY, verdict.problems.join('\n'), verdict.problems);
      if (verdict.unchanged) state.image = null;
      await this.plane.apply(state);
      // Unchanged zones keep their load time: the store that answers is the one loaded then.
      this.#state = { ...state, zones: verdict.unchanged ? this.zones : state.zones, image: null };
      for (const z of state.zones) this.log.info('zone loaded', { zone: z.origin, serial: z.serial, records: z.records, changed: !verdict.unchanged });
      if (loaded.config.log.level !== this.#levelAt && this.#root) {
        // Said at the old level, so that a change to a quieter one is still told.
        this.log.info('log level changed', { from: this.#levelAt, to: loaded.config.log.level });
        this.#root.setLevel(loaded.config.log.level);
      }
      this.#levelAt = loaded.config.log.level;
      this.metrics.reload(true);
      this.log.info('reload ok', { zones: state.zones.length });
      return { ok: true, message: `reloaded: ${state.zones.length} zone(s)${verdict.unchanged ? ', unchanged' : ''}` };
    } catch (e) {
      const problems = e instanceof EdgeError ? e.problems : [errorMessage(e)];
      this.metrics.reload(false);
      this.log.error('reload failed; keeping the running config and zones', { problems });
      return { ok: false, message: problems.join('\n'), ...(e instanceof EdgeError && { code: e.code }) };
    }
  }

  /** Should this node get traffic now? Only when the address is (to be) announced. */
  ready(): { ready: boolean; reason: string } {
    if (this.#stopping) return { ready: false, reason: 'stopping' };
    const s = this.health.state;
    return { ready: this.health.announce, reason: `${s.state}: ${s.reason}` };
  }

  /** The node's metrics: this process's, merged with the workers' when there are some. */
  async registry(): Promise<Registry> {
    const others = await this.plane.metrics();
    if (others.length === 0) return this.metrics.registry;
    return mergeMetrics([await this.metrics.registry.getMetricsAsJSON(), ...others]);
  }

  async status(): Promise<Record<string, unknown>> {
    const c = this.config;
    const id = identityConfig(c);
    const cache = await this.plane.cache();
    const registry = await this.registry();
    const counter = async (name: string): Promise<number> => (await registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;
    const workers = this.plane.workers();
    return {
      site: { id: id.siteId, hostname: id.hostname },
      version: VERSION,
      node: process.version,
      pid: process.pid,
      host: hostname(),
      uptimeSeconds: Math.round((systemClock.now() - this.#startedAt) / 1000),
      startedAt: new Date(this.#startedAt).toISOString(),
      ready: this.ready(),
      listeners: this.plane.bound.map((b) => ({ address: formatHostPort(b), transports: ['udp', 'tcp'] })),
      ...(workers ? { workers: { ...workers, summary: this.plane.listening().detail } } : {}),
      zones: this.zones.map((z) => ({ ...z, loadedAt: new Date(z.loadedAt).toISOString() })),
      upstreams: await this.plane.upstreams(),
      health: this.health.status(),
      announce: { ...this.announcer.status(), summary: this.#announceSummary() },
      cache: cache
        ? { ...cache, hits: await counter('edgedns_cache_hits_total'), misses: await counter('edgedns_cache_misses_total'), staleServed: await counter('edgedns_cache_stale_served_total') }
        : null,
      config: { source: this.#state.loaded.source, sha256: this.#state.loaded.hash },
    };
  }

  #announceSummary(): string {
    const a = this.announcer.status();
    const prefixes = a.prefixes.length > 0 ? a.prefixes.join(' ') : 'no prefixes';
    return `${prefixes} via ${a.adapter}: desired ${a.desired ?? '-'}, confirmed ${a.confirmed ?? '-'}${a.lastError ? ` (last error: ${a.lastError})` : ''}`;
  }

  #startAdmin(a: Config['admin']): Promise<AdminServer> {
    return startAdmin({
      listen: a.listen,
      socket: a.socket,
      tokenFile: a.tokenFile,
      hosts: a.hosts,
      registry: () => this.registry(),
      status: () => this.status(),
      ready: () => this.ready(),
      log: this.log,
      actions: {
        '/reload': async (body) => {
          const bad = unknownField(body, ['remove']);
          if (bad) return refuse(bad);
          const remove = body.remove ?? [];
          if (!Array.isArray(remove) || remove.length > 1000 || !remove.every((z): z is string => typeof z === 'string' && z.length > 0 && z.length <= 255)) return refuse('remove: expected a list of zone names');
          return { ...(await this.reload(remove)) };
        },
        '/drain': (body) => {
          const bad = unknownField(body, ['for', 'reason']);
          if (bad) return refuse(bad);
          const ms = durationField(body, 'for', DRAIN_MAX);
          if (typeof ms === 'string') return refuse(ms);
          const reason = body.reason ?? 'operator drain';
          if (typeof reason !== 'string' || reason.length > MAX_REASON) return refuse(`reason: expected a string of at most ${MAX_REASON} characters`);
          return { ok: true, message: this.health.drain(ms, reason) };
        },
        '/undrain': (body) => {
          const bad = unknownField(body, []);
          return bad ? refuse(bad) : { ok: true, message: this.health.undrain() };
        },
        '/drill/fail': (body) => {
          const bad = unknownField(body, ['for']);
          if (bad) return refuse(bad);
          const ms = durationField(body, 'for', DRILL_MAX);
          if (ms === null) return refuse('for: a drill needs a duration, e.g. {"for": "10s"}');
          if (typeof ms === 'string') return refuse(ms);
          return { ok: true, message: this.health.drillFail(ms) };
        },
        '/cache/flush': async (body) => {
          const bad = unknownField(body, ['name']);
          if (bad) return refuse(bad);
          if (body.name !== undefined && typeof body.name !== 'string') return refuse(`name: expected a domain name, got ${JSON.stringify(body.name)}`);
          const name = body.name === '' ? undefined : body.name;
          let key: string | undefined;
          try {
            key = name === undefined ? undefined : nameKey(absoluteName(name));
          } catch (e) {
            return refuse(`name: bad name "${name}": ${errorMessage(e)}`);
          }
          const removed = await this.plane.flush(key);
          if (removed === null) return refuse('there is no cache: forwarding is off');
          return { ok: true, message: key === undefined ? `flushed ${removed} entries` : `flushed ${removed} entries of ${keyToText(key)}`, removed };
        },
      },
    });
  }

  /**
   * Stop: STOPPING (/readyz 503 at once) → withdraw → keep answering for the linger period (a
   * second signal skips it) → close TCP, then UDP → admin. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const c = this.config;
      this.log.info('stopping', { lingerMs: c.announce.shutdownLinger });
      if (this.#toldReady) this.#notify.stopping('stopping: withdrawing, then closing the listeners');
      this.health.stop();
      const withdrawn = await this.announcer.settled(c.announce.withdrawTimeout);
      if (!withdrawn) this.log.error('withdraw not confirmed before stopping', { timeoutMs: c.announce.withdrawTimeout, lastError: this.announcer.status().lastError });
      if (!this.#lingerSkipped) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, c.announce.shutdownLinger);
          this.#skipLinger = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      this.announcer.stop();
      this.#closeChecks();
      await this.plane.closeTcp();
      await this.plane.closeUdp();
      await this.#admin?.close();
      await this.#notify.flushed();
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
      if (stopped) {
        this.log.info('second signal: skipping the linger');
        this.#skipLinger();
      }
      stopped ??= this.stop();
      wake();
    };
    process.on('SIGHUP', onHup);
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    // Logged once the signal handlers are in place: from here a SIGTERM is a clean stop.
    this.log.info('started', { config: this.#state.loaded.source, zones: this.zones.length, listen: this.plane.bound, workers: this.plane.workers()?.configured ?? 1, admin: this.adminPort, adminSocket: this.adminSocket });
    // Every listener is bound (in every worker), the zones are loaded and the admin endpoint is up.
    this.#toldReady = true;
    this.#notify.ready(this.#serving());
    await requested;
    await stopped;
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  }
}
