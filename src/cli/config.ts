// What the one-shot commands take from the node's config: where that config is, and which admin
// endpoint it names (its socket, or its TCP address and token). Kept apart from app.ts so that
// `edgedns status` and `edgedns drain` load the config and nothing else.

import { existsSync, lstatSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import type { Config } from '../config/index.js';
import { formatHostPort, loadConfig } from '../config/index.js';
import { EdgeError, ErrorCode, adminSocketCandidates, defaultAdminSocket } from '../core/index.js';
import type { LogFormat } from '../core/index.js';

/** Where the commands that talk to a node or its router look for its config without --config. */
export const DEFAULT_CONFIG_PATH = '/etc/edgedns/edgedns.yaml';
/** The admin endpoint's port when an address leaves it out. */
export const ADMIN_PORT = 9153;

const usage = (message: string): EdgeError => new EdgeError(ErrorCode.USAGE, message);

/** The default config path: $EDGEDNS_CONFIG (another install, tests), else /etc/edgedns/edgedns.yaml. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.EDGEDNS_CONFIG || DEFAULT_CONFIG_PATH;
}

/** The config to read: the one given, else the default path when that file exists, else none. */
export function findConfig(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (given !== undefined) return given;
  const p = defaultConfigPath(env);
  return existsSync(p) ? p : undefined;
}

/**
 * The config a route command (`announce`, `guard`) acts on. Without one there is no adapter and
 * no prefix: acting on the defaults (the `none` adapter) would report success and do nothing.
 */
export function requireConfig(
  given: string | undefined,
  command: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const found = findConfig(given, env);
  if (found === undefined) {
    throw usage(
      `${command}: needs the node's config (its adapter and prefixes): --config FILE; the default ${defaultConfigPath(env)} does not exist`,
    );
  }
  return found;
}

/**
 * The admin address in any form the admin endpoint is written in: ADDR:PORT, [v6]:PORT, a bare
 * address or host name, or http://HOST[:PORT][/path] (the port is 9153 when left out). Returns the
 * base URL, ending in "/".
 */
export function parseAdminAddress(text: string, what = '--admin'): URL {
  const bad = (): EdgeError =>
    usage(`${what}: expected ADDR:PORT, [v6]:PORT or http://HOST:PORT, got ${JSON.stringify(text)}`);
  if (isIPv6(text)) return new URL(`http://[${text}]:${ADMIN_PORT}/`);
  const m = /^(?:([a-z][a-z0-9+.-]*):\/\/)?(\[[0-9a-f:.]+\]|[a-z0-9][a-z0-9.-]*)(?::(\d{1,5}))?(\/[^?#\s]*)?$/i.exec(
    text,
  );
  if (!m) throw bad();
  const [, scheme, host, portText, path] = m as unknown as [
    string,
    string | undefined,
    string,
    string | undefined,
    string | undefined,
  ];
  if (scheme !== undefined && scheme.toLowerCase() !== 'http')
    throw usage(`${what}: the admin endpoint speaks plain http://, got ${JSON.stringify(text)}`);
  if (scheme === undefined && path !== undefined) throw bad();
  if (host.startsWith('[') && !isIPv6(host.slice(1, -1))) throw bad();
  const port = portText === undefined ? ADMIN_PORT : Number(portText);
  if (port < 1 || port > 65535) throw bad();
  try {
    return new URL(`http://${host}:${port}${path === undefined ? '/' : path.endsWith('/') ? path : `${path}/`}`);
  } catch {
    throw bad();
  }
}

/** Where to reach a node's admin endpoint, and with what. */
export type AdminEndpoint =
  | { kind: 'socket'; path: string; given: boolean; candidates: readonly string[]; config: string | undefined }
  | { kind: 'tcp'; url: URL; tokenFile: string | null; tokenFrom: string; config: string | undefined };

export interface AdminFlags {
  admin?: string;
  adminSocket?: string;
  tokenFile?: string;
  config?: string;
}

function isSocket(p: string): boolean {
  try {
    return lstatSync(p).isSocket();
  } catch {
    return false;
  }
}

/** The first socket that exists, else the first one (whose error then says where we looked). */
function chooseSocket(candidates: readonly string[]): string {
  return candidates.find(isSocket) ?? (candidates[0] as string);
}

/**
 * Choose the admin endpoint: flags first (--admin-socket, --admin with --token-file), then the
 * node's config (--config, else the default path when it exists): its socket when it is there,
 * else its TCP address with admin.tokenFile; with neither, the default sockets.
 */
export function adminEndpoint(o: AdminFlags, env: NodeJS.ProcessEnv = process.env): AdminEndpoint {
  if (o.admin !== undefined && o.adminSocket !== undefined)
    throw usage('--admin and --admin-socket exclude each other');
  if (o.adminSocket !== undefined) {
    if (o.tokenFile !== undefined)
      throw usage('--token-file goes with TCP (--admin ADDR:PORT); the socket needs no token');
    return { kind: 'socket', path: o.adminSocket, given: true, candidates: [o.adminSocket], config: undefined };
  }
  const url = o.admin === undefined ? undefined : parseAdminAddress(o.admin);
  // Flags that say everything need no config; an explicit --config is read all the same.
  const file = o.config ?? (url !== undefined && o.tokenFile !== undefined ? undefined : findConfig(undefined, env));
  const c: Config | undefined = file === undefined ? undefined : loadConfig(file).config;
  const tokenFrom = (t: string | null): { tokenFile: string | null; tokenFrom: string } =>
    o.tokenFile !== undefined
      ? { tokenFile: o.tokenFile, tokenFrom: '--token-file' }
      : { tokenFile: t, tokenFrom: `admin.tokenFile of ${file}` };
  if (url !== undefined) return { kind: 'tcp', url, ...tokenFrom(c?.admin.tokenFile ?? null), config: file };
  if (c === undefined) {
    if (o.tokenFile !== undefined)
      throw usage('--token-file goes with TCP (--admin ADDR:PORT); the socket needs no token');
    const candidates = adminSocketCandidates();
    return { kind: 'socket', path: chooseSocket(candidates), given: false, candidates, config: undefined };
  }
  const a = c.admin;
  // "auto" became this user's default at validation; look where the service puts it too.
  const candidates = a.socket === null ? [] : a.socket === defaultAdminSocket() ? adminSocketCandidates() : [a.socket];
  const present = candidates.find(isSocket);
  if (present !== undefined && o.tokenFile === undefined)
    return { kind: 'socket', path: present, given: false, candidates, config: file };
  if (a.listen !== null) {
    if (a.listen.port === 0)
      throw usage(
        `admin.listen of ${file} is port 0 (the kernel chooses at start): give --admin ADDR:PORT or --admin-socket PATH`,
      );
    const host = a.listen.host === '0.0.0.0' ? '127.0.0.1' : a.listen.host === '::' ? '::1' : a.listen.host;
    return {
      kind: 'tcp',
      url: parseAdminAddress(formatHostPort({ host, port: a.listen.port }), `admin.listen of ${file}`),
      ...tokenFrom(a.tokenFile),
      config: file,
    };
  }
  if (o.tokenFile !== undefined)
    throw usage(`--token-file goes with TCP, and admin.listen of ${file} is off: give --admin ADDR:PORT`);
  if (candidates.length > 0)
    return { kind: 'socket', path: chooseSocket(candidates), given: false, candidates, config: file };
  throw usage(`the admin endpoint is off in ${file} (admin.listen and admin.socket are null)`);
}

/** The log format a config asks for; JSON when there is none or it cannot be read. */
export function configuredLogFormat(path: string | undefined): LogFormat {
  try {
    return loadConfig(path).config.log.format;
  } catch {
    return 'json';
  }
}
