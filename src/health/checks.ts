// Health checks. `local` ones say whether this node can serve (their failure withdraws); `shared`
// ones watch what every site shares (upstreams), and withdraw only when configured to.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { errorMessage, runCommand } from '../core/index.js';

export type CheckKind = 'local' | 'shared';

export interface CheckOutcome {
  ok: boolean;
  detail: string;
}

export interface Check {
  readonly name: string;
  readonly kind: CheckKind;
  run(): CheckOutcome | Promise<CheckOutcome>;
}

export interface CheckResult extends CheckOutcome {
  name: string;
  kind: CheckKind;
}

/** A check from a function that says ok or not. */
export function predicateCheck(name: string, kind: CheckKind, fn: () => CheckOutcome): Check {
  return { name, kind, run: fn };
}

/** Passes when `probe` resolves within `timeoutMs`; its rejection message is the detail. */
export function probeCheck(name: string, probe: () => Promise<string>, timeoutMs: number): Check {
  return {
    name,
    kind: 'local',
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

/** The longest event-loop delay since the previous run stays under `maxMs`. */
export function eventLoopCheck(maxMs: number): Check & { close(): void } {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return {
    name: 'event-loop',
    kind: 'local',
    run() {
      const max = h.max / 1e6;
      h.reset();
      return { ok: max <= maxMs, detail: `max event-loop delay ${max.toFixed(1)} ms (limit ${maxMs} ms)` };
    },
    close: () => h.disable(),
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
      try {
        return { name: c.name, kind: c.kind, ...(await c.run()) };
      } catch (e) {
        return { name: c.name, kind: c.kind, ok: false, detail: errorMessage(e) };
      }
    }),
  );
}
