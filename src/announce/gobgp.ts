// The gobgp adapter: `gobgp global rib add|del`, then the prefix read back from GoBGP's global RIB.

import { runCommand } from '../core/index.js';
import type { Adapter } from './adapter.js';
import { AdapterError } from './adapter.js';
import { isV6, sameNet } from './net.js';

/**
 * How many of GoBGP's paths for `prefix` were added locally, from `gobgp global rib -a AF P -j`:
 *
 *   {"192.0.2.53/32":[{"nlri":{"prefix":"192.0.2.53/32"},"best":true,…},                ← ours
 *                     {"nlri":…,"source-id":"198.51.100.1","neighbor-ip":"198.51.100.1",…}]}  ← a peer's
 *
 * `{}` when there is none. Throws on anything that is not such JSON.
 */
export function gobgpLocalPaths(json: string, prefix: string): number {
  const doc: unknown = JSON.parse(json);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('expected a JSON object');
  let n = 0;
  for (const paths of Object.values(doc)) {
    if (!Array.isArray(paths)) throw new Error('expected a list of paths per prefix');
    for (const p of paths as unknown[]) {
      if (typeof p !== 'object' || p === null) continue;
      const path = p as { nlri?: { prefix?: unknown }; 'neighbor-ip'?: unknown; 'source-id'?: unknown };
      const learned = Boolean(path['neighbor-ip']) || Boolean(path['source-id']);
      if (!learned && typeof path.nlri?.prefix === 'string' && sameNet(path.nlri.prefix, prefix)) n++;
    }
  }
  return n;
}

/**
 * GoBGP: `gobgp [args] global rib -a ipv4|ipv6 add|del PREFIX` (idempotent in gobgp itself), then
 * `… global rib -a AF PREFIX -j`: done only when the prefix is in the global RIB as a local path
 * (announce) or is not (withdraw; a path learned from a peer does not count).
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
      const announce = req.action === 'announce';
      for (const p of req.prefixes)
        await run([...o.args, 'global', 'rib', '-a', isV6(p) ? 'ipv6' : 'ipv4', announce ? 'add' : 'del', p]);
      const wrong: string[] = [];
      for (const p of req.prefixes) {
        const args = [...o.args, 'global', 'rib', '-a', isV6(p) ? 'ipv6' : 'ipv4', p, '-j'];
        const out = await run(args);
        let local: number;
        try {
          local = gobgpLocalPaths(out, p);
        } catch (e) {
          throw new AdapterError(
            `${o.command} ${args.join(' ')}: cannot read the answer (${(e as Error).message}): ${out.trim().slice(0, 300)}`,
          );
        }
        if (announce && local === 0) wrong.push(`${p} is not in GoBGP's global RIB`);
        if (!announce && local > 0) wrong.push(`${p} is still in GoBGP's global RIB`);
      }
      if (wrong.length > 0)
        throw new AdapterError(`gobgp global rib ${announce ? 'add' : 'del'} succeeded, but ${wrong.join('; ')}`);
      return `${req.action} ${req.prefixes.join(', ')}; ${announce ? 'in' : 'not in'} GoBGP's global RIB`;
    },
  };
}
