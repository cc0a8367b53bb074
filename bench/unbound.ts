// The Unbound config the harness runs: one thread, the same local zone (as an auth-zone from the
// same file), the same upstream, and a cache comparable to edgedns's.

export interface UnboundConfigOptions {
  port: number;
  dir: string;
  zoneFile: string;
  zone: string;
  upstreamPort: number;
  /** Another auth-zone (the signed zone of zone-signed), answered with its DNSSEC records. */
  signed?: { zone: string; zoneFile: string } | null;
  /** The caches' sizes in MB (the hit-N servers hold up to 1M answers); 64 and 128 otherwise. */
  cacheMb?: { msg: number; rrset: number };
  /** unbound-control on this Unix socket, without certificates (its stats: the cache's counts). */
  controlSocket?: string;
}

/**
 * The start of every Unbound config run on loopback here (the harness's and the tests'): the
 * `server:` clause with one address and port, in the foreground, no privileges dropped, no files
 * but `dir`, IPv4 only, loopback clients. Callers add their own `server:` lines after it.
 */
export function unboundServer(o: { port: number; dir: string }): string {
  return `server:
  interface: 127.0.0.1@${o.port}
  port: ${o.port}
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "${o.dir}"
  pidfile: ""
  use-syslog: no
  logfile: ""
  do-ip6: no
  access-control: 127.0.0.0/8 allow
`;
}

export function unboundConfig(o: UnboundConfigOptions): string {
  return `${unboundServer(o)}  num-threads: 1
  verbosity: 0
  # Loopback upstream without DNSSEC: compare forwarding and caching, not validation.
  module-config: "iterator"
  do-not-query-localhost: no
  msg-cache-size: ${o.cacheMb?.msg ?? 64}m
  rrset-cache-size: ${o.cacheMb?.rrset ?? 128}m
  prefetch: yes
  serve-expired: yes
  minimal-responses: yes
  so-rcvbuf: 4m
  so-sndbuf: 4m
  incoming-num-tcp: 100
  # Unbound answers the special-use name test. (RFC 6761) itself unless told not to.
  local-zone: "test." nodefault
${[{ zone: o.zone, zoneFile: o.zoneFile }, ...(o.signed ? [o.signed] : [])]
  .map(
    (z) => `auth-zone:
  name: "${z.zone}"
  zonefile: "${z.zoneFile}"
  for-downstream: yes
  for-upstream: no
`,
  )
  .join('')}forward-zone:
  name: "."
  forward-addr: 127.0.0.1@${o.upstreamPort}
${
  o.controlSocket
    ? `remote-control:
  control-enable: yes
  control-interface: "${o.controlSocket}"
  control-use-cert: no
`
    : ''
}`;
}
