// The CLI as an operator runs it against a node: from a folder of the test's own, with no config
// at the default path unless the test names one.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './server.ts';
import { tempDir } from './tmp.ts';

export interface CliKit {
  dir: string;
  /** Run the CLI; `env` replaces the default (EDGEDNS_CONFIG pointing at a file that does not exist). */
  cli(args: string[], env?: NodeJS.ProcessEnv): ReturnType<typeof runCli>;
  /** Write `text` to `name` in the folder; its path. */
  write(name: string, text: string): string;
}

export function cliKit(prefix: string): CliKit {
  const dir = tempDir(prefix);
  /** No config at the default path: whatever /etc/edgedns holds on this machine. */
  const noDefault = { EDGEDNS_CONFIG: join(dir, 'absent.yaml') };
  return {
    dir,
    cli: (args, env = noDefault) => runCli(args, { env }),
    write: (name, text) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
  };
}

/** A CLI error is a message, never a stack trace. */
export function noStack(stderr: string): void {
  assert.doesNotMatch(stderr, /\n\s+at |internal error/, stderr);
}
