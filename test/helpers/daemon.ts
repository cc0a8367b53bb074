// A reference server a test starts (named, knotd, unbound): in the foreground, its output kept,
// ready when `ready()` says so, stopped by its pid (SIGTERM, SIGKILL after 5 s) with its temporary
// folder removed. A daemon that exits or never gets ready is stopped and reported with its log.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { PATIENCE_MS, until } from './node.ts';

export interface Daemon {
  pid: number;
  /** What it wrote so far (stderr; stdout too with `stdout`). */
  log(): string;
  stop(): Promise<void>;
}

export async function startDaemon(o: {
  /** For messages: "named", "knotd"… */
  name: string;
  bin: string;
  args: string[];
  /** Its temporary folder, removed when it stops. */
  dir: string;
  /** Keep stdout as well as stderr. */
  stdout?: boolean;
  /** Whether it answers yet; `what` names that in the error when it never does. */
  ready: () => Promise<boolean>;
  what: string;
}): Promise<Daemon> {
  const child: ChildProcess = spawn(o.bin, o.args, { stdio: ['ignore', o.stdout ? 'pipe' : 'ignore', 'pipe'] });
  let log = '';
  const take = (s: string): void => {
    if (log.length < 500_000) log += s;
  };
  child.stdout?.setEncoding('utf8').on('data', take);
  child.stderr?.setEncoding('utf8').on('data', take);
  const exited = once(child, 'exit');
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (running() && child.pid !== undefined) {
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => running() && child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(o.dir, { recursive: true, force: true });
  };
  try {
    await until(
      async () => {
        if (!running()) throw new Error(`${o.name} exited (${child.exitCode ?? child.signalCode}) before answering`);
        return o.ready();
      },
      PATIENCE_MS,
      o.what,
    );
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${log.slice(-3000)}`, { cause: e });
  }
  // pid is set: the process answered queries.
  return { pid: child.pid as number, log: () => log, stop };
}
