// The composition root: builds every module from the config and wires them together (listeners,
// zones, reload and stop on signals). The CLI reaches the rest of the program only through here.

import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import type { Logger } from './core/index.js';
import { EdgeError, createJsonLogger, errorMessage } from './core/index.js';
import type { Config, LoadedConfig } from './config/index.js';
import { loadConfig } from './config/index.js';
import type { ListenAddress, ListenerSet } from './server/index.js';
import { Pipeline, startListeners } from './server/index.js';
import { nameFromText } from './wire/index.js';
import type { ZoneSpec, ZoneStore } from './zone/index.js';
import { buildZone, formatRecord, loadZones, parseZoneFile, zoneSpecsFromDir } from './zone/index.js';

export { EdgeError, isEdgeError } from './core/index.js';

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
  return o;
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

  private constructor(loaded: LoadedConfig, opts: ServeOptions, log: Logger, pipeline: Pipeline, listeners: ListenerSet) {
    this.#loaded = loaded;
    this.#opts = opts;
    this.log = log;
    this.pipeline = pipeline;
    this.listeners = listeners;
  }

  /** Startup: config and zones (fatal when bad) → listeners. */
  static async start(opts: ServeOptions): Promise<EdgeNode> {
    const loaded = loadConfig(opts.configPath, flagOverrides(opts));
    const log = opts.logger ?? createJsonLogger({ level: loaded.config.log.level });
    const zones = EdgeNode.#loadZones(loaded);
    for (const z of zones.zones()) log.info('zone loaded', { zone: z.origin, serial: z.serial, records: z.records, file: z.file });
    const c = loaded.config;
    const pipeline = new Pipeline({ zones, udpPayload: c.edns.udpPayload });
    const listeners = await startListeners(
      c.listen as ListenAddress[],
      pipeline,
      { idleTimeoutMs: c.tcp.idleTimeout, maxConnections: c.tcp.maxConnections, maxInFlight: c.tcp.maxInFlight },
      log,
    );
    return new EdgeNode(loaded, opts, log, pipeline, listeners);
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
      const restartOnly = (['listen', 'tcp', 'edns'] as const).filter((k) => JSON.stringify(loaded.config[k]) !== JSON.stringify(this.#loaded.config[k]));
      if (restartOnly.length > 0) this.log.warn('config changes that need a restart were not applied', { keys: restartOnly });
      this.pipeline.setZones(zones);
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
