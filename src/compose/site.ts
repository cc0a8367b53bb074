// The site's identity as the config gives it (defaults: the host name; "edgedns <version>").

import { hostname } from 'node:os';
import type { Config } from '../config/index.js';
import type { IdentityConfig } from '../identity/index.js';
import { VERSION } from '../core/index.js';

export function identityConfig(c: Config): IdentityConfig {
  const host = hostname();
  return {
    siteId: c.site.id ?? host,
    hostname: c.site.hostname ?? host,
    version: c.site.version === false ? null : (c.site.version ?? `edgedns ${VERSION}`),
  };
}
