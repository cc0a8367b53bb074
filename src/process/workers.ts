// `workers: N`: N processes answer DNS on the same listeners (node:cluster shares each socket; the
// kernel hands every datagram and connection to one of them). Where the runtime has dgram's
// `reusePort` (udpReusePort()), each worker binds a UDP socket of its own instead, the kernel
// spreading datagrams over them; the first worker binds first, so the others take its ports. The primary keeps what must exist
// once per node: health, the announcement, the admin endpoint, reload and metrics, which it merges
// from the workers. A worker runs a LocalPlane and does what the primary asks over IPC; it ignores
// SIGTERM/SIGINT (the primary orders the shutdown: withdraw, linger, close) and exits when the
// primary goes away.

import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../core/index.js';
import { EdgeError, ErrorCode, errorMessage, systemClock } from '../core/index.js';
import type { CheckOutcome, LoadSample, ProcessLoad } from '../health/index.js';
import { udpBacklog } from '../health/index.js';
import type { MetricsJson } from '../metrics/index.js';
import type { CacheStats, DnsPlane, SecretsText, ServingState } from './plane.js';
import { boundPorts, secretsToText } from './plane.js';
import type { EncryptedBound, PlaneUpstreamStatus } from './plane.js';
import type { NotifyHandler, SecondaryServing } from '../secondary/index.js';
import type { LoadedConfig } from '../config/index.js';
import type { ZoneInfo } from '../zone/index.js';
import { writeImageFile } from '../zone/index.js';
import type { ListenAddress, TransferRule } from '../server/index.js';
import type { Event, Op, Reply, RequestArgs, WorkerOptions } from './ipc.js';
import { PendingRequests, WORKER_ENV } from './ipc.js';

const START_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 5_000;
/** Reading a zone image of millions of names from disk may take longer than a status request. */
const PREPARE_TIMEOUT_MS = 60_000;
/** Restart delays after unexpected exits: none for the first, then doubling up to the cap. */
const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before dying restarts at once again. */
const RESTART_RESET_MS = 60_000;

interface Slot {
  index: number;
  worker: Worker | null;
  listening: boolean;
  /** The load (generation) whose zones the worker answers from. */
  generation: number;
  /** The image file the worker is starting from (kept until it listens). */
  startingFrom: string | null;
  startedAt: number;
  /** Consecutive quick deaths, for the restart delay. */
  crashes: number;
  /** Started again after a death and not listening yet: its exit restarts it again. */
  restarting: boolean;
}

