// Health-flap drills against the lab (deploy/lab/lab.sh up): a steady query stream from the client
// namespace, a fault on the serving site, and the figures: time to withdrawal (router RIB), time
// until answers come from another site, queries lost, answers from the old site after withdrawal,
// fail-back time and losses, and route moves. Prints a table and writes drill-report.json.
//
// The fleet drills (issue 15) watch more: each site's /status (watch-sites.ts in the client's
// namespace), the router's RIB and its BGP and BFD sessions (birdc), and hold each run to targets,
// printed PASS/FAIL and written with the report:
//   attack           the serving site loaded above its capacity for --attack-for ms (dnsperf, random
//                    names under example.test and fwd.test, from 198.18.0.10) under the legitimate
//                    stream: ≥ 95% of it answered, the serving site never withdrawn, the others
//                    unchanged, no BGP or BFD session reset
//   blackhole        DNS dropped on the serving site's uplink (nftables; BGP, BFD, admin pass):
//                    withdrawn within 5 s, answers from another site, fail-back after the rule goes
//   blackhole-other  the same on a site that is not serving: only that one withdraws
//   shared           the shared upstream gone for every site (lab.sh variant shared: sharedWithdraw,
//                    minAnnounced 2): at least 2 sites announced throughout, answers keep coming
//
//   node --import tsx deploy/lab/drill.ts [--runs 5] [--rate 200] [--hold 4000] [--attack-for 20000]
//        [--attack-qps 20000] [scenario…]
//   scenarios: drain fail crash hang freeze flap attack blackhole blackhole-other shared
//   (default: the first six)

import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sample } from '../../src/client/index.ts';
import type { RouteChange, RunFigures, ScenarioReport, Target } from '../../src/drill/index.ts';
import { figures, formatTable, formatTargets, mergeTargets, summarize } from '../../src/drill/index.ts';
import type { FleetRun, LabKit } from './fleet-drills.ts';
import { FLEET_SCENARIOS, runFleet } from './fleet-drills.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const P = process.env.LAB_PREFIX ?? 'edl';
const DIR = process.env.LAB_DIR ?? join(ROOT, '.tmp', 'lab');
const MAIN = join(ROOT, 'dist', 'main.js');
const NODE = process.execPath;
const SERVICE = '192.0.2.53';
const CLASSIC = ['drain', 'fail', 'crash', 'hang', 'freeze', 'flap'] as const;
const ALL = [...CLASSIC, ...FLEET_SCENARIOS] as const;
type Scenario = (typeof ALL)[number];
type Classic = (typeof CLASSIC)[number];

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number`);
  return v;
};
const RUNS = opt('runs', 5);
const RATE = Math.min(opt('rate', 200), 2000);
const HOLD = opt('hold', 4000);
const ATTACK_FOR = Math.min(opt('attack-for', 20_000), 60_000);
const ATTACK_QPS = Math.min(opt('attack-qps', 20_000), 100_000);
const OUT = process.env.DRILL_REPORT ?? join(ROOT, 'drill-report.json');
const scenarios = (args.length > 0 ? args : [...CLASSIC]) as Scenario[];
for (const s of scenarios) if (!ALL.includes(s)) throw new Error(`unknown scenario "${s}" (one of ${ALL.join(', ')})`);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Run a command in a namespace, without blocking the event loop (the route watcher keeps reading). */
const ns = (name: string, cmd: string[]): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', name, ...cmd], { encoding: 'utf8', timeout: 15_000 }, (err, stdout) =>
      err ? reject(new Error(err.message, { cause: err })) : resolve(stdout),
    );
  });

/** When the node logged a line with `msg` (its own clock, the same machine's), after `after`. */
function loggedAt(site: string, msg: string, after: number): number | null {
  const lines = readFileSync(join(siteDir(site), 'node.log'), 'utf8')
    .trim()
    .split('\n')
    .reverse();
  for (const l of lines) {
    try {
      const j = JSON.parse(l) as { time?: string; msg?: string };
      const t = j.time ? Date.parse(j.time) : NaN;
      if (t < after) return null;
      if (j.msg === msg) return t;
    } catch {
      // not a JSON line
    }
  }
  return null;
}
const siteDir = (site: string): string => join(DIR, `s${site.replace('site', '')}`);
const pidOf = (file: string): number => Number(readFileSync(file, 'utf8').trim());
const log = (msg: string): void =>
  void process.stderr.write(`[drill ${new Date().toISOString().slice(11, 23)}] ${msg}\n`);

if (!existsSync(join(DIR, 'sites'))) throw new Error(`no lab in ${DIR}: run make lab-up first`);
const nSites = Number(readFileSync(join(DIR, 'sites'), 'utf8'));
/** Next hop on the router → site. */
const siteByHop = new Map<string, string>(
  Array.from({ length: nSites }, (_, k) => [`198.51.100.${4 * (k + 1) - 2}`, `site${k + 1}`]),
);

/** The router's FIB for the service address: which site the route leads to (null when none). */
function currentRoute(): string | null {
  const out = execFileSync('ip', ['-n', `${P}-router`, 'route', 'show', `${SERVICE}/32`], { encoding: 'utf8' });
  const m = /via (\S+)/.exec(out);
  return m ? (siteByHop.get(m[1] as string) ?? (m[1] as string)) : null;
}

/** Follow the router's FIB with `ip monitor`: every change, timed as it happens. */
function watchRoutes(): { changes: RouteChange[]; stop(): void } {
  const changes: RouteChange[] = [{ t: Date.now(), site: currentRoute() }];
  // Timed by `ip` as the kernel reports each change (-tshort), not when we get to read the line;
  // line-buffered so lines are not held back.
  const mon: ChildProcess = spawn('stdbuf', ['-oL', 'ip', '-tshort', '-n', `${P}-router`, 'monitor', 'route'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let buf = '';
  mon.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\] (.*)$/.exec(line);
      if (!m || !(m[2] as string).includes(SERVICE)) continue;
      // ip prints local time with microseconds; Date.parse reads it as local time too.
      const t = Date.parse((m[1] as string).slice(0, 23));
      const rest = m[2] as string;
      const site = rest.startsWith('Deleted') ? null : (siteByHop.get(/via (\S+)/.exec(rest)?.[1] ?? '') ?? null);
      if (changes.at(-1)?.site !== site) changes.push({ t, site });
    }
  });
  return { changes, stop: () => void mon.kill() };
}

function startStream(durationMs: number): { done: Promise<Sample[]>; stop(): void } {
  const p = spawn(
    'ip',
    [
      'netns',
      'exec',
      `${P}-client`,
      NODE,
      MAIN,
      'drill',
      'stream',
      '--target',
      SERVICE,
      '--rate',
      String(RATE),
      '--duration',
      `${durationMs}ms`,
      '--json',
      '-',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<Sample[]>((resolve, reject) => {
    p.once('exit', () => {
      try {
        resolve(JSON.parse(out) as Sample[]);
      } catch (e) {
        reject(new Error(`stream output: ${(e as Error).message}`));
      }
    });
  });
  return { done, stop: () => void p.kill('SIGTERM') };
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A site's unicast uplink address: its admin endpoint (:9153) and a DNS listener (:53) are there. */
const siteAddr = (site: string): string => `198.51.100.${4 * Number(site.replace('site', '')) - 2}`;

async function nodeState(site: string): Promise<string> {
  try {
    const s = JSON.parse(
      await ns(`${P}-s${site.replace('site', '')}`, [
        NODE,
        MAIN,
        'status',
        '--json',
        '--admin',
        `http://${siteAddr(site)}:9153`,
      ]),
    ) as { health: { state: string } };
    return s.health.state;
  } catch {
    return 'unreachable';
  }
}

