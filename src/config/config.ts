// The one config: its shape, the defaults (in one place), loading YAML and validating into a
// frozen object. Unknown keys are errors and every error names its path.

import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { EdgeError, ErrorCode, parseCidr } from '../core/index.js';
import type { HostPort } from './schema.js';
import { bool, cidr, duration, fraction, hostPort, int, list, obj, oneOf, optional, size, str, strOrFalse } from './schema.js';

export interface ZoneFileConfig {
  file: string;
  origin: string;
}

export interface Config {
  site: {
    /** NSID and id.server; null = the host name. */
    id: string | null;
    /** hostname.bind; null = the host name. */
    hostname: string | null;
    /** version.bind/version.server; null = "edgedns <version>", false = hidden (REFUSED). */
    version: string | false | null;
  };
  listen: HostPort[];
  /** `dir`: every `*.zone` in it (origin = file name without `.zone`); null for none. */
  zones: { dir: string | null; files: ZoneFileConfig[] };
  edns: { udpPayload: number };
  tcp: { idleTimeout: number; maxConnections: number; maxInFlight: number };
  /** Upstream resolvers; null = the nameservers of /etc/resolv.conf. */
  upstreams: HostPort[] | null;
  resolver: { timeout: number; deadline: number; socketReuse: number };
  cache: {
    maxEntries: number;
    maxBytes: number;
    minTtl: number;
    maxTtl: number;
    maxNegativeTtl: number;
    servfailTtl: number;
    maxStale: number;
    staleRecheck: number;
    prefetch: boolean;
  };
  recursion: { allow: string[] };
  /** The admin HTTP endpoint; listen null = off. */
  admin: { listen: HostPort | null; tokenFile: string | null };
  log: {
    level: 'debug' | 'info' | 'warn' | 'error';
    /** The query log: off, a sample of `sampleRate`, or every query. */
    queries: 'off' | 'sample' | 'all';
    sampleRate: number;
  };
}

/** Every default, in one place. */
export const DEFAULTS = {
  site: { id: null, hostname: null, version: null },
  listen: ['127.0.0.1:5353'],
  zones: { dir: './zones' as string | null, files: [] as ZoneFileConfig[] },
  // RFC 9715 / DNS Flag Day 2020: 1232 avoids IP fragmentation on common paths.
  edns: { udpPayload: 1232 },
  // RFC 7766 §6.2.3: idle timeouts of seconds; caps keep a client from holding everything.
  tcp: { idleTimeout: '10s', maxConnections: 1000, maxInFlight: 100 },
  upstreams: null,
  // A client gets an answer or SERVFAIL within about 2 s (RFC 8767 §5 suggests 1.8 s).
  resolver: { timeout: '700ms', deadline: '1800ms', socketReuse: 64 },
  cache: {
    maxEntries: 200_000,
    maxBytes: '128MiB',
    minTtl: '0s',
    maxTtl: '1d',
    maxNegativeTtl: '1h',
    servfailTtl: '5s',
    // RFC 8767 §5: serve stale up to 1 to 3 days; recheck a failing name every 30 s.
    maxStale: '1d',
    staleRecheck: '30s',
    prefetch: true,
  },
  // Never an open resolver by default: loopback and private ranges only.
  recursion: { allow: ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', 'fe80::/10'] },
  admin: { listen: '127.0.0.1:9153', tokenFile: null },
  log: { level: 'info', queries: 'off', sampleRate: 0.01 },
} as const;

const schema = obj<Config>({
  site: obj({ id: optional(str()), hostname: optional(str()), version: optional(strOrFalse()) }),
  listen: list(hostPort(53, true)),
  zones: obj({ dir: optional(str()), files: list(obj({ file: str(), origin: str() })) }),
  edns: obj({ udpPayload: int(512, 4096) }),
  tcp: obj({ idleTimeout: duration(3_600_000), maxConnections: int(1, 1_000_000), maxInFlight: int(1, 10_000) }),
  upstreams: optional(list(hostPort(53))),
  resolver: obj({ timeout: duration(60_000), deadline: duration(60_000), socketReuse: int(1, 100_000) }),
  cache: obj({
    maxEntries: int(1, 100_000_000),
    maxBytes: size(),
    minTtl: duration(),
    maxTtl: duration(),
    maxNegativeTtl: duration(),
    servfailTtl: duration(),
    maxStale: duration(30 * 86_400_000),
    staleRecheck: duration(),
    prefetch: bool(),
  }),
  recursion: obj({ allow: list(cidr((s) => parseCidr(s) !== undefined)) }),
  admin: obj({ listen: optional(hostPort(9153, true)), tokenFile: optional(str()) }),
  log: obj({ level: oneOf(['debug', 'info', 'warn', 'error'] as const), queries: oneOf(['off', 'sample', 'all'] as const), sampleRate: fraction() }),
});

export interface LoadedConfig {
  config: Readonly<Config>;
  /** Where it came from ("<defaults>" when no file). */
  source: string;
  /** sha256 of the file's bytes, to tell sites apart in /status. */
  hash: string;
}

/** Validate a raw object (from YAML) merged over the defaults. Throws EdgeError listing every problem. */
export function validateConfig(raw: unknown, source = '<config>'): Readonly<Config> {
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `${source}: expected a mapping at the top level`);
  }
  const merged = merge(DEFAULTS, (raw ?? {}) as Record<string, unknown>);
  const problems: string[] = [];
  const config = schema(merged, '', problems);
  if (problems.length > 0) {
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `${source}: invalid config:\n  ${problems.join('\n  ')}`, problems.map((p) => `${source}: ${p}`));
  }
  return deepFreeze(config);
}

/**
 * Load a config file (or only the defaults when `path` is undefined). `overrides` (command-line
 * flags) replace the file's values before validation, so they are checked the same way.
 */
export function loadConfig(path: string | undefined, overrides: Record<string, unknown> = {}): LoadedConfig {
  if (path === undefined) {
    return { config: validateConfig(overrides, '<defaults>'), source: '<defaults>', hash: hashOf('') };
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new EdgeError(ErrorCode.CONFIG_READ, `cannot read config ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (e) {
    const err = e as Error & { linePos?: { line: number; col: number }[] };
    const pos = err.linePos?.[0];
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `${path}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML syntax error: ${err.message.split('\n')[0]}`);
  }
  const withFlags = isMapping(raw) ? merge(raw, overrides) : raw;
  return { config: validateConfig(withFlags, path), source: path, hash: hashOf(text) };
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Merge `over` onto `base`: mappings merge key by key, everything else replaces. */
function merge(base: unknown, over: unknown): unknown {
  if (isMapping(base) && isMapping(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k], v) : v;
    return out;
  }
  return over === undefined ? base : over;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
