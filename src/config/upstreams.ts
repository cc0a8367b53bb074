// Upstream resolvers and forward zones: the forms an upstream is written in — plain DNS
// `ADDR[:PORT]` (port 53), DNS over TLS `tls://ADDR[:PORT]#NAME` (port 853, RFC 7858), or a
// mapping `{ address, tls: { name, spki, caFile } }` — and `forward`, the zones whose names go to
// upstreams of their own (longest suffix wins; the top-level `upstreams` serve the rest).

import { parseCidr } from '../core/index.js';
import type { Check, HostPort } from './schema.js';
import { cidr, list, obj, optional, parseHostPort, show, str } from './schema.js';

export const DNS_PORT = 53;
/** RFC 7858 §3.1: DNS over TLS on port 853 unless told otherwise. */
export const DOT_UPSTREAM_PORT = 853;

/** How a DNS-over-TLS upstream is authenticated (RFC 8310 §8: a name, or an SPKI pin). */
export interface UpstreamTlsConfig {
  /** The name the certificate must carry (sent as SNI); null: the pin alone authenticates. */
  name: string | null;
  /** RFC 7858 §4.2: base64 SHA-256 of the certificate's DER SubjectPublicKeyInfo; null: no pin. */
  spki: string | null;
  /** PEM file of the CAs trusted for this upstream; null: `resolver.tlsCaFile`, else the system's. */
  caFile: string | null;
}

export interface UpstreamConfig extends HostPort {
  /** null: plain DNS (UDP, TCP after a truncated answer). */
  tls: UpstreamTlsConfig | null;
}

export interface ForwardZoneConfig {
  /** Absolute name ("corp.example."): it and every name under it. */
  zone: string;
  upstreams: UpstreamConfig[];
  /**
   * Who may ask for names under the zone, instead of `recursion.allow`; null: that of the forward
   * zone it is under (`forwardAllow`), else `recursion.allow`.
   */
  recursionAllow: string[] | null;
}

