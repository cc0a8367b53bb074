// `edgedns guard`: a small watchdog beside the node. It withdraws the address itself when the
// node stops answering — crashed, hung, SIGSTOPped — because a dead node cannot withdraw. It
// never announces: the node does that when it is healthy again (after `rise`, having noticed its
// stall).
//
// Two ways to notice:
//   - probes: a real UDP query to every address each `interval`; `fall` misses in a row withdraw
//     (a hung or stopped process, a wedged socket);
//   - sentinels: a TCP connection held open to every address; when it closes (a crashed process:
//     the kernel closes it at once) one quick probe confirms, and the guard withdraws at once.
// Before withdrawing it asks the node's admin endpoint: a node that answers there is alive and
// decides for itself (an overloaded node loses probes in the flood and sheds, it must not be
// withdrawn for it); a crashed, hung or stopped one answers nothing.

import * as http from 'node:http';
import { buildAdapter, configuredZoneSpecs, identityConfig } from '../compose/index.js';
import type { Config } from '../config/index.js';
import { formatHostPort, loadConfig } from '../config/index.js';
import type { Logger } from '../core/index.js';
import { createLogger, errorMessage, systemClock } from '../core/index.js';
import type { ProbeCookie, ProbeTarget } from '../client/index.js';
import { probeQuestion, probeUdp, sentinel } from '../client/index.js';

export interface GuardHandle {
  stop(): void;
  done: Promise<void>;
}

/** Keep-alive queries on the sentinel connections, well under any sane TCP idle timeout. */
const SENTINEL_KEEPALIVE_MS = 2000;

/**
 * Whether the node's admin endpoint (its socket, else its TCP address) answers /healthz within
 * `timeoutMs`; false when it has none.
 */
export function adminAlive(a: Config['admin'], timeoutMs: number): Promise<boolean> {
  const where = a.socket
    ? { socketPath: a.socket, headers: { host: 'localhost' } }
    : a.listen
      ? { host: a.listen.host, port: a.listen.port, headers: { host: formatHostPort(a.listen) } }
      : null;
  if (!where) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = http.get({ ...where, path: '/healthz', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export function runGuard(
  c: Config,
  log: Logger,
  probeZone: string | undefined,
  cookie: ProbeCookie | null = null,
): GuardHandle {
  const adapter = buildAdapter(c, log);
  const siteId = identityConfig(c).siteId;
  const targets: ProbeTarget[] = c.listen;
  const q = probeQuestion(probeZone);
  const probe = (t: ProbeTarget): Promise<string> => probeUdp(t, q, c.guard.timeout, cookie ?? undefined);
  let stopped = false;
  let wake: () => void = () => {};
  let failures = 0;
  let withdrawn = false;
  let seq = 0;
  const sentinels = new Map<string, { close(): void }>();
  log.info('guard watching', {
    targets: targets.map(formatHostPort),
    intervalMs: c.guard.interval,
    timeoutMs: c.guard.timeout,
    fall: c.guard.fall,
    adapter: adapter.name,
    question: q,
  });

  let aliveLogged = false;
  /** The withdrawal under way: sentinels that close together (one per address) join it. */
  let withdrawing: Promise<void> | null = null;
  const withdraw = (why: string): Promise<void> =>
    (withdrawing ??= tryWithdraw(why).finally(() => {
      withdrawing = null;
    }));
  const tryWithdraw = async (why: string): Promise<void> => {
    if (withdrawn) return;
    if (await adminAlive(c.admin, Math.max(4 * c.guard.timeout, 500))) {
      if (!aliveLogged)
        log.warn('node misses probes but its admin endpoint answers: alive (overloaded?), not withdrawing', { why });
      aliveLogged = true;
      return;
    }
    aliveLogged = false;
    try {
      const out = await adapter.apply({
        action: 'withdraw',
        prefixes: c.announce.prefixes,
        siteId,
        reason: 'guard: node not answering',
        seq: ++seq,
        deprefer: null,
      });
      withdrawn = true;
      log.warn('guard withdrew the address: the node is not answering', {
        why,
        prefixes: c.announce.prefixes,
        output: out,
        at: new Date().toISOString(),
      });
    } catch (e) {
      log.error('guard could not withdraw; retrying', { error: errorMessage(e) });
    }
  };

  const watch = (t: ProbeTarget): void => {
    const key = formatHostPort(t);
    if (sentinels.has(key) || stopped) return;
    sentinels.set(
      key,
      sentinel(t, q, SENTINEL_KEEPALIVE_MS, (why) => {
        sentinels.delete(key);
        if (stopped) return;
        // Closed: a crash, or the node closing connections as it stops. One quick look decides.
        probe(t).then(
          () => watch(t),
          (e: unknown) => void withdraw(`${why}; ${errorMessage(e)}`),
        );
      }),
    );
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((r) => {
      const t = setTimeout(r, ms);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });

  const done = (async () => {
    while (!stopped) {
      const t0 = systemClock.now();
      // The node is alive when every address answers.
      const results = await Promise.allSettled(targets.map(probe));
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [errorMessage(r.reason)] : []));
      if (failed.length === 0) {
        if (failures >= c.guard.fall || withdrawn)
          log.info('node answers again; it re-announces by itself after rise', {});
        failures = 0;
        withdrawn = false;
        for (const t of targets) watch(t);
      } else {
        failures++;
        if (failures === 1) log.warn('node did not answer', { errors: failed });
        if (failures >= c.guard.fall) await withdraw(failed.join('; '));
      }
      await sleep(Math.max(0, c.guard.interval - (systemClock.now() - t0)));
    }
    for (const s of sentinels.values()) s.close();
  })();
  return {
    stop: () => {
      stopped = true;
      wake();
    },
    done,
  };
}

/** `edgedns guard`: watch the node's addresses and withdraw when it stops answering. */
export async function guard(configPath: string, logLevel?: 'debug' | 'info'): Promise<void> {
  const loaded = loadConfig(configPath);
  const c = loaded.config;
  const log = createLogger({
    level: logLevel ?? c.log.level,
    format: c.log.format,
    base: { site: identityConfig(c).siteId, component: 'guard' },
  });
  let zone: string | undefined;
  try {
    // The first zone's apex: its SOA is there whatever the zone holds (nothing to parse here).
    zone = configuredZoneSpecs(loaded)[0]?.origin;
  } catch (e) {
    log.warn('cannot read the zones; probing CH TXT id.server instead', { error: errorMessage(e) });
  }
  // The node's probe cookie (with cookies.secretFile): the guard's probes are then exempt from the
  // rate limiter and shedding, as the node's own are, and a flood cannot make it miss them.
  const { probeCookieOf } = await import('../node/index.js');
  const g = runGuard(c, log, zone, probeCookieOf(loaded));
  const stop = (): void => g.stop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await g.done;
  log.info('guard stopped');
}
