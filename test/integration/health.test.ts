// The whole node: health checks, the state machine and the announcement, driven the way operators
// drive them (drills, drains, reloads, signals), observed through the adapter's calls. Waits are
// for events (an adapter call, a log line), bounded by PATIENCE_MS only as a failure timeout; times
// are the node's own log stamps. (`edgedns guard`: guard.test.ts.)
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dig } from '../helpers/dig.ts';
import { PATIENCE_MS, nodeSetup, until } from '../helpers/node.ts';
import { runCli, startServer } from '../helpers/server.ts';

// Changes go over the node's socket, as the CLI does by default (no token needed there).
const admin = (srv: { adminSocket: string | null }) => ['--admin-socket', String(srv.adminSocket)];
const readyz = async (port: number | null) => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;

/** The node's "health state" log lines into `to`: when (its clock) and the hold-down it set. */
function stateLines(logs: string, to: string): { t: number; hold: number }[] {
  return logs
    .split('\n')
    .filter((l) => l.includes('"msg":"health state"') && l.includes(`"to":"${to}"`))
    .map((l) => JSON.parse(l) as { time: string; holdDownMs: number })
    .map((l) => ({ t: Date.parse(l.time), hold: l.holdDownMs }));
}

/** When each drill began, from the node's "drill: injected local failure" lines. */
function drillStarts(logs: string): number[] {
  return logs
    .split('\n')
    .filter((l) => l.includes('"msg":"drill: injected local failure"'))
    .map((l) => Date.parse((JSON.parse(l) as { from: string }).from));
}

