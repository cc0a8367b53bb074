// The `edgedns` command line (commander). No business logic: every command calls app.ts (or the
// small routing.ts for `announce`), loaded on demand so that one-shot commands start fast.

import { Command, CommanderError } from 'commander';
import {
  EdgeError,
  ErrorCode,
  VERSION,
  createLogger,
  isEdgeError,
  parseDuration,
  takeNotifySocket,
} from '../core/index.js';
import type { AdminClientOptions } from './admin-client.js';
import { adminRequest } from './admin-client.js';
import type { StatusDoc } from './format.js';
import { formatFleet, formatStatus, formatZones, isFleetDoc } from './format.js';

/**
 * Exit codes: 0 ok; 1 a zone file rejected (zone print/check, config check, serve, reload) or a
 * failed adapter call; 2 a usage or config error (reload of an invalid config included).
 */
export const EXIT = { OK: 0, REJECTED: 1, USAGE: 2 } as const;

/** The exit code for an error code, the same whether the error arose here or in a running node. */
export function exitFor(code: string | undefined): number {
  return code === ErrorCode.ZONE_PARSE || code === ErrorCode.ZONE_POLICY || code === ErrorCode.ANNOUNCE_FAILED
    ? EXIT.REJECTED
    : EXIT.USAGE;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('edgedns')
    .description('Anycast DNS edge node: authoritative zones, site identity, health-coupled route announcement')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText(
      'after',
      `
Examples:
  edgedns serve                                   serve ./zones on 127.0.0.1:5353 (UDP and TCP)
  edgedns serve --config /etc/edgedns/edgedns.yaml
  edgedns serve --listen 127.0.0.1:5353 --listen [::1]:5353 --zones ./zones
  edgedns serve --upstream 192.0.2.1:53 --allow-recursion 192.0.2.0/24 --site-id fra1
  edgedns zone check zones/example.test.zone example.test.
  edgedns zone print --generic zones/example.test.zone example.test.
  edgedns config check /etc/edgedns/edgedns.yaml
  edgedns status                                  the node of /etc/edgedns/edgedns.yaml (its admin socket, else its TCP address)
  edgedns status --admin 127.0.0.1:9153
  edgedns announce withdraw --config /etc/edgedns/edgedns.yaml

Commands that talk to a node (status, reload, cache flush, drain, undrain, drill fail) and route
commands (announce, guard) read the node's config: --config FILE, else $EDGEDNS_CONFIG or
/etc/edgedns/edgedns.yaml when it exists. Route commands refuse to run without one.`,
    );

  serveCommand(program);
  zoneCommands(program);
  nodeCommands(program);
  drillCommands(program);
  routeCommands(program);
  configCommands(program);
  return program;
}

