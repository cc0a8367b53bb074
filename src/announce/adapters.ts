// The adapters: exec (any command), bird (include file + birdc configure), exabgp (API lines to a
// file or FIFO), gobgp (CLI), none (log only); and a dry-run wrapper for each.

import { open, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '../core/index.js';
import { runCommand } from '../core/index.js';
import type { Adapter, AnnounceRequest } from './adapter.js';
import { AdapterError } from './adapter.js';

const isV6 = (prefix: string): boolean => prefix.includes(':');

/** exit 0: done; exit 75 (EX_TEMPFAIL): retry later; anything else: failed. */
export function execAdapter(o: { command: string; args: readonly string[]; timeoutMs: number }): Adapter {
  return {
    name: 'exec',
    async apply(req) {
      const env = {
        ...process.env,
        EDGEDNS_ACTION: req.action,
        EDGEDNS_STATE: req.action === 'announce' ? 'announced' : 'withdrawn',
        EDGEDNS_PREFIXES: req.prefixes.join(' '),
        EDGEDNS_SITE: req.siteId,
        EDGEDNS_REASON: req.reason,
        EDGEDNS_SEQ: String(req.seq),
      };
      const input = JSON.stringify({ action: req.action, prefixes: req.prefixes, site: req.siteId, reason: req.reason, seq: req.seq });
      const r = await runCommand(o.command, [...o.args, req.action], { env, input, timeoutMs: o.timeoutMs });
      const out = (r.stderr || r.stdout).trim().slice(0, 500);
      if (r.timedOut) throw new AdapterError(`${o.command} ${req.action}: killed after ${o.timeoutMs} ms`);
      if (r.code === 0) return out || 'ok';
      if (r.code === 75) throw new AdapterError(`${o.command} ${req.action}: asked to retry later (exit 75)${out ? `: ${out}` : ''}`, true);
      throw new AdapterError(`${o.command} ${req.action}: exit ${r.code ?? r.signal}${out ? `: ${out}` : ''}`);
    },
  };
}

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
 * BIRD 2: rewrite the include files of the static protocols (IPv4 and IPv6 apart, as a static
 * protocol has one channel), then `birdc -s SOCKET configure`; done only when birdc exits 0 and
 * says "Reconfigured".
 */
export function birdAdapter(o: { includeFile: string; includeFile6: string; socket: string; birdc: string; timeoutMs: number }): Adapter {
  return {
    name: 'bird',
    async apply(req) {
      const announce = req.action === 'announce';
      const v4 = req.prefixes.filter((p) => !isV6(p));
      const v6 = req.prefixes.filter(isV6);
      try {
        await writeAtomic(o.includeFile, birdInclude(v4, announce, req.seq));
        if (v6.length > 0 || o.includeFile6 !== o.includeFile) await writeAtomic(o.includeFile6, birdInclude(v6, announce, req.seq));
      } catch (e) {
        throw new AdapterError(`cannot write the BIRD include file: ${(e as Error).message}`);
      }
      const r = await runCommand(o.birdc, ['-s', o.socket, 'configure'], { timeoutMs: o.timeoutMs });
      const out = `${r.stdout}${r.stderr}`.trim();
      if (r.timedOut) throw new AdapterError(`birdc configure: no answer within ${o.timeoutMs} ms`, true);
      if (r.code === 0 && /Reconfigured/.test(out)) return 'Reconfigured';
      if (r.code === 0 && /Reconfiguration in progress/.test(out)) throw new AdapterError('birdc configure: a reconfiguration is already in progress', true);
      throw new AdapterError(`birdc configure failed (exit ${r.code ?? r.signal}): ${out.slice(0, 500) || 'no output'}`);
    },
  };
}

/** GoBGP: `gobgp global rib -a ipv4|ipv6 add|del PREFIX`, idempotent in gobgp itself. */
export function gobgpAdapter(o: { command: string; args: readonly string[]; timeoutMs: number }): Adapter {
  return {
    name: 'gobgp',
    async apply(req) {
      const done: string[] = [];
      for (const p of req.prefixes) {
        const args = [...o.args, 'global', 'rib', '-a', isV6(p) ? 'ipv6' : 'ipv4', req.action === 'announce' ? 'add' : 'del', p];
        const r = await runCommand(o.command, args, { timeoutMs: o.timeoutMs });
        if (r.timedOut) throw new AdapterError(`${o.command} ${args.join(' ')}: no answer within ${o.timeoutMs} ms`, true);
        if (r.code !== 0) throw new AdapterError(`${o.command} ${args.join(' ')}: exit ${r.code ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
        done.push(`${req.action} ${p}`);
      }
      return done.join(', ');
    },
  };
}

export function noneAdapter(log: Logger): Adapter {
  return {
    name: 'none',
    async apply(req) {
      log.info('route announcement (adapter none: nothing is changed)', { action: req.action, prefixes: req.prefixes, reason: req.reason });
      return 'logged';
    },
  };
}

/** Log what `inner` would do, and succeed. */
export function dryRun(inner: Adapter, log: Logger): Adapter {
  return {
    name: `${inner.name} (dry run)`,
    async apply(req: AnnounceRequest) {
      log.info('dry run: would call the adapter', { adapter: inner.name, action: req.action, prefixes: req.prefixes, reason: req.reason, seq: req.seq });
      return 'dry run';
    },
  };
}
