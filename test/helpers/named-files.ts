// BIND's named as a second reference authoritative server for given zone files, served as they are
// (no signing, no validation): with Knot, it checks the comparison rules themselves, since two
// independent implementations must agree under them. Foreground (`named -g`), its own temporary
// folder, 127.0.0.1 and a free port, no rndc; stopped by its pid.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../bench/procs.ts';
import { ask } from './dns-compare.ts';
import type { KnotZone } from './knot.ts';
import { namedOptions, namedPath } from './named.ts';
import { startDaemon } from './daemon.ts';
import { tempDir } from './tmp.ts';

export interface RunningNamedFiles {
  host: string;
  port: number;
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

export async function startNamedWithFiles(zones: KnotZone[]): Promise<RunningNamedFiles> {
  const bin = namedPath();
  if (!bin) throw new Error('named (BIND 9) is not installed: apt-get install bind9');
  const dir = tempDir('edgedns-named-files-');
  const port = await freePort();
  const conf = join(dir, 'named.conf');
  writeFileSync(
    conf,
    `${namedOptions(
      dir,
      port,
      `  notify no;
  // An authority section only where one is needed (negative answers, referrals), as Knot does;
  // the additional section keeps its addresses. ANY answered whole: the ANY rule allows either.
  minimal-responses no-auth;
  minimal-any no;
`,
    )}
${zones.map((z) => `zone "${z.origin}" { type primary; file "${z.file}"; };\n`).join('')}`,
  );
  const host = '127.0.0.1';
  const d = await startDaemon({
    name: 'named',
    bin,
    args: ['-g', '-4', '-n', '1', '-c', conf],
    dir,
    ready: async () => {
      for (const z of zones) {
        const r = await ask({ host, port }, { name: z.origin, type: 'SOA', options: ['+time=1', '+norec'] }).catch(
          () => undefined,
        );
        if (r?.rcode !== 'NOERROR' || !r.flags.includes('aa')) return false;
      }
      return true;
    },
    what: `named answering ${zones.map((z) => z.origin).join(', ')} on ${host}:${port}`,
  });
  return { host, port, ...d };
}
