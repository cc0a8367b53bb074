// The fleet drills of drill.ts (issue 15): overload is not breakage. `attack` loads the serving
// site above its capacity, `blackhole` and `blackhole-other` drop DNS on a site's uplink while its
// BGP and BFD stay up, `shared` takes away the upstream every site shares. Each run watches the
// router (RIB, BGP and BFD sessions), every site's /status and the legitimate stream, and holds
// the run to its targets.

import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sample } from '../../src/client/index.ts';
import type { RouteChange, RouterPoll, RunFigures, SitePoll, Target } from '../../src/drill/index.ts';
import {
  answeredPct,
  lostBySecond,
  figures,
  leftRibAt,
  leftState,
  minAnnounced,
  parseBfd,
  parseBgp,
  parseRib,
  sessionsStable,
  stateTimeline,
  target,
} from '../../src/drill/index.ts';

export const FLEET_SCENARIOS = ['attack', 'blackhole', 'blackhole-other', 'shared'] as const;
export type FleetScenario = (typeof FLEET_SCENARIOS)[number];

/** What drill.ts lends: the lab's names and its helpers. */
export interface LabKit {
  P: string;
  DIR: string;
  ROOT: string;
  NODE: string;
  MAIN: string;
  SERVICE: string;
  nSites: number;
  attackForMs: number;
  attackQps: number;
  holdMs: number;
  sleep(ms: number): Promise<void>;
  ns(name: string, cmd: string[]): Promise<string>;
  log(msg: string): void;
  siteAddr(site: string): string;
  siteDir(site: string): string;
  currentRoute(): string | null;
  watchRoutes(): { changes: RouteChange[]; stop(): void };
  startStream(durationMs: number): { done: Promise<Sample[]>; stop(): void };
  until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void>;
  prepare(serving: string): Promise<void>;
  nodeState(site: string): Promise<string>;
}

export interface FleetRun {
  figures: RunFigures;
  extra: Record<string, unknown>;
  targets: Target[];
}

/** The load address on the client's link (lab.sh): another /24 than the legitimate client's. */
const ATTACKER = '198.18.0.10';
const WITHDRAW_WITHIN_MS = 5000;
const MIN_ANSWERED_PCT = 95;

