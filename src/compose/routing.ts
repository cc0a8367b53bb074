// The route-announcement adapter a config names, and running it once. Kept apart from the rest of
// the node so that `edgedns announce withdraw` (systemd's ExecStopPost after a crash) starts fast:
// it loads the config and the adapters, nothing else.

import type { Action, Adapter } from '../announce/index.js';
import { birdAdapter, dryRun, exabgpAdapter, execAdapter, gobgpAdapter, noneAdapter } from '../announce/index.js';
import type { Config } from '../config/index.js';
import { loadConfig } from '../config/index.js';
import type { Logger } from '../core/index.js';
import { identityConfig } from './site.js';

/** The adapter the config names, wrapped in a dry run when asked. */
export function buildAdapter(c: Config, log: Logger): Adapter {
  const a = c.announce;
  let adapter: Adapter;
  switch (a.adapter) {
    case 'exec':
      adapter = execAdapter({ command: a.exec.command as string, args: a.exec.args, timeoutMs: a.exec.timeout });
      break;
    case 'bird': {
      const v4 = a.bird.includeFile as string;
      adapter = birdAdapter({
        includeFile: v4,
        includeFile6: a.bird.includeFile6 ?? v4,
        socket: a.bird.socket,
        birdc: a.bird.birdc,
        timeoutMs: a.bird.timeout,
      });
      break;
    }
    case 'exabgp':
      adapter = exabgpAdapter({ pipe: a.exabgp.pipe as string, timeoutMs: a.exabgp.timeout });
      break;
    case 'gobgp':
      adapter = gobgpAdapter({ command: a.gobgp.command, args: a.gobgp.args, timeoutMs: a.gobgp.timeout });
      break;
    default:
      adapter = noneAdapter(log);
  }
  return a.dryRun ? dryRun(adapter, log) : adapter;
}

/** `edgedns announce announce|withdraw`: run the adapter of this config once. */
export async function announceOnce(
  configPath: string,
  action: Exclude<Action, 'deprefer'>,
  log: Logger,
): Promise<string> {
  const { config: c } = loadConfig(configPath);
  const adapter = buildAdapter(c, log);
  return adapter.apply({
    action,
    prefixes: c.announce.prefixes,
    siteId: identityConfig(c).siteId,
    reason: `edgedns announce ${action}`,
    seq: 0,
    deprefer: null,
  });
}
