// A node's health checks: local ones withdraw the address when they fail, the shared one (the
// upstreams, which every site shares) only reports.

import type { ProbeCookie } from '../client/index.js';
import { probeQuestion, probeTcp, probeUdp } from '../client/index.js';
import type { Config } from '../config/index.js';
import { formatHostPort } from '../core/index.js';
import type { Check } from '../health/index.js';
import { commandCheck, eventLoopCheck, heapCheck, predicateCheck, probeCheck } from '../health/index.js';
import type { DnsPlane } from '../process/index.js';
import type { ZoneInfo } from '../zone/index.js';

/** The checks of a node answering on `plane`; `close` stops the event-loop sampler. */
export function nodeChecks(
  c: Config,
  plane: DnsPlane,
  zones: () => readonly ZoneInfo[],
  probeCookie: ProbeCookie,
): { checks: Check[]; close(): void } {
  const loop = eventLoopCheck(c.health.maxEventLoopLag);
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
    // Every process that answers serves the zones of the last successful load.
    predicateCheck('zones', 'local', () => plane.serving(zones())),
    loop,
    heapCheck(c.health.maxHeapFraction),
    {
      name: 'upstreams',
      kind: 'shared',
      run: async () => {
        const ups = await plane.upstreams();
        if (ups.length === 0) return { ok: true, detail: 'no upstreams' };
        const healthy = ups.filter((u) => u.healthy).length;
        return { ok: healthy > 0, detail: `${healthy} of ${ups.length} upstream(s) healthy` };
      },
    },
  ];
  if (c.health.command)
    checks.push(commandCheck(c.health.command.command, c.health.command.args, c.health.command.timeout));
  return { checks, close: () => loop.close() };
}
