// The bird adapter: rewrite the static protocols' include files, `birdc configure`, then read the
// routes back from BIRD, since birdc's text does not say whether the route is there (BIRD 2 says
// "Reconfigured", BIRD 3 "Reconfiguration in progress" and applies the config after answering).
// 'deprefer' is the same static route carrying a prepended AS path and/or a MED, read back too.
//
//   write routes4/6.conf ──▶ birdc configure ──▶ show route P all where static blackhole ──▶ done
//                                 │ error            │ not yet: again every 50 ms
//                                 ▼                  ▼ still not so at the deadline (timeout)
//                               failed             failed: "… is still (not) in BIRD's table"

import { rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { runCommand } from '../core/index.js';
import type { Action, Adapter, Deprefer } from './adapter.js';
import { AdapterError, depreferOf } from './adapter.js';
import { isV6, sameNet } from './net.js';

const POLL_MS = 50;
/** birdc's answers to `configure` after which the new config is, or will be, applied. */
const CONFIGURE_OK =
  /Reconfigured|Reconfiguration in progress|Reconfiguration already in progress, queueing new config/;
/** Only the routes edgedns writes: from a static protocol, to blackhole. */
const OURS = ['all', 'where', 'source', '=', 'RTS_STATIC', '&&', 'dest', '=', 'RTD_BLACKHOLE'];

const STATE: Record<Action, string> = { announce: 'announced', deprefer: 'depreferred', withdraw: 'withdrawn' };

/**
 * The attributes a static route carries for `d`, in BIRD 2 and 3 filter syntax:
 * `{ bgp_path.prepend(65001); bgp_path.prepend(65001); bgp_med = 100; }`, or '' for none. BGP puts
 * its own AS in front of this path on eBGP export; a MED reaches an eBGP peer only if the export
 * filter sets it (`if defined(bgp_med) then bgp_med = bgp_med;`): BIRD drops the rest.
 */
function birdAttributes(d: Deprefer | null): string {
  if (d === null || (d.prepend === 0 && d.med === null)) return '';
  const set = [
    ...Array.from({ length: d.prepend }, () => `bgp_path.prepend(${d.asn});`),
    ...(d.med === null ? [] : [`bgp_med = ${d.med};`]),
  ];
  return ` { ${set.join(' ')} }`;
}

/**
 * The include file's content: one static route per prefix when announced or depreferred (with the
 * attributes of `deprefer`), none when withdrawn.
 */
export function birdInclude(
  prefixes: readonly string[],
  action: Action,
  seq: number,
  deprefer: Deprefer | null = null,
): string {
  const head = `# Written by edgedns (seq ${seq}): ${STATE[action]}. Do not edit.\n`;
  const attrs = action === 'deprefer' ? birdAttributes(deprefer) : '';
  return head + (action === 'withdraw' ? '' : prefixes.map((p) => `route ${p} blackhole${attrs};\n`).join(''));
}

/** One route for a network in `birdc show route … all`, with the attributes deprefer sets. */
export interface BirdRoute {
  protocol: string;
  /** BGP.as_path as printed ("65001 65001"), '' when the route has none. */
  asPath: string;
  /** BGP.med, null when the route has none. */
  med: number | null;
}

let writes = 0;
/** Write `path` whole or not at all: a temporary name of its own per write, then rename. */
async function writeAtomic(path: string, content: string): Promise<void> {
  // Of its own per write, not per process: two requests at once must not rename each other's file
  // (the guard saw "ENOENT … rename" when four probes failed together).
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${++writes}.tmp`);
  await writeFile(tmp, content, { mode: 0o644 });
  await rename(tmp, path);
}

/**
 * The routes for `prefix` in `birdc show route [all]` output, with their protocols and attributes:
 *
 *   Table master4:
 *   192.0.2.53/32        blackhole [edgedns4 12:00:00.000] * (200)
 *   	Type: static univ                                             ← attributes (with `all`)
 *   	BGP.as_path: 65001 65001
 *   	BGP.med: 100
 *                        blackhole [other 12:00:00.000] (200)      ← same network, next route
 *
 * BIRD 2 and 3 print the network at the start of its first line only.
 */
export function birdRoutes(output: string, prefix: string): BirdRoute[] {
  const routes: BirdRoute[] = [];
  let net = '';
  let route: BirdRoute | null = null;
  for (const line of output.split('\n')) {
    const m = /^(\S+)\s+\S+\s+\[(\S+)/.exec(line);
    const next = /^\s+\S+\s+\[(\S+)/.exec(line);
    if (m) net = m[1] as string;
    else if (!next) {
      // An attribute of the route above (indented), or anything else (a table's name, a blank line).
      const attr = /^\s+([\w.]+):\s*(.*?)\s*$/.exec(line);
      if (attr && route) {
        if (attr[1] === 'BGP.as_path') route.asPath = (attr[2] as string).split(/\s+/).filter(Boolean).join(' ');
        if (attr[1] === 'BGP.med') route.med = Number(attr[2]);
      } else if (!/^\s/.test(line) || line.trim() === '') {
        net = '';
        route = null;
      }
      continue;
    }
    const proto = (m?.[2] ?? next?.[1]) as string;
    route = net && sameNet(net, prefix) ? { protocol: proto, asPath: '', med: null } : null;
    if (route) routes.push(route);
  }
  return routes;
}

/** The protocols holding `prefix` as a route, from `birdc show route` output (see birdRoutes). */
export function birdRouteProtocols(output: string, prefix: string): string[] {
  return birdRoutes(output, prefix).map((r) => r.protocol);
}

/** "AS path 65001 65001, MED 100" or "no AS path, no MED". */
const describeRoute = (r: { asPath: string; med: number | null }): string =>
  `${r.asPath ? `AS path ${r.asPath}` : 'no AS path'}, ${r.med === null ? 'no MED' : `MED ${r.med}`}`;

/**
 * BIRD 2 or 3: rewrite the include files of the static protocols (IPv4 and IPv6 apart, as a static
 * protocol has one channel), `birdc -s SOCKET configure`, and done only when BIRD's tables hold
 * each prefix as a static blackhole route with no AS path and no MED (announce) or with those of
 * the deprefer (deprefer), or hold none of them (withdraw), within `timeoutMs` of the start.
 * Between announce and deprefer the route stays in the file: BIRD replaces it, never withdraws it.
 */
export function birdAdapter(o: {
  includeFile: string;
  includeFile6: string;
  socket: string;
  birdc: string;
  timeoutMs: number;
}): Adapter {
  /** The static blackhole routes for `prefix`; throws when birdc cannot tell. */
  const holders = async (prefix: string, timeoutMs: number): Promise<BirdRoute[]> => {
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
    return birdRoutes(out, prefix);
  };

  return {
    name: 'bird',
    async apply(req) {
      const deadline = performance.now() + o.timeoutMs;
      const d = depreferOf(req);
      const announce = req.action !== 'withdraw';
      // What the route must carry: the deprefer attributes, or none (announce).
      const want = { asPath: d ? Array<number>(d.prepend).fill(d.asn).join(' ') : '', med: d?.med ?? null };
      const v4 = req.prefixes.filter((p) => !isV6(p));
      const v6 = req.prefixes.filter(isV6);
      try {
        await writeAtomic(o.includeFile, birdInclude(v4, req.action, req.seq, d));
        if (v6.length > 0 || o.includeFile6 !== o.includeFile)
          await writeAtomic(o.includeFile6, birdInclude(v6, req.action, req.seq, d));
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
      const hint = `: does a static protocol on the master table include ${v4.length > 0 ? o.includeFile : o.includeFile6}?`;
      const notSo = (wrong: readonly string[]): AdapterError =>
        new AdapterError(
          `birdc configure said "${said}", but after ${o.timeoutMs} ms ${wrong.join('; ')}${wrong.some((w) => w.endsWith(" is not in BIRD's table")) ? hint : ''}`,
        );
      /** What the last complete read found wrong: reported if a read is cut short by the deadline. */
      let lastWrong: string[] | null = null;
      for (;;) {
        const wrong: string[] = [];
        const found: string[] = [];
        for (const p of req.prefixes) {
          let routes: BirdRoute[];
          try {
            routes = await holders(p, Math.max(200, deadline - performance.now()));
          } catch (e) {
            if (lastWrong !== null && performance.now() >= deadline) throw notSo(lastWrong);
            throw e;
          }
          const protos = routes.map((r) => r.protocol).join(', ');
          // Moving between announce and deprefer, the old attributes stay until BIRD applies the new config.
          const right = routes.filter((r) => r.asPath === want.asPath && r.med === want.med);
          if (announce && routes.length === 0) wrong.push(`${p} is not in BIRD's table`);
          else if (announce && right.length === 0)
            wrong.push(
              `${p} is in BIRD's table with ${routes.map((r) => `${describeRoute(r)} (${r.protocol})`).join('; ')}, not ${describeRoute(want)}`,
            );
          else if (!announce && routes.length > 0)
            wrong.push(`${p} is still in BIRD's table (static blackhole route from ${protos})`);
          else found.push(announce ? `${p} (${right.map((r) => r.protocol).join(', ')})` : p);
        }
        if (wrong.length === 0) {
          const attrs = d ? ` with ${describeRoute(want)}` : '';
          return `${said}; ${announce ? 'in' : 'not in'} BIRD's table${attrs}: ${found.join(', ')}`;
        }
        if (performance.now() + POLL_MS >= deadline) throw notSo(wrong);
        lastWrong = wrong;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    },
  };
}
