// Knot DNS (`knotd`, Debian's package knot) as a reference authoritative server: started in the
// foreground in its own temporary folder on 127.0.0.1 and a free port, serving zone files as they
// are (no signing, no journal, the files never written back), stopped by its pid.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../bench/procs.ts';
import { dig } from './dig.ts';
import { startDaemon } from './daemon.ts';
import { tempDir } from './tmp.ts';

export interface KnotZone {
  /** The origin, absolute (`signed.test.`). */
  origin: string;
  /** The zone file, served as it is. */
  file: string;
}

export interface RunningKnot {
  host: string;
  port: number;
  pid: number;
  /** What knotd wrote to stderr so far (it logs there). */
  log(): string;
  stop(): Promise<void>;
}

/** The path of knotd, or undefined when Knot DNS is not installed (Debian: apt-get install knot). */
export function knotdPath(): string | undefined {
  for (const p of ['/usr/sbin/knotd', '/usr/local/sbin/knotd']) if (spawnSync(p, ['-V']).status === 0) return p;
  const found = spawnSync('sh', ['-c', 'command -v knotd'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
}

/** knotd's config: everything in `dir`, one UDP and one TCP worker, the zones loaded whole. */
export function knotConfig(dir: string, port: number, zones: KnotZone[]): string {
  return `server:
    rundir: "${dir}"
    pidfile: "${join(dir, 'knot.pid')}"
    listen: 127.0.0.1@${port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1

control:
    listen: "${join(dir, 'knot.sock')}"

database:
    storage: "${dir}"

log:
  - target: stderr
    any: info

template:
  - id: default
    storage: "${dir}"
    # The file is the zone: read whole at every load, never written back, no journal, and the
    # signatures in it served as they are (no signing, no validation).
    zonefile-load: whole
    zonefile-sync: -1
    journal-content: none
    dnssec-signing: off
    dnssec-validation: off
    semantic-checks: off

zone:
${zones.map((z) => `  - domain: "${z.origin}"\n    file: "${z.file}"\n`).join('')}`;
}

/** Start knotd serving `zones`; resolves once it answers every zone's SOA. */
export async function startKnot(zones: KnotZone[], opts: { port?: number } = {}): Promise<RunningKnot> {
  const bin = knotdPath();
  if (!bin) throw new Error('knotd (Knot DNS) is not installed: apt-get install knot');
  const dir = tempDir('edgedns-knot-');
  const port = opts.port ?? (await freePort());
  const conf = join(dir, 'knot.conf');
  writeFileSync(conf, knotConfig(dir, port, zones));
  // As root, knotd keeps running as root (no `user:`): it only binds an unprivileged port here.
  const d = await startDaemon({
    name: 'knotd',
    bin,
    args: ['-c', conf],
    dir,
    ready: async () => {
      for (const z of zones) {
        const r = await dig({ host: '127.0.0.1', port }, ['+time=1', '+norec', z.origin, 'SOA']).catch(() => undefined);
        if (r?.status !== 'NOERROR' || !r.flags.includes('aa')) return false;
      }
      return true;
    },
    what: `knotd answering ${zones.map((z) => z.origin).join(', ')} on 127.0.0.1:${port}`,
  });
  return { host: '127.0.0.1', port, ...d };
}