describe('health-coupled announcement', () => {
  it('startup withdraws first, then announces after rise', async () => {
    const n = nodeSetup();
    const srv = await startServer({ config: n.config, args: [] });
    try {
      await until(() => n.calls().some((c) => c.action === 'announce'), PATIENCE_MS, 'announce');
      const calls = n.calls();
      assert.deepEqual(
        calls.slice(0, 2).map((c) => `${c.action} ${c.reason}`),
        ['withdraw startup', 'announce healthy'],
      );
      assert.equal(await readyz(srv.adminPort), 200);
    } finally {
      await srv.stop();
    }
  });

  it('a drill withdraws after fall checks and announces after rise; repeated flaps meet the hold-down', async () => {
    const n = nodeSetup();
    const srv = await startServer({ config: n.config, args: [] });
    try {
      await until(() => n.calls().some((c) => c.action === 'announce'), PATIENCE_MS, 'first announce');
      // One failure: withdrawn, then back after rise with no hold-down (the first flap).
      const r = await runCli(['drill', 'fail', '--for', '1500ms', ...admin(srv)]);
      assert.equal(r.code, 0, r.stderr);
      await until(
        () => n.changes().filter((c) => c.action === 'withdraw').length >= 2,
        PATIENCE_MS,
        'withdraw after the drill',
      );
      assert.equal(await readyz(srv.adminPort), 503);
      await until(
        () => n.changes().filter((c) => c.action === 'announce').length >= 2,
        PATIENCE_MS,
        'announce after the drill',
      );
      // Times are the node's own (its log lines), not when the hook processes ran: a loaded machine
      // delays hooks, not the node's decisions.
      const downs = (): { t: number; hold: number }[] => stateLines(srv.logs(), 'DOWN');
      const ups = (): number[] => stateLines(srv.logs(), 'UP').map((l) => l.t);
      const drills = (): number[] => drillStarts(srv.logs());
      assert.equal(downs()[0]?.hold, 0, 'the first flap has no hold-down');
      // Second flap inside the decay window: re-announcing is held for 1.5 s after the withdrawal;
      // third flap: the hold-down doubles.
      for (const [flap, holdMs] of [
        [2, 1500],
        [3, 3000],
      ] as const) {
        await runCli(['drill', 'fail', '--for', '700ms', ...admin(srv)]);
        await until(
          () => n.changes().filter((c) => c.action === 'withdraw').length >= flap + 1,
          PATIENCE_MS,
          `withdraw of flap ${flap}`,
        );
        await until(
          () => n.changes().filter((c) => c.action === 'announce').length >= flap + 1,
          PATIENCE_MS,
          `announce after the hold-down of flap ${flap}`,
        );
        const down = downs()[flap - 1] as { t: number; hold: number };
        // The hold-down the node set, as it logged it: the time left when the line was written,
        // so a busy machine can show a little less, never more, and never the next doubling.
        assert.ok(
          down.hold <= holdMs && down.hold > holdMs / 2,
          `hold-down ${down.hold} ms logged for flap ${flap} (expected ${holdMs})`,
        );
        // Held at least that long, on the node's own stamps: from when the drill was applied (its
        // log line, written before any check failed) to the UP line (written after the decision).
        const drill = drills()[flap - 1] as number;
        const up = ups().find((t) => t > down.t) as number;
        assert.ok(up - drill >= holdMs, `announced ${up - drill} ms after the drill began (hold-down ${holdMs})`);
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
      await until(() => n.calls().some((c) => c.action === 'announce'), PATIENCE_MS, 'announce');
      const status = async (): Promise<{
        health: { reason: string; checks: { name: string; ok: boolean; detail: string }[] };
        zones: { origin: string }[];
      }> => (await fetch(`http://127.0.0.1:${srv.adminPort}/status`)).json() as never;
      renameSync(join(n.zonesDir, 'second.test.zone'), join(n.dir, 'second.test.zone.off'));
      const r = await runCli(['reload', ...admin(srv)]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr + r.stdout,
        /second\.test\.zone: zone second\.test\. is gone from the zone files; it is still served/,
      );
      // Reload, /status and the zones check agree: still served, still announced.
      assert.equal((await dig(srv, ['second.test', 'SOA'])).status, 'NOERROR');
      assert.deepEqual((await status()).zones.map((z) => z.origin).sort(), ['example.test.', 'second.test.']);
      // Nothing to wait for: checks run every 100 ms, and none of them may fail.
      await new Promise((res) => setTimeout(res, 1500));
      assert.equal(n.calls().at(-1)?.action, 'announce');
      assert.equal(await readyz(srv.adminPort), 200);
      // Removed on purpose: no longer served, and the node stays announced.
      const removed = await runCli(['reload', '--remove', 'second.test', ...admin(srv)]);
      assert.equal(removed.code, 0, removed.stderr);
      assert.equal((await dig(srv, ['second.test', 'SOA'])).status, 'REFUSED');
      assert.deepEqual(
        (await status()).zones.map((z) => z.origin),
        ['example.test.'],
      );
      // The zones check has run since the removal, and passed.
      await until(
        async () =>
          (await status()).health.checks.some((c) => c.name === 'zones' && c.ok && c.detail === '1 zone(s) loaded'),
        PATIENCE_MS,
        'the zones check to see one zone',
      );
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
      await until(() => n.calls().some((c) => c.action === 'announce'), PATIENCE_MS, 'announce');
      const d = await runCli(['drain', ...admin(srv)]);
      assert.equal(d.code, 0, d.stderr);
      assert.match(d.stdout, /drained until undrained; recorded in/);
      await until(() => n.calls().at(-1)?.action === 'withdraw', PATIENCE_MS, 'withdraw on drain');
      assert.equal(n.calls().at(-1)?.reason, 'drained');
      assert.equal(await readyz(srv.adminPort), 503);
      assert.equal((await dig(srv, ['www.example.test'])).status, 'NOERROR', 'still answering while drained');
      await srv.stop();
      const before = n.calls().length;
      srv = await startServer({ config: n.config, args: [] });
      const restarted = srv;
      // Its checks pass (it would announce after rise, 3 checks 50 ms apart, were it not drained) …
      await until(
        async () => {
          const h = (
            (await (await fetch(`http://127.0.0.1:${restarted.adminPort}/status`)).json()) as {
              health: { checks: { ok: boolean }[] };
            }
          ).health;
          return h.checks.length > 0 && h.checks.every((c) => c.ok);
        },
        PATIENCE_MS,
        'the restarted node to pass its checks',
      );
      await new Promise((r) => setTimeout(r, 800));
      // … and it stays withdrawn.
      assert.ok(
        n
          .calls()
          .slice(before)
          .every((c) => c.action === 'withdraw'),
        'a restarted drained node does not announce',
      );
      assert.equal(await readyz(srv.adminPort), 503);
      const u = await runCli(['undrain', ...admin(srv)]);
      assert.equal(u.code, 0, u.stderr);
      await until(() => n.calls().at(-1)?.action === 'announce', PATIENCE_MS, 'announce after undrain');
      assert.equal(n.calls().at(-1)?.reason, 'undrained');
    } finally {
      await srv.stop();
    }
  });

  it('SIGTERM: /readyz 503 and withdraw first, answers during the linger, then exit 0', async () => {
    // A linger long enough for the test to look at the node during it on a busy machine.
    const n = nodeSetup({ lingerMs: 8000 });
    const srv = await startServer({ config: n.config, args: [] });
    await until(() => n.calls().some((c) => c.action === 'announce'), PATIENCE_MS, 'announce');
    const exited = once(srv.proc, 'exit');
    srv.proc.kill('SIGTERM');
    await until(() => n.calls().at(-1)?.action === 'withdraw', PATIENCE_MS, 'withdraw on SIGTERM');
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
    // A linger of 10 minutes: exiting at all while the test waits means it was skipped.
    const n = nodeSetup({ lingerMs: 600_000 });
    const srv = await startServer({ config: n.config, args: [] });
    try {
      await until(() => n.calls().some((c) => c.action === 'announce'), PATIENCE_MS, 'announce');
      const exited = once(srv.proc, 'exit');
      srv.proc.kill('SIGTERM');
      await until(() => n.calls().at(-1)?.action === 'withdraw', PATIENCE_MS, 'withdraw');
      await until(() => srv.logs().includes('"msg":"stopping"'), PATIENCE_MS, 'the linger to begin');
      srv.proc.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const [code] = (await Promise.race([
        exited,
        new Promise(
          (_, reject) =>
            (timer = setTimeout(
              () => reject(new Error(`no exit within ${PATIENCE_MS} ms of the second SIGTERM (linger 10 min)`)),
              PATIENCE_MS,
            )),
        ),
      ])) as [number];
      clearTimeout(timer);
      assert.equal(code, 0);
      assert.match(srv.logs(), /"msg":"second signal: skipping the linger"[\s\S]*"msg":"stopped"/);
    } finally {
      await srv.stop('SIGKILL');
    }
  });

  it('edgedns announce withdraw|announce runs the adapter once', async () => {
    const n = nodeSetup();
    const w = await runCli(['announce', 'withdraw', '--config', n.config]);
    assert.equal(w.code, 0, w.stderr);
    const a = await runCli(['announce', 'announce', '--config', n.config]);
    assert.equal(a.code, 0);
    assert.deepEqual(
      n.calls().map((c) => c.action),
      ['withdraw', 'announce'],
    );
    assert.equal((await runCli(['announce', 'sideways', '--config', n.config])).code, 2);
  });
});