/** `serve`. */
function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('answer DNS over UDP and TCP until SIGTERM/SIGINT; SIGHUP reloads config and zones')
    .option('-c, --config <file>', 'YAML config file (defaults apply without one)')
    .option('--listen <address:port>', 'listen address, repeatable; replaces the config (IPv6 as [::1]:5353)', collect)
    .option('--zones <dir>', 'serve every *.zone file in DIR (origin = file name without .zone)')
    .option(
      '--upstream <address:port>',
      'upstream resolver, repeatable; replaces the config (default: /etc/resolv.conf); tls://ADDR[:PORT]#NAME for DNS over TLS',
      collect,
    )
    .option('--allow-recursion <cidr>', 'clients allowed recursion, repeatable; replaces recursion.allow', collect)
    .option('--authoritative-only', 'answer only from the local zones: no forwarding (upstreams: [])')
    .option('--site-id <id>', 'site identity for NSID and id.server (default: the host name)')
    .option(
      '--admin <address:port>',
      'admin HTTP endpoint on TCP: ADDR:PORT, [v6]:PORT or http://ADDR:PORT (default 127.0.0.1:9153), or "off"',
    )
    .option(
      '--admin-socket <path>',
      'admin HTTP endpoint on a Unix socket (default: admin.sock in the runtime folder), or "off"',
    )
    .option('--workers <n>', 'processes answering DNS on the same sockets (default 1: this one)', (v) =>
      /^\d+$/.test(v) ? Number(v) : v,
    )
    .option('--dot <address:port>', 'DNS over TLS listen address, repeatable; replaces dot.listen (port 853)', collect)
    .option(
      '--doh <address:port>',
      'DNS over HTTPS listen address, repeatable; replaces doh.listen (port 443)',
      collect,
    )
    .option('--tls-cert <file>', 'PEM certificate chain of the DoT and DoH listeners (tls.certFile)')
    .option('--tls-key <file>', 'PEM private key of the DoT and DoH listeners (tls.keyFile)')
    .action(
      async (opts: {
        config?: string;
        listen?: string[];
        zones?: string;
        upstream?: string[];
        authoritativeOnly?: boolean;
        allowRecursion?: string[];
        siteId?: string;
        admin?: string;
        adminSocket?: string;
        workers?: number;
        dot?: string[];
        doh?: string[];
        tlsCert?: string;
        tlsKey?: string;
      }) => {
        if (opts.authoritativeOnly && opts.upstream)
          throw usage('--authoritative-only and --upstream exclude each other');
        if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined))
          throw usage('--tls-cert and --tls-key go together');
        const { EdgeNode } = await import('../node/index.js');
        // Out of the environment before anything runs: the node's children must not speak for it.
        const notifySocket = takeNotifySocket();
        const node = await startLogged(opts.config, () =>
          EdgeNode.start({
            ...(opts.config !== undefined && { configPath: opts.config }),
            ...(opts.listen !== undefined && { listen: opts.listen }),
            ...(opts.zones !== undefined && { zonesDir: opts.zones }),
            ...(opts.upstream !== undefined && { upstreams: opts.upstream }),
            ...(opts.authoritativeOnly === true && { upstreams: [] }),
            ...(opts.allowRecursion !== undefined && { allowRecursion: opts.allowRecursion }),
            ...(opts.siteId !== undefined && { siteId: opts.siteId }),
            ...(opts.admin !== undefined && { admin: opts.admin }),
            ...(opts.adminSocket !== undefined && { adminSocket: opts.adminSocket }),
            ...(opts.workers !== undefined && { workers: opts.workers }),
            ...(opts.dot !== undefined && { dot: opts.dot }),
            ...(opts.doh !== undefined && { doh: opts.doh }),
            ...(opts.tlsCert !== undefined && { tlsCert: opts.tlsCert }),
            ...(opts.tlsKey !== undefined && { tlsKey: opts.tlsKey }),
            ...(notifySocket !== undefined && { notifySocket }),
          }),
        );
        await node.runUntilSignalled();
      },
    );
}

/** `zone print`, `zone check` (files); `zone status`, `zone refresh` (a running node). */
function zoneCommands(program: Command): void {
  const zone = program.command('zone').description("zone files, and a running node's zones");
  zone
    .command('print')
    .description('parse a zone file (no zone policy) and print every record, one per line; exit 1 if rejected')
    .argument('<file>', 'zone file')
    .argument('<origin>', 'starting $ORIGIN, e.g. example.test.')
    .option('--generic', 'print RDATA in RFC 3597 form (\\# LEN HEX)')
    .action(async (file: string, origin: string, opts: { generic?: boolean }) => {
      const { printZone } = await import('../node/index.js');
      const lines = printZone(file, origin, opts.generic === true);
      process.stdout.write(lines.length ? `${lines.join('\n')}\n` : '');
    });
  zone
    .command('check')
    .description('parse a zone file and apply the zone policy a loading server applies; exit 1 if rejected')
    .argument('<file>', 'zone file')
    .argument('<origin>', 'zone origin, e.g. example.test.')
    .action(async (file: string, origin: string) => {
      const { checkZone } = await import('../node/index.js');
      process.stdout.write(`${checkZone(file, origin)}\n`);
    });
  adminOpts(zone.command('status'))
    .description("a running node's zones: serial, source, and for secondary zones refresh, expiry and errors")
    .option('--json', 'print the zones of the /status document as JSON')
    .action(async (opts: AdminClientOptions & { json?: boolean }) => {
      const s = await statusDoc(opts);
      process.stdout.write(
        opts.json ? `${JSON.stringify(s.zones, null, 2)}\n` : `${formatZones(s.zones).join('\n')}\n`,
      );
    });
  adminOpts(zone.command('refresh'))
    .description('check a secondary zone with its primaries now, and transfer it when it changed')
    .argument('<zone>', 'the zone, e.g. example.net.')
    .action(async (name: string, opts: AdminClientOptions) => {
      await postAction(opts, 'zone/refresh', { zone: name });
    });
}

