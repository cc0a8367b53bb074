// A node with health and announcement turned to test speed, and an exec hook that records every
// adapter call with its time, so tests can see exactly when the address was announced or withdrawn.

import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZONES } from './server.ts';
import { tempDir } from './tmp.ts';

export interface HookCall {
  at: number;
  action: 'announce' | 'withdraw';
  /** The reason, blanks as underscores: "startup", "unhealthy", "guard:_node_not_answering"… */
  reason: string;
}

export interface NodeSetup {
  dir: string;
  config: string;
  zonesDir: string;
  drainFile: string;
  calls(): HookCall[];
  /** The calls that changed the state: a re-assertion of the same action (after a late timer,
   * or the periodic reconcile) is left out. */
  changes(): HookCall[];
}

/** Write a config: its own copy of the zones, an exec hook, fast health timers. */
export function nodeSetup(opts: { lingerMs?: number } = {}): NodeSetup {
  const dir = tempDir('edgedns-node-');
  const zonesDir = join(dir, 'zones');
  const log = join(dir, 'hook.log');
  const hook = join(dir, 'hook.sh');
  writeFileSync(hook, `#!/bin/sh\necho "$(date +%s%3N) $1 $(echo "$EDGEDNS_REASON" | tr ' ' '_')" >> ${log}\n`);
  chmodSync(hook, 0o755);
  writeFileSync(log, '');
  mkdirSync(zonesDir);
  copyFileSync(join(ZONES, 'example.test.zone'), join(zonesDir, 'example.test.zone'));
  writeFileSync(join(zonesDir, 'second.test.zone'), '$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n');
  const drainFile = join(dir, 'drain');
  const config = join(dir, 'edgedns.yaml');
  writeFileSync(
    config,
    `listen: ["127.0.0.1:0"]
zones: { dir: ${JSON.stringify(zonesDir)} }
upstreams: []
site: { id: node-test }
health:
  interval: 100ms
  fastInterval: 50ms
  rise: 3
  fall: 2
  drainFile: ${JSON.stringify(drainFile)}
  holdDown: { initial: 1500ms, max: 6s, decay: 30s }
  # Tolerant of a busy machine: a probe or the event loop slowed by other load is not a fault
  # these tests inject (drills, drains and signals are), nor an overload (shedding.test.ts).
  probeTimeout: 2s
  maxEventLoopLag: 5s
  overload: { maxUtilization: 1, maxDropRate: 100000000 }
announce:
  # The listen address: a prefix no listener is in is a config error.
  prefixes: [127.0.0.1/32]
  adapter: exec
  exec: { command: ${JSON.stringify(hook)}, timeout: 20s }
  reconcileInterval: 1h
  shutdownLinger: ${opts.lingerMs ?? 1000}ms
`,
  );
  const calls = (): HookCall[] =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [at, action, reason] = l.split(' ');
        return { at: Number(at), action: action as HookCall['action'], reason: reason ?? '' };
      });
  return {
    dir,
    config,
    zonesDir,
    drainFile,
    calls,
    changes: () => calls().filter((c, i, all) => i === 0 || all[i - 1]?.action !== c.action),
  };
}

/**
 * How long a test waits for something that should happen (an announcement, a log line, a worker
 * back): a failure timeout only, never a measurement.
 */
export const PATIENCE_MS = 30_000;

/** Wait until `cond` holds, polling; fails after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
}
