// BIND's named as the other implementation: started in the foreground (`named -g`) in its own
// temporary folder, on 127.0.0.1 and a free port, authoritative for one tiny zone, no rndc; stopped
// by its pid.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../bench/procs.ts';
import type { TsigKey } from '../../src/wire/index.ts';
import { dig } from './dig.ts';
import { startDaemon } from './daemon.ts';
import { tempDir } from './tmp.ts';

export interface NamedOptions {
  /** `cookie-secret`: 32 hex digits (SipHash-2-4 cookies, RFC 9018). */
  cookieSecret?: string;
  /** `require-server-cookie`: answer a UDP query that lacks a valid server cookie with BADCOOKIE. */
  requireServerCookie?: boolean;
  /** Records for the zone besides its SOA, NS and the two A records (zone file lines). */
  moreRecords?: string;
  /** Zone transfers only to requests signed with this key (else none at all). */
  transferKey?: TsigKey;
  /** As a primary: dynamic updates signed with `transferKey` (nsupdate), a journal, so IXFR. */
  updates?: boolean;
  /** As a primary: NOTIFY (signed with `transferKey`) to 127.0.0.1 on this port, and to no one else. */
  notifyPort?: number;
  /** The SOA's serial and timers, "SERIAL REFRESH RETRY EXPIRE MINIMUM" (default "1 3600 600 86400 300"). */
  soa?: string;
  /** Listen on this port (default: a free one). */
  port?: number;
}

export interface RunningNamed {
  host: string;
  port: number;
  pid: number;
  /** The zone it serves: `www.<zone>` has A 192.0.2.80. */
  zone: string;
  /** What named wrote to stderr so far (it logs there with -g). */
  log(): string;
  stop(): Promise<void>;
  /** Change the zone with nsupdate (signed with the transfer key): `commands` like "update add …". */
  update(commands: string[]): Promise<void>;
}

export const NAMED_ZONE = 'cookie.example.test';

/** The zone file named serves, as written. */
export function namedZoneText(opts: NamedOptions = {}): string {
  return `$TTL 300
@    IN SOA ns.${NAMED_ZONE}. hostmaster.${NAMED_ZONE}. ${opts.soa ?? '1 3600 600 86400 300'}
     IN NS  ns.${NAMED_ZONE}.
ns   IN A   192.0.2.53
www  IN A   192.0.2.80
${opts.moreRecords ?? ''}`;
}

/** The path of named, or undefined when BIND is not installed (`scripts/install-deps.sh test` installs it). */
export function namedPath(): string | undefined {
  for (const p of ['/usr/sbin/named', '/usr/local/sbin/named']) if (spawnSync(p, ['-v']).status === 0) return p;
  const found = spawnSync('sh', ['-c', 'command -v named'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
}

/** named.conf's options (an authority on 127.0.0.1:`port`, everything in `dir`), `extra` lines
 * inside them, and no control channel. */
export function namedOptions(dir: string, port: number, extra: string): string {
  return `options {
  directory "${dir}";
  pid-file "${join(dir, 'named.pid')}";
  session-keyfile "${join(dir, 'session.key')}";
  managed-keys-directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
${extra}};
controls { };`;
}

export async function startNamed(opts: NamedOptions = {}): Promise<RunningNamed> {
  const bin = namedPath();
  if (!bin) throw new Error('named (BIND 9) is not installed: scripts/install-deps.sh test installs bind9');
  const dir = tempDir('edgedns-named-');
  const port = opts.port ?? (await freePort());
  writeFileSync(join(dir, 'zone.db'), namedZoneText(opts));
  const k = opts.transferKey;
  const keyClause = k
    ? `key "${k.name}" { algorithm ${k.algorithm}; secret "${Buffer.from(k.secret).toString('base64')}"; };\n`
    : '';
  const conf = join(dir, 'named.conf');
  writeFileSync(
    conf,
    `${namedOptions(
      dir,
      port,
      `  notify ${opts.notifyPort ? 'explicit' : 'no'};
  notify-delay 0;
${opts.cookieSecret ? `  cookie-secret "${opts.cookieSecret}";\n` : ''}  require-server-cookie ${opts.requireServerCookie ? 'yes' : 'no'};
`,
    )}
${keyClause}zone "${NAMED_ZONE}" {
  type primary; file "${join(dir, 'zone.db')}";
  allow-transfer { ${k ? `key "${k.name}";` : 'none;'} };
${opts.updates && k ? `  allow-update { key "${k.name}"; };\n` : ''}${opts.notifyPort && k ? `  also-notify { 127.0.0.1 port ${opts.notifyPort} key "${k.name}"; };\n` : ''}};
`,
  );
  // As root, named keeps running as root (no -u): it only binds an unprivileged port here.
  // Ready when it answers the zone's SOA (without a cookie: require-server-cookie spares cookie-less clients).
  const d = await startDaemon({
    name: 'named',
    bin,
    args: ['-g', '-4', '-n', '1', '-c', conf],
    dir,
    ready: async () =>
      (await dig({ host: '127.0.0.1', port }, ['+time=1', '+nocookie', NAMED_ZONE, 'SOA']).catch(() => undefined))
        ?.status === 'NOERROR',
    what: `named answering on 127.0.0.1:${port}`,
  });
  // pid is set: the process answered queries.
  const update = async (commands: string[]): Promise<void> => {
    if (!k) throw new Error('updates need a transferKey');
    const script = [`server 127.0.0.1 ${port}`, `zone ${NAMED_ZONE}`, ...commands, 'send', ''].join('\n');
    const r = spawnSync('nsupdate', ['-y', `${k.algorithm}:${k.name}:${Buffer.from(k.secret).toString('base64')}`], {
      input: script,
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (r.status !== 0) throw new Error(`nsupdate failed (${r.status}): ${r.stderr}`);
  };
  return { host: '127.0.0.1', port, zone: NAMED_ZONE, ...d, update };
}