const run = (cmd: string, args: string[], timeout = 15_000): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}${stderr}`, { cause: err })) : resolve(stdout),
    );
  });

/** lab.sh with this drill's LAB_PREFIX and LAB_DIR (inherited). */
const lab = (k: LabKit, ...args: string[]): Promise<string> =>
  run(join(k.ROOT, 'deploy', 'lab', 'lab.sh'), args, 180_000);

/** The router's RIB and sessions, read with birdc every `everyMs` until stopped. */
function watchRouter(k: LabKit, everyMs = 250): { polls: RouterPoll[]; stop(): Promise<void> } {
  const polls: RouterPoll[] = [];
  const sock = join(k.DIR, 'router', 'bird.ctl');
  // birdc exits 1 on "Network not found": no route is an answer (no site announced), not a failed read.
  const birdc = (cmd: string): Promise<string | null> =>
    new Promise((resolve) => {
      execFile('birdc', ['-s', sock, ...cmd.split(' ')], { encoding: 'utf8', timeout: 2000 }, (err, stdout) =>
        resolve(!err || stdout.includes('Network not found') ? stdout : null),
      );
    });
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = Date.now();
      const [rib, bgp, bfd] = await Promise.all([
        birdc(`show route ${k.SERVICE}/32`),
        birdc('show protocols'),
        birdc('show bfd sessions'),
      ]);
      polls.push({
        t,
        rib: rib === null ? null : parseRib(rib),
        bgp: bgp === null ? null : parseBgp(bgp),
        bfd: bfd === null ? null : parseBfd(bfd),
      });
      await k.sleep(Math.max(0, t + everyMs - Date.now()));
    }
  })();
  return {
    polls,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Every site's /status, from the client's namespace (watch-sites.ts), bounded by `maxMs`. */
function watchSites(k: LabKit, maxMs: number): { polls: SitePoll[]; stop(): Promise<void> } {
  const polls: SitePoll[] = [];
  const sites = Array.from({ length: k.nSites }, (_, i) => `site${i + 1}`);
  const p: ChildProcess = spawn(
    'ip',
    [
      'netns',
      'exec',
      `${k.P}-client`,
      k.NODE,
      '--import',
      'tsx',
      join(k.ROOT, 'deploy', 'lab', 'watch-sites.ts'),
      '--interval',
      '250',
      '--duration',
      String(maxMs),
      ...sites.map((s) => `${s}=${k.siteAddr(s)}:9153`),
    ],
    { cwd: k.ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let buf = '';
  p.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        polls.push(JSON.parse(line) as SitePoll);
      } catch {
        // not a poll line
      }
    }
  });
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  return {
    polls,
    stop: async () => {
      p.kill('SIGTERM');
      await exited;
    },
  };
}

/** Random names, half under the hosted zone (NXDOMAIN), half under the forwarded fwd.test (misses). */
function attackQueries(k: LabKit): string {
  const file = join(k.DIR, 'attack.queries');
  if (!existsSync(file)) {
    const lines: string[] = [];
    for (let i = 0; i < 200_000; i++)
      lines.push(`${randomBytes(6).toString('hex')}.${i % 2 ? 'fwd' : 'example'}.test A`);
    writeFileSync(file, `${lines.join('\n')}\n`);
  }
  return file;
}

interface Perf {
  sent: number;
  completed: number;
  qps: number;
}
const perfFigure = (out: string, name: string): number =>
  Number(new RegExp(`${name}:\\s+([\\d.]+)`).exec(out)?.[1] ?? 0);

/**
 * dnsperf from the client's namespace, bounded by -l (seconds) and killed 15 s after that. Its
 * stdin is /dev/null: with an open pipe there it never finishes.
 */
function dnsperf(k: LabKit, args: string[], seconds: number): Promise<Perf> {
  // Each lost query is a line of its own: only the end is kept. (dnsperf 2.10's `-O suppress=timeout`
  // hangs on runs of 20 s and prints nonsense latencies.)
  // At nice 19: on one machine the attacker's CPU is the site's CPU, which a real attacker's is not.
  const argv = ['netns', 'exec', `${k.P}-client`, 'nice', '-n', '19', 'dnsperf', ...args];
  const p = spawn('ip', [...argv, '-l', String(seconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => void (out = (out + d.toString()).slice(-8192));
  p.stdout.on('data', keep);
  p.stderr.on('data', keep);
  const kill = setTimeout(() => p.kill('SIGKILL'), (seconds + 15) * 1000);
  return new Promise((resolve) => {
    p.once('exit', (code, signal) => {
      clearTimeout(kill);
      if (!/Queries sent/.test(out)) k.log(`dnsperf ${args.join(' ')}: exit ${code ?? signal}: ${out.slice(-400)}`);
      resolve({
        sent: perfFigure(out, 'Queries sent'),
        completed: perfFigure(out, 'Queries completed'),
        qps: Math.round(perfFigure(out, 'Queries per second')),
      });
    });
  });
}

/**
 * The attack: UDP random names at `attackQps` from the load address, and TCP (64 connections, the
 * node's per-client cap is 16) at a tenth of it, both for `attackForMs`, against the service address.
 */
async function attack(k: LabKit): Promise<{ udp: Perf; tcp: Perf }> {
  const file = attackQueries(k);
  const secs = Math.max(1, Math.round(k.attackForMs / 1000));
  const common = ['-s', k.SERVICE, '-a', ATTACKER, '-d', file, '-t', '1'];
  const [udp, tcp] = await Promise.all([
    dnsperf(k, [...common, '-c', '16', '-q', '5000', '-Q', String(k.attackQps)], secs),
    dnsperf(k, [...common, '-m', 'tcp', '-c', '64', '-q', '640', '-Q', String(Math.round(k.attackQps / 10))], secs),
  ]);
  return { udp, tcp };
}

/** Forwarded names to every site's unicast address at `qps` each, so that each node uses its upstream. */
function forwardLoad(k: LabKit, ms: number, qps = 10): Promise<Perf[]> {
  const file = join(k.DIR, 'forward.queries');
  if (!existsSync(file)) {
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) lines.push(`${randomBytes(6).toString('hex')}.fwd.test A`);
    writeFileSync(file, `${lines.join('\n')}\n`);
  }
  const secs = Math.max(1, Math.round(ms / 1000));
  return Promise.all(
    Array.from({ length: k.nSites }, (_, i) =>
      dnsperf(k, ['-s', k.siteAddr(`site${i + 1}`), '-d', file, '-t', '1', '-c', '1', '-Q', String(qps)], secs),
    ),
  );
}

/** Every site's state timeline over the fault, for the report. */
function timelines(k: LabKit, polls: readonly SitePoll[], from: number, to: number): Record<string, string> {
  const r: Record<string, string> = {};
  for (let i = 1; i <= k.nSites; i++) r[`site${i}`] = stateTimeline(polls, `site${i}`, from, to);
  return r;
}

export async function runFleet(scenario: FleetScenario, serving: string, k: LabKit): Promise<FleetRun> {
  const others = Array.from({ length: k.nSites }, (_, i) => `site${i + 1}`).filter((s) => s !== serving);
  // The next-preferred site (site2 in prepend mode): broken, it carries no traffic.
  const broken = scenario === 'blackhole-other' ? (others[0] as string) : serving;
  const brokenNo = broken.replace('site', '');
  if (scenario === 'shared') {
    k.log('shared: every site to the shared variant (sharedWithdraw, minAnnounced 2), one at a time');
    await lab(k, 'variant', 'shared');
    await k.until(() => k.currentRoute() === serving, 60_000, `${serving} routed`);
    await k.sleep(1000);
  } else {
    await k.prepare(serving);
  }
  const hold = scenario === 'attack' ? k.attackForMs : Math.max(k.holdMs, 8000);
  const routes = k.watchRoutes();
  const router = watchRouter(k);
  const sites = watchSites(k, hold + 120_000);
  const stream = k.startStream(hold + 110_000);
  let faultAt = 0;
  let restoreAt: number | null = null;
  const extra: Record<string, unknown> = {};
  try {
    // The watcher (a Node.js process starting in the client's namespace) sees every site first.
    await k
      .until(() => new Set(sites.polls.map((p) => p.site)).size >= k.nSites, 20_000, 'the first look at every site')
      .catch((e: Error) => k.log(e.message));
    await k.sleep(3000);
    faultAt = Date.now();
    switch (scenario) {
      case 'attack': {
        const load = await attack(k);
        restoreAt = Date.now();
        extra.attack = load;
        await k.sleep(5000);
        break;
      }
      case 'blackhole':
      case 'blackhole-other': {
        await lab(k, 'blackhole', brokenNo, 'on');
        await k.sleep(Math.max(0, faultAt + hold - Date.now()));
        await lab(k, 'blackhole', brokenNo, 'off');
        restoreAt = Date.now();
        const back = async (): Promise<boolean> =>
          scenario === 'blackhole'
            ? k.currentRoute() === serving
            : (router.polls.at(-1)?.rib ?? []).includes(broken) && (await k.nodeState(broken)) === 'UP';
        await k.until(back, 60_000, `${broken} back`).catch((e: Error) => k.log(e.message));
        await k.sleep(1500);
        break;
      }
      case 'shared': {
        const fwd = forwardLoad(k, hold + 4000);
        await k.sleep(1000);
        faultAt = Date.now();
        await lab(k, 'upstream', 'stop');
        await k.sleep(hold);
        await lab(k, 'upstream', 'start');
        restoreAt = Date.now();
        extra.forwarded = await fwd;
        await k.sleep(5000);
        break;
      }
    }
  } finally {
    // Whatever failed, the lab is left as it was found.
    if (scenario === 'blackhole' || scenario === 'blackhole-other')
      await lab(k, 'blackhole', brokenNo, 'off').catch(() => undefined);
    if (scenario === 'shared') await lab(k, 'upstream', 'start').catch(() => undefined);
    stream.stop();
    routes.stop();
    await router.stop();
    await sites.stop();
  }
  const samples = await stream.done;
  const endAt = Date.now();
  const f = figures({ samples, routes: routes.changes, oldSite: serving, faultAt, restoreAt, endAt });
  const until = restoreAt ?? endAt;
  const sessions = sessionsStable(router.polls.filter((p) => p.t >= faultAt - 1000));
  Object.assign(extra, {
    answeredPct: answeredPct(samples, faultAt, until),
    lostBySecond: lostBySecond(samples, faultAt, until),
    states: timelines(k, sites.polls, faultAt, endAt),
    minAnnounced: minAnnounced(router.polls, faultAt, until),
    sessionsStable: sessions.stable,
    sessionResets: sessions.resets,
    routerReadsFailed: sessions.failedReads,
    statusPolls: sites.polls.length,
  });
  const targets: Target[] = [];
  switch (scenario) {
    case 'attack': {
      // Withdrawn = gone from the router's RIB (a de-preferred path stays in it).
      const withdrew = leftRibAt(router.polls, serving, faultAt, until + 3000) !== null;
      const changed = others.filter((s) => leftState(sites.polls, s, faultAt, until + 3000));
      extra.servingWithdrew = withdrew;
      extra.othersChanged = changed;
      targets.push(
        target(
          'legitimate stream answered',
          `≥ ${MIN_ANSWERED_PCT}%`,
          extra.answeredPct,
          (extra.answeredPct as number | null) !== null && (extra.answeredPct as number) >= MIN_ANSWERED_PCT,
        ),
        target(`${serving} withdrawn`, 'never (de-preferred allowed)', withdrew, !withdrew),
        target('other sites changed state', 'none', changed.join(' ') || 'none', changed.length === 0),
        target('BGP and BFD sessions reset', 'none', sessions.resets.join('; ') || 'none', sessions.stable),
      );
      break;
    }
    case 'blackhole': {
      const ribGone = leftRibAt(router.polls, serving, faultAt, until);
      extra.ribWithdrawMs = ribGone === null ? null : ribGone - faultAt;
      targets.push(
        target(
          'fault → withdrawal',
          `≤ ${WITHDRAW_WITHIN_MS} ms`,
          f.withdrawMs,
          f.withdrawMs !== null && f.withdrawMs <= WITHDRAW_WITHIN_MS,
        ),
        target(
          'answers from another site',
          'yes',
          f.movedMs === null ? 'no' : `after ${f.movedMs} ms`,
          f.movedMs !== null,
        ),
        target(
          'fail-back after the rule goes',
          'yes',
          f.failbackMs === null ? 'no' : `after ${f.failbackMs} ms`,
          f.failbackMs !== null,
        ),
      );
      break;
    }
    case 'blackhole-other': {
      const gone = leftRibAt(router.polls, broken, faultAt, until);
      const healthyGone = [serving, ...others.filter((s) => s !== broken)].filter(
        (s) => leftRibAt(router.polls, s, faultAt, until) !== null,
      );
      extra.broken = broken;
      extra.brokenWithdrawMs = gone === null ? null : gone - faultAt;
      extra.healthyWithdrawn = healthyGone;
      targets.push(
        target('healthy sites withdrawn', 'none', healthyGone.join(' ') || 'none', healthyGone.length === 0),
        target(`${serving} keeps serving`, 'the route never moves', f.routeMoves, f.withdrawMs === null),
        target(
          `${broken} (broken) withdrawn`,
          `≤ ${WITHDRAW_WITHIN_MS} ms`,
          extra.brokenWithdrawMs,
          gone !== null && gone - faultAt <= WITHDRAW_WITHIN_MS,
        ),
      );
      break;
    }
    case 'shared': {
      const least = extra.minAnnounced as number | null;
      targets.push(
        target('sites announced throughout', '≥ 2', least, least !== null && least >= 2),
        target(
          'answers (local zone)',
          `≥ ${MIN_ANSWERED_PCT}%`,
          extra.answeredPct,
          (extra.answeredPct as number | null) !== null && (extra.answeredPct as number) >= MIN_ANSWERED_PCT,
        ),
      );
      // Back to the lab's ordinary config for what runs next.
      await lab(k, 'variant', 'default').catch((e: Error) => k.log(e.message));
      break;
    }
  }
  return { figures: f, extra, targets };
}
