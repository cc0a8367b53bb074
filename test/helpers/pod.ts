// Run a container of deploy/k8s/edgedns.yaml on this machine the way the kubelet and the container
// runtime (containerd + runc) would: its volumes as folders under a root of our own, $(VAR)
// expanded from its env, the image's entrypoint, and the process started with the container's uid,
// gid and capability sets (capsh) inside a network namespace that stands in for the node's network.
//
//   runc, before it execs the entrypoint as a non-root user:
//     bounding    = capabilities.add (with drop: [ALL])
//     permitted   = effective = capabilities.add     ("handed over": containerd asks runc to)
//     inheritable = ambient = ∅                      (Kubernetes sets no ambient capabilities)
//     no_new_privs  ⇔  allowPrivilegeEscalation: false
//   then execve(node): permitted' = file-permitted ∩ bounding (nothing without setcap), and under
//   no_new_privs no more than the permitted set it had.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
}

export interface Container {
  name: string;
  args: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  securityContext: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}

/** What the runtime decides about a process's privileges. */
export interface Privileges {
  uid: number;
  gid: number;
  /** Capability names as the kernel writes them: cap_net_bind_service. */
  bounding: string[];
  permitted: string[];
  noNewPrivs: boolean;
}

const capName = (k8s: string): string => `cap_${k8s.toLowerCase()}`;

/** The privileges runc gives a container; `handOver: false` for a runtime that hands none over. */
export function privilegesOf(sc: SecurityContext, handOver = true): Privileges {
  if (!sc.capabilities?.drop?.includes('ALL')) throw new Error('the manifest is expected to drop ALL capabilities');
  if (sc.runAsUser === undefined) throw new Error('the manifest is expected to name the uid');
  const bounding = (sc.capabilities.add ?? []).map(capName);
  return {
    uid: sc.runAsUser,
    gid: sc.runAsGroup ?? sc.runAsUser,
    bounding,
    permitted: handOver ? bounding : [],
    noNewPrivs: sc.allowPrivilegeEscalation === false,
  };
}

/** Every capability this kernel knows, by name. */
function allCaps(): string[] {
  const last = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  const out = execFileSync('capsh', [`--decode=0x${((1n << BigInt(last + 1)) - 1n).toString(16)}`], {
    encoding: 'utf8',
  });
  return (out.trim().split('=')[1] ?? '').split(',');
}

/** `capsh` arguments that set `p` up as root can, then exec `program args…` (no shell between). */
export function capshArgv(p: Privileges, program: string, args: string[]): string[] {
  const drop = allCaps().filter((c) => !p.bounding.includes(c));
  return [
    `--drop=${drop.join(',')}`,
    '--inh=',
    '--keep=1', // keep the permitted set across the uid change, as runc does, to set it below
    `--gid=${p.gid}`,
    `--groups=${p.gid}`,
    `--uid=${p.uid}`,
    `--caps=${p.permitted.length > 0 ? `${p.permitted.join(',')}=pe` : ''}`,
    '--keep=0',
    ...(p.noNewPrivs ? ['--no-new-privs'] : []),
    `--shell=${program}`,
    '--',
    ...args,
  ];
}

/** The kubelet's $(VAR) expansion of args: defined variables only, $$ is a literal $. */
export function expandVars(args: string[], env: Record<string, string>): string[] {
  return args.map((a) =>
    a.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) =>
      name === undefined ? '$' : (env[name] ?? m),
    ),
  );
}

/** The container's env: fieldRef values from `fields` (spec.nodeName, status.podIP). */
export function envOf(c: Container, fields: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const v = e.value ?? (e.valueFrom?.fieldRef ? fields[e.valueFrom.fieldRef.fieldPath] : undefined);
    if (v === undefined) throw new Error(`env ${e.name}: no value for ${JSON.stringify(e.valueFrom)}`);
    env[e.name] = v;
  }
  return env;
}

/** Replace every mount path (and what is under it) in `text` with the same path under `root`. */
export function underRoot(text: string, mountPaths: string[], root: string): string {
  const paths = [...new Set(mountPaths)].sort((a, b) => b.length - a.length);
  const re = new RegExp(
    `(^|[\\s"'\\[,:=])(${paths.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?=$|[/\\s"',\\]])`,
    'gm',
  );
  return text.replace(re, (_m, before: string, path: string) => `${before}${root}${path}`);
}

/**
 * A configMap volume as the kubelet lays it out: the files in a timestamped folder, `..data`
 * pointing at it, and each key a symlink through `..data` (so that an update is one rename).
 */
export function writeConfigMapVolume(dir: string, data: Record<string, string>): void {
  const stamp = '..2026_12_01_00_00_00.000000001';
  mkdirSync(join(dir, stamp), { recursive: true, mode: 0o755 });
  for (const [k, v] of Object.entries(data)) writeFileSync(join(dir, stamp, k), v, { mode: 0o644 });
  symlinkSync(stamp, join(dir, '..data'));
  for (const k of Object.keys(data)) symlinkSync(join('..data', k), join(dir, k));
}