/** The primary's side: starts, watches and talks to the workers. */
export class WorkerPlane implements DnsPlane {
  /** Where zone images are written for the workers; removed when the plane closes. */
  readonly #dir: string;
  #current: {
    loaded: LoadedConfig;
    image: string;
    generation: number;
    secrets: SecretsText;
    secondary: SecondaryServing;
    transferTo: TransferRule[];
  };
  /** Where the NOTIFYs the workers took go. */
  #onNotify: NotifyHandler = () => {};
  readonly #log: Logger;
  readonly #onRestart: () => void;
  readonly #slots: Slot[];
  #bound: ListenAddress[] = [];
  #encrypted: EncryptedBound = { dot: [], doh: [] };
  #stopping = false;
  readonly #requests = new PendingRequests();
  /** Image files written and not removed yet. */
  readonly #images = new Set<string>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #reusePort: boolean;
  #shedding = false;

  private constructor(
    dir: string,
    state: ServingState,
    n: number,
    log: Logger,
    onRestart: () => void,
    reusePort: boolean,
  ) {
    this.#dir = dir;
    this.#reusePort = reusePort;
    this.#current = {
      loaded: state.loaded,
      image: join(dir, 'zones-1.img'),
      generation: 1,
      secrets: secretsToText(state.secrets),
      secondary: state.secondary,
      transferTo: state.transferTo,
    };
    this.#log = log;
    this.#onRestart = onRestart;
    this.#slots = Array.from({ length: n }, (_, index) => ({
      index,
      worker: null,
      listening: false,
      generation: 0,
      startingFrom: null,
      startedAt: 0,
      crashes: 0,
      restarting: false,
    }));
  }

  /** Fork `n` workers and wait until each has bound the listeners; throws the first one's error.
   * The zones were loaded once, here: the workers decode the same image file. `reusePort`: each
   * worker binds its own UDP sockets (udpReusePort() said this runtime can). */
  static async start(
    state: ServingState,
    n: number,
    log: Logger,
    onRestart: () => void,
    reusePort = false,
  ): Promise<WorkerPlane> {
    if (!state.image) throw new Error('no zone image to start the workers from');
    const plane = new WorkerPlane(await mkdtemp(join(tmpdir(), 'edgedns-')), state, n, log, onRestart, reusePort);
    plane.#images.add(plane.#current.image);
    await writeImageFile(plane.#current.image, state.image).catch(async (e: unknown) => {
      await rm(plane.#dir, { recursive: true, force: true });
      throw e;
    });
    // Workers accept from the shared sockets themselves: the primary stays out of the query path.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const here = fileURLToPath(import.meta.url);
    cluster.setupPrimary({ exec: here.replace(/workers(\.[jt]s)$/, `worker-main${extname(here)}`), args: [] });
    try {
      if (reusePort) {
        // Sockets of their own: a port 0 would be a different port in each worker, so the first
        // binds and the others (and any restarted later) take the ports it got.
        const [first, ...rest] = plane.#slots;
        plane.#bound = first ? await plane.#fork(first) : [];
        await Promise.all(rest.map((s) => plane.#fork(s)));
      } else {
        const bound = await Promise.all(plane.#slots.map((s) => plane.#fork(s)));
        plane.#bound = bound[0] ?? [];
      }
    } catch (e) {
      await plane.#killAll();
      throw e;
    }
    log.info('workers listening', {
      workers: n,
      pids: plane.#slots.map((s) => s.worker?.process.pid),
      udp: reusePort ? 'a socket per worker (reusePort)' : 'shared through the primary',
    });
    return plane;
  }

  /** Start the worker of `slot`; resolves with its bound addresses, rejects when it fails to start. */
  #fork(slot: Slot): Promise<ListenAddress[]> {
    const { loaded, image, generation, secrets, secondary, transferTo } = this.#current;
    const listen = this.#reusePort && this.#bound.length > 0 ? [...this.#bound] : null;
    const w = cluster.fork({
      [WORKER_ENV]: JSON.stringify({
        index: slot.index,
        loaded,
        image,
        secrets,
        secondary,
        transferTo,
        reusePort: this.#reusePort,
        listen,
        shedding: this.#shedding,
      } satisfies WorkerOptions),
    });
    slot.worker = w;
    slot.startingFrom = image;
    // Monotonic: a wall-clock step must not reset or prolong the crash back-off.
    slot.startedAt = systemClock.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        w.process.kill('SIGKILL');
        reject(
          new EdgeError(ErrorCode.LISTEN, `worker ${slot.index}: not listening after ${START_TIMEOUT_MS / 1000} s`),
        );
      }, START_TIMEOUT_MS);
      w.on('message', (m: Event | Reply) => {
        if ('edgedns' in m) return this.#requests.settle(m);
        if (m.event === 'notify') return this.#onNotify(m.origin, m.from);
        clearTimeout(timer);
        if (m.event === 'failed') return reject(new EdgeError(ErrorCode.LISTEN, m.error));
        slot.listening = true;
        slot.restarting = false;
        // Every worker shares the same DoT and DoH sockets (through the primary).
        this.#encrypted = m.encrypted;
        slot.generation = generation;
        slot.startingFrom = null;
        // Started from a load that a reload has replaced since: bring it up to the current one.
        if (generation !== this.#current.generation) void this.#catchUp(slot);
        void this.#removeOldImages();
        resolve(m.bound);
      });
      w.on('error', (e) => this.#log.warn('worker channel error', { worker: slot.index, error: e.message }));
      w.on('exit', (code, signal) => {
        clearTimeout(timer);
        const was = slot.listening;
        slot.listening = false;
        slot.startingFrom = null;
        if (slot.worker === w) slot.worker = null;
        this.#requests.abandon(slot.index);
        reject(
          new EdgeError(ErrorCode.LISTEN, `worker ${slot.index} exited (${signal ?? `code ${code}`}) while starting`),
        );
        if ((was || slot.restarting) && !this.#stopping) this.#restart(slot, code, signal);
      });
    });
  }

  /** A listening worker died: start another, at once the first time, then with a growing delay. */
  #restart(slot: Slot, code: number | null, signal: string | null): void {
    slot.crashes = systemClock.now() - slot.startedAt > RESTART_RESET_MS ? 1 : slot.crashes + 1;
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

  #ask(slot: Slot, op: Op, args: RequestArgs = {}): Promise<unknown> {
    const w = slot.worker;
    if (!w || !slot.listening || !w.isConnected())
      return Promise.reject(new Error(`worker ${slot.index} is not running`));
    const timeout = op === 'prepare' ? PREPARE_TIMEOUT_MS : REQUEST_TIMEOUT_MS;
    return this.#requests.ask(slot.index, (r) => w.send(r), op, args, timeout);
  }

  /** Ask every running worker; the answers of those that replied, and the errors of the others. */
  async #askAll(
    op: Op,
    args: RequestArgs = {},
    running = this.#slots.filter((s) => s.listening),
  ): Promise<{ values: unknown[]; errors: string[] }> {
    const settled = await Promise.allSettled(running.map((s) => this.#ask(s, op, args)));
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

  get boundEncrypted(): EncryptedBound {
    return this.#encrypted;
  }

  listening(): CheckOutcome {
    const n = this.#slots.filter((s) => s.listening).length;
    const down = this.#slots.filter((s) => !s.listening).map((s) => s.index);
    // The probes tell whether the node answers; this only needs one worker up to pass.
    return {
      ok: n > 0,
      detail: `${n} of ${this.#slots.length} workers listening${down.length > 0 ? ` (down: ${down.join(', ')})` : ''}`,
    };
  }

  workers(): { configured: number; listening: number; pids: number[] } {
    const up = this.#slots.filter((s) => s.listening);
    return {
      configured: this.#slots.length,
      listening: up.length,
      pids: up.flatMap((s) => s.worker?.process.pid ?? []),
    };
  }

  /** Every worker opens the new image beside its running zones; only when all have, all swap. */
  onNotify(handler: NotifyHandler): void {
    this.#onNotify = handler;
  }

  async apply(state: ServingState): Promise<void> {
    const generation = this.#current.generation + 1;
    const image = state.image ? join(this.#dir, `zones-${generation}.img`) : null;
    if (state.image && image) {
      this.#images.add(image);
      await writeImageFile(image, state.image);
    }
    const running = this.#slots.filter((s) => s.listening);
    const secrets = secretsToText(state.secrets);
    const { secondary, transferTo } = state;
    const prepared = await Promise.allSettled(
      running.map((s) =>
        this.#ask(s, 'prepare', { image, loaded: state.loaded, secrets, secondary, transferTo, generation }),
      ),
    );
    // A worker that died meanwhile is not a failure of the load: it restarts from the current load
    // and is brought up to date when it listens.
    const errors = prepared.flatMap((r, i) =>
      r.status === 'rejected' && running[i]?.listening ? [errorMessage(r.reason)] : [],
    );
    if (errors.length > 0) {
      await this.#askAll('abort', {}, running);
      if (image) {
        this.#images.delete(image);
        await rm(image, { force: true });
      }
      throw new EdgeError(ErrorCode.ZONE_READ, errors.join('\n'), errors);
    }
    // Set first: a worker that restarts from here on starts from the new load.
    this.#current = {
      loaded: state.loaded,
      image: image ?? this.#current.image,
      generation,
      secrets,
      secondary,
      transferTo,
    };
    const committed = await Promise.allSettled(
      running.filter((s) => s.listening).map((s) => this.#commit(s, generation)),
    );
    await this.#removeOldImages();
    const failed = committed.flatMap((r) => (r.status === 'rejected' ? [errorMessage(r.reason)] : []));
    if (failed.length > 0) this.#log.error('workers did not switch to the new zones', { errors: failed });
  }

  async #commit(slot: Slot, generation: number): Promise<void> {
    await this.#ask(slot, 'commit', { generation });
    slot.generation = generation;
  }

  /** A worker that listens with an older load than the current one: prepare and commit it, or restart it. */
  async #catchUp(slot: Slot): Promise<void> {
    const { image, loaded, generation, secrets, secondary, transferTo } = this.#current;
    try {
      await this.#ask(slot, 'prepare', { image, loaded, secrets, secondary, transferTo, generation });
      await this.#commit(slot, generation);
      this.#log.info('worker switched to the current zones', { worker: slot.index, load: generation });
    } catch (e) {
      this.#log.error('worker could not switch to the current zones; restarting it', {
        worker: slot.index,
        error: errorMessage(e),
      });
      slot.worker?.process.kill('SIGKILL');
    }
  }

  /** Remove the image files that neither the current load nor a starting worker needs. */
  async #removeOldImages(): Promise<void> {
    for (const f of this.#images) {
      if (f === this.#current.image || this.#slots.some((s) => s.startingFrom === f)) continue;
      this.#images.delete(f);
      await rm(f, { force: true });
    }
  }

  serving(expected: readonly ZoneInfo[]): CheckOutcome {
    const up = this.#slots.filter((s) => s.listening);
    const behind = up.filter((s) => s.generation !== this.#current.generation).map((s) => s.index);
    if (behind.length > 0) return { ok: false, detail: `workers ${behind.join(', ')} answer from an older zone load` };
    return {
      ok: true,
      detail: `${expected.length} zone(s) loaded (load ${this.#current.generation}, ${up.length} worker(s))`,
    };
  }

  async upstreams(): Promise<PlaneUpstreamStatus[]> {
    // Per upstream of a set: healthy when a worker finds it healthy; counts added, SRTT averaged.
    const { values } = await this.#askAll('upstreams');
    const by = new Map<string, PlaneUpstreamStatus & { n: number }>();
    for (const u of (values as PlaneUpstreamStatus[][]).flat()) {
      const key = `${u.zone ?? ''} ${u.address}`;
      const m = by.get(key);
      if (!m) by.set(key, { ...u, n: 1 });
      else {
        m.healthy ||= u.healthy;
        m.reason = m.healthy ? null : (m.reason ?? u.reason);
        m.queries += u.queries;
        m.failures += u.failures;
        m.srttMs += u.srttMs;
        m.n++;
      }
    }
    return [...by.values()].map(({ n, ...u }) => ({ ...u, srttMs: Math.round(u.srttMs / n) }));
  }

  shed(on: boolean): void {
    if (on === this.#shedding) return;
    this.#shedding = on;
    void this.#askAll('shed', { on }).then(({ errors }) => {
      if (errors.length > 0) this.#log.warn('could not tell every worker to shed', { on, errors });
    });
  }

  /** The busiest worker's load; the backlog of every worker's socket (they share the ports); sheds of all. */
  async load(): Promise<LoadSample> {
    const { values } = await this.#askAll('load');
    const loads = values as (ProcessLoad & { shed: number })[];
    return {
      utilization: Math.max(0, ...loads.map((l) => l.utilization)),
      lagMs: Math.max(0, ...loads.map((l) => l.lagMs)),
      ...udpBacklog(boundPorts(this.bound)),
      // A worker restarted since counts from 0 again: the sum may go back, which starts a new baseline.
      shed: loads.reduce((a, l) => a + l.shed, 0),
    };
  }

  async cache(): Promise<CacheStats | null> {
    const { values } = await this.#askAll('cache');
    const stats = (values as (CacheStats | null)[]).filter((v) => v !== null);
    if (stats.length === 0) return null;
    return { entries: stats.reduce((a, s) => a + s.entries, 0), bytes: stats.reduce((a, s) => a + s.bytes, 0) };
  }

  async flush(key: string | undefined): Promise<number | null> {
    const { values, errors } = await this.#askAll('flush', { key });
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
    const exited = this.#slots.map((s) =>
      s.worker ? new Promise<void>((r) => s.worker?.once('exit', () => r())) : Promise.resolve(),
    );
    await this.#askAll('closeUdp');
    await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, REQUEST_TIMEOUT_MS).unref())]);
    await this.#killAll();
  }

  async #killAll(): Promise<void> {
    this.#stopping = true;
    const alive = this.#slots.flatMap((s) =>
      s.worker && s.worker.process.exitCode === null && s.worker.process.signalCode === null ? [s.worker] : [],
    );
    await Promise.all(
      alive.map((w) => {
        const gone = new Promise<void>((r) => w.once('exit', () => r()));
        w.process.kill('SIGKILL');
        return gone;
      }),
    );
    await rm(this.#dir, { recursive: true, force: true });
  }
}
