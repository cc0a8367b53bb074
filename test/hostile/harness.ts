// What every hostile test asserts around its attack (run by runUnderAttack in ../helpers/hostile.ts):
// the node lived, kept its processes, stayed UP and announced, and kept answering its legitimate client.

import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AttackOutcome, HostileNode } from '../helpers/hostile.ts';
import { describe as describeResult, runUnderAttack } from '../helpers/hostile.ts';

/**
 * Run `attack` (which must end by itself, bounded) with a legitimate client sending meanwhile,
 * for at least `minMs` (health probes run every second and fall after 3 failures: 5 s shows it).
 * Asserts what every hostile test asserts and returns what happened.
 */
export async function underAttack<T>(
  t: TestContext,
  node: HostileNode,
  attack: () => Promise<T>,
  minMs = 6000,
): Promise<AttackOutcome<T>> {
  const o = await runUnderAttack(node, attack, { minMs });
  const result = o.legit;
  t.diagnostic(`legit client during ${(o.ms / 1000).toFixed(1)} s of attack: ${describeResult(result)}`);
  t.diagnostic(
    `RSS before ${o.rss.before.toFixed(0)} MiB, peak ${o.rss.peak.toFixed(0)} MiB, after ${o.rss.after.toFixed(0)} MiB`,
  );
  assert.equal(node.srv.proc.exitCode, null, `the node is alive\n${node.srv.logs().slice(-2000)}`);
  assert.equal(node.srv.proc.signalCode, null, 'the node was not killed');
  assert.ok(o.samePids, 'the answering processes are the same ones');
  const h = o.health;
  assert.equal(h.workerRestarts, 0, 'no worker restarted');
  assert.ok(h.ready, 'the node is ready (/readyz 200)');
  assert.ok(
    h.up,
    `the node is UP\n${node.srv
      .logs()
      .split('\n')
      .filter((l) => /health state|check/.test(l))
      .slice(-8)
      .join('\n')}`,
  );
  assert.equal(h.flaps, 0, 'the node never withdrew');
  assert.ok(result.sent >= 100, `the legit client sent ${result.sent}`);
  assert.ok(result.rate >= 0.99, `the legit client got ${describeResult(result)}`);
  return o;
}

/** Wait (bounded) until `f` returns true; returns whether it did. */
export async function eventually(f: () => Promise<boolean>, ms: number, everyMs = 250): Promise<boolean> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (await f()) return true;
    await sleep(everyMs);
  }
  return f();
}
