// What a reload reports, and what it cannot change on a running node.

import type { ErrorCode } from '../core/index.js';
import { absoluteName, keyToText, nameKey } from '../wire/index.js';

/** A zone name as the zone list shows it (lower case, absolute); text that is no name stays as given. */
export function canonicalZone(name: string): string {
  try {
    return keyToText(nameKey(absoluteName(name)));
  } catch {
    return name;
  }
}

export interface ReloadResult {
  ok: boolean;
  message: string;
  /** Why a reload was refused (ERR_ZONE_* or ERR_CONFIG_*): `edgedns reload` exits as `zone check` or `config check` would. */
  code?: ErrorCode;
}

/** Keys a reload cannot apply to a running node. */
export const RESTART_KEYS = [
  'listen',
  'dot',
  'doh',
  'workers',
  'tcp',
  'edns',
  'upstreams',
  'forward',
  'resolver',
  'fetchLimits',
  'cache',
  'recursion',
  'rateLimit',
  'admin',
  'log',
  'health',
  'announce',
  'guard',
  'fleet',
] as const;
