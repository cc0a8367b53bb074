// Network namespaces for tests that need a real routing daemon: made by the test, removed by it.

import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

/**
 * A site and its upstream router, each in a namespace of its own joined by a veth pair (site
 * 198.51.100.11 in AS 65011, router 198.51.100.1 in AS 65000, as the shipped configs have them),
 * and the router's BIRD taking what the site announces. Returns the router's BIRD (stop it by pid).
 */
export function siteAndRouter(o: {
  site: string;
  router: string;
  veth: string;
  dir: string;
  ctl: string;
}): ChildProcess {
  addNetns(o.site);
  addNetns(o.router);
  execFileSync('ip', [
    'link',
    'add',
    `${o.veth}s`,
    'netns',
    o.site,
    'type',
    'veth',
    'peer',
    'name',
    `${o.veth}r`,
    'netns',
    o.router,
  ]);
  execFileSync('ip', ['-n', o.site, 'addr', 'add', '198.51.100.11/24', 'dev', `${o.veth}s`]);
  execFileSync('ip', ['-n', o.router, 'addr', 'add', '198.51.100.1/24', 'dev', `${o.veth}r`]);
  execFileSync('ip', ['-n', o.site, 'link', 'set', `${o.veth}s`, 'up']);
  execFileSync('ip', ['-n', o.router, 'link', 'set', `${o.veth}r`, 'up']);
  const conf = join(o.dir, 'router.conf');
  writeFileSync(
    conf,
    `router id 198.51.100.1;
protocol device {}
protocol bgp site {
  local 198.51.100.1 as 65000;
  neighbor 198.51.100.11 as 65011;
  hold time 3; keepalive time 1; connect retry time 1;
  ipv4 { import all; export none; };
}
`,
  );
  return spawn(
    'ip',
    ['netns', 'exec', o.router, 'bird', '-f', '-c', conf, '-s', o.ctl, '-P', join(o.dir, 'router.pid')],
    {
      stdio: 'ignore',
    },
  );
}
