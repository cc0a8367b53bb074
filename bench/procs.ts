// Ports for the servers a benchmark run starts, the processes it starts, and stopping them all: each one and its descendants (a
// node with `workers: N` forks N workers), by pid, with SIGKILL — also from process.on('exit'),
// where only synchronous work runs.

import { spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpuSecondsFromStat, processTree, rssMbFromStatus } from './dnsperf.ts';

function children(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    return ''; // gone
  }
}

/** A UDP port on 127.0.0.1 that was free a moment ago, for a server to bind. */
export async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  s.close();
  return port;
}

/** A process and its descendants, from /proc. */
export const treeOf = (pid: number): number[] => processTree(pid, children);

const proc = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // the process is gone
  }
};
/** CPU seconds of a server: its process and descendants (the workers of `workers: N`). */
export const cpuOfTree = (pid: number): number =>
  treeOf(pid).reduce((a, p) => a + (proc(`/proc/${p}/stat`) ? cpuSecondsFromStat(proc(`/proc/${p}/stat`)) : 0), 0);
/** RSS (MB) of a server: its process and descendants. */
export const rssOfTree = (pid: number): number =>
  treeOf(pid).reduce((a, p) => a + rssMbFromStatus(proc(`/proc/${p}/status`)), 0);

/** SIGKILL these pids, ignoring those already gone. */
function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

const running = (c: ChildProcess): boolean => c.pid !== undefined && c.exitCode === null && c.signalCode === null;

/** How much of a server's stderr is kept: its last lines, for when it fails to come up. */
const STDERR_KEPT = 4096;

export class Processes {
  readonly #started: ChildProcess[] = [];
  readonly #stderr = new Map<ChildProcess, string>();

  /** Start a server; its stderr is drained (its end kept), its stdout ignored. */
  start(cmd: string, argv: string[]): ChildProcess {
    const c = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#stderr.set(c, '');
    c.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.#stderr.set(c, `${this.#stderr.get(c) ?? ''}${d}`.slice(-STDERR_KEPT));
    });
    // A command that cannot start (not installed) is reported by stderrOf and exitCode, not thrown.
    c.on('error', (e) => this.#stderr.set(c, `${this.#stderr.get(c) ?? ''}${e.message}\n`));
    this.#started.push(c);
    return c;
  }

  /** The end of what a started server wrote to stderr, and how it ended if it did. */
  stderrOf(c: ChildProcess): string {
    const ended = c.exitCode !== null ? `exit ${c.exitCode}` : c.signalCode !== null ? `signal ${c.signalCode}` : null;
    return `${(this.#stderr.get(c) ?? '').trim()}${ended ? ` [${ended}]` : ''}`;
  }

  /** Count a process started elsewhere (a node a helper started) among those killAll stops. */
  adopt(c: ChildProcess): void {
    this.#started.push(c);
  }

  /** SIGKILL one started process that still runs and its descendants (a server that never came up). */
  stop(c: ChildProcess): number[] {
    const pids = running(c) ? treeOf(c.pid as number).reverse() : [];
    killPids(pids);
    return pids;
  }

  /** SIGKILL every started process that still runs, descendants first. Returns the pids signalled. */
  killAll(): number[] {
    const pids = this.#started.filter(running).flatMap((c) => treeOf(c.pid as number).reverse());
    killPids(pids);
    return pids;
  }
}