/** GET /status of a running node, checked to be edgedns's. */
async function statusDoc(opts: AdminClientOptions): Promise<StatusDoc> {
  const r = await adminRequest(opts, 'GET', 'status');
  if (r.status !== 200) throw new EdgeError(ErrorCode.USAGE, `status: HTTP ${r.status}: ${r.text.trim()}`);
  if (!isStatusDoc(r.json))
    throw new EdgeError(
      ErrorCode.USAGE,
      'status: the answer is not the /status document of edgedns: is that its admin address?',
    );
  return r.json;
}

/** The options every command that talks to a running node takes. */
function adminOpts(cmd: Command): Command {
  return cmd
    .option(
      '-c, --config <file>',
      "the node's config, for its admin socket, address and token (default: $EDGEDNS_CONFIG or /etc/edgedns/edgedns.yaml when it exists)",
    )
    .option(
      '--admin-socket <path>',
      "the node's admin socket (default: the config's, else admin.sock in the runtime folder, then /run/edgedns/admin.sock)",
    )
    .option(
      '--admin <address:port>',
      'over TCP instead: ADDR:PORT, [v6]:PORT or http://HOST:PORT (port 9153 when left out)',
    )
    .option('--token-file <file>', "bearer token for changes over TCP (default: the config's admin.tokenFile)");
}

