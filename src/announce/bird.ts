// The bird adapter: rewrite the static protocols' include files, `birdc configure`, then read the
// routes back from BIRD, since birdc's text does not say whether the route is there (BIRD 2 says
// "Reconfigured", BIRD 3 "Reconfiguration in progress" and applies the config after answering).
//
//   write routes4/6.conf ──▶ birdc configure ──▶ show route P where static blackhole ──▶ done
//                                 │ error            │ not yet: again every 50 ms
//                                 ▼                  ▼ still not so at the deadline (timeout)
//                               failed             failed: "… is still (not) in BIRD's table"

import { rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { runCommand } from '../core/index.js';
import type { Adapter } from './adapter.js';
import { AdapterError } from './adapter.js';
import { isV6, sameNet } from './net.js';

const POLL_MS = 50;
/** birdc's answers to `configure` after which the new config is, or will be, applied. */
const CONFIGURE_OK =
  /Reconfigured|Reconfiguration in progress|Reconfiguration already in progress, queueing new config/;
/** Only the routes edgedns writes: from a static protocol, to blackhole. */
const OURS = ['where', 'source', '=', 'RTS_STATIC', '&&', 'dest', '=', 'RTD_BLACKHOLE'];

/** The include file's content: one static route per prefix when announced, none when withdrawn. */
export function birdInclude(prefixes: readonly string[], announce: boolean, seq: number): string {
  const head = `# Written by edgedns (seq ${seq}): ${announce ? 'announced' : 'withdrawn'}. Do not edit.\n`;
  return head + (announce ? prefixes.map((p) => `route ${p} blackhole;\n`).join('') : '');
}

async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  await writeFile(tmp, content, { mode: 0o644 });
  await rename(tmp, path);
}

/**
 * The protocols holding `prefix` as a static blackhole route, from `birdc show route` output:
 *
 *   Table master4:
 *   192.0.2.53/32        blackhole [edgedns4 12:00:00.000] * (200)
 *                        blackhole [other 12:00:00.000] (200)      ← same network, next route
 *
 * BIRD 2 and 3 print the network at the start of its first line only.
 */
export function birdRouteProtocols(output: string, prefix: string): string[] {
  const protos: string[] = [];
  let net = '';
  for (const line of output.split('\n')) {
    const m = /^(\S+)\s+\S+\s+\[(\S+)/.exec(line);
    const next = /^\s+\S+\s+\[(\S+)/.exec(line);
    if (m) net = m[1] as string;
    else if (!next) net = '';
    const proto = m?.[2] ?? next?.[1];
    if (proto !== undefined && net && sameNet(net, prefix)) protos.push(proto);
  }
  return protos;
}

/**
 * BIRD 2 or 3: rewrite the include files of the static protocols (IPv4 and IPv6 apart, as a static
 * protocol has one channel), `birdc -s SOCKET configure`, and done only when BIRD's tables hold
 * each prefix as a static blackhole route (announce) or hold none of them (withdraw), within
 * `timeoutMs` of the start.
 */
export function birdAdapter(o: {
  includeFile: string;
  includeFile6: string;
  socket: string;
  birdc: string;
  timeoutMs: number;
}): Adapter {
  /** Which protocols hold `prefix`; throws when birdc cannot tell. */
  const holders = async (prefix: string, timeoutMs: number): Promise<string[]> => {
    const args = ['-s', o.socket, 'show', 'route', prefix, ...OURS];
    const r = await runCommand(o.birdc, args, { timeoutMs });
    const out = `${r.stdout}${r.stderr}`.trim();
    if (r.timedOut) throw new AdapterError(`birdc ${args.slice(2).join(' ')}: no answer within ${timeoutMs} ms`, true);
    // BIRD 2 answers "Network not found" (exit 1) when nothing matches, or only its banner.
    if (/Network not found/.test(out)) return [];
    if (r.code !== 0)
      throw new AdapterError(
        `birdc ${args.slice(2).join(' ')} failed (exit ${r.code ?? r.signal}): ${out.slice(0, 500) || 'no output'}`,
      );
    return birdRouteProtocols(out, prefix);
  };

  return {
    name: 'bird',
    async apply(req) {
      const deadline = performance.now() + o.timeoutMs;
      const announce = req.action === 'announce';
      const v4 = req.prefixes.filter((p) => !isV6(p));
      const v6 = req.prefixes.filter(isV6);
      try {
        await writeAtomic(o.includeFile, birdInclude(v4, announce, req.seq));
        if (v6.length > 0 || o.includeFile6 !== o.includeFile)
          await writeAtomic(o.includeFile6, birdInclude(v6, announce, req.seq));
      } catch (e) {
        throw new AdapterError(`cannot write the BIRD include file: ${(e as Error).message}`);
      }
      const r = await runCommand(o.birdc, ['-s', o.socket, 'configure'], { timeoutMs: o.timeoutMs });
      const out = `${r.stdout}${r.stderr}`.trim();
      if (r.timedOut) throw new AdapterError(`birdc configure: no answer within ${o.timeoutMs} ms`, true);
      const said = r.code === 0 ? CONFIGURE_OK.exec(out)?.[0] : undefined;
      if (said === undefined)
        throw new AdapterError(
          `birdc configure failed (exit ${r.code ?? r.signal}): ${out.slice(0, 500) || 'no output'}`,
        );

      // What matters is the route in BIRD's table, not the text: poll until it is so or the deadline.
      // (Deadlines on the monotonic clock: a wall-clock step must not cut or stretch them.)
      const hint = announce
        ? `: does a static protocol on the master table include ${v4.length > 0 ? o.includeFile : o.includeFile6}?`
        : '';
      const notSo = (wrong: readonly string[]): AdapterError =>
        new AdapterError(`birdc configure said "${said}", but after ${o.timeoutMs} ms ${wrong.join('; ')}${hint}`);
      /** What the last complete read found wrong: reported if a read is cut short by the deadline. */
      let lastWrong: string[] | null = null;
      for (;;) {
        const wrong: string[] = [];
        const found: string[] = [];
        for (const p of req.prefixes) {
          let protos: string[];
          try {
            protos = await holders(p, Math.max(200, deadline - performance.now()));
          } catch (e) {
            if (lastWrong !== null && performance.now() >= deadline) throw notSo(lastWrong);
            throw e;
          }
          if (announce && protos.length === 0) wrong.push(`${p} is not in BIRD's table`);
          else if (!announce && protos.length > 0)
            wrong.push(`${p} is still in BIRD's table (static blackhole route from ${protos.join(', ')})`);
          else found.push(announce ? `${p} (${protos.join(', ')})` : p);
        }
        if (wrong.length === 0) return `${said}; ${announce ? 'in' : 'not in'} BIRD's table: ${found.join(', ')}`;
        if (performance.now() + POLL_MS >= deadline) throw notSo(wrong);
        lastWrong = wrong;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    },
  };
}
