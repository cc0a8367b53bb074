// What every hostile test does around its attack: start the real node (announcing through a no-op
// hook, health at its production pace), wait until it is UP, run a legitimate client from
// 127.0.0.2 during the attack, and assert the node lived, stayed UP and kept answering.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LegitResult } from '../helpers/hostile.ts';
import { describe as describeResult, legitClient, nodeHealth, rssMb } from '../helpers/hostile.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, startServer } from '../helpers/server.ts';

export interface HostileNode {
  srv: RunningServer;
  adminPort: number;
  /** The processes answering DNS: the workers, or the node itself. */
  dnsPids(): Promise<number[]>;
  /** RSS of the answering processes, in MiB (the largest one). */
  rss(): Promise<number>;
  stop(): Promise<void>;
}

/** Start a node with `workers` processes and extra YAML lines (e.g. a `tcp:` block); wait for UP. */
export async function startNode(opts: { workers: number; extra?: string[] }): Promise<HostileNode> {
  const dir = mkdtempSync(join(tmpdir(), 'edgedns-hostile-'));
  const cfg = join(dir, 'edgedns.yaml');
  writeFileSync(cfg, [
    'listen: ["127.0.0.1:0"]',
    `workers: ${opts.workers}`,
    `zones: { dir: ${JSON.stringify(ZONES)} }`,
    'site: { id: hostile }',
    'announce: { prefixes: [192.0.2.53/32], adapter: exec, exec: { command: /bin/true } }',
    ...(opts.extra ?? []),
    ...(opts.extra?.some((l) => l.startsWith('upstreams:')) ? [] : ['upstreams: []']),
  ].join('\n'));
  const srv = await startServer({ config: cfg, args: [], timeoutMs: 20_000 });
  const adminPort = srv.adminPort as number;
  const t0 = performance.now();
  while (!(await nodeHealth(adminPort)).up && performance.now() - t0 < 20_000) await sleep(200);
  assert.ok((await nodeHealth(adminPort)).up, 'the node is UP before the attack');
  const dnsPids = async (): Promise<number[]> => {
    if (opts.workers === 1) return [srv.proc.pid as number];
    const s = (await (await fetch(`http://127.0.0.1:${adminPort}/status`)).json()) as { workers: { pids: number[] } };
    return s.workers.pids;
  };
  return {
    srv,
    adminPort,
    dnsPids,
    rss: async () => Math.max(...(await dnsPids()).map(rssMb)),
    stop: async () => {
      await srv.stop();
    },
  };
}

/**
 * Run `attack` (which must end by itself, bounded) with a legitimate client sending meanwhile,
 * for at least `minMs` (health probes run every second and fall after 3 failures: 5 s shows it).
 * Asserts what every hostile test asserts and returns the client's result.
 */
export async function underAttack(t: TestContext, node: HostileNode, attack: () => Promise<void>, minMs = 6000): Promise<LegitResult> {
  const pidsBefore = await node.dnsPids();
  const legit = await legitClient({ port: node.srv.port, rate: 100, maxMs: 60_000 });
  const t0 = performance.now();
  await Promise.all([attack(), sleep(minMs)]);
  const result = await legit.stop();
  t.diagnostic(`legit client during ${((performance.now() - t0) / 1000).toFixed(1)} s of attack: ${describeResult(result)}`);
  assert.equal(node.srv.proc.exitCode, null, `the node is alive\n${node.srv.logs().slice(-2000)}`);
  assert.equal(node.srv.proc.signalCode, null, 'the node was not killed');
  assert.deepEqual(await node.dnsPids(), pidsBefore, 'the answering processes are the same ones');
  const h = await nodeHealth(node.adminPort);
  assert.equal(h.workerRestarts, 0, 'no worker restarted');
  assert.ok(h.ready, 'the node is ready (/readyz 200)');
  assert.ok(h.up, `the node is UP\n${node.srv.logs().split("\n").filter((l) => /health state|check/.test(l)).slice(-8).join("\n")}`);
  assert.equal(h.flaps, 0, 'the node never withdrew');
  assert.ok(result.sent >= 100, `the legit client sent ${result.sent}`);
  assert.ok(result.rate >= 0.99, `the legit client got ${describeResult(result)}`);
  return result;
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
