// One edge node: builds the modules from the config and wires them together (planes, health and
// announcement, metrics and the admin endpoint), and runs it — reload, stop, signals. Its checks,
// admin actions, /status document and the file commands sit beside it in this folder.

import { createHash } from 'node:crypto';
import { dirname, resolve as resolvePath } from 'node:path';
import { Announcer } from '../announce/index.js';
import { buildAdapter, configBase, identityConfig } from '../compose/index.js';
import type { SiteState } from '../fleet/index.js';
import type { Config } from '../config/index.js';
import { formatHostPort, hostWarnings } from '../config/index.js';
import type { LogLevel, Logger, Notifier, RootLogger } from '../core/index.js';
import {
  EdgeError,
  ErrorCode,
  VERSION,
  createLogger,
  createNotifier,
  errorMessage,
  systemClock,
} from '../core/index.js';
import type { LoadSample } from '../health/index.js';
import { HealthMonitor } from '../health/index.js';
import type { AdminServer, Metrics, Registry } from '../metrics/index.js';
import type { SecondaryZones } from '../secondary/index.js';
import { createMetrics, mergeMetrics, startAdmin } from '../metrics/index.js';
import type { DnsPlane, ServeOptions, ServingState } from '../process/index.js';
import { LocalPlane, cookiesOf, loadServeConfig, loadState } from '../process/index.js';
import { udpReusePort } from '../server/index.js';
import type { ZoneInfo } from '../zone/index.js';
import { checkReload, synthCounts } from '../zone/index.js';
import { adminActions } from './admin.js';
import { nodeChecks } from './checks.js';
import type { NodeFleet } from './fleet.js';
import { buildFleet } from './fleet.js';
import { buildSecondaries, secondaryCheck } from './secondary.js';
import { statusDocument } from './status.js';
import type { ReloadResult } from './reload.js';
import { RESTART_KEYS, canonicalZone } from './reload.js';

export type { ServeOptions } from '../process/index.js';

/**
 * What must be the same at every site, hashed: the validated config without what is per site by
 * design (`site`, `listen`, `admin`). Peers compare it to find a site whose config drifted.
 */
