// systemd-analyze verify as the tests read it: its exit status and every line it printed.

import { spawnSync } from 'node:child_process';

/**
 * verify exits 0 on a line it ignores (an unknown key, a bad value) and says so on stderr, so
 * silence is the pass: ['exit 0']. It also checks that the executables exist and, through man(1)
 * with this MANPATH, the Documentation=man: pages; it does not look up User= (resolved when the
 * unit runs).
 */
export function verifyUnits(files: string[], manpath: string): string[] {
  const r = spawnSync('systemd-analyze', ['verify', ...files], {
    encoding: 'utf8',
    env: { ...process.env, MANPATH: manpath },
  });
  return [`exit ${r.status}`, ...`${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '')];
}
