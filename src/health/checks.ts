// Health checks. `local` ones say whether this node can serve (their failure withdraws); `shared`
// ones watch what every site shares (upstreams), and withdraw only when configured to and the
// fleet's withdraw budget allows; `load` ones say whether it is overloaded (load.ts), which sheds
// instead of withdrawing.

import { getHeapStatistics } from 'node:v8';
import { errorMessage, runCommand } from '../core/index.js';

export type CheckKind = 'local' | 'shared' | 'load';

export interface CheckOutcome {
  ok: boolean;
  detail: string;
}

export interface Check {
  readonly name: string;
  readonly kind: CheckKind;
  /** A failure while the node is overloaded is the load's doing, not a fault (a probe lost in a flood). */
  readonly loadSensitive?: boolean;
  /** A shared check that withdraws whatever `sharedWithdraw` says (still within the withdraw budget). */
  readonly withdraws?: boolean;
  run(): CheckOutcome | Promise<CheckOutcome>;
}

export interface CheckResult extends CheckOutcome {
  name: string;
  kind: CheckKind;
  loadSensitive: boolean;
  withdraws: boolean;
}

/** A check from a function that says ok or not. */
export function predicateCheck(name: string, kind: CheckKind, fn: () => CheckOutcome): Check {
  return { name, kind, run: fn };
}

/**
 * Passes when `probe` resolves within `timeoutMs`; its rejection message is the detail. Load
 * sensitive: a probe lost while the node is overloaded says so, not that the node is broken.
 */
export function probeCheck(name: string, probe: () => Promise<string>, timeoutMs: number): Check {
  return {
    name,
    kind: 'local',
    loadSensitive: true,
    async run() {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        return { ok: true, detail: await Promise.race([probe(), timeout]) };
      } catch (e) {
        return { ok: false, detail: errorMessage(e) };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The V8 heap in use stays under `maxFraction` of its limit. */
export function heapCheck(maxFraction: number): Check {
  return {
    name: 'heap',
    kind: 'local',
    run() {
      const s = getHeapStatistics();
      const f = s.used_heap_size / s.heap_size_limit;
      return {
        ok: f <= maxFraction,
        detail: `heap ${(s.used_heap_size / 1048576).toFixed(0)} MiB, ${(100 * f).toFixed(1)}% of the limit (max ${(100 * maxFraction).toFixed(0)}%)`,
      };
    },
  };
}

/** An operator's command: exit 0 passes. */
export function commandCheck(command: string, args: readonly string[], timeoutMs: number): Check {
  return {
    name: 'command',
    kind: 'local',
    async run() {
      const r = await runCommand(command, args, { timeoutMs });
      const out = (r.stderr || r.stdout).trim().slice(0, 200);
      if (r.timedOut) return { ok: false, detail: `${command}: killed after ${timeoutMs} ms` };
      return { ok: r.code === 0, detail: `${command}: exit ${r.code ?? r.signal}${out ? `: ${out}` : ''}` };
    },
  };
}

/** Run every check; a check that throws fails with the error as detail. */
export async function runChecks(checks: readonly Check[]): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async (c) => {
      const about = {
        name: c.name,
        kind: c.kind,
        loadSensitive: c.loadSensitive === true,
        withdraws: c.withdraws === true,
      };
      try {
        return { ...about, ...(await c.run()) };
      } catch (e) {
        return { ...about, ok: false, detail: errorMessage(e) };
      }
    }),
  );
}
