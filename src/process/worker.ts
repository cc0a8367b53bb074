// A worker process's side of `workers: N`: answer DNS on the listeners and do what the primary asks.

import { formatHostPort } from '../config/index.js';
import type { Logger } from '../core/index.js';
import { EdgeError, VERSION, createLogger, errorMessage } from '../core/index.js';
import type { LogLevel } from '../core/index.js';
import { createMetrics } from '../metrics/index.js';
import type { ServingState } from './plane.js';
import { LocalPlane, cookiesOf, secretsFromText, tlsMaterial } from './plane.js';
import type { Cookies, TlsMaterial, TransferRule, ZoneGate } from '../server/index.js';
import { NO_SECONDARIES } from '../secondary/index.js';
import type { Identity } from '../identity/index.js';
import { buildIdentity } from '../identity/index.js';
import { identityConfig } from '../compose/index.js';
import type { ZoneStore } from '../zone/index.js';
import { openStore, readImageFile, synthCounts } from '../zone/index.js';
import type { Event, Op, Reply, Request, WorkerOptions } from './ipc.js';
import { WORKER_ENV } from './ipc.js';

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
    const { loaded } = opts;
    const image = await readImageFile(opts.image);
    const state: ServingState = {
      loaded,
      zones: image.header.zones,
      image,
      identity: buildIdentity(identityConfig(loaded.config)),
      secrets: secretsFromText(opts.secrets),
      secondary: opts.secondary,
      // The primary read and checked the files of this load; each worker reads them for itself.
      tls: tlsMaterial(loaded),
      transferTo: opts.transferTo,
    };
    const root = createLogger({
      level: loaded.config.log.level,
      format: loaded.config.log.format,
      base: { site: state.identity.siteId, worker: opts.index },
    });
    log = root;
    let current: LocalPlane | undefined;
    const metrics = createMetrics(
      { version: VERSION, site: state.identity.siteId },
      {
        prefixes: () => [],
        cache: () => current?.cacheStats() ?? null,
        zones: () => current?.pipeline.zones.zones() ?? [],
        upstreams: () => current?.upstreamStatus() ?? [],
        upstreamInFlight: () => current?.upstreamInFlight() ?? 0,
        zoneAnswers: () => synthCounts,
        compiledNodes: () => current?.pipeline.zones.compiledNodes ?? 0,
      },
    );
    plane = current = await LocalPlane.start(state, log, metrics, {
      ...(opts.listen && { listen: opts.listen }),
      reusePort: opts.reusePort === true,
    });
    plane.shed(opts.shedding === true);
    plane.onNotify((origin, from) => send({ event: 'notify', origin, from }));
    /** A reload decoded and waiting for `commit`. */
    let prepared: {
      generation: number;
      zones: ZoneStore;
      identity: Identity;
      cookies: Cookies;
      gate: ZoneGate | null;
      tls: TlsMaterial | null;
      transferTo: TransferRule[];
      level: LogLevel;
    } | null = null;
    const handlers: Record<Op, (m: Request) => unknown> = {
      prepare: async (m) => {
        if (!m.loaded || !m.secrets) throw new Error('prepare without a config');
        const zones = m.image ? openStore(await readImageFile(m.image)) : plane.pipeline.zones;
        prepared = {
          generation: m.generation ?? 0,
          zones,
          identity: buildIdentity(identityConfig(m.loaded.config)),
          cookies: cookiesOf(secretsFromText(m.secrets)),
          gate: plane.gate(m.secondary ?? NO_SECONDARIES),
          tls: tlsMaterial(m.loaded),
          transferTo: m.transferTo ?? [],
          level: m.loaded.config.log.level,
        };
        return true;
      },
      commit: (m) => {
        if (!prepared || prepared.generation !== m.generation) throw new Error(`load ${m.generation} was not prepared`);
        plane.pipeline.update(prepared.zones, prepared.identity, prepared.cookies, prepared.gate);
        plane.setTls(prepared.tls);
        plane.transfers.configure(prepared.transferTo);
        root.setLevel(prepared.level);
        prepared = null;
        return true;
      },
      abort: () => {
        prepared = null;
        return true;
      },
      upstreams: () => plane.upstreams(),
      shed: (m) => {
        plane.shed(m.on === true);
        return true;
      },
      load: async () => {
        const { utilization, lagMs, shed } = await plane.load();
        return { utilization, lagMs, shed };
      },
      cache: () => plane.cache(),
      flush: (m) => plane.flush(m.key),
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
        .then(() => handlers[m.op](m))
        .then(
          (value) => send({ edgedns: m.edgedns, ok: true, value: value ?? null }),
          (e: unknown) =>
            send({
              edgedns: m.edgedns,
              ok: false,
              error: `worker ${opts.index}: ${e instanceof EdgeError ? e.problems.join('\n') : errorMessage(e)}`,
            }),
        );
    });
  } catch (e) {
    process.send?.({ event: 'failed', error: errorMessage(e) } satisfies Event, () => process.exit(1));
    return;
  }
  const { dot, doh } = plane.boundEncrypted;
  send({ event: 'ready', bound: [...plane.bound], encrypted: { dot: [...dot], doh: [...doh] } });
  log.info('worker listening', { addresses: plane.bound.map(formatHostPort), pid: process.pid });
}
