// The one config: its shape, the defaults (in one place), loading YAML and validating into a
// frozen object. Unknown keys are errors and every error names its path.

import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { YAMLException, load as parseYaml } from 'js-yaml';
import type { CacheLimits } from '../cache/index.js';
import { EdgeError, ErrorCode, defaultAdminSocket, parseCidr } from '../core/index.js';
import { crossChecks } from './checks.js';
import type { FleetConfig } from './fleet.js';
import type { SecondaryZoneConfig, TransferToConfig } from './secondary.js';
import { secondarySchema, transferToSchema } from './secondary.js';
import type { EncryptedConfig } from './encrypted.js';
import { ENCRYPTED_DEFAULTS, encryptedSchema } from './encrypted.js';
import { FLEET_DEFAULTS, fleetSchema } from './fleet.js';
import type { ForwardZoneConfig, UpstreamConfig } from './upstreams.js';
import { forwardSchema, upstreamsSchema } from './upstreams.js';
import type { HostPort } from './schema.js';
import {
  address,
  adminListen,
  bool,
  cidr,
  duration,
  fraction,
  hostName,
  hostPort,
  int,
  list,
  obj,
  oneOf,
  optional,
  size,
  socketPath,
  str,
  strOrFalse,
  withDefaults,
} from './schema.js';

export interface ZoneFileConfig {
  file: string;
  origin: string;
}

export interface Config extends EncryptedConfig {
  site: {
    /** NSID and id.server; null = the host name. */
    id: string | null;
    /** hostname.bind; null = the host name. */
    hostname: string | null;
    /** version.bind/version.server; null = "edgedns <version>", false = hidden (REFUSED). */
    version: string | false | null;
  };
  listen: HostPort[];
  /** Processes answering DNS: 1 = this one; N > 1 = N worker processes sharing the listeners. */
  workers: number;
  /** `dir`: every `*.zone` in it (origin = file name without `.zone`); null for none. */
  /** Zone files: every `*.zone` of `dir`, and `files`. `serialPolicy`: on reload, a zone whose
   * content changed must have a higher SOA serial (`increase`), or any serial goes (`any`, as BIND). */
  zones: {
    dir: string | null;
    files: ZoneFileConfig[];
    serialPolicy: 'increase' | 'any';
    /** Zones transferred from primaries (AXFR/IXFR with NOTIFY; not served yet: issue 16). */
    secondary: SecondaryZoneConfig[];
    /** Who may transfer the zones out. */
    transferTo: TransferToConfig[];
  };
  edns: { udpPayload: number };
  tcp: {
    maxConnections: number;
    maxPerClient: number;
    firstQueryTimeout: number;
    messageTimeout: number;
    idleTimeout: number;
    maxInFlight: number;
    maxUnwritten: number;
    drainTimeout: number;
    maxUnwrittenTotal: number;
  };
  /** Upstream resolvers (plain DNS or DNS over TLS); null = the nameservers of /etc/resolv.conf. */
  upstreams: UpstreamConfig[] | null;
  /** Zones whose names go to upstreams of their own (longest suffix wins), with their own recursion ACL when set. */
  forward: ForwardZoneConfig[];
  /**
   * `querySource`/`querySourceV6`: the address upstream queries leave from (null = the kernel's
   * choice). `tlsCaFile`: the CAs DNS-over-TLS upstreams are checked against (null = the system's
   * and NODE_EXTRA_CA_CERTS); `tlsIdleTimeout`: a DoT connection with nothing in flight this long is closed.
   */
  resolver: {
    timeout: number;
    deadline: number;
    querySource: string | null;
    querySourceV6: string | null;
    tlsCaFile: string | null;
    tlsIdleTimeout: number;
  };
  /** Caps on upstream queries in flight (RFC 9520 §3.3): in total, and per zone of the name asked. */
  fetchLimits: { inFlight: number; perZone: number };
  cache: CacheLimits;
  recursion: { allow: string[] };
  /** Response rate limiting of UDP answers not forwarded (BIND rate-limit, Knot mod-rrl); null = off. */
  rateLimit: {
    responsesPerSecond: number;
    window: number;
    slip: number;
    ipv4Prefix: number;
    ipv6Prefix: number;
    logOnly: boolean;
  } | null;
  /** DNS cookies (RFC 7873, RFC 9018): the shared secret, and the one before it during a rollover. */
  cookies: { secretFile: string | null; previousSecretFile: string | null };
  health: {
    interval: number;
    fastInterval: number;
    rise: number;
    fall: number;
    /** While this file exists the node is drained (DISABLED); null = drains are not persistent. */
    drainFile: string | null;
    holdDown: { initial: number; max: number; decay: number };
    /** Whether failing shared checks (upstreams) withdraw too. */
    sharedWithdraw: boolean;
    probeTimeout: number;
    /** Above it the node is overloaded (it sheds load), not broken; a stall of seconds is broken. */
    maxEventLoopLag: number;
    /** Overloaded also when the busiest process's event loop is busier than this, or the kernel drops more UDP queries a second. */
    overload: { maxUtilization: number; maxDropRate: number; maxUdpQueue: number };
    maxHeapFraction: number;
    /** An operator's check command: exit 0 passes. */
    command: { command: string; args: string[]; timeout: number } | null;
  };
  announce: {
    prefixes: string[];
    adapter: 'exec' | 'bird' | 'exabgp' | 'gobgp' | 'none';
    dryRun: boolean;
    exec: { command: string | null; args: string[]; timeout: number };
    bird: { includeFile: string | null; includeFile6: string | null; socket: string; birdc: string; timeout: number };
    exabgp: { pipe: string | null; timeout: number };
    gobgp: { command: string; args: string[]; timeout: number };
    /** While SHEDDING, announce a worse path (AS path prepended with `asn`, and/or MED) instead of the normal one; null = the normal one. */
    deprefer: { asn: number; prepend: number; med: number | null } | null;
    reconcileInterval: number;
    shutdownLinger: number;
    withdrawTimeout: number;
  };
  guard: { interval: number; timeout: number; fall: number };
  /** The fleet of sites this node belongs to (fleet.ts); no peers = a single node. */
  fleet: FleetConfig;
  /**
   * The admin HTTP endpoint, on TCP (`listen`) and on a Unix socket (`socket`, an absolute path);
   * null turns either off. Mutations need the socket or, over TCP, the token of `tokenFile`.
   */
  admin: { listen: HostPort | null; socket: string | null; tokenFile: string | null; hosts: string[] };
  log: {
    /** Changed by a reload. */
    level: 'debug' | 'info' | 'warn' | 'error';
    /** `json` lines (for a collector) or `text` lines (for a terminal): the same fields. */
    format: 'json' | 'text';
    /** The query log: off, a sample of `sampleRate`, or every query. */
    queries: 'off' | 'sample' | 'all';
    sampleRate: number;
  };
}

