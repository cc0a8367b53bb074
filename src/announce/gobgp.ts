// The gobgp adapter: `gobgp global rib add|del`, then the prefix read back from GoBGP's global RIB,
// with the AS path and MED that 'deprefer' sets.

import { runCommand } from '../core/index.js';
import type { Adapter } from './adapter.js';
import { AdapterError, depreferOf } from './adapter.js';
import { isV6, sameNet } from './net.js';

/** A path that GoBGP holds locally (added by `gobgp global rib add`), with the attributes deprefer sets. */
export interface GobgpPath {
  /** The AS path's ASNs ("65001 65001"), '' when it has none. GoBGP puts its own AS in front on eBGP export. */
  asPath: string;
  /** The MED (attribute type 4), null when there is none. */
  med: number | null;
}

/**
 * GoBGP's local paths for `prefix`, from `gobgp global rib -a AF P -j` (GoBGP 3.10):
 *
 *   {"192.0.2.53/32":[{"nlri":{"prefix":"192.0.2.53/32"},"best":true,                          ← ours
 *                      "attrs":[{"type":1,"value":2},
 *                               {"type":2,"as_paths":[{"segment_type":2,"num":2,"asns":[65001,65001]}]},
 *                               {"type":4,"metric":100},{"type":3,"nexthop":"0.0.0.0"}]},
 *                     {"nlri":…,"source-id":"198.51.100.1","neighbor-ip":"198.51.100.1",…}]}  ← a peer's
 *
 * `{}` when there is none. Throws on anything that is not such JSON.
 */
export function gobgpLocalAttributes(json: string, prefix: string): GobgpPath[] {
  const doc: unknown = JSON.parse(json);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('expected a JSON object');
  const out: GobgpPath[] = [];
  for (const paths of Object.values(doc)) {
    if (!Array.isArray(paths)) throw new Error('expected a list of paths per prefix');
    for (const p of paths as unknown[]) {
      if (typeof p !== 'object' || p === null) continue;
      const path = p as {
        nlri?: { prefix?: unknown };
        'neighbor-ip'?: unknown;
        'source-id'?: unknown;
        attrs?: unknown;
      };
      const learned = Boolean(path['neighbor-ip']) || Boolean(path['source-id']);
      if (learned || typeof path.nlri?.prefix !== 'string' || !sameNet(path.nlri.prefix, prefix)) continue;
      const found: GobgpPath = { asPath: '', med: null };
      for (const a of Array.isArray(path.attrs) ? (path.attrs as unknown[]) : []) {
        if (typeof a !== 'object' || a === null) continue;
        const attr = a as { type?: unknown; as_paths?: unknown; metric?: unknown };
        if (attr.type === 2 && Array.isArray(attr.as_paths))
          found.asPath = (attr.as_paths as { asns?: unknown }[])
            .flatMap((seg) => (Array.isArray(seg.asns) ? (seg.asns as unknown[]) : []))
            .join(' ');
        if (attr.type === 4 && typeof attr.metric === 'number') found.med = attr.metric;
      }
      out.push(found);
    }
  }
  return out;
}

/** How many of GoBGP's paths for `prefix` were added locally (see gobgpLocalAttributes). */
export function gobgpLocalPaths(json: string, prefix: string): number {
  return gobgpLocalAttributes(json, prefix).length;
}

const describePath = (r: GobgpPath): string =>
  `${r.asPath ? `AS path ${r.asPath}` : 'no AS path'}, ${r.med === null ? 'no MED' : `MED ${r.med}`}`;

/**
 * GoBGP: `gobgp [args] global rib -a ipv4|ipv6 add|del PREFIX` (idempotent in gobgp itself; deprefer
 * adds `aspath A,A,A med M`, and adding the prefix again replaces the local path, with no
 * withdrawal), then `… global rib -a AF PREFIX -j`: done only when the prefix is in the global RIB
 * as a local path with the attributes asked for (announce: no AS path, no MED; deprefer: those) or
 * is not (withdraw; a path learned from a peer does not count).
 */
export function gobgpAdapter(o: { command: string; args: readonly string[]; timeoutMs: number }): Adapter {
  const run = async (args: string[]): Promise<string> => {
    const r = await runCommand(o.command, args, { timeoutMs: o.timeoutMs });
    if (r.timedOut) throw new AdapterError(`${o.command} ${args.join(' ')}: no answer within ${o.timeoutMs} ms`, true);
    if (r.code !== 0)
      throw new AdapterError(
        `${o.command} ${args.join(' ')}: exit ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`,
      );
    return r.stdout;
  };
  return {
    name: 'gobgp',
    async apply(req) {
      const d = depreferOf(req);
      const announce = req.action !== 'withdraw';
      const attrs = [
        ...(d && d.prepend > 0 ? ['aspath', Array<number>(d.prepend).fill(d.asn).join(',')] : []),
        ...(d && d.med !== null ? ['med', String(d.med)] : []),
      ];
      const want: GobgpPath = { asPath: d ? Array<number>(d.prepend).fill(d.asn).join(' ') : '', med: d?.med ?? null };
      for (const p of req.prefixes)
        await run([...o.args, 'global', 'rib', '-a', isV6(p) ? 'ipv6' : 'ipv4', announce ? 'add' : 'del', p, ...attrs]);
      const wrong: string[] = [];
      for (const p of req.prefixes) {
        const args = [...o.args, 'global', 'rib', '-a', isV6(p) ? 'ipv6' : 'ipv4', p, '-j'];
        const out = await run(args);
        let local: GobgpPath[];
        try {
          local = gobgpLocalAttributes(out, p);
        } catch (e) {
          throw new AdapterError(
            `${o.command} ${args.join(' ')}: cannot read the answer (${(e as Error).message}): ${out.trim().slice(0, 300)}`,
          );
        }
        if (announce && local.length === 0) wrong.push(`${p} is not in GoBGP's global RIB`);
        else if (announce && !local.some((l) => l.asPath === want.asPath && l.med === want.med))
          wrong.push(
            `${p} is in GoBGP's global RIB with ${local.map(describePath).join('; ')}, not ${describePath(want)}`,
          );
        if (!announce && local.length > 0) wrong.push(`${p} is still in GoBGP's global RIB`);
      }
      if (wrong.length > 0)
        throw new AdapterError(`gobgp global rib ${announce ? 'add' : 'del'} succeeded, but ${wrong.join('; ')}`);
      const withAttrs = d ? ` with ${describePath(want)}` : '';
      return `${req.action} ${req.prefixes.join(', ')}; ${announce ? 'in' : 'not in'} GoBGP's global RIB${withAttrs}`;
    },
  };
}
