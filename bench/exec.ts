// Running the tools a benchmark drives (dnsperf, dig, h2load, unbound-control) with a time bound,
// and waiting until a server answers.

import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/** The tools running now: stopped by stopTools() when the run ends early. */
const running = new Set<ChildProcess>();

/** Run `cmd` for at most `timeoutMs`; its stdout, also when it exits non-zero having printed some. */
export function run(cmd: string, argv: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = execFile(cmd, argv, { maxBuffer: 1 << 28, timeout: timeoutMs }, (err, stdout) => {
      running.delete(c);
      if (err && !stdout) reject(new Error(err.message, { cause: err }));
      else resolve(stdout);
    });
    running.add(c);
  });
}

/** SIGKILL every tool still running (a dnsperf pass of a run that was interrupted), by its pid. */
export function stopTools(): void {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
}

/** Resolves once 127.0.0.1:`port` answers `name` with an address; rejects after `timeoutMs`. */
export async function waitAnswer(port: number, name = 'www.example.test', timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const out = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=1', '+tries=1', '+short', name], 3000).catch(
      () => '',
    );
    // dig prints its errors (";; connection timed out") on stdout too: only an address counts.
    if (/^\d+\.\d+\.\d+\.\d+$/m.test(out)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answers ${name} on port ${port} within ${Math.round(timeoutMs / 1000)} s`);
}
