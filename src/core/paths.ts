// Where a node's admin socket lives by default: the runtime folder of the service, the user's or a private one.

import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What the default depends on, passed in so that tests need no real environment. */
export interface RuntimeEnv {
  env: Readonly<Record<string, string | undefined>>;
  /** The effective user id; -1 where there is none (Windows). */
  uid: number;
}

export function currentRuntimeEnv(): RuntimeEnv {
  return { env: process.env, uid: process.geteuid?.() ?? -1 };
}

/** The folder root uses without systemd; also where the CLI looks last. */
export const SYSTEM_RUNTIME_DIR = '/run/edgedns';
const SOCKET_NAME = 'admin.sock';

/**
 * The default admin socket, first match:
 *   $RUNTIME_DIRECTORY/admin.sock      systemd's RuntimeDirectory=edgedns (/run/edgedns)
 *   /run/edgedns/admin.sock            root
 *   $XDG_RUNTIME_DIR/edgedns/admin.sock   a login session's private folder (`make run`)
 *   $TMPDIR/edgedns-<uid>/admin.sock   anything else; the folder must be ours and private
 */
export function defaultAdminSocket(r: RuntimeEnv = currentRuntimeEnv()): string {
  // systemd may list several folders separated by ':'; ours is the first.
  const systemd = r.env.RUNTIME_DIRECTORY?.split(':')[0];
  if (systemd) return join(systemd, SOCKET_NAME);
  if (r.uid === 0) return join(SYSTEM_RUNTIME_DIR, SOCKET_NAME);
  const xdg = r.env.XDG_RUNTIME_DIR;
  if (xdg) return join(xdg, 'edgedns', SOCKET_NAME);
  return join(tmpdir(), `edgedns-${r.uid}`, SOCKET_NAME);
}

/**
 * Where the CLI looks when not told: its own default, then the service's folder, so that an
 * operator in the service's group reaches a systemd or container node without a flag.
 */
export function adminSocketCandidates(r: RuntimeEnv = currentRuntimeEnv()): string[] {
  return [...new Set([defaultAdminSocket(r), join(SYSTEM_RUNTIME_DIR, SOCKET_NAME)])];
}