/** A host name a certificate may carry (a trailing dot allowed, and dropped). */
const CERT_NAME =
  /^(?=.{1,253}\.?$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;
/** 32 bytes in base64: 43 characters and one "=". */
const SPKI = /^[A-Za-z0-9+/]{43}=$/;

const FORMS = 'ADDRESS[:PORT], [v6]:PORT, tls://ADDRESS[:PORT]#NAME or { address, tls: { name, spki, caFile } }';

const certName = (v: string): string => v.replace(/\.$/, '').toLowerCase();

/** One upstream, in any of its forms. */
export const upstream = (): Check<UpstreamConfig> => (v, path, p) => {
  if (typeof v === 'string') return upstreamText(v, path, p);
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return upstreamObject(v, path, p);
  p.push(`${path}: expected ${FORMS}, got ${show(v)}`);
  return { host: '127.0.0.1', port: DNS_PORT, tls: null };
};

function upstreamText(v: string, path: string, p: string[]): UpstreamConfig {
  const bad = { host: '127.0.0.1', port: DNS_PORT, tls: null };
  const m = /^tls:\/\/([^#]*)(?:#(.*))?$/i.exec(v);
  if (!m) {
    const hp = parseHostPort(v, DNS_PORT);
    if (hp) return { ...hp, tls: null };
    p.push(`${path}: expected ${FORMS}, got ${show(v)}`);
    return bad;
  }
  const hp = parseHostPort(m[1] as string, DOT_UPSTREAM_PORT);
  const name = m[2];
  if (!hp) {
    p.push(`${path}: expected tls://ADDRESS[:PORT]#NAME (IPv6 as tls://[2001:db8::1]:853#NAME), got ${show(v)}`);
    return bad;
  }
  if (name === undefined || name === '') {
    p.push(
      `${path}: tls:// needs a name after # or a tls.spki pin ({ address: "${m[1]}", tls: { spki: … } }), got ${show(v)}`,
    );
    return bad;
  }
  if (!CERT_NAME.test(name)) {
    p.push(`${path}: the name after # must be a host name such as resolver.example, got ${show(name)}`);
    return bad;
  }
  return { ...hp, tls: { name: certName(name), spki: null, caFile: null } };
}

const tlsSchema = obj<UpstreamTlsConfig>({
  name: optional<string>((v, path, p) => {
    if (typeof v === 'string' && CERT_NAME.test(v)) return certName(v);
    p.push(`${path}: expected a host name such as resolver.example, got ${show(v)}`);
    return '';
  }),
  spki: optional<string>((v, path, p) => {
    if (typeof v === 'string' && SPKI.test(v)) return v;
    p.push(
      `${path}: expected the base64 SHA-256 of the certificate's SubjectPublicKeyInfo (44 characters ending in =), got ${show(v)}`,
    );
    return '';
  }),
  caFile: optional(str()),
});

const objectSchema = obj<{ address: string; tls: UpstreamTlsConfig | null }>({
  address: str(),
  tls: optional(tlsSchema),
});

function upstreamObject(v: object, path: string, p: string[]): UpstreamConfig {
  const before = p.length;
  const o = objectSchema(v, path, p);
  if (p.length > before) return { host: '127.0.0.1', port: DNS_PORT, tls: null };
  const hp = parseHostPort(o.address, o.tls ? DOT_UPSTREAM_PORT : DNS_PORT);
  if (!hp) p.push(`${path}.address: expected ADDRESS[:PORT] (IPv6 as [2001:db8::1]:853), got ${show(o.address)}`);
  if (o.tls && o.tls.name === null && o.tls.spki === null)
    p.push(`${path}.tls: needs a name (checked against the certificate) or an spki pin, or both`);
  return { ...(hp ?? { host: '127.0.0.1', port: DNS_PORT }), tls: o.tls };
}

/** An absolute domain name in presentation form ("corp.example."). */
const zoneName = (): Check<string> => (v, path, p) => {
  if (typeof v === 'string' && v === '.') {
    p.push(`${path}: "." is every name: the top-level upstreams serve what no forward zone does`);
    return '.';
  }
  if (typeof v === 'string' && /^([^.\s]{1,63}\.)+$/.test(v) && v.length <= 254) return v.toLowerCase();
  p.push(
    typeof v === 'string' && /^([^.\s]{1,63}\.?)+$/.test(v)
      ? `${path}: write the zone as an absolute name ("${v}.")`
      : `${path}: expected an absolute domain name such as "corp.example.", got ${show(v)}`,
  );
  return '.';
};

export const upstreamsSchema: Check<UpstreamConfig[] | null> = optional(list(upstream()));

export const forwardSchema: Check<ForwardZoneConfig[]> = list(
  obj<ForwardZoneConfig>({
    zone: zoneName(),
    upstreams: list(upstream()),
    recursionAllow: optional(list(cidr((s) => parseCidr(s) !== undefined))),
  }),
);

/** Rules between forward zones: each zone once, each with an upstream. */
export function forwardProblems(forward: readonly ForwardZoneConfig[]): string[] {
  const p: string[] = [];
  const seen = new Map<string, number>();
  forward.forEach((f, i) => {
    const first = seen.get(f.zone);
    if (first !== undefined) p.push(`forward[${i}].zone: ${f.zone} is also forward[${first}]; one entry per zone`);
    else seen.set(f.zone, i);
    if (f.upstreams.length === 0) p.push(`forward[${i}].upstreams: at least one upstream`);
  });
  return p;
}

/**
 * The recursion ACL of each forward zone, in `forward`'s order: its own `recursionAllow`, else that
 * of the nearest forward zone it is under that has one, else `recursion.allow`. A zone carved out
 * of an internal one stays internal unless it says otherwise.
 */
export function forwardAllow(forward: readonly ForwardZoneConfig[], global: readonly string[]): (readonly string[])[] {
  return forward.map((f) => {
    let best: ForwardZoneConfig | null = null;
    for (const g of forward) {
      if (g.recursionAllow === null || !(f.zone === g.zone || f.zone.endsWith(`.${g.zone}`))) continue;
      if (best === null || g.zone.length > best.zone.length) best = g;
    }
    return best?.recursionAllow ?? global;
  });
}

/** `ADDR:PORT`, or `tls://ADDR:PORT#NAME` for DNS over TLS (`#` left out with a pin alone): how logs show an upstream. */
export function formatUpstream(u: UpstreamConfig): string {
  const hp = u.host.includes(':') ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`;
  if (!u.tls) return hp;
  return `tls://${hp}${u.tls.name ? `#${u.tls.name}` : ''}`;
}
