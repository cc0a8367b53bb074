// A validating Unbound on a free loopback port: a trust anchor per signed zone and a stub zone
// sending that zone's questions to a server on 127.0.0.1 (edgedns, or Knot to check the zones
// themselves). Foreground (`-d`), no privileges dropped, everything in its own temporary folder,
// stopped by its pid.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../bench/procs.ts';
import { ask } from './dns-compare.ts';
import { startDaemon } from './daemon.ts';
import { tempDir } from './tmp.ts';

export interface ValidatedZone {
  /** Absolute origin. */
  origin: string;
  /** One zone file line, `owner IN DS …` or `owner IN DNSKEY …`. */
  trustAnchor: string;
  /** The authoritative server for the zone; only loopback. */
  server: { host: string; port: number };
}

export interface RunningValidator {
  host: string;
  port: number;
  pid: number;
  /** What Unbound logged so far (val-log-level 2: one line per bogus answer, with the reason). */
  log(): string;
  stop(): Promise<void>;
}

export function validatorConfig(dir: string, port: number, zones: ValidatedZone[]): string {
  return `server:
  interface: 127.0.0.1@${port}
  port: ${port}
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${join(dir, 'unbound.pid')}"
  use-syslog: no
  logfile: ""
  verbosity: 1
  val-log-level: 2
  num-threads: 1
  do-ip6: no
  # Questions leave from loopback only: a referral to a documentation address (the delegations'
  # glue) cannot reach past this machine.
  outgoing-interface: 127.0.0.1
  access-control: 127.0.0.0/8 allow
  module-config: "validator iterator"
  do-not-query-localhost: no
  # Unbound answers the special-use name test. (RFC 6761) itself unless told not to.
  local-zone: "test." nodefault
${zones.map((z) => `  trust-anchor: "${z.trustAnchor}"\n`).join('')}
${zones.map((z) => `stub-zone:\n  name: "${z.origin}"\n  stub-addr: ${z.server.host}@${z.server.port}\n`).join('')}`;
}

/** Start Unbound validating `zones`; resolves once it answers (whatever it answers). */
export async function startValidator(zones: ValidatedZone[]): Promise<RunningValidator> {
  for (const z of zones) {
    if (!/^127\./.test(z.server.host)) throw new Error(`not a loopback server: ${z.server.host}`);
  }
  const dir = tempDir('edgedns-validator-');
  const port = await freePort();
  const conf = join(dir, 'unbound.conf');
  writeFileSync(conf, validatorConfig(dir, port, zones));
  const host = '127.0.0.1';
  const d = await startDaemon({
    name: 'unbound',
    bin: 'unbound',
    args: ['-d', '-c', conf],
    dir,
    stdout: true,
    // Ready when it answers at all (SERVFAIL included: whether the zones validate is the tests' business).
    ready: async () => {
      const first = zones[0];
      if (!first) return true;
      const r = await ask({ host, port }, { name: first.origin, type: 'SOA', options: ['+time=1'] }).catch(
        () => undefined,
      );
      return r !== undefined;
    },
    what: `unbound answering on ${host}:${port}`,
  });
  return { host, port, ...d };
}
