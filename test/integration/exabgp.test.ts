// The exabgp adapter against Debian's real ExaBGP 4, run with the shipped deploy/exabgp files (paths
// changed only) in one network namespace and peering with a BIRD 2 router in another: the route
// appears at the router after announce and goes after withdraw; deprefer replaces it with a longer
// AS path and a MED, announce with the plain path again, with no withdrawal between. And the
// shipped FIFO process refuses a regular file, which the adapter refuses too.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Action, Deprefer } from '../../src/announce/index.ts';
import { AdapterError, exabgpAdapter } from '../../src/announce/index.ts';
import { delNetns, netnsName, netnsUnavailable, siteAndRouter } from '../helpers/netns.ts';
import { ROOT } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';

const NS_EXA = netnsName('exa');
const NS_RTR = netnsName('exr');
const VETH = `ee${process.pid}`;
const dir = tempDir('edgedns-exabgp-');
const fifo = join(dir, 'edgedns.fifo');
const ctl = join(dir, 'bird.ctl');
const SCRIPT = join(ROOT, 'deploy', 'exabgp', 'edgedns-fifo.sh');
const PREFIX = '192.0.2.53/32';
let bird: ChildProcess | undefined;
let exabgp: ChildProcess | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const birdc = (...args: string[]): string =>
  spawnSync('birdc', ['-s', ctl, ...args], { encoding: 'utf8' }).stdout ?? '';