/** A clean start for each run: restart the serving node (fresh flap history), wait until it carries the route. */
async function prepare(serving: string): Promise<void> {
  const d = siteDir(serving);
  process.kill(pidOf(join(d, 'edgedns.pid')), 'SIGTERM');
  await sleep(3500);
  await until(
    async () => (await nodeState(serving)) === 'UP' && currentRoute() === serving,
    30_000,
    `${serving} up and routed`,
  );
  await sleep(1000);
}

async function run(scenario: Classic, serving: string): Promise<RunFigures> {
  await prepare(serving);
  const d = siteDir(serving);
  const nsName = `${P}-s${serving.replace('site', '')}`;
  // Changes go over the site's admin socket (lab.sh puts one in each site folder); TCP needs a token.
  const admin = ['--admin-socket', join(d, 'admin.sock')];
  const routes = watchRoutes();
  const stream = startStream(120_000);
  await sleep(1500);
  let faultAt = Date.now();
  let restoreAt: number | null = null;
  const nodePid = pidOf(join(d, 'edgedns.pid'));
  switch (scenario) {
    case 'drain': {
      const t = Date.now();
      await ns(nsName, [NODE, MAIN, 'drain', ...admin]);
      // The fault is when the node drained, not when the CLI started.
      faultAt = loggedAt(serving, 'drain', t) ?? faultAt;
      await sleep(HOLD);
      const u = Date.now();
      await ns(nsName, [NODE, MAIN, 'undrain', ...admin]);
      restoreAt = loggedAt(serving, 'undrain', u) ?? u;
      break;
    }
    case 'fail': {
      const t = Date.now();
      await ns(nsName, [NODE, MAIN, 'drill', 'fail', '--for', `${HOLD}ms`, ...admin]);
      faultAt = loggedAt(serving, 'drill: injected local failure', t) ?? faultAt;
      restoreAt = faultAt + HOLD;
      await sleep(restoreAt - Date.now());
      break;
    }
    case 'crash': {
      process.kill(nodePid, 'SIGKILL');
      // The supervisor withdraws, pauses, and starts a new node: restored when it runs again.
      await until(() => pidOf(join(d, 'edgedns.pid')) !== nodePid, 20_000, 'restart');
      restoreAt = Date.now();
      break;
    }
    case 'hang':
      process.kill(nodePid, 'SIGSTOP');
      await sleep(HOLD);
      restoreAt = Date.now();
      process.kill(nodePid, 'SIGCONT');
      break;
    case 'freeze': {
      const bird = pidOf(join(d, 'bird.pid'));
      process.kill(nodePid, 'SIGSTOP');
      process.kill(bird, 'SIGSTOP');
      await sleep(HOLD);
      restoreAt = Date.now();
      process.kill(bird, 'SIGCONT');
      process.kill(nodePid, 'SIGCONT');
      break;
    }
    case 'flap':
      // Fail and recover faster than the hold-down: 4 failures of 1 s, 1.5 s apart.
      for (let k = 0; k < 4; k++) {
        const t = Date.now();
        await ns(nsName, [NODE, MAIN, 'drill', 'fail', '--for', '1000ms', ...admin]);
        if (k === 0) faultAt = loggedAt(serving, 'drill: injected local failure', t) ?? faultAt;
        await sleep(2500);
      }
      restoreAt = Date.now();
      break;
  }
  // Fail-back: the preferred site carries the route and answers again (the hold-down may delay it).
  await until(() => currentRoute() === serving, 60_000, `fail-back to ${serving}`).catch((e: Error) => log(e.message));
  await sleep(1500);
  stream.stop();
  const samples = await stream.done;
  routes.stop();
  if (process.env.DRILL_DEBUG)
    log(
      `fault ${faultAt} restore ${restoreAt} routes ${JSON.stringify(routes.changes)} first-other ${JSON.stringify(samples.find((x) => x.t >= faultAt && x.site !== null && x.site !== serving))}`,
    );
  return figures({ samples, routes: routes.changes, oldSite: serving, faultAt, restoreAt, endAt: Date.now() });
}

