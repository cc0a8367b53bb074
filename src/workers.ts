// `workers: N`: N processes answer DNS on the same listeners (node:cluster shares each socket; the
// kernel hands every datagram and connection to one of them). The primary keeps what must exist
// once per node: health, the announcement, the admin endpoint, reload and metrics, which it merges
// from the workers. A worker runs a LocalPlane and does what the primary asks over IPC; it ignores
// SIGTERM/SIGINT (the primary orders the shutdown: withdraw, linger, close) and exits when the
// primary goes away.

import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatHostPort } from './config/index.js';
import type { Logger } from './core/index.js';
import { EdgeError, ErrorCode, createJsonLogger, errorMessage } from './core/index.js';
import type { CheckOutcome } from './health/index.js';
import type { MetricsJson } from './metrics/index.js';
import { createMetrics } from './metrics/index.js';
import type { CacheStats, DnsPlane, ServeOptions } from './plane.js';
import { LocalPlane, loadState } from './plane.js';
import type { UpstreamStatus } from './resolver/index.js';
import type { ListenAddress } from './server/index.js';
import { VERSION } from './version.js';
import { synthCounts } from './zone/index.js';

/** The environment variable that carries a worker's options (and marks a process as a worker). */
export const WORKER_ENV = 'EDGEDNS_WORKER';

type WorkerOptions = Omit<ServeOptions, 'logger' | 'admin' | 'workers'> & { index: number };

/** What the primary asks a worker. */
type Op = 'apply' | 'upstreams' | 'cache' | 'flush' | 'metrics' | 'closeTcp' | 'closeUdp';
interface Request {
  edgedns: number;
  op: Op;
  key?: string | undefined;
}
type Reply = { edgedns: number; ok: true; value: unknown } | { edgedns: number; ok: false; error: string };
type Event = { event: 'ready'; bound: ListenAddress[] } | { event: 'failed'; error: string };

const START_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 5_000;
/** Restart delays after unexpected exits: none for the first, then doubling up to the cap. */
const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before dying restarts at once again. */
const RESTART_RESET_MS = 60_000;

interface Slot {
  index: number;
  worker: Worker | null;
  listening: boolean;
  startedAt: number;
  /** Consecutive quick deaths, for the restart delay. */
  crashes: number;
  /** Started again after a death and not listening yet: its exit restarts it again. */
  restarting: boolean;
}

