// The whole node: health checks, the state machine and the announcement, driven the way operators
// drive them (drills, drains, reloads, signals), observed through the adapter's calls.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dig } from '../helpers/dig.ts';
import { nodeSetup, until } from '../helpers/node.ts';
import { MAIN, runCli, startServer } from '../helpers/server.ts';

// Changes go over the node's socket, as the CLI does by default (no token needed there).
const admin = (srv: { adminSocket: string | null }) => ['--admin-socket', String(srv.adminSocket)];
const readyz = async (port: number | null) => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;

/** An announced node and `edgedns guard` watching it (the guard reads the port the node got). */
async function nodeWithGuard() {
  const n = nodeSetup();
  const srv = await startServer({ config: n.config, args: [] });
  writeFileSync(n.config, readFileSync(n.config, 'utf8').replace('listen: ["127.0.0.1:0"]', `listen: ["127.0.0.1:${srv.port}"]`));
  const guard = spawn(process.execPath, [MAIN, 'guard', '--config', n.config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  guard.stderr.on('data', (d: Buffer) => (log += d.toString()));
  try {
    await until(() => n.calls().some((c) => c.action === 'announce'), 5000, 'announce');
    await until(() => log.includes('guard watching'), 3000, 'guard up');
    await new Promise((r) => setTimeout(r, 500));
  } catch (e) {
    guard.kill('SIGTERM');
    await srv.stop();
    throw e;
  }
  return { n, srv, guard, glog: () => log };
}

/** The node's "health state" log lines into `to`: when (its clock) and the hold-down it set. */
function stateLines(logs: string, to: string): { t: number; hold: number }[] {
  return logs
    .split('\n')
    .filter((l) => l.includes('"msg":"health state"') && l.includes(`"to":"${to}"`))
    .map((l) => JSON.parse(l) as { time: string; holdDownMs: number })
    .map((l) => ({ t: Date.parse(l.time), hold: l.holdDownMs }));
}

describe('health-coupled announcement', () => {
  it('startup withdraws first, then announces after rise', async () => {
    const n = nodeSetup();
    const srv = await startServer({ config: n.config, args: [] });
    try {
      await until(() => n.calls().some((c) => c.action === 'announce'), 5000, 'announce');
      const calls = n.calls();
      assert.deepEqual(calls.slice(0, 2).map((c) => `${c.action} ${c.reason}`), ['withdraw startup', 'announce healthy']);
      assert.equal(await readyz(srv.adminPort), 200);
    } finally {
      await srv.stop();
    }
  });

  it('a drill withdraws after fall checks and announces after rise; repeated flaps meet the hold-down', async () => {
    const n = nodeSetup();
    const srv = await startServer({ config: n.config, args: [] });
    try {
      await until(() => n.calls().some((c) => c.action === 'announce'), 5000, 'first announce');
      // One failure: withdrawn, then back after rise with no hold-down (the first flap).
      const r = await runCli(['drill', 'fail', '--for', '1500ms', ...admin(srv)]);
      assert.equal(r.code, 0, r.stderr);
      await until(() => n.changes().filter((c) => c.action === 'withdraw').length >= 2, 5000, 'withdraw after the drill');
      assert.equal(await readyz(srv.adminPort), 503);
      await until(() => n.changes().filter((c) => c.action === 'announce').length >= 2, 6000, 'announce after the drill');
      // Times are the node's own (its log lines), not when the hook processes ran: a loaded machine
      // delays hooks, not the node's decisions.
      const downs = (): { t: number; hold: number }[] => stateLines(srv.logs(), 'DOWN');
      const ups = (): number[] => stateLines(srv.logs(), 'UP').map((l) => l.t);
      assert.equal(downs()[0]?.hold, 0, 'the first flap has no hold-down');
      // Second flap inside the decay window: re-announcing is held for 1.5 s after the withdrawal;
      // third flap: the hold-down doubles.
      for (const [flap, holdMs, waitMs] of [[2, 1500, 8000], [3, 3000, 12000]] as const) {
        await runCli(['drill', 'fail', '--for', '700ms', ...admin(srv)]);
        await until(() => n.changes().filter((c) => c.action === 'withdraw').length >= flap + 1, 5000, `withdraw of flap ${flap}`);
        await until(() => n.changes().filter((c) => c.action === 'announce').length >= flap + 1, waitMs, `announce after the hold-down of flap ${flap}`);
        const down = downs()[flap - 1] as { t: number; hold: number };
        assert.equal(Math.round(down.hold), holdMs);
        const up = ups().find((t) => t > down.t) as number;
        // Log times are wall-clock stamps taken when each line is written, not the monotonic times
        // the hold-down runs on: a busy machine can write the DOWN line a few ms late.
        assert.ok(up - down.t >= holdMs - 50, `held ${up - down.t} ms (hold-down ${holdMs})`);
      }
      const m = await (await fetch(`http://127.0.0.1:${srv.adminPort}/metrics`)).text();
      assert.match(m, /^edgedns_health_flaps_total 3$/m);
      assert.match(m, /^edgedns_announce_transitions_total\{action="withdraw",reason="unhealthy"\} 3$/m);
    } finally {
      await srv.stop();
    }
  });

  it('a zone whose file is deleted stays served and announced until removed on purpose', async () => {
    const n = nodeSetup();
    const srv = await startServer({ config: n.config, args: [] });
    try {
      await until(() => n.calls().some((c) => c.action === 'announce'), 5000, 'announce');
      const status = async (): Promise<{ health: { reason: string }; zones: { origin: string }[] }> => (await fetch(`http://127.0.0.1:${srv.adminPort}/status`)).json() as never;
      renameSync(join(n.zonesDir, 'second.test.zone'), join(n.dir, 'second.test.zone.off'));
      const r = await runCli(['reload', ...admin(srv)]);
      assert.equal(r.code, 1);
      assert.match(r.stderr + r.stdout, /second\.test\.zone: zone second\.test\. is gone from the zone files; it is still served/);
      // Reload, /status and the zones check agree: still served, still announced.
      assert.equal((await dig(srv, ['second.test', 'SOA'])).status, 'NOERROR');
      assert.deepEqual((await status()).zones.map((z) => z.origin).sort(), ['example.test.', 'second.test.']);
      await new Promise((res) => setTimeout(res, 1500));
      assert.equal(n.calls().at(-1)?.action, 'announce');
      assert.equal(await readyz(srv.adminPort), 200);
      // Removed on purpose: no longer served, and the node stays announced.
      const removed = await runCli(['reload', '--remove', 'second.test', ...admin(srv)]);
      assert.equal(removed.code, 0, removed.stderr);
      assert.equal((await dig(srv, ['second.test', 'SOA'])).status, 'REFUSED');
      assert.deepEqual((await status()).zones.map((z) => z.origin), ['example.test.']);
      await new Promise((res) => setTimeout(res, 1500));
      assert.equal(n.calls().at(-1)?.action, 'announce');
      assert.equal(await readyz(srv.adminPort), 200);
      assert.equal((await status()).health.reason, 'checks pass');
    } finally {
      await srv.stop();
    }
  });

  it('drain withdraws while still answering, survives a restart, and undrain announces', async () => {
    const n = nodeSetup();
    let srv = await startServer({ config: n.config, args: [] });
    try {
      await until(() => n.calls().some((c) => c.action === 'announce'), 5000, 'announce');
      const d = await runCli(['drain', ...admin(srv)]);
      assert.equal(d.code, 0, d.stderr);
      assert.match(d.stdout, /drained until undrained; recorded in/);
      await until(() => n.calls().at(-1)?.action === 'withdraw', 2000, 'withdraw on drain');
      assert.equal(n.calls().at(-1)?.reason, 'drained');
      assert.equal(await readyz(srv.adminPort), 503);
      assert.equal((await dig(srv, ['www.example.test'])).status, 'NOERROR', 'still answering while drained');
      await srv.stop();
      const before = n.calls().length;
      srv = await startServer({ config: n.config, args: [] });
      await new Promise((r) => setTimeout(r, 800));
      assert.ok(n.calls().slice(before).every((c) => c.action === 'withdraw'), 'a restarted drained node does not announce');
      const u = await runCli(['undrain', ...admin(srv)]);
      assert.equal(u.code, 0, u.stderr);
      await until(() => n.calls().at(-1)?.action === 'announce', 3000, 'announce after undrain');
      assert.equal(n.calls().at(-1)?.reason, 'undrained');
    } finally {
      await srv.stop();
    }
  });

  it('SIGTERM: /readyz 503 and withdraw first, answers during the linger, then exit 0', async () => {
    const n = nodeSetup();
    const srv = await startServer({ config: n.config, args: [] });
    await until(() => n.calls().some((c) => c.action === 'announce'), 5000, 'announce');
    const exited = once(srv.proc, 'exit');
    srv.proc.kill('SIGTERM');
    await until(() => n.calls().at(-1)?.action === 'withdraw', 2000, 'withdraw on SIGTERM');
    const withdrawnAt = n.calls().at(-1)!.at;
    assert.equal(n.calls().at(-1)?.reason, 'stopping');
    assert.equal(await readyz(srv.adminPort), 503);
    // The linger: still answering after the withdrawal.
    const r = await dig(srv, ['www.example.test']);
    assert.equal(r.status, 'NOERROR');
    assert.ok(Date.now() > withdrawnAt);
    const [code] = (await exited) as [number];
    assert.equal(code, 0);
    assert.match(srv.logs(), /"msg":"withdrawn"[\s\S]*"msg":"stopped"/);
  });

  it('a second SIGTERM skips the linger', async () => {
    const n = nodeSetup({ lingerMs: 10_000 });
    const srv = await startServer({ config: n.config, args: [] });
    await until(() => n.calls().some((c) => c.action === 'announce'), 5000, 'announce');
    const exited = once(srv.proc, 'exit');
    const t0 = Date.now();
    srv.proc.kill('SIGTERM');
    await until(() => n.calls().at(-1)?.action === 'withdraw', 2000, 'withdraw');
    srv.proc.kill('SIGTERM');
    await exited;
    assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms (linger is 10 s)`);
  });

  it('edgedns announce withdraw|announce runs the adapter once', async () => {
    const n = nodeSetup();
    const w = await runCli(['announce', 'withdraw', '--config', n.config]);
    assert.equal(w.code, 0, w.stderr);
    const a = await runCli(['announce', 'announce', '--config', n.config]);
    assert.equal(a.code, 0);
    assert.deepEqual(n.calls().map((c) => c.action), ['withdraw', 'announce']);
    assert.equal((await runCli(['announce', 'sideways', '--config', n.config])).code, 2);
  });

  it('edgedns guard withdraws within a second of the node being SIGSTOPped; the node announces again after SIGCONT', async () => {
    const { n, srv, guard } = await nodeWithGuard();
    try {
      const t0 = Date.now();
      srv.proc.kill('SIGSTOP');
      await until(() => n.calls().some((c) => c.reason.startsWith('guard')), 3000, 'guard withdraw');
      const took = n.calls().find((c) => c.reason.startsWith('guard'))!.at - t0;
      assert.ok(took < 1000, `guard withdrew ${took} ms after SIGSTOP`);
      await new Promise((r) => setTimeout(r, 700));
      srv.proc.kill('SIGCONT');
      const before = n.calls().length;
      await until(() => n.calls().slice(before).some((c) => c.action === 'announce'), 8000, `node announces again (calls ${JSON.stringify(n.calls())})`).catch((e: Error) => {
        throw new Error(`${e.message}\n${srv.logs().slice(-3000)}`);
      });
      assert.match(srv.logs(), /"msg":"stalled/);
    } finally {
      guard.kill('SIGTERM');
      await once(guard, 'exit');
      await srv.stop();
    }
  });

  it('edgedns guard withdraws at once when the node is killed (its connection closes)', async () => {
    const { n, srv, guard, glog } = await nodeWithGuard();
    try {
      const t0 = Date.now();
      srv.proc.kill('SIGKILL');
      await until(() => n.calls().some((c) => c.reason.startsWith('guard')), 3000, 'guard withdraw');
      const took = n.calls().find((c) => c.reason.startsWith('guard'))!.at - t0;
      assert.ok(took < 500, `guard withdrew ${took} ms after kill -9`);
      await until(() => glog().includes('guard withdrew'), 2000, 'guard log');
      assert.match(glog(), /connection closed/);
    } finally {
      guard.kill('SIGTERM');
      await once(guard, 'exit');
      await srv.stop();
    }
  });
});