/** Every default, in one place. */
export const DEFAULTS = {
  site: { id: null, hostname: null, version: null },
  listen: ['127.0.0.1:5353'],
  ...ENCRYPTED_DEFAULTS,
  workers: 1,
  zones: {
    dir: './zones' as string | null,
    files: [] as ZoneFileConfig[],
    serialPolicy: 'increase' as 'increase' | 'any',
    secondary: [] as SecondaryZoneConfig[],
    transferTo: [] as TransferToConfig[],
  },
  // RFC 9715 / DNS Flag Day 2020: 1232 avoids IP fragmentation on common paths.
  edns: { udpPayload: 1232 },
  // RFC 7766 §6: caps so that one client cannot hold everything, deadlines that a trickle cannot
  // extend. 16 per client leaves room for a resolver farm behind one NAT address (BIND's
  // tcp-clients is 150 in total, dnsdist suggests 10-20 per client); 5 s for a first query and
  // for any one message is far beyond any real client's round trip; 10 s idle (RFC 7766 §6.2.3:
  // seconds, not minutes). 128 KiB unwritten is two maximum-size answers: a client that reads
  // never waits on it; 16 MiB over all connections bounds what non-readers can pin.
  tcp: {
    maxConnections: 1000,
    maxPerClient: 16,
    firstQueryTimeout: '5s',
    messageTimeout: '5s',
    idleTimeout: '10s',
    maxInFlight: 100,
    maxUnwritten: '128KiB',
    drainTimeout: '5s',
    maxUnwrittenTotal: '16MiB',
  },
  upstreams: null,
  forward: [] as ForwardZoneConfig[],
  // A client gets an answer or SERVFAIL within about 2 s (RFC 8767 §5 suggests 1.8 s). A DoT
  // connection is kept while used and closed 10 s after its last answer (RFC 7858 §3.4: reuse;
  // RFC 7766 §6.2.3's idle timeout in seconds, as our own listeners use).
  resolver: {
    timeout: '700ms',
    deadline: '1800ms',
    querySource: null,
    querySourceV6: null,
    tlsCaFile: null,
    tlsIdleTimeout: '10s',
  },
  // BIND's recursive-clients is 1000 and fetches-per-zone 0..; Unbound's ratelimit 1000 q/s per zone.
  // 2000 in flight is 2000 upstream queries waiting at once, far above what a site's own clients
  // need (misses × RTT), and 100 per zone keeps one zone under torture from taking them all.
  fetchLimits: { inFlight: 2000, perZone: 100 },
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
  // See README "Abuse defences": a resolver asks the same name and type once per TTL, so 20
  // identical answers a second to one /24 is far beyond what any resolver farm behind a NAT sends.
  rateLimit: { responsesPerSecond: 20, window: '15s', slip: 2, ipv4Prefix: 24, ipv6Prefix: 56, logOnly: false },
  cookies: { secretFile: null, previousSecretFile: null },
  recursion: {
    allow: ['127.0.0.0/8', '::1/128', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', 'fe80::/10'],
  },
  // A LAN-speed failover: a dead node is withdrawn after fall×fast checks (3 × 250 ms) once
  // FALLING; a healthy one announces after rise×fast (5 × 250 ms). See README "Health".
  health: {
    interval: '1s',
    fastInterval: '250ms',
    rise: 5,
    fall: 3,
    drainFile: null,
    holdDown: { initial: '10s', max: '5m', decay: '10m' },
    sharedWithdraw: false,
    probeTimeout: '500ms',
    maxEventLoopLag: '500ms',
    overload: { maxUtilization: 0.9, maxDropRate: 100, maxUdpQueue: '512KiB' },
    maxHeapFraction: 0.9,
    command: null,
  },
  announce: {
    prefixes: [] as string[],
    adapter: 'none',
    dryRun: false,
    exec: { command: null, args: [] as string[], timeout: '5s' },
    bird: { includeFile: null, includeFile6: null, socket: '/run/bird/bird.ctl', birdc: 'birdc', timeout: '5s' },
    exabgp: { pipe: null, timeout: '5s' },
    gobgp: { command: 'gobgp', args: [] as string[], timeout: '5s' },
    deprefer: null,
    reconcileInterval: '30s',
    shutdownLinger: '5s',
    withdrawTimeout: '5s',
  },
  guard: { interval: '200ms', timeout: '250ms', fall: 3 },
  fleet: FLEET_DEFAULTS,
  // "auto": the service's runtime folder (see core/paths.ts), so that `make run` and systemd agree with the CLI.
  admin: { listen: '127.0.0.1:9153', socket: 'auto', tokenFile: null, hosts: [] as string[] },
  log: { level: 'info', format: 'json', queries: 'off', sampleRate: 0.01 },
} as const;

const schema = obj<Config>({
  site: obj({ id: optional(str()), hostname: optional(str()), version: optional(strOrFalse()) }),
  listen: list(hostPort(53, true)),
  ...encryptedSchema,
  workers: int(1, 64),
  zones: obj({
    dir: optional(str()),
    files: list(obj({ file: str(), origin: str() })),
    serialPolicy: oneOf(['increase', 'any'] as const),
    secondary: secondarySchema,
    transferTo: transferToSchema,
  }),
  edns: obj({ udpPayload: int(512, 4096) }),
  tcp: obj({
    maxConnections: int(1, 1_000_000),
    maxPerClient: int(1, 1_000_000),
    firstQueryTimeout: duration(3_600_000),
    messageTimeout: duration(3_600_000),
    idleTimeout: duration(3_600_000),
    maxInFlight: int(1, 10_000),
    maxUnwritten: size(),
    drainTimeout: duration(3_600_000),
    maxUnwrittenTotal: size(),
  }),
  upstreams: upstreamsSchema,
  forward: forwardSchema,
  resolver: obj({
    timeout: duration(60_000),
    deadline: duration(60_000),
    querySource: optional(address(isIPv4, 'an IPv4 address')),
    querySourceV6: optional(address(isIPv6, 'an IPv6 address')),
    tlsCaFile: optional(str()),
    tlsIdleTimeout: duration(3_600_000),
  }),
  fetchLimits: obj({ inFlight: int(1, 1_000_000), perZone: int(1, 1_000_000) }),
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
  rateLimit: optional(
    obj({
      responsesPerSecond: int(1, 1_000_000),
      window: duration(3_600_000),
      slip: int(0, 10),
      ipv4Prefix: int(8, 32),
      ipv6Prefix: int(16, 128),
      logOnly: bool(),
    }),
  ),
  cookies: obj({ secretFile: optional(str()), previousSecretFile: optional(str()) }),
  health: obj({
    interval: duration(60_000),
    fastInterval: duration(60_000),
    rise: int(1, 100),
    fall: int(1, 100),
    drainFile: optional(str()),
    holdDown: obj({ initial: duration(), max: duration(), decay: duration() }),
    sharedWithdraw: bool(),
    probeTimeout: duration(60_000),
    maxEventLoopLag: duration(60_000),
    overload: obj({ maxUtilization: fraction(), maxDropRate: int(0, 100_000_000), maxUdpQueue: size() }),
    maxHeapFraction: fraction(),
    command: optional(obj({ command: str(), args: list(str()), timeout: duration(600_000) })),
  }),
  announce: obj({
    prefixes: list(cidr((s) => parseCidr(s) !== undefined && s.includes('/'))),
    adapter: oneOf(['exec', 'bird', 'exabgp', 'gobgp', 'none'] as const),
    dryRun: bool(),
    exec: obj({ command: optional(str()), args: list(str()), timeout: duration(600_000) }),
    bird: obj({
      includeFile: optional(str()),
      includeFile6: optional(str()),
      socket: str(),
      birdc: str(),
      timeout: duration(600_000),
    }),
    exabgp: obj({ pipe: optional(str()), timeout: duration(600_000) }),
    gobgp: obj({ command: str(), args: list(str()), timeout: duration(600_000) }),
    deprefer: optional(
      withDefaults(
        { asn: 0, prepend: 0, med: null },
        obj({ asn: int(0, 4_294_967_295), prepend: int(0, 16), med: optional(int(0, 4_294_967_295)) }),
      ),
    ),
    reconcileInterval: duration(),
    shutdownLinger: duration(3_600_000),
    withdrawTimeout: duration(600_000),
  }),
  guard: obj({ interval: duration(60_000), timeout: duration(60_000), fall: int(1, 100) }),
  fleet: fleetSchema,
  admin: obj({
    listen: optional(adminListen(9153)),
    socket: optional(socketPath(() => defaultAdminSocket())),
    tokenFile: optional(str()),
    hosts: list(hostName()),
  }),
  log: obj({
    level: oneOf(['debug', 'info', 'warn', 'error'] as const),
    format: oneOf(['json', 'text'] as const),
    queries: oneOf(['off', 'sample', 'all'] as const),
    sampleRate: fraction(),
  }),
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
  const merged = merge(DEFAULTS, raw ?? {});
  const problems: string[] = [];
  const config = schema(merged, '', problems);
  if (problems.length === 0) problems.push(...crossChecks(config));
  if (problems.length > 0) {
    throw new EdgeError(
      ErrorCode.CONFIG_INVALID,
      `${source}: invalid config:\n  ${problems.join('\n  ')}`,
      problems.map((p) => `${source}: ${p}`),
    );
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
    // js-yaml rejects duplicate keys by default.
    raw = parseYaml(text, { filename: path });
  } catch (e) {
    if (!(e instanceof YAMLException)) throw e;
    const m = e.mark;
    throw new EdgeError(
      ErrorCode.CONFIG_INVALID,
      `${path}${m ? `:${m.line + 1}:${m.column + 1}` : ''}: YAML syntax error: ${e.reason}`,
    );
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
