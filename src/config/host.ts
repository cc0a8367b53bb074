// What a config needs from the host it runs on — folders, sockets, FIFOs, files and commands —
// checked where the check runs. Warnings, not errors: a config is often checked on a machine that
// is not its target (a laptop, CI), where BIRD's socket or a hook script does not exist.

import type { Stats } from 'node:fs';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve as resolvePath } from 'node:path';
import type { Config } from './config.js';
import type { UpstreamConfig } from './upstreams.js';

export interface HostEnv {
  /** The folder relative paths of the config are resolved from (its own folder). */
  base: string;
  /** $PATH, where commands without a slash are looked up (as execFile does). */
  path: string | undefined;
}

type Kind = 'folder' | 'socket' | 'fifo' | 'file';

const IS: Record<Kind, (s: Stats) => boolean> = {
  folder: (s) => s.isDirectory(),
  socket: (s) => s.isSocket(),
  fifo: (s) => s.isFIFO(),
  file: (s) => s.isFile(),
};

/** Why `p` is not a usable `kind`, or undefined when it is. */
function missing(p: string, kind: Kind, mode = constants.F_OK): string | undefined {
  let s: Stats;
  try {
    s = statSync(p);
  } catch (e) {
    const code = (e as { code?: string }).code;
    return code === 'ENOENT' || code === 'ENOTDIR'
      ? `${kind} ${p} does not exist`
      : `${kind} ${p} cannot be checked (${code ?? 'error'})`;
  }
  if (!IS[kind](s)) return `${p} is not a ${kind}`;
  try {
    accessSync(p, mode);
  } catch {
    return `${kind} ${p} is not ${mode === constants.X_OK ? 'executable' : 'readable'} by this user`;
  }
  return undefined;
}

/** A command as execFile finds it: a path when it has a slash, else the first match on $PATH. */
function missingCommand(cmd: string, env: HostEnv): string | undefined {
  if (cmd.includes('/')) return missing(cmd, 'file', constants.X_OK)?.replace(/^file /, 'command ');
  const dirs = (env.path ?? '').split(delimiter).filter(Boolean);
  const found = dirs.some((d) => missing(join(d, cmd), 'file', constants.X_OK) === undefined);
  return found ? undefined : `command "${cmd}" is not on PATH (${dirs.join(delimiter) || 'empty'})`;
}

/**
 * Every file, socket and command the config names that is missing here, as "key: problem". The
 * paths are those the node opens: cookie and TSIG secrets relative to the config's folder, the others as
 * written (relative to the working directory, as the adapters and the admin endpoint use them).
 */
export function hostWarnings(c: Config, env: HostEnv): string[] {
  const w: string[] = [];
  const check = (key: string, problem: string | undefined): void => {
    if (problem !== undefined) w.push(`${key}: ${problem}`);
  };
  const a = c.announce;
  switch (a.adapter) {
    case 'exec':
      if (a.exec.command) check('announce.exec.command', missingCommand(a.exec.command, env));
      break;
    case 'bird':
      // BIRD reads the include files; the node rewrites them by renaming a file beside each.
      for (const [key, file] of [
        ['includeFile', a.bird.includeFile],
        ['includeFile6', a.bird.includeFile6],
      ] as const) {
        if (file) check(`announce.bird.${key}`, missing(dirname(file), 'folder'));
      }
      check('announce.bird.socket', missing(a.bird.socket, 'socket'));
      check('announce.bird.birdc', missingCommand(a.bird.birdc, env));
      break;
    case 'exabgp':
      if (a.exabgp.pipe) check('announce.exabgp.pipe', missing(a.exabgp.pipe, 'fifo'));
      break;
    case 'gobgp':
      check('announce.gobgp.command', missingCommand(a.gobgp.command, env));
      break;
    case 'none':
      break;
  }
  if (c.health.command) check('health.command.command', missingCommand(c.health.command.command, env));
  if (c.health.drainFile) check('health.drainFile', missing(dirname(c.health.drainFile), 'folder'));
  const fromBase = (p: string): string => (isAbsolute(p) ? p : resolvePath(env.base, p));
  if (c.cookies.secretFile)
    check('cookies.secretFile', missing(fromBase(c.cookies.secretFile), 'file', constants.R_OK));
  if (c.cookies.previousSecretFile)
    check('cookies.previousSecretFile', missing(fromBase(c.cookies.previousSecretFile), 'file', constants.R_OK));
  if (c.admin.tokenFile) check('admin.tokenFile', missing(c.admin.tokenFile, 'file', constants.R_OK));
  if (c.resolver.tlsCaFile)
    check('resolver.tlsCaFile', missing(fromBase(c.resolver.tlsCaFile), 'file', constants.R_OK));
  const caFiles = (ups: readonly UpstreamConfig[] | null, at: string): void =>
    ups?.forEach((u, i) => {
      if (u.tls?.caFile) check(`${at}[${i}].tls.caFile`, missing(fromBase(u.tls.caFile), 'file', constants.R_OK));
    });
  caFiles(c.upstreams, 'upstreams');
  c.forward.forEach((f, i) => caFiles(f.upstreams, `forward[${i}].upstreams`));
  c.zones.transferTo.forEach((t, i) => {
    if (t.tsig)
      check(`zones.transferTo[${i}].tsig.secretFile`, missing(fromBase(t.tsig.secretFile), 'file', constants.R_OK));
  });
  return w;
}
