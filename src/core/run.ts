// Running a helper command (route adapters, operator health checks): arguments, environment and stdin, a timeout that kills
// the whole process group, and bounded captured output.

import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: string | null;
  /** stdout and stderr, at most `MAX_OUTPUT` bytes of each. */
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const MAX_OUTPUT = 64 * 1024;

export function runCommand(
  command: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs: number },
): Promise<RunResult> {
  return new Promise((resolve) => {
    // A process group of its own, so a timeout kills the helper's children too.
    const child = spawn(command, args, {
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const take = (cur: string, d: Buffer): string =>
      cur.length < MAX_OUTPUT ? cur + d.toString('utf8').slice(0, MAX_OUTPUT - cur.length) : cur;
    child.stdout.on('data', (d: Buffer) => (stdout = take(stdout, d)));
    child.stderr.on('data', (d: Buffer) => (stderr = take(stderr, d)));
    const kill = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: `${stderr}${e.message}`, timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) kill();
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin.on('error', () => {
      // the helper did not read its input; its exit status says the rest
    });
    child.stdin.end(opts.input ?? '');
  });
}
