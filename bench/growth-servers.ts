// The servers of the growth curves, one per workload and server so that each holds exactly what
// its row is about: for hit-N an edgedns and an Unbound whose caches hold the N names (warmed
// through the bench's upstream until their own figures say so), for zone-N an edgedns and a Knot
// DNS serving a zone of N names. Loading the 1M-record zone takes edgedns about 70 s here: each
// server that is not up within its bound is stopped and its rows left out, with a line in the log.

import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { knotConfig, knotdPath } from '../test/helpers/knot.ts';
import { parseDnsperf } from './dnsperf.ts';
import { edgednsConfig } from './edgedns.ts';
import { run, waitAnswer } from './exec.ts';
import type { GrowthWorkload, HitWorkload } from './growth.ts';
import {
  GROWTH_ORIGIN,
  HIT_SIZES,
  ZONE_SIZES,
  cacheSizesFor,
  hitName,
  metricValue,
  unboundStat,
  writeGrowthZone,
  writeQueryFile,
  zoneName,
} from './growth.ts';
import type { Processes } from './procs.ts';
import { freePort } from './procs.ts';
import { unboundConfig } from './unbound.ts';

export type GrowthServer = 'edgedns' | 'unbound' | 'knot';
export interface GrowthTarget {
  port: number;
  proc: ChildProcess;
}

export interface GrowthOptions {
  workloads: readonly GrowthWorkload[];
  dir: string;
  /** The repository (dist/main.js, zones/). */
  root: string;
  upstreamPort: number;
  procs: Processes;
  log: (m: string) => void;
}

export interface Growth {
  /** The server measured for `${workload}|${server}`; absent when it did not come up. */
  targets: Map<string, GrowthTarget>;
  /** The query file of each workload: every name once, shuffled. */
  queries: Map<GrowthWorkload, string>;
  servers(w: GrowthWorkload): GrowthServer[];
}

const isHit = (w: GrowthWorkload): w is HitWorkload => w in HIT_SIZES;
/**
 * A server up within this bound, or left out: edgedns answers a zone of 1M names after about 70 s on
 * a quiet machine (issue 18), 330 s on this busy 2-core one; Knot after 3 to 30 s.
 */
const readyWithinMs = (n: number): number => 60_000 + n * 0.6;
/** The last pass only confirms (every answer a hit): at least 2. */
const MAX_WARM_PASSES = 4;
/** A pass over n names: edgedns fills its cache at about 5k q/s on a busy 2-core machine. */
const warmWithinMs = (n: number): number => 60_000 + n * 0.4;

