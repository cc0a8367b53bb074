// Start the real edgedns (the built dist/main.js) as a child process on loopback port 0 and stop
// it by its pid. The bound port is read from the server's "listening" log line.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = `${ROOT}dist/main.js`;
export const ZONES = `${ROOT}zones`;

export interface RunningServer {
  proc: ChildProcess;
  port: number;
  /** The admin endpoint's port (always on 127.0.0.1:0 in tests unless --admin is given). */
  adminPort: number | null;
  /** The admin socket (in a folder of its own unless --admin-socket is given), or null when off. */
  adminSocket: string | null;
  host: string;
  /** Everything the server wrote to stderr so far. */
  logs(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * How long a helper waits for a process to start, stop or finish before giving up. Only a failure
 * timeout: everything here returns as soon as the process does, and a busy machine is slow, not broken.
 */
export const PROCESS_PATIENCE_MS = 60_000;

export interface StartOptions {
  args?: string[];
  /** Start with `serve` plus these args; `--listen 127.0.0.1:0 --zones zones/ --authoritative-only`
   * unless given (tests never forward to the machine's real resolvers). */
  config?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const given = opts.args ?? ['--listen', '127.0.0.1:0', '--zones', ZONES, '--authoritative-only'];
  // Tests run in parallel: never the fixed default admin port, nor the default admin socket.
  const admin = given.includes('--admin') ? [] : ['--admin', '127.0.0.1:0'];
  const socketDir = given.includes('--admin-socket') ? null : tempDir('edgedns-admin-');
  if (socketDir) admin.push('--admin-socket', join(socketDir, 'admin.sock'));
  const args = ['serve', ...(opts.config ? ['--config', opts.config] : []), ...given, ...admin];
  const proc = spawn(process.execPath, [MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  // The node removes its socket at exit; the folder is ours (a crash leaves the socket too).
  if (socketDir) proc.once('exit', () => rmSync(socketDir, { recursive: true, force: true }));
  let err = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => (err += d));
  const [port, adminPort, adminSocket] = await new Promise<[number, number | null, string | null]>(
    (resolve, reject) => {
      const timeoutMs = opts.timeoutMs ?? PROCESS_PATIENCE_MS;
      const timer = setTimeout(
        () => reject(new Error(`server did not start within ${timeoutMs} ms:\n${err}`)),
        timeoutMs,
      );
      const check = (): void => {
        const m = /"msg":"started".*?"port":(\d+).*?"admin":(\d+|null),"adminSocket":("(?:[^"\\]|\\.)*"|null)/.exec(
          err,
        );
        if (m) {
          clearTimeout(timer);
          resolve([Number(m[1]), m[2] === 'null' ? null : Number(m[2]), JSON.parse(m[3] as string) as string | null]);
        }
      };
      proc.stderr?.on('data', check);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code} before starting:\n${err}`));
      });
    },
  );
  return {
    proc,
    port,
    adminPort,
    adminSocket,
    host: '127.0.0.1',
    logs: () => err,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const exited = once(proc, 'exit');
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), PROCESS_PATIENCE_MS);
      const [code] = (await exited) as [number | null];
      clearTimeout(timer);
      return code;
    },
  };
}

/** Run the CLI to completion. */
export async function runCli(
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [MAIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.env && { env: { ...process.env, ...opts.env } }),
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? PROCESS_PATIENCE_MS);
  const [code] = (await once(proc, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** The problems of `serve`'s "start failed" log line (JSON, the default log format), one a line. */
export function startFailure(stderr: string): string {
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    const l = JSON.parse(line) as { msg?: string; problems?: string[] };
    if (l.msg === 'start failed') return (l.problems ?? []).join('\n');
  }
  throw new Error(`no "start failed" line in:\n${stderr}`);
}