/** What the fleet drills (fleet-drills.ts) use of this file. */
const kit: LabKit = {
  P,
  DIR,
  ROOT,
  NODE,
  MAIN,
  SERVICE,
  nSites,
  attackForMs: ATTACK_FOR,
  attackQps: ATTACK_QPS,
  holdMs: HOLD,
  sleep,
  ns,
  log,
  siteAddr,
  siteDir,
  currentRoute,
  watchRoutes,
  startStream,
  until,
  prepare,
  nodeState,
};

const reports: ScenarioReport[] = [];
const serving = currentRoute();
if (!serving) throw new Error('no route to the service address: is the lab up?');
log(`lab: ${nSites} sites, serving site ${serving}; ${RUNS} run(s) per scenario at ${RATE} q/s`);
const isFleet = (s: Scenario): s is (typeof FLEET_SCENARIOS)[number] =>
  (FLEET_SCENARIOS as readonly string[]).includes(s);
for (const s of scenarios) {
  const runs: RunFigures[] = [];
  const fleetRuns: FleetRun[] = [];
  for (let k = 0; k < RUNS; k++) {
    if (isFleet(s)) {
      const f = await runFleet(s, serving, kit);
      log(`${s} run ${k + 1}: ${JSON.stringify(f.figures)} ${JSON.stringify(f.extra)}`);
      log(formatTargets(s, f.targets));
      runs.push(f.figures);
      fleetRuns.push(f);
    } else {
      const f = await run(s, serving);
      log(`${s} run ${k + 1}: ${JSON.stringify(f)}`);
      runs.push(f);
    }
  }
  const report = summarize(s, runs);
  if (fleetRuns.length > 0) {
    report.extra = fleetRuns.map((f) => f.extra);
    report.targets = mergeTargets(fleetRuns.map((f) => f.targets));
  }
  reports.push(report);
}
writeFileSync(OUT, `${JSON.stringify(reports, null, 2)}\n`);
const targets = reports.flatMap((r) => (r.targets ?? []).map((t): [string, Target] => [r.scenario, t]));
process.stdout.write(`${formatTable(reports)}\n`);
if (targets.length > 0) process.stdout.write(`\n${targets.map(([s, t]) => formatTargets(s, [t])).join('\n')}\n`);
process.stdout.write(`\nwritten to ${OUT}\n`);
