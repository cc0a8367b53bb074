// `edgedns guard` beside a real node: it withdraws when the node stops answering (SIGSTOP: its
// probes go unanswered) or dies (SIGKILL: its sentinel connection closes), observed through the
// adapter's calls and the guard's own log. Waits are for events, bounded by PATIENCE_MS only as a
// failure timeout: how fast the guard reacts follows from its settings, not from this machine.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PATIENCE_MS, nodeSetup, until } from '../helpers/node.ts';
import { MAIN, startServer } from '../helpers/server.ts';

/** Whether process `pid` holds an established TCP connection to 127.0.0.1:`port`. */
function connected(pid: number, port: number): boolean {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', 'dst', `127.0.0.1:${port}`], { encoding: 'utf8' });
  return out.includes(`pid=${pid},`);
}

/**
 * An announced node and `edgedns guard` watching it (the guard reads the ports the node got);
 * `hosts`: the node's listen addresses.
 */
async function nodeWithGuard(hosts = ['127.0.0.1']) {
  const n = nodeSetup();
  const listen = (ports: readonly number[]): string =>
    `listen: [${hosts.map((h, i) => `"${h}:${ports[i] ?? 0}"`).join(', ')}]`;
  writeFileSync(n.config, readFileSync(n.config, 'utf8').replace('listen: ["127.0.0.1:0"]', listen([])));
  const srv = await startServer({ config: n.config, args: [] });
  const ports = hosts.map((h) =>
    Number(new RegExp(`"msg":"listening".*?"address":"${h}","port":(\\d+)`).exec(srv.logs())?.[1]),
  );
  // The node's ports for the guard; its probes wait up to 2 s, so a busy machine is not a dead node.
  writeFileSync(
    n.config,
    `${readFileSync(n.config, 'utf8').replace(listen([]), listen(ports))}guard: { interval: 200ms, timeout: 2s, fall: 3 }\n`,
  );
  const guard = spawn(process.execPath, [MAIN, 'guard', '--config', n.config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  guard.stderr.on('data', (d: Buffer) => (log += d.toString()));
  try {
    await until(() => n.calls().some((c) => c.action === 'announce'), PATIENCE_MS, 'announce');
    await until(() => log.includes('guard watching'), PATIENCE_MS, 'guard up');
    // Its sentinel: a TCP connection held open to the node, made after a first good probe.
    await until(() => connected(guard.pid as number, srv.port), PATIENCE_MS, 'the guard’s sentinel connection');
  } catch (e) {
    guard.kill('SIGTERM');
    await srv.stop();
    throw e;
  }
  return { n, srv, guard, glog: () => log };
}

/** The guard's "guard withdrew" lines: why it withdrew. */
function withdrawals(glog: string): string[] {
  return glog
    .split('\n')
    .filter((l) => l.includes('"msg":"guard withdrew the address: the node is not answering"'))
    .map((l) => (JSON.parse(l) as { why: string }).why);
}

type Guarded = Awaited<ReturnType<typeof nodeWithGuard>>;

/**
 * A node and its guard: send the node `signal`, wait for the guard to withdraw (an adapter call
 * with a guard reason), then run `then`; both are stopped after (a stopped node continued first).
 */
async function withdrawOn(
  signal: NodeJS.Signals,
  then: (g: Guarded) => Promise<void>,
  hosts?: string[],
): Promise<void> {
  const g = await nodeWithGuard(hosts);
  const { n, srv, guard } = g;
  try {
    const before = n.calls().length;
    srv.proc.kill(signal);
    await until(
      () =>
        n
          .calls()
          .slice(before)
          .some((c) => c.reason.startsWith('guard')),
      PATIENCE_MS,
      'guard withdraw',
    );
    await then(g);
  } finally {
    srv.proc.kill('SIGCONT');
    guard.kill('SIGTERM');
    await once(guard, 'exit');
    await srv.stop();
  }
}

describe('edgedns guard', () => {
  it('withdraws when the SIGSTOPped node misses `fall` probes (its connection stays open); the node announces again after SIGCONT', async () => {
    await withdrawOn('SIGSTOP', async ({ n, srv, glog }) => {
      await until(() => withdrawals(glog()).length > 0, PATIENCE_MS, 'guard log');
      // Probes went unanswered; the sentinel connection of a stopped process does not close.
      assert.match(withdrawals(glog()).at(-1) as string, /^UDP 127\.0\.0\.1:\d+: no answer within 2000 ms$/);
      srv.proc.kill('SIGCONT');
      const after = n.calls().length;
      await until(
        () =>
          n
            .calls()
            .slice(after)
            .some((c) => c.action === 'announce'),
        PATIENCE_MS,
        `node announces again (calls ${JSON.stringify(n.calls())})`,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${srv.logs().slice(-3000)}`);
      });
      assert.match(srv.logs(), /"msg":"stalled/);
    });
  });

  it('withdraws at once when the node is killed: its connection closes, without waiting for `fall` probes', async () => {
    await withdrawOn('SIGKILL', async ({ glog }) => {
      // The sentinel's close and one quick probe decided (`fall` probe rounds would name only UDP).
      const closed = /^TCP 127\.0\.0\.1:\d+: connection closed; UDP 127\.0\.0\.1:\d+: /;
      await until(
        () => withdrawals(glog()).some((w) => closed.test(w)),
        PATIENCE_MS,
        'a withdrawal for the closed connection',
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${glog()}`);
      });
    });
  });

  it('withdraws once when the connections to every address close together', async () => {
    await withdrawOn(
      'SIGKILL',
      async ({ n, glog }) => {
        await until(() => withdrawals(glog()).length > 0, PATIENCE_MS, 'guard log');
        // Every later look finds the address withdrawn already (the guard's rounds run every 200 ms).
        await sleep(1000);
        const calls = n.calls().filter((c) => c.reason.startsWith('guard'));
        assert.equal(calls.length, 1, `one withdrawal, not one per closed connection: ${JSON.stringify(calls)}`);
        assert.doesNotMatch(glog(), /could not withdraw/);
      },
      ['127.0.0.1', '127.0.0.2'],
    );
  });
});