/** The commands that talk to a running node: `status`, `reload`, `cache flush`, `drain`, `undrain`. */
function nodeCommands(program: Command): void {
  adminOpts(program.command('status'))
    .description("a summary of a running node's /status (--json for the document)")
    .option('--json', 'print the raw JSON document')
    .option('--fleet', "the fleet's sites as this node sees them (/fleet)")
    .action(async (opts: AdminClientOptions & { json?: boolean; fleet?: boolean }) => {
      if (opts.fleet) {
        const f = await adminRequest(opts, 'GET', 'fleet');
        if (f.status === 404)
          throw new EdgeError(ErrorCode.USAGE, 'status --fleet: this node is not in a fleet (fleet.peers is empty)');
        if (f.status !== 200 || !isFleetDoc(f.json))
          throw new EdgeError(ErrorCode.USAGE, `status --fleet: HTTP ${f.status}: ${f.text.trim().slice(0, 200)}`);
        process.stdout.write(opts.json ? `${JSON.stringify(f.json, null, 2)}\n` : formatFleet(f.json));
        return;
      }
      const s = await statusDoc(opts);
      process.stdout.write(opts.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
    });

  adminOpts(program.command('reload'))
    .description('reload config and zones of a running node (as SIGHUP does)')
    .option(
      '--remove <zone...>',
      'stop serving these zones, whose files are gone (a reload keeps serving them otherwise)',
    )
    .action(async (opts: AdminClientOptions & { remove?: string[] }) => {
      // A refused reload exits as the check of what it refused would: 1 for a zone (as `zone
      // check`), 2 for the config (as `config check`); the node says which in `code`.
      await postAction(opts, 'reload', opts.remove ? { remove: opts.remove } : {}, ErrorCode.ZONE_POLICY);
    });

  adminOpts(program.command('cache').description('the answer cache of a running node').command('flush'))
    .description('remove every cached answer, or those of one name')
    .argument('[name]', 'a domain name, e.g. www.example.org')
    .action(async (name: string | undefined, opts: AdminClientOptions) => {
      await postAction(opts, 'cache/flush', name === undefined ? {} : { name });
    });

  adminOpts(program.command('drain'))
    .description(
      'stop announcing the address (DISABLED) while still answering; survives a restart with health.drainFile',
    )
    .option('--for <duration>', 'undrain by itself after this long, e.g. 10m')
    .option('--reason <text>', 'recorded in the log and the drain file')
    .action(async (opts: AdminClientOptions & { for?: string; reason?: string }) => {
      if (opts.for !== undefined && parseDuration(opts.for) === undefined)
        throw usage(`--for: expected a duration like 10m, got "${opts.for}"`);
      await postAction(opts, 'drain', {
        ...(opts.for !== undefined && { for: opts.for }),
        ...(opts.reason !== undefined && { reason: opts.reason }),
      });
    });

  adminOpts(program.command('undrain'))
    .description('end a drain: announce again (at once when healthy)')
    .action(async (opts: AdminClientOptions) => {
      await postAction(opts, 'undrain', {});
    });
}

/** `drill fail` (a running node) and `drill stream` (a client). */
function drillCommands(program: Command): void {
  const drill = program
    .command('drill')
    .description('health-flap drills: inject failures on a node, watch from a client');
  adminOpts(drill.command('fail'))
    .description(
      'inject a local check failure for DURATION: the node withdraws after fall checks and recovers after rise',
    )
    .requiredOption('--for <duration>', 'how long the failure lasts, e.g. 10s')
    .action(async (opts: AdminClientOptions & { for: string }) => {
      if (parseDuration(opts.for) === undefined) throw usage(`--for: expected a duration like 10s, got "${opts.for}"`);
      await postAction(opts, 'drill/fail', { for: opts.for });
    });

  drill
    .command('stream')
    .description('from a client: a steady query stream to an address, each answer attributed to a site by NSID')
    .requiredOption('--target <address[:port]>', 'the (anycast) address to query, e.g. 192.0.2.53')
    .option('--rate <qps>', 'queries per second (1..5000)', '200')
    .option('--duration <duration>', 'how long (at most 10m)', '10s')
    .option('--name <qname>', 'the name to ask for (type A)', 'www.example.test')
    .option('--json <file>', 'write every sample as JSON ("-" for stdout) instead of the summary')
    .action(async (opts: { target: string; rate: string; duration: string; name: string; json?: string }) => {
      const durationMs = parseDuration(opts.duration);
      if (durationMs === undefined) throw usage(`--duration: expected a duration like 10s, got "${opts.duration}"`);
      const { drillStream } = await import('./drill.js');
      await drillStream({
        target: opts.target,
        rate: Number(opts.rate),
        durationMs,
        qname: opts.name,
        ...(opts.json !== undefined && { json: opts.json }),
      });
    });
}

/** `announce` and `guard`: the route commands, which need the node's config. */
function routeCommands(program: Command): void {
  program
    .command('announce')
    .description("run the configured route adapter once: for systemd's ExecStopPost after a crash, and for operators")
    .argument('<action>', 'announce or withdraw')
    .option(
      '-c, --config <file>',
      "the node's YAML config (default: $EDGEDNS_CONFIG or /etc/edgedns/edgedns.yaml when it exists; required)",
    )
    .action(async (action: string, opts: { config?: string }) => {
      if (action !== 'announce' && action !== 'withdraw')
        throw usage(`announce: expected "announce" or "withdraw", got "${action}"`);
      const { requireConfig } = await import('./config.js');
      const config = requireConfig(opts.config, `announce ${action}`);
      const { announceOnce } = await import('../compose/index.js');
      const out = await announceOnce(config, action, createLogger({ level: 'warn' }));
      process.stdout.write(`${action}: ${out}\n`);
    });

  program
    .command('guard')
    .description("watchdog: query the node's addresses and withdraw when it stops answering (crash, hang, SIGSTOP)")
    .option(
      '-c, --config <file>',
      'the same YAML config as the node (default: $EDGEDNS_CONFIG or /etc/edgedns/edgedns.yaml when it exists; required)',
    )
    .action(async (opts: { config?: string }) => {
      const { requireConfig } = await import('./config.js');
      const config = requireConfig(opts.config, 'guard');
      const { guard } = await import('./guard.js');
      await guard(config);
    });
}

/** `config check`. */
function configCommands(program: Command): void {
  program
    .command('config')
    .description('configuration')
    .command('check')
    .description(
      'validate a config file and the zones it names (exit 2 if invalid, 1 if a zone is rejected); warn about files, sockets and commands missing on this host',
    )
    .argument('<file>', 'YAML config file')
    .action(async (file: string) => {
      const { checkConfig } = await import('../node/index.js');
      const { summary, warnings } = checkConfig(file);
      for (const w of warnings) process.stderr.write(`edgedns: warning: ${w}\n`);
      if (warnings.length > 0)
        process.stderr.write(
          'edgedns: (warnings only: these may exist on the target host alone; the node needs them there)\n',
        );
      process.stdout.write(`${summary}\n`);
    });
}

function usage(message: string): EdgeError {
  return new EdgeError(ErrorCode.USAGE, message);
}

/**
 * POST an action. A refusal (400) is an error with the code the node gave, else `failCode` (a node
 * that gives none); anything else (401, 403, …) is a usage error.
 */
async function postAction(
  opts: AdminClientOptions,
  path: string,
  body: Record<string, unknown>,
  failCode: ErrorCode = ErrorCode.USAGE,
): Promise<void> {
  const r = await adminRequest(opts, 'POST', path, body);
  const doc = r.json as { message?: unknown; code?: unknown } | null;
  const msg = typeof doc?.message === 'string' ? doc.message : r.text.trim();
  if (r.status !== 200) {
    const given = Object.values(ErrorCode).find((c) => c === doc?.code);
    throw new EdgeError(r.status === 400 ? (given ?? failCode) : ErrorCode.USAGE, `${path}: ${msg} (HTTP ${r.status})`);
  }
  process.stdout.write(`${msg}\n`);
}

function isStatusDoc(v: unknown): v is StatusDoc {
  const d = v as Partial<StatusDoc> | null;
  return (
    d !== null &&
    typeof d === 'object' &&
    typeof d.site === 'object' &&
    Array.isArray(d.listeners) &&
    Array.isArray(d.zones)
  );
}

/** A failure already written to the log; the exit code is all that is left to give. */
class Logged extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super('logged');
    this.exitCode = exitCode;
  }
}

/**
 * `serve`'s start: a failure is one log line in the format the node would have logged in (the
 * config's `log.format`, JSON when the config itself cannot be read), not text mixed into JSON.
 */
async function startLogged<T>(configPath: string | undefined, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    if (!isEdgeError(e)) throw e;
    const { configuredLogFormat } = await import('./config.js');
    createLogger({ format: configuredLogFormat(configPath) }).error('start failed', {
      code: e.code,
      problems: e.problems.length > 0 ? e.problems : [e.message],
    });
    throw new Logged(exitFor(e.code));
  }
}

/** Run the CLI; resolves to the process exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (err instanceof Logged) return err.exitCode;
    if (isEdgeError(err)) {
      process.stderr.write(`edgedns: ${err.message}\n`);
      return exitFor(err.code);
    }
    process.stderr.write(`edgedns: internal error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.USAGE;
  }
}