/** Start the servers of the selected growth workloads, wait until they answer, warm the hit caches. */
export async function startGrowth(o: GrowthOptions): Promise<Growth> {
  const targets = new Map<string, GrowthTarget>();
  const queries = new Map<GrowthWorkload, string>();
  const knotd = knotdPath();
  const servers = (w: GrowthWorkload): GrowthServer[] =>
    isHit(w) ? ['edgedns', 'unbound'] : knotd ? ['edgedns', 'knot'] : ['edgedns'];
  if (!knotd && o.workloads.some((w) => !isHit(w))) o.log('knotd is not installed: zone-N rows for edgedns only');
  const edgedns = (config: string): ChildProcess =>
    o.procs.start(process.execPath, [join(o.root, 'dist', 'main.js'), 'serve', '--config', config]);
  /** How each started server is checked: the name it must answer and how long it may take. */
  const pending: { w: GrowthWorkload; s: GrowthServer; name: string; withinMs: number }[] = [];
  const unboundConfs = new Map<HitWorkload, string>();
  const admins = new Map<HitWorkload, number>();

  for (const w of o.workloads) {
    const f = join(o.dir, `${w}.txt`);
    queries.set(w, f);
    if (isHit(w)) {
      const n = HIT_SIZES[w];
      await writeQueryFile(f, n, hitName);
      const sizes = cacheSizesFor(n);
      const [port, uport, admin] = [await freePort(), await freePort(), await freePort()];
      const conf = join(o.dir, `edgedns-${w}.yaml`);
      writeFileSync(
        conf,
        edgednsConfig({
          port,
          workers: 1,
          zonesDir: null,
          zoneFiles: [],
          upstreamPort: o.upstreamPort,
          cache: { maxEntries: sizes.maxEntries, maxBytes: sizes.maxBytes },
          adminPort: admin,
        }),
      );
      const uconf = join(o.dir, `unbound-${w}.conf`);
      writeFileSync(
        uconf,
        unboundConfig({
          port: uport,
          dir: o.dir,
          zoneFile: join(o.root, 'zones', 'example.test.zone'),
          zone: 'example.test.',
          upstreamPort: o.upstreamPort,
          cacheMb: { msg: sizes.msgCacheMb, rrset: sizes.rrsetCacheMb },
          controlSocket: join(o.dir, `unbound-${w}.ctl`),
        }),
      );
      targets.set(`${w}|edgedns`, { port, proc: edgedns(conf) });
      targets.set(`${w}|unbound`, { port: uport, proc: o.procs.start('unbound', ['-d', '-c', uconf]) });
      unboundConfs.set(w, uconf);
      admins.set(w, admin);
      for (const s of ['edgedns', 'unbound'] as const) pending.push({ w, s, name: hitName(0), withinMs: 15_000 });
    } else {
      const n = ZONE_SIZES[w];
      const zone = join(o.dir, `${w}.zone`);
      await writeGrowthZone(zone, n);
      await writeQueryFile(f, n, zoneName);
      const port = await freePort();
      const conf = join(o.dir, `edgedns-${w}.yaml`);
      const files = [{ file: zone, origin: GROWTH_ORIGIN }];
      writeFileSync(
        conf,
        edgednsConfig({ port, workers: 1, zonesDir: null, zoneFiles: files, upstreamPort: o.upstreamPort }),
      );
      targets.set(`${w}|edgedns`, { port, proc: edgedns(conf) });
      pending.push({ w, s: 'edgedns', name: zoneName(0), withinMs: readyWithinMs(n) });
      if (knotd) {
        const kdir = join(o.dir, `knot-${w}`);
        mkdirSync(kdir);
        const kport = await freePort();
        writeFileSync(join(kdir, 'knot.conf'), knotConfig(kdir, kport, files));
        targets.set(`${w}|knot`, { port: kport, proc: o.procs.start(knotd, ['-c', join(kdir, 'knot.conf')]) });
        pending.push({ w, s: 'knot', name: zoneName(0), withinMs: readyWithinMs(n) });
      }
    }
  }

  const t0 = Date.now();
  /** Whether the server of `p` answers within its bound; if not, it is stopped and its rows left out. */
  const up = async (p: (typeof pending)[number]): Promise<boolean> => {
    const t = targets.get(`${p.w}|${p.s}`) as GrowthTarget; // set above with its pending entry
    try {
      await waitAnswer(t.port, p.name, p.withinMs);
      if (!isHit(p.w))
        o.log(`${p.w} ${p.s}: answering after ${((Date.now() - t0) / 1000).toFixed(1)} s (${ZONE_SIZES[p.w]} names)`);
      return true;
    } catch (e) {
      o.log(
        `${p.w} ${p.s}: ${(e as Error).message}: stopped, no row. Its stderr: ${o.procs.stderrOf(t.proc).slice(-600)}`,
      );
      o.procs.stop(t.proc);
      targets.delete(`${p.w}|${p.s}`);
      return false;
    }
  };

  // Every hit-N name cached: pass over the names until a whole pass is answered from the cache
  // (the server's own miss counter does not move, no query lost). Passes at 100 outstanding,
  // edgedns's fetch limit per zone; a query lost in one pass is asked in the next.
  const misses: Record<'edgedns' | 'unbound', (w: HitWorkload) => Promise<number | null>> = {
    edgedns: async (w) =>
      metricValue(
        await fetch(`http://127.0.0.1:${admins.get(w)}/metrics`)
          .then((r) => r.text())
          .catch(() => ''),
        'edgedns_cache_misses_total',
      ),
    unbound: async (w) =>
      unboundStat(
        await run('unbound-control', ['-c', unboundConfs.get(w) as string, 'stats_noreset'], 10_000).catch(() => ''),
        'total.num.cachemiss',
      ),
  };
  const warm = async (w: HitWorkload, s: 'edgedns' | 'unbound'): Promise<void> => {
    const t = targets.get(`${w}|${s}`);
    if (!t) return;
    const n = HIT_SIZES[w];
    for (let pass = 1; pass <= MAX_WARM_PASSES; pass++) {
      const before = await misses[s](w);
      const out = await run(
        'dnsperf',
        ['-s', '127.0.0.1', '-p', String(t.port), '-d', queries.get(w) as string, '-n', '1', '-c', '4', '-q', '100'],
        warmWithinMs(n),
      ).catch((e: unknown) => String(e));
      const after = await misses[s](w);
      const done = /Queries completed/.test(out) ? parseDnsperf(out) : null;
      const missed = before === null || after === null ? null : after - before;
      o.log(
        `${w} ${s}: warm pass ${pass}: ${done ? `${Math.round(done.qps)} q/s, ${done.lost} lost` : 'dnsperf failed'}, ${missed ?? '?'} cache misses`,
      );
      if (missed === 0 && done?.lost === 0) return;
    }
    o.log(`${w} ${s}: not every name cached after ${MAX_WARM_PASSES} passes: its row counts misses too`);
  };
  // The hit caches fill while the zones load: neither is measured, and the 1M-record zone takes
  // edgedns minutes. Each hit server is filled alone, the zone servers wait side by side.
  const hitsWarm = (async () => {
    for (const p of pending) if (isHit(p.w) && (await up(p))) await warm(p.w, p.s as 'edgedns' | 'unbound');
  })();
  await Promise.all([hitsWarm, ...pending.filter((p) => !isHit(p.w)).map(up)]);

  // A few seconds for every zone server, so no measurement pays for JIT compilation.
  for (const [key, t] of targets) {
    const w = key.split('|')[0] as GrowthWorkload;
    if (isHit(w)) continue;
    await run(
      'dnsperf',
      ['-s', '127.0.0.1', '-p', String(t.port), '-d', queries.get(w) as string, '-l', '3', '-c', '4'],
      60_000,
    );
  }
  return { targets, queries, servers };
}