export function sharedConfigHash(c: Readonly<Config>): string {
  const { site: _site, listen: _listen, admin: _admin, ...shared } = c;
  return createHash('sha256').update(JSON.stringify(shared)).digest('hex');
}

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
  #reloadNext:
    | {
        result: Promise<ReloadResult>;
        remove: Set<string>;
        reread: boolean;
        resolve: (r: Promise<ReloadResult>) => void;
      }
    | undefined;
  /** The fleet this node belongs to, or null for a single node. */
  readonly fleet: NodeFleet | null;
  /** The last load the load check read, for the fleet's shared state. */
  #load: LoadSample = { utilization: 0, lagMs: 0, drops: 0, queued: 0, shed: 0 };
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

  /** The secondary zones' runtime, or null without any. */
  readonly secondary: SecondaryZones | null;

  private constructor(
    state: ServingState,
    opts: ServeOptions,
    log: Logger,
    plane: DnsPlane,
    metrics: Metrics,
    secondary: SecondaryZones | null,
  ) {
    // The image was handed to the plane; keeping it here would hold the whole zone set twice.
    this.#state = { ...state, image: null };
    this.#levelAt = state.loaded.config.log.level;
    this.#opts = opts;
    this.log = log;
    this.plane = plane;
    this.metrics = metrics;
    this.secondary = secondary;
    this.#notify = createNotifier({
      socket: opts.notifySocket,
      onError: (message, e) => log.warn('could not notify the service manager', { message, error: errorMessage(e) }),
    });
    const c = state.loaded.config;
    const siteId = identityConfig(c).siteId;
    this.fleet = buildFleet(c, configBase(state.loaded), siteId, systemClock, log, () => this.#fleetState(siteId));
    const checks = nodeChecks(
      c,
      plane,
      () => this.zones,
      (from) => cookiesOf(this.#state.secrets).probeOption(from),
      async () => (this.#load = await plane.load()),
      [...(this.fleet ? [this.fleet.check] : []), ...(secondary ? [secondaryCheck(secondary)] : [])],
    );
    const fleet = this.fleet?.fleet;
    this.announcer = new Announcer({
      adapter: buildAdapter(c, log),
      prefixes: c.announce.prefixes,
      siteId,
      reconcileMs: c.announce.reconcileInterval,
      deprefer: c.announce.deprefer,
      log,
      observer: metrics.announce,
    });
    this.health = new HealthMonitor({
      params: {
        rise: c.health.rise,
        fall: c.health.fall,
        intervalMs: c.health.interval,
        fastIntervalMs: c.health.fastInterval,
        holdDown: {
          initialMs: c.health.holdDown.initial,
          maxMs: c.health.holdDown.max,
          decayMs: c.health.holdDown.decay,
        },
      },
      checks,
      sharedWithdraw: c.health.sharedWithdraw,
      drainFile: c.health.drainFile,
      clock: systemClock,
      log,
      onDesired: (up, reason, _detail, shedding) => {
        plane.shed(shedding);
        this.announcer.set(!up ? 'withdraw' : shedding && c.announce.deprefer ? 'deprefer' : 'announce', reason);
      },
      onReassert: () => this.announcer.reassert(),
      observer: metrics.health,
      ...(fleet && { budget: (announced: boolean) => fleet.budget(announced) }),
    });
  }

  /** What this node tells its fleet peers (without what it sees of them). */
  #fleetState(site: string): Omit<SiteState, 'sees' | 'acks'> {
    const h = this.health;
    return {
      site,
      version: VERSION,
      state: h.state.state,
      verdict: h.verdict,
      announced: h.announce,
      budgeted: h.budgeted,
      leaving: h.leaving,
      serials: Object.fromEntries(this.zones.map((z) => [z.origin, z.serial])),
      configHash: sharedConfigHash(this.config),
      load: { utilization: this.#load.utilization, lagMs: this.#load.lagMs },
    };
  }

  /** The zones served now, as last loaded. */
  get zones(): ZoneInfo[] {
    return this.#state.zones;
  }

  /** Startup: config and zones (fatal when bad) → listeners (here or in workers) → admin endpoint. */
  static async start(opts: ServeOptions): Promise<EdgeNode> {
    const loaded = loadServeConfig(opts);
    const root = opts.logger
      ? null
      : createLogger({
          level: loaded.config.log.level,
          format: loaded.config.log.format,
          base: { site: identityConfig(loaded.config).siteId },
        });
    const log = opts.logger ?? (root as RootLogger);
    // Metrics read the live objects through these late-bound sources.
    let node: EdgeNode | undefined;
    let local: LocalPlane | undefined;
    const late: { metrics?: Metrics } = {};
    const secondary = buildSecondaries(loaded, {
      clock: systemClock,
      log,
      observer: {
        transferred: (zone, kind) => late.metrics?.secondary.transferred(zone, kind),
        failed: (zone) => late.metrics?.secondary.failed(zone),
      },
      apply: () => (node ? node.reloadZones() : Promise.resolve({ ok: false, message: 'the node is starting' })),
    });
    const state = await loadState(loaded, { secondary: secondary?.serving() ?? null });
    const c = state.loaded.config;
    for (const z of state.zones)
      log.info('zone loaded', { zone: z.origin, serial: z.serial, records: z.records, file: z.file });
    // What `config check` warns about: missing here, needed later (an adapter call, a drain).
    for (const w of hostWarnings(c, { base: configBase(state.loaded), path: process.env.PATH }))
      log.warn('config: missing on this host', { problem: w });
    const m = (late.metrics = createMetrics(
      { version: VERSION, site: state.identity.siteId },
      {
        prefixes: () => c.announce.prefixes,
        cache: () => local?.cacheStats() ?? null,
        zones: () => node?.zones ?? state.zones,
        upstreams: () => local?.upstreamStatus() ?? [],
        upstreamInFlight: () => local?.upstreamInFlight() ?? 0,
        workers: () => node?.plane.workers() ?? null,
        fleet: () => node?.fleet?.fleet.table() ?? null,
        zoneAnswers: () => synthCounts,
        compiledNodes: () => local?.pipeline.zones.compiledNodes ?? 0,
        secondary: () => secondary?.status() ?? [],
      },
    ));
    const plane: DnsPlane =
      c.workers > 1
        ? await (
            await import('../process/index.js')
          ).WorkerPlane.start(state, c.workers, log, () => m.workerRestarted(), await udpReusePort())
        : (local = await LocalPlane.start(state, log, m));
    try {
      node = new EdgeNode(state, opts, log, plane, m, secondary);
      node.#root = root;
      if (c.admin.listen || c.admin.socket) node.#admin = await node.#startAdmin(c.admin);
      // Withdraw first (clears what a crashed predecessor left), then announce after `rise`.
      node.health.start();
      node.fleet?.fleet.start();
      if (secondary) {
        plane.onNotify((origin, from) => secondary.notified(origin, from));
        secondary.start();
      }
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
    return this.#queueReload(removeZones.map(canonicalZone), true);
  }

  /**
   * Reload the zones with the running config: what the secondary zones' runtime asks after a
   * transfer or an expiry (the config file, perhaps half edited, is not read).
   */
  reloadZones(): Promise<ReloadResult> {
    return this.#queueReload([], false);
  }

  #queueReload(remove: readonly string[], reread: boolean): Promise<ReloadResult> {
    if (!this.#reloading) return this.#runReload(new Set(remove), reread);
    if (!this.#reloadNext) {
      let resolve: (r: Promise<ReloadResult>) => void = () => {};
      const result = new Promise<ReloadResult>((r) => (resolve = r));
      this.#reloadNext = { result, remove: new Set(), reread: false, resolve };
    }
    for (const z of remove) this.#reloadNext.remove.add(z);
    this.#reloadNext.reread ||= reread;
    return this.#reloadNext.result;
  }

  /** Run one reload; when it ends, the one asked for meanwhile (if any) starts. */
  #runReload(remove: ReadonlySet<string>, reread: boolean): Promise<ReloadResult> {
    const running = this.#reloadOnce(remove, reread); // never rejects: failures are results
    this.#reloading = running;
    void running.then(() => {
      const next = this.#reloadNext;
      this.#reloadNext = undefined;
      this.#reloading = undefined;
      if (next) next.resolve(this.#runReload(next.remove, next.reread));
    });
    return running;
  }

  async #reloadOnce(remove: ReadonlySet<string>, reread: boolean): Promise<ReloadResult> {
    const tell = reread && this.#toldReady && !this.#stopping;
    if (tell) this.#notify.reloading('reloading the config and zones');
    const result = await this.#reloadFiles(remove, reread);
    // Answering all along; READY=1 ends the RELOADING=1 whatever the outcome.
    if (tell)
      this.#notify.ready(
        result.ok
          ? `${this.#serving()}; ${result.message}`
          : `${this.#serving()}; the last reload failed: serving the previous config and zones`,
      );
    return result;
  }

  /** What the node serves, for the service manager's status line. */
  #serving(): string {
    return `answering on ${this.plane.bound.map(formatHostPort).join(' ')} (UDP, TCP), ${this.zones.length} zone(s)`;
  }

  async #reloadFiles(remove: ReadonlySet<string>, reread: boolean): Promise<ReloadResult> {
    try {
      const loaded = reread ? loadServeConfig(this.#opts) : this.#state.loaded;
      // log.level applies at once; the rest of log (format, query log) with a restart.
      const logRest = (c: Config): string => JSON.stringify({ ...c.log, level: undefined });
      const restartOnly: string[] = RESTART_KEYS.filter((k) =>
        k === 'log'
          ? logRest(loaded.config) !== logRest(this.config)
          : JSON.stringify(loaded.config[k]) !== JSON.stringify(this.config[k]),
      );
      const secondaryOf = (c: Config): string => JSON.stringify(c.zones.secondary);
      if (secondaryOf(loaded.config) !== secondaryOf(this.config)) restartOnly.push('zones.secondary');
      if (restartOnly.length > 0)
        this.log.warn('config changes that need a restart were not applied', { keys: restartOnly });
      const state = await loadState(loaded, { background: true, secondary: this.secondary?.serving() ?? null });
      // A zone file gone from the zone folder is an accident unless asked for (or the folder changed).
      const dir = loaded.config.zones.dir === null ? null : resolvePath(configBase(loaded), loaded.config.zones.dir);
      const verdict = checkReload(this.zones, state.zones, {
        policy: loaded.config.zones.serialPolicy,
        removable: (z) => remove.has(canonicalZone(z.origin)) || dirname(z.file) !== dir,
      });
      if (verdict.serialRefused > 0) this.metrics.zoneSerialRefused(verdict.serialRefused);
      if (verdict.problems.length > 0)
        throw new EdgeError(ErrorCode.ZONE_POLICY, verdict.problems.join('\n'), verdict.problems);
      if (verdict.unchanged) state.image = null;
      await this.plane.apply(state);
      // Unchanged zones keep their load time: the store that answers is the one loaded then.
      this.#state = { ...state, zones: verdict.unchanged ? this.zones : state.zones, image: null };
      for (const z of state.zones)
        this.log.info('zone loaded', {
          zone: z.origin,
          serial: z.serial,
          records: z.records,
          changed: !verdict.unchanged,
        });
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

  status(): Promise<Record<string, unknown>> {
    return statusDocument({
      config: this.config,
      plane: this.plane,
      registry: () => this.registry(),
      ready: this.ready(),
      zones: this.zones,
      health: this.health,
      announcer: this.announcer,
      startedAt: this.#startedAt,
      loaded: this.#state.loaded,
      fleet: this.fleet,
      secondary: this.secondary,
    });
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
      actions: adminActions(this),
      pages: this.fleet?.pages ?? {},
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
      this.fleet?.fleet.stop();
      this.secondary?.stop();
      const withdrawn = await this.announcer.settled(c.announce.withdrawTimeout);
      if (!withdrawn)
        this.log.error('withdraw not confirmed before stopping', {
          timeoutMs: c.announce.withdrawTimeout,
          lastError: this.announcer.status().lastError,
        });
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
    this.log.info('started', {
      config: this.#state.loaded.source,
      zones: this.zones.length,
      listen: this.plane.bound,
      workers: this.plane.workers()?.configured ?? 1,
      admin: this.adminPort,
      adminSocket: this.adminSocket,
    });
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
