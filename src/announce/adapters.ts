// The small adapters: exec (any command) and none (log only); and a dry-run wrapper for each.
// bird.ts, exabgp.ts and gobgp.ts hold the others.

import type { Logger } from '../core/index.js';
import { runCommand } from '../core/index.js';
import type { Action, Adapter, AnnounceRequest } from './adapter.js';
import { AdapterError, depreferOf, describeDeprefer } from './adapter.js';

const STATE: Record<Action, string> = { announce: 'announced', deprefer: 'depreferred', withdraw: 'withdrawn' };

/**
 * exit 0: done; exit 75 (EX_TEMPFAIL): retry later; anything else: failed. For deprefer the
 * command also gets EDGEDNS_ASN, EDGEDNS_PREPEND and EDGEDNS_MED (empty when there is no MED),
 * which are unset for the other actions, and `deprefer: {asn, prepend, med}` (else null) in the JSON.
 */
export function execAdapter(o: { command: string; args: readonly string[]; timeoutMs: number }): Adapter {
  return {
    name: 'exec',
    async apply(req) {
      const d = depreferOf(req);
      // Not inherited from our own environment: a command must never see stale deprefer values.
      const { EDGEDNS_ASN: _a, EDGEDNS_PREPEND: _p, EDGEDNS_MED: _m, ...inherited } = process.env;
      const env: NodeJS.ProcessEnv = {
        ...inherited,
        EDGEDNS_ACTION: req.action,
        EDGEDNS_STATE: STATE[req.action],
        EDGEDNS_PREFIXES: req.prefixes.join(' '),
        EDGEDNS_SITE: req.siteId,
        EDGEDNS_REASON: req.reason,
        EDGEDNS_SEQ: String(req.seq),
        ...(d && {
          EDGEDNS_ASN: String(d.asn),
          EDGEDNS_PREPEND: String(d.prepend),
          EDGEDNS_MED: d.med === null ? '' : String(d.med),
        }),
      };
      const input = JSON.stringify({
        action: req.action,
        prefixes: req.prefixes,
        site: req.siteId,
        reason: req.reason,
        seq: req.seq,
        deprefer: d,
      });
      const r = await runCommand(o.command, [...o.args, req.action], { env, input, timeoutMs: o.timeoutMs });
      const out = (r.stderr || r.stdout).trim().slice(0, 500);
      if (r.timedOut) throw new AdapterError(`${o.command} ${req.action}: killed after ${o.timeoutMs} ms`);
      if (r.code === 0) return out || 'ok';
      if (r.code === 75)
        throw new AdapterError(
          `${o.command} ${req.action}: asked to retry later (exit 75)${out ? `: ${out}` : ''}`,
          true,
        );
      throw new AdapterError(`${o.command} ${req.action}: exit ${r.code ?? r.signal}${out ? `: ${out}` : ''}`);
    },
  };
}

export function noneAdapter(log: Logger): Adapter {
  return {
    name: 'none',
    async apply(req) {
      const d = depreferOf(req);
      log.info('route announcement (adapter none: nothing is changed)', {
        action: req.action,
        prefixes: req.prefixes,
        reason: req.reason,
        ...(d && { deprefer: describeDeprefer(d) }),
      });
      return 'logged';
    },
  };
}

/** Log what `inner` would do, and succeed. */
export function dryRun(inner: Adapter, log: Logger): Adapter {
  return {
    name: `${inner.name} (dry run)`,
    async apply(req: AnnounceRequest) {
      log.info('dry run: would call the adapter', {
        adapter: inner.name,
        action: req.action,
        prefixes: req.prefixes,
        reason: req.reason,
        seq: req.seq,
        ...(req.deprefer && { deprefer: describeDeprefer(req.deprefer) }),
      });
      return 'dry run';
    },
  };
}
