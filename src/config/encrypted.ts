// Encrypted DNS listeners: DNS over TLS (RFC 7858, `dot`) and over HTTPS (RFC 8484, `doh`), and the
// certificate and key they share (`tls`), read from files at start and at every reload.

import type { Check, HostPort } from './schema.js';
import { hostPort, list, obj, optional, str } from './schema.js';

export interface TlsConfig {
  /** PEM certificate chain (the server's first). */
  certFile: string;
  /** PEM private key. */
  keyFile: string;
}

export interface EncryptedConfig {
  tls: TlsConfig | null;
  /** DoT listeners (port 853 unless given). */
  dot: { listen: HostPort[] };
  /** DoH listeners (port 443 unless given) and the path of the endpoint. */
  doh: { listen: HostPort[]; path: string };
}

export const DOT_PORT = 853;
export const DOH_PORT = 443;

export const ENCRYPTED_DEFAULTS = {
  tls: null,
  dot: { listen: [] as string[] },
  doh: { listen: [] as string[], path: '/dns-query' },
};

export const encryptedSchema = {
  tls: optional(obj<TlsConfig>({ certFile: str(), keyFile: str() })),
  dot: obj({ listen: list(hostPort(DOT_PORT, true)) }),
  doh: obj({ listen: list(hostPort(DOH_PORT, true)), path: str() }),
} satisfies Record<keyof EncryptedConfig, Check<unknown>>;

/** Rules between keys: a listener needs the certificate; a path is absolute, without a query. */
export function encryptedProblems(c: EncryptedConfig): string[] {
  const p: string[] = [];
  const any = c.dot.listen.length + c.doh.listen.length > 0;
  if (any && !c.tls)
    p.push(
      `tls: required by ${c.dot.listen.length > 0 ? 'dot.listen' : 'doh.listen'} (tls: { certFile: …, keyFile: … })`,
    );
  if (!/^\/[^?#\s]*$/.test(c.doh.path))
    p.push(`doh.path: expected an absolute path such as /dns-query, got "${c.doh.path}"`);
  return p;
}
