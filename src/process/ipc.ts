// What the primary and its worker processes say to each other over node:cluster IPC.

import type { SecretsText } from './plane.js';
import type { LoadedConfig } from '../config/index.js';
import type { ListenAddress, TransferRule } from '../server/index.js';
import type { SecondaryServing } from '../secondary/index.js';

/** The environment variable that carries a worker's options (and marks a process as a worker). */
export const WORKER_ENV = 'EDGEDNS_WORKER';

/** What a worker starts from: the primary's config and the zone image file of the current load. */
export interface WorkerOptions {
  index: number;
  loaded: LoadedConfig;
  image: string;
  secrets: SecretsText;
  secondary: SecondaryServing;
  /** Who may transfer the zones out, keys read by the primary. */
  transferTo: TransferRule[];
  /** UDP with SO_REUSEPORT, a socket of the worker's own. */
  reusePort: boolean;
  /** Where to listen (the bound ports of the first worker), or null for the config's addresses. */
  listen: ListenAddress[] | null;
  /** Whether the node sheds load now (SHEDDING): a worker restarted meanwhile starts so. */
  shedding: boolean;
}

/** What the primary asks a worker. A reload is `prepare` (read and decode the new zone image
 * beside the running zones) on every worker, then `commit` (swap) or `abort` on every worker. */
export type Op =
  | 'prepare'
  | 'commit'
  | 'abort'
  | 'upstreams'
  | 'load'
  | 'shed'
  | 'cache'
  | 'flush'
  | 'metrics'
  | 'closeTcp'
  | 'closeUdp';
export interface Request {
  edgedns: number;
  op: Op;
  key?: string | undefined;
  /** prepare: the image file, or null when the zones did not change; and the config. */
  image?: string | null;
  loaded?: LoadedConfig;
  secrets?: SecretsText;
  secondary?: SecondaryServing;
  transferTo?: TransferRule[];
  /** prepare, commit: the load they belong to (a late prepare of an older load is not committed). */
  generation?: number;
  /** shed: on or off. */
  on?: boolean;
}
export type Reply = { edgedns: number; ok: true; value: unknown } | { edgedns: number; ok: false; error: string };
export type Event =
  | { event: 'ready'; bound: ListenAddress[]; encrypted: { dot: ListenAddress[]; doh: ListenAddress[] } }
  | { event: 'failed'; error: string }
  /** A NOTIFY the worker took (the gate checked its sender): for the primary's secondary runtime. */
  | { event: 'notify'; origin: string; from: string };

/** The arguments of a request besides its id and op. */
export type RequestArgs = Omit<Request, 'edgedns' | 'op'>;

/** Requests sent to workers and not answered yet, matched to replies by id, each with a deadline. */
export class PendingRequests {
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { worker: number; resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();

  /** Send `op` to `worker` through `send`; rejects after `timeoutMs` without a reply. */
  ask(worker: number, send: (r: Request) => void, op: Op, args: RequestArgs, timeoutMs: number): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`worker ${worker}: no reply to ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { worker, resolve, reject, timer });
      send({ edgedns: id, op, ...args });
    });
  }

  /** A worker's reply: its request resolves or rejects. */
  settle(m: Reply): void {
    const p = this.#pending.get(m.edgedns);
    if (!p) return;
    this.#pending.delete(m.edgedns);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(m.error));
  }

  /** The worker exited: whatever it was asked is not going to be answered. */
  abandon(worker: number): void {
    for (const [id, p] of this.#pending) {
      if (p.worker !== worker) continue;
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new Error(`worker ${worker} exited`));
    }
  }
}