/** The primary's side: starts, watches and talks to the workers. */
export class WorkerPlane implements DnsPlane {
  readonly #opts: WorkerOptions;
  readonly #log: Logger;
  readonly #onRestart: () => void;
  readonly #slots: Slot[];
  #bound: ListenAddress[] = [];
  #stopping = false;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(opts: WorkerOptions, n: number, log: Logger, onRestart: () => void) {
    this.#opts = opts;
    this.#log = log;
    this.#onRestart = onRestart;
    this.#slots = Array.from({ length: n }, (_, index) => ({ index, worker: null, listening: false, startedAt: 0, crashes: 0, restarting: false }));
  }

  /** Fork `n` workers and wait until each has bound the listeners; throws the first one's error. */
  static async start(opts: ServeOptions, n: number, log: Logger, onRestart: () => void): Promise<WorkerPlane> {
    const { logger: _l, admin: _a, workers: _w, ...rest } = opts;
    const plane = new WorkerPlane({ ...rest, index: 0 }, n, log, onRestart);
    // Workers accept from the shared sockets themselves: the primary stays out of the query path.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const here = fileURLToPath(import.meta.url);
    cluster.setupPrimary({ exec: here.replace(/workers(\.[jt]s)$/, `worker-main${extname(here)}`), args: [] });
    try {
      const bound = await Promise.all(plane.#slots.map((s) => plane.#fork(s)));
      plane.#bound = bound[0] ?? [];
    } catch (e) {
      await plane.#killAll();
      throw e;
    }
    log.info('workers listening', { workers: n, pids: plane.#slots.map((s) => s.worker?.process.pid) });
    return plane;
  }

  /** Start the worker of `slot`; resolves with its bound addresses, rejects when it fails to start. */
  #fork(slot: Slot): Promise<ListenAddress[]> {
    const w = cluster.fork({ [WORKER_ENV]: JSON.stringify({ ...this.#opts, index: slot.index }) });
    slot.worker = w;
    slot.startedAt = Date.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        w.process.kill('SIGKILL');
        reject(new EdgeError(ErrorCode.LISTEN, `worker ${slot.index}: not listening after ${START_TIMEOUT_MS / 1000} s`));
      }, START_TIMEOUT_MS);
      w.on('message', (m: Event | Reply) => {
        if ('edgedns' in m) return this.#settle(m);
        clearTimeout(timer);
        if (m.event === 'failed') return reject(new EdgeError(ErrorCode.LISTEN, m.error));
        slot.listening = true;
        slot.restarting = false;
        resolve(m.bound);
      });
      w.on('exit', (code, signal) => {
        clearTimeout(timer);
        const was = slot.listening;
        slot.listening = false;
        if (slot.worker === w) slot.worker = null;
        reject(new EdgeError(ErrorCode.LISTEN, `worker ${slot.index} exited (${signal ?? `code ${code}`}) while starting`));
        if ((was || slot.restarting) && !this.#stopping) this.#restart(slot, code, signal);
      });
    });
  }

  /** A listening worker died: start another, at once the first time, then with a growing delay. */
  #restart(slot: Slot, code: number | null, signal: string | null): void {
    slot.crashes = Date.now() - slot.startedAt > RESTART_RESET_MS ? 1 : slot.crashes + 1;
    const delay = slot.crashes <= 1 ? 0 : Math.min(RESTART_MAX_MS, 1000 * 2 ** (slot.crashes - 2));
    this.#log.error('worker exited; restarting it', { worker: slot.index, code, signal, delayMs: delay });
    this.#onRestart();
    slot.restarting = true;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (this.#stopping) return;
      // A failed start ends with the worker's exit, which tries again (slot.restarting).
      this.#fork(slot).then(
        () => this.#log.info('worker listening again', { worker: slot.index, pid: slot.worker?.process.pid }),
        (e: unknown) => this.#log.error('worker restart failed', { worker: slot.index, error: errorMessage(e) }),
      );
    }, delay);
    this.#timers.add(t);
  }

  #settle(m: Reply): void {
    const p = this.#pending.get(m.edgedns);
    if (!p) return;
    this.#pending.delete(m.edgedns);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(m.error));
  }

  #ask(slot: Slot, op: Op, key?: string): Promise<unknown> {
    const w = slot.worker;
    if (!w || !slot.listening || !w.isConnected()) return Promise.reject(new Error(`worker ${slot.index} is not running`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`worker ${slot.index}: no reply to ${op} within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(id, { resolve, reject, timer });
      w.send({ edgedns: id, op, key } satisfies Request);
    });
  }

  /** Ask every running worker; the answers of those that replied, and the errors of the others. */
  async #askAll(op: Op, key?: string): Promise<{ values: unknown[]; errors: string[] }> {
    const running = this.#slots.filter((s) => s.listening);
    const settled = await Promise.allSettled(running.map((s) => this.#ask(s, op, key)));
    const values: unknown[] = [];
    const errors: string[] = [];
    for (const r of settled) {
      if (r.status === 'fulfilled') values.push(r.value);
      else errors.push(errorMessage(r.reason));
    }
    return { values, errors };
  }

  get bound(): readonly ListenAddress[] {
    return this.#bound;
  }

  listening(): CheckOutcome {
    const n = this.#slots.filter((s) => s.listening).length;
    const down = this.#slots.filter((s) => !s.listening).map((s) => s.index);
    // The probes tell whether the node answers; this only needs one worker up to pass.
    return { ok: n > 0, detail: `${n} of ${this.#slots.length} workers listening${down.length > 0 ? ` (down: ${down.join(', ')})` : ''}` };
  }

  workers(): { configured: number; listening: number; pids: number[] } {
    const up = this.#slots.filter((s) => s.listening);
    return { configured: this.#slots.length, listening: up.length, pids: up.flatMap((s) => s.worker?.process.pid ?? []) };
  }

  async apply(): Promise<void> {
    // Each worker loads the same files; a worker that fails keeps its running zones.
    const { errors } = await this.#askAll('apply');
    if (errors.length > 0) throw new EdgeError(ErrorCode.CONFIG_INVALID, errors.join('\n'), errors);
  }

  async upstreams(): Promise<UpstreamStatus[]> {
    // Per upstream: healthy when a worker finds it healthy; counts added, SRTT averaged.
    const { values } = await this.#askAll('upstreams');
    const by = new Map<string, UpstreamStatus & { n: number }>();
    for (const u of (values as UpstreamStatus[][]).flat()) {
      const m = by.get(u.address);
      if (!m) by.set(u.address, { ...u, n: 1 });
      else {
        m.healthy ||= u.healthy;
        m.queries += u.queries;
        m.failures += u.failures;
        m.srttMs += u.srttMs;
        m.n++;
      }
    }
    return [...by.values()].map(({ n, ...u }) => ({ ...u, srttMs: Math.round(u.srttMs / n) }));
  }

  async cache(): Promise<CacheStats | null> {
    const { values } = await this.#askAll('cache');
    const stats = (values as (CacheStats | null)[]).filter((v) => v !== null);
    if (stats.length === 0) return null;
    return { entries: stats.reduce((a, s) => a + s.entries, 0), bytes: stats.reduce((a, s) => a + s.bytes, 0) };
  }

  async flush(key: string | undefined): Promise<number | null> {
    const { values, errors } = await this.#askAll('flush', key);
    if (errors.length > 0) throw new Error(errors.join('; '));
    const n = (values as (number | null)[]).filter((v) => v !== null);
    return n.length === 0 ? null : n.reduce((a, b) => a + b, 0);
  }

  async metrics(): Promise<MetricsJson[]> {
    const { values, errors } = await this.#askAll('metrics');
    if (errors.length > 0) this.#log.warn('metrics missing from some workers', { errors });
    return values as MetricsJson[];
  }

  async closeTcp(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#timers) clearTimeout(t);
    await this.#askAll('closeTcp');
  }

  /** Close the workers' UDP sockets; they exit after it (those that do not are killed). */
  async closeUdp(): Promise<void> {
    this.#stopping = true;
    const exited = this.#slots.map((s) => (s.worker ? new Promise<void>((r) => s.worker?.once('exit', () => r())) : Promise.resolve()));
    await this.#askAll('closeUdp');
    await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, REQUEST_TIMEOUT_MS).unref())]);
    await this.#killAll();
  }

  async #killAll(): Promise<void> {
    this.#stopping = true;
    const alive = this.#slots.flatMap((s) => (s.worker && s.worker.process.exitCode === null && s.worker.process.signalCode === null ? [s.worker] : []));
    await Promise.all(
      alive.map((w) => {
        const gone = new Promise<void>((r) => w.once('exit', () => r()));
        w.process.kill('SIGKILL');
        return gone;
      }),
    );
  }
}

