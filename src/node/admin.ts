// The changes the admin endpoint accepts (POST /reload, /drain, /undrain, /drill/fail,
// /zone/refresh, /cache/flush): each body's fields checked, then handed to the node.

import { errorMessage } from '../core/index.js';
import type { HealthMonitor } from '../health/index.js';
import type { Action } from '../metrics/index.js';
import { durationField, unknownField } from '../metrics/index.js';
import type { DnsPlane } from '../process/index.js';
import { absoluteName, keyToText, nameKey } from '../wire/index.js';
import type { ReloadResult } from './reload.js';
import { canonicalZone } from './reload.js';
import type { SecondaryZones } from '../secondary/index.js';

/** Bounds of the durations an admin request may ask for. */
const DRILL_MAX = { ms: 3_600_000, text: '1h' };
const DRAIN_MAX = { ms: 30 * 86_400_000, text: '30d' };
const MAX_REASON = 256;

const refuse = (message: string): { ok: false; message: string } => ({ ok: false, message });

/** What the actions change: the node's reload, health and cache. */
export interface AdminTarget {
  reload(remove: readonly string[]): Promise<ReloadResult>;
  readonly health: HealthMonitor;
  readonly plane: Pick<DnsPlane, 'flush'>;
  readonly secondary: Pick<SecondaryZones, 'has' | 'refresh' | 'status'> | null;
}

export function adminActions(node: AdminTarget): Record<string, Action> {
  return {
    '/reload': async (body) => {
      const bad = unknownField(body, ['remove']);
      if (bad) return refuse(bad);
      const remove = body.remove ?? [];
      if (
        !Array.isArray(remove) ||
        remove.length > 1000 ||
        !remove.every((z): z is string => typeof z === 'string' && z.length > 0 && z.length <= 255)
      )
        return refuse('remove: expected a list of zone names');
      return { ...(await node.reload(remove)) };
    },
    '/drain': (body) => {
      const bad = unknownField(body, ['for', 'reason']);
      if (bad) return refuse(bad);
      const ms = durationField(body, 'for', DRAIN_MAX);
      if (typeof ms === 'string') return refuse(ms);
      const reason = body.reason ?? 'operator drain';
      if (typeof reason !== 'string' || reason.length > MAX_REASON)
        return refuse(`reason: expected a string of at most ${MAX_REASON} characters`);
      return { ok: true, message: node.health.drain(ms, reason) };
    },
    '/undrain': (body) => {
      const bad = unknownField(body, []);
      return bad ? refuse(bad) : { ok: true, message: node.health.undrain() };
    },
    '/drill/fail': (body) => {
      const bad = unknownField(body, ['for']);
      if (bad) return refuse(bad);
      const ms = durationField(body, 'for', DRILL_MAX);
      if (ms === null) return refuse('for: a drill needs a duration, e.g. {"for": "10s"}');
      if (typeof ms === 'string') return refuse(ms);
      return { ok: true, message: node.health.drillFail(ms) };
    },
    '/zone/refresh': async (body) => {
      const bad = unknownField(body, ['zone']);
      if (bad) return refuse(bad);
      if (typeof body.zone !== 'string' || body.zone.length === 0 || body.zone.length > 255)
        return refuse('zone: expected the name of a secondary zone');
      const zone = canonicalZone(body.zone);
      const s = node.secondary;
      if (!s?.has(zone)) return refuse(`${zone} is not a secondary zone here (zones.secondary)`);
      await s.refresh(zone);
      const z = s.status().find((x) => x.zone === zone);
      if (!z || z.lastError) return refuse(`${zone}: ${z?.lastError ?? 'no status'}`);
      return { ok: true, message: `${zone}: serial ${z.serial}, current as of ${z.lastRefresh}`, zone: z };
    },
    '/cache/flush': async (body) => {
      const bad = unknownField(body, ['name']);
      if (bad) return refuse(bad);
      if (body.name !== undefined && typeof body.name !== 'string')
        return refuse(`name: expected a domain name, got ${JSON.stringify(body.name)}`);
      const name = body.name === '' ? undefined : body.name;
      let key: string | undefined;
      try {
        key = name === undefined ? undefined : nameKey(absoluteName(name));
      } catch (e) {
        return refuse(`name: bad name "${name}": ${errorMessage(e)}`);
      }
      const removed = await node.plane.flush(key);
      if (removed === null) return refuse('there is no cache: forwarding is off');
      return {
        ok: true,
        message: key === undefined ? `flushed ${removed} entries` : `flushed ${removed} entries of ${keyToText(key)}`,
        removed,
      };
    },
  };
}
