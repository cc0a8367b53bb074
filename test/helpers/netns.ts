// Network namespaces for tests that need a real routing daemon: made by the test, removed by it.

import { execFileSync } from 'node:child_process';

/** Why namespaces cannot be used here, or null when they can. Tests fail with this message. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces (run make test as root)';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return 'needs iproute2 (`ip netns`)';
  }
  return null;
}

export function addNetns(name: string): void {
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

export function delNetns(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/**
 * This test process's name for a namespace: PREFIX-ROLE-PID, PREFIX from $EDGEDNS_TEST_NETNS
 * (default "edgedns"), so that runs sharing a machine can tell their namespaces apart.
 */
export const netnsName = (role: string): string =>
  `${process.env.EDGEDNS_TEST_NETNS ?? 'edgedns'}-${role}-${process.pid}`;