/** A worker process: answer DNS on the shared listeners and do what the primary asks. */
export async function runWorker(): Promise<void> {
  const opts = JSON.parse(process.env[WORKER_ENV] ?? '{}') as WorkerOptions;
  const send = (m: Event | Reply): void => void process.send?.(m);
  // The primary orders the shutdown; a signal to the whole process group must not cut it short.
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => {});
  // Without the primary nobody watches health or the announcement: stop answering.
  process.on('disconnect', () => process.exit(0));
  let plane: LocalPlane;
  let log: Logger;
  try {
    const state = loadState(opts);
    log = createJsonLogger({ level: state.loaded.config.log.level, base: { site: state.identity.siteId, worker: opts.index } });
    let current: LocalPlane | undefined;
    const metrics = createMetrics({ version: VERSION, site: state.identity.siteId }, {
      prefixes: () => [],
      cache: () => current?.cacheStats() ?? null,
      zones: () => current?.pipeline.zones.zones() ?? [],
      upstreams: () => current?.upstreamStatus() ?? [],
      zoneAnswers: () => synthCounts,
    });
    plane = current = await LocalPlane.start(state, log, metrics);
    const handlers: Record<Op, (key?: string) => unknown> = {
      apply: async () => {
        await plane.apply(loadState(opts));
        return true;
      },
      upstreams: () => plane.upstreams(),
      cache: () => plane.cache(),
      flush: (key) => plane.flush(key),
      metrics: () => metrics.registry.getMetricsAsJSON(),
      closeTcp: () => plane.closeTcp(),
      closeUdp: async () => {
        await plane.closeUdp();
        setImmediate(() => process.exit(0));
        return true;
      },
    };
    process.on('message', (m: Request) => {
      if (typeof m?.edgedns !== 'number') return;
      Promise.resolve()
        .then(() => handlers[m.op](m.key))
        .then(
          (value) => send({ edgedns: m.edgedns, ok: true, value: value ?? null }),
          (e: unknown) => send({ edgedns: m.edgedns, ok: false, error: `worker ${opts.index}: ${e instanceof EdgeError ? e.problems.join('\n') : errorMessage(e)}` }),
        );
    });
  } catch (e) {
    process.send?.({ event: 'failed', error: errorMessage(e) } satisfies Event, () => process.exit(1));
    return;
  }
  send({ event: 'ready', bound: [...plane.bound] });
  log.info('worker listening', { addresses: plane.bound.map(formatHostPort), pid: process.pid });
}