/** Polls `cond` every 100 ms for up to `ms`. */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (cond()) return true;
  return cond();
}
/** Other processes that hold `path` open (from /proc). */
function holders(path: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
    try {
      if (readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`) === path))
        out.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}
const DEPREFER: Deprefer = { asn: 65011, prepend: 2, med: 100 };
const req = (action: Action) => ({
  action,
  prefixes: [PREFIX],
  siteId: 't',
  reason: 'test',
  seq: 1,
  deprefer: action === 'deprefer' ? DEPREFER : null,
});
/** The router's count of withdrawals received from the site (`Import withdraws: received …`). */
const withdrawsAtRouter = (): number => {
  const m = /Import withdraws:\s+(\d+)/.exec(birdc('show', 'protocols', 'all', 'site'));
  assert.ok(m, 'the router shows its import statistics');
  return Number(m[1]);
};
/** SIGTERM, then SIGKILL after 5 s: an ExaBGP blocked writing to its process ignores SIGTERM. */
async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = once(child, 'exit');
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(t);
}

before(async () => {
  const why = netnsUnavailable();
  assert.equal(why, null, `this test ${why}`);
  assert.ok(
    spawnSync('exabgp', ['--version']).status === 0,
    'needs exabgp (Debian: apt-get install exabgp; scripts/install-deps.sh test)',
  );
  bird = siteAndRouter({ site: NS_EXA, router: NS_RTR, veth: VETH, dir, ctl });

  // The shipped ExaBGP config, with the script and the FIFO where the test keeps them.
  const conf = readFileSync(join(ROOT, 'deploy', 'exabgp', 'exabgp.conf'), 'utf8')
    .replace('/etc/exabgp/edgedns-fifo.sh', SCRIPT)
    .replace('/run/exabgp/edgedns.fifo', fifo);
  assert.ok(conf.includes(`run ${SCRIPT} ${fifo};`), 'the shipped process line was found');
  writeFileSync(join(dir, 'exabgp.conf'), conf);
  const log = openSync(join(dir, 'exabgp.log'), 'a');
  // drop=false: ExaBGP's process keeps root, to make the FIFO in the test's private temp folder
  // (ExaBGP itself still runs as user exabgp). No CLI pipes, answers on (Debian's default), log to
  // stdout.
  const env = {
    ...process.env,
    exabgp_daemon_drop: 'false',
    exabgp_daemon_daemonize: 'false',
    exabgp_api_cli: 'false',
    exabgp_api_ack: 'true',
    exabgp_log_destination: 'stdout',
  };
  exabgp = spawn('ip', ['netns', 'exec', NS_EXA, 'exabgp', join(dir, 'exabgp.conf')], {
    env,
    stdio: ['ignore', log, log],
  });

  const up = await until(() => /Established/.test(birdc('show', 'protocols', 'site')), 20_000);
  assert.ok(
    up,
    `BGP session up\n${birdc('show', 'protocols', 'all', 'site')}\n${readFileSync(join(dir, 'exabgp.log'), 'utf8').slice(-2000)}`,
  );
});

after(async () => {
  await stop(exabgp);
  await stop(bird);
  delNetns(NS_EXA);
  delNetns(NS_RTR);
});

describe('exabgp adapter with ExaBGP 4 and a BIRD peer', () => {
  it('announce puts the route at the peer; withdraw removes it', { timeout: 60_000 }, async () => {
    const a = exabgpAdapter({ pipe: fifo, timeoutMs: 1000 });
    // ExaBGP's process makes the FIFO and starts reading: until then "retry later", as the announcer does.
    let out = '';
    for (let i = 0; !out; i++) {
      try {
        out = await a.apply(req('announce'));
      } catch (e) {
        assert.ok(e instanceof AdapterError && i < 100, String(e));
        await sleep(100);
      }
    }
    assert.equal(out, `announce route ${PREFIX} next-hop self`);
    assert.ok(lstatSync(fifo).isFIFO(), 'the process made a FIFO');
    assert.ok(
      await until(() => /192\.0\.2\.53\/32\s+unicast \[site .*AS65011i/.test(birdc('show', 'route', PREFIX)), 10_000),
      `announced at the peer: ${birdc('show', 'route')}`,
    );
    assert.match(birdc('show', 'route', PREFIX), /via 198\.51\.100\.11/);

    assert.equal(await a.apply(req('withdraw')), `withdraw route ${PREFIX} next-hop self`);
    assert.ok(
      await until(() => !birdc('show', 'route', PREFIX).includes('192.0.2.53'), 10_000),
      `withdrawn at the peer: ${birdc('show', 'route')}`,
    );

    // A new writer (edgedns restarted) is read by the same reader: no end of file, no loop.
    const b = exabgpAdapter({ pipe: fifo, timeoutMs: 1000 });
    await b.apply(req('announce'));
    assert.ok(
      await until(() => birdc('show', 'route', PREFIX).includes('192.0.2.53'), 10_000),
      'announced again by a new writer',
    );
    await b.apply(req('withdraw'));
    assert.ok(await until(() => !birdc('show', 'route', PREFIX).includes('192.0.2.53'), 10_000), 'withdrawn again');
    await a.close();
    await b.close();
  });

  it('deprefer replaces the path at the peer (AS path and MED); announce brings the plain path back; no withdrawal between', async () => {
    const a = exabgpAdapter({ pipe: fifo, timeoutMs: 1000 });
    const route = () => birdc('show', 'route', PREFIX, 'all');
    /** The router holds the route from the site with exactly this AS path and MED. */
    const holds = (path: string, med: string | null) => (): boolean => {
      const r = route();
      return (
        /192\.0\.2\.53\/32\s+unicast \[site /.test(r) &&
        new RegExp(`BGP\\.as_path: ${path}\\s*$`, 'm').test(r) &&
        (med === null ? !/BGP\.med:/.test(r) : new RegExp(`BGP\\.med: ${med}\\s*$`, 'm').test(r))
      );
    };
    await a.apply(req('announce'));
    assert.ok(await until(holds('65011', null), 10_000), `the plain path at the peer: ${route()}`);
    const withdrawn = withdrawsAtRouter();

    assert.equal(
      await a.apply(req('deprefer')),
      `announce route ${PREFIX} next-hop self med 100 as-path [ 65011 65011 65011 ]`,
    );
    assert.ok(await until(holds('65011 65011 65011', '100'), 10_000), `the depreferred path at the peer: ${route()}`);

    await a.apply(req('announce'));
    assert.ok(await until(holds('65011', null), 10_000), `the plain path again at the peer: ${route()}`);
    assert.equal(withdrawsAtRouter(), withdrawn, 'the router received no withdrawal between');

    await a.apply(req('withdraw'));
    assert.ok(await until(() => !route().includes('192.0.2.53'), 10_000), `withdrawn at the peer: ${route()}`);
    assert.equal(withdrawsAtRouter(), withdrawn + 1, 'the withdrawal is counted: the count above could fail');
    await a.close();
  });

  it(
    "ExaBGP still works after 14,000 commands: its answers on the process' stdin are read",
    { timeout: 60_000 },
    async () => {
      // With api.ack ExaBGP writes "done" per command to the process and blocks once 64 KiB (13,107
      // answers) are unread: its BGP sessions then time out. edgedns re-asserts every 30 s, so a
      // process that does not read them takes a site down after a few days.
      const r = spawnSync('sh', ['-c', `yes 'withdraw route 192.0.2.99/32 next-hop self' | head -n 14000 > ${fifo}`], {
        timeout: 20_000,
      });
      assert.equal(r.status, 0, 'all written');
      const a = exabgpAdapter({ pipe: fifo, timeoutMs: 1000 });
      await a.apply(req('announce'));
      assert.ok(
        await until(() => birdc('show', 'route', PREFIX).includes('192.0.2.53'), 20_000),
        `announced after the flood: ${birdc('show', 'protocols', 'site')}`,
      );
      await a.apply(req('withdraw'));
      assert.ok(await until(() => !birdc('show', 'route', PREFIX).includes('192.0.2.53'), 10_000), 'withdrawn');
      await a.close();
    },
  );

  it('when ExaBGP stops, nothing keeps reading the FIFO', { timeout: 30_000 }, async () => {
    assert.ok(holders(fifo).length > 0, 'read while ExaBGP runs');
    await stop(exabgp);
    assert.ok(await until(() => holders(fifo).length === 0, 5000), `no reader left: ${holders(fifo).join(' ')}`);
    const a = exabgpAdapter({ pipe: fifo, timeoutMs: 1000 });
    await assert.rejects(
      a.apply(req('withdraw')),
      (e: unknown) =>
        e instanceof AdapterError && e.retryLater && e.message.startsWith(`no ExaBGP process reads ${fifo}`),
    );
  });
});

describe('the shipped FIFO process (deploy/exabgp/edgedns-fifo.sh)', () => {
  it('refuses a regular file at the path: exit 1, a message naming it, the file untouched', () => {
    const f = join(dir, 'operator.txt');
    writeFileSync(f, `announce route ${PREFIX} next-hop self\n`);
    const mtime = statSync(f).mtimeMs;
    const r = spawnSync(SCRIPT, [f], { encoding: 'utf8', input: '', timeout: 5000 });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '', 'nothing passed to ExaBGP');
    assert.match(r.stderr, new RegExp(`${f} exists and is not a FIFO: not reading it`));
    assert.equal(readFileSync(f, 'utf8'), `announce route ${PREFIX} next-hop self\n`);
    assert.equal(statSync(f).mtimeMs, mtime);
  });
  it('makes the FIFO when nothing is there, and ends with its stdin (ExaBGP gone)', () => {
    const p = join(dir, 'made.fifo');
    const r = spawnSync(SCRIPT, [p], { encoding: 'utf8', input: 'done\n', timeout: 5000 });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(p) && lstatSync(p).isFIFO());
    assert.equal(holders(p).length, 0, 'its reader stopped too');
  });
});
