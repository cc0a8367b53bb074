// A node's health checks: local ones withdraw the address when they fail, the shared one (the
// upstreams, which every site shares) only reports unless health.sharedWithdraw, and the load
// check tells overloaded from broken (the node sheds instead of withdrawing).

import type { ProbeCookie } from '../client/index.js';
import { probeDoh, probeDot, probeQuestion, probeTcp, probeUdp } from '../client/index.js';
import type { Config } from '../config/index.js';
import { formatHostPort, systemClock } from '../core/index.js';
import type { Check } from '../health/index.js';
import type { LoadSample } from '../health/index.js';
import { commandCheck, heapCheck, loadCheck, predicateCheck, probeCheck } from '../health/index.js';
import type { DnsPlane } from '../process/index.js';
import type { ZoneInfo } from '../zone/index.js';

/** The checks of a node answering on `plane`, and `extra` ones (the fleet's data-plane check). */
export function nodeChecks(
  c: Config,
  plane: DnsPlane,
  zones: () => readonly ZoneInfo[],
  probeCookie: ProbeCookie,
  load: () => Promise<LoadSample>,
  extra: readonly Check[] = [],
): Check[] {
  const limits = {
    maxUtilization: c.health.overload.maxUtilization,
    maxLagMs: c.health.maxEventLoopLag,
    maxDropRate: c.health.overload.maxDropRate,
    maxQueued: c.health.overload.maxUdpQueue,
  };
  const q = probeQuestion(zones()[0]?.origin);
  const checks: Check[] = [
    predicateCheck('listeners', 'local', () => plane.listening()),
    ...plane.bound.flatMap((b) => [
      probeCheck(
        `udp ${formatHostPort(b)}`,
        () => probeUdp(b, q, c.health.probeTimeout, probeCookie),
        c.health.probeTimeout + 100,
      ),
      probeCheck(
        `tcp ${formatHostPort(b)}`,
        () => probeTcp(b, q, c.health.probeTimeout, probeCookie),
        c.health.probeTimeout + 100,
      ),
    ]),
    // DoT and DoH: a TLS handshake (a certificate in date) and a real query, as a client makes them.
    ...plane.boundEncrypted.dot.map((b) =>
      probeCheck(
        `dot ${formatHostPort(b)}`,
        () => probeDot(b, q, c.health.probeTimeout, probeCookie),
        c.health.probeTimeout + 100,
      ),
    ),
    ...plane.boundEncrypted.doh.map((b) =>
      probeCheck(
        `doh ${formatHostPort(b)}`,
        () => probeDoh(b, c.doh.path, q, c.health.probeTimeout, probeCookie),
        c.health.probeTimeout + 100,
      ),
    ),
    // Every process that answers serves the zones of the last successful load.
    predicateCheck('zones', 'local', () => plane.serving(zones())),
    loadCheck(load, limits, systemClock),
    heapCheck(c.health.maxHeapFraction),
    {
      name: 'upstreams',
      kind: 'shared',
      run: async () => {
        const ups = await plane.upstreams();
        if (ups.length === 0) return { ok: true, detail: 'no upstreams' };
        // Each set (the default, every forward zone) needs a healthy upstream: a forward zone
        // whose upstreams are all down fails its names as surely as the default set would.
        const up = new Map<string | null, boolean>();
        for (const u of ups) up.set(u.zone, (up.get(u.zone) ?? false) || u.healthy);
        const down = [...up].filter(([, ok]) => !ok).map(([zone]) => zone ?? 'the default upstreams');
        const healthy = ups.filter((u) => u.healthy).length;
        const detail = `${healthy} of ${ups.length} upstream(s) healthy`;
        return down.length === 0
          ? { ok: true, detail }
          : { ok: false, detail: `${detail}; none healthy for ${down.join(', ')}` };
      },
    },
  ];
  if (c.health.command)
    checks.push(commandCheck(c.health.command.command, c.health.command.args, c.health.command.timeout));
  return [...checks, ...extra];
}
