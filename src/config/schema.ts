// Small validators for the config schema: each checks one value, records problems by path
// ("upstreams[1].port: expected …, got …") and returns the parsed value.

import { isAbsolute } from 'node:path';
import { parseDuration } from '../core/index.js';

export type Problems = string[];
export type Check<T> = (value: unknown, path: string, problems: Problems) => T;

export const show = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'a list'
      : typeof v === 'object'
        ? 'a mapping'
        : (JSON.stringify(v) ?? typeof v);

export const str = (): Check<string> => (v, path, p) => {
  if (typeof v === 'string' && v.length > 0) return v;
  p.push(`${path}: expected a non-empty string, got ${show(v)}`);
  return '';
};

export const bool = (): Check<boolean> => (v, path, p) => {
  if (typeof v === 'boolean') return v;
  p.push(`${path}: expected true or false, got ${show(v)}`);
  return false;
};

export const int =
  (min: number, max: number): Check<number> =>
  (v, path, p) => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    p.push(`${path}: expected an integer ${min}..${max}, got ${show(v)}`);
    return min;
  };

/** Milliseconds, from "250ms", "1s", "1h30m" or a number of seconds. */
export const duration =
  (maxMs = 7 * 86_400_000): Check<number> =>
  (v, path, p) => {
    const ms =
      typeof v === 'number' && v >= 0 ? Math.round(v * 1000) : typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms !== undefined && ms <= maxMs) return ms;
    p.push(`${path}: expected a duration like "250ms", "5s" or "1h", got ${show(v)}`);
    return 0;
  };

export const oneOf =
  <T extends string>(values: readonly T[]): Check<T> =>
  (v, path, p) => {
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    p.push(`${path}: expected one of ${values.join(', ')}, got ${show(v)}`);
    return values[0] as T;
  };

export const list =
  <T>(item: Check<T>): Check<T[]> =>
  (v, path, p) => {
    if (!Array.isArray(v)) {
      p.push(`${path}: expected a list, got ${show(v)}`);
      return [];
    }
    return v.map((x, i) => item(x, `${path}[${i}]`, p));
  };

export const optional =
  <T>(inner: Check<T>): Check<T | null> =>
  (v, path, p) =>
    v === null || v === undefined ? null : inner(v, path, p);

/** A mapping with exactly these keys; unknown keys are errors. Missing keys take `defaults`. */
export const obj =
  <T extends object>(fields: { [K in keyof T]: Check<T[K]> }): Check<T> =>
  (v, path, p) => {
    const out = {} as T;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      p.push(`${path || 'config'}: expected a mapping, got ${show(v)}`);
      return out;
    }
    const rec = v as Record<string, unknown>;
    for (const k of Object.keys(rec)) {
      if (!(k in fields))
        p.push(`${path ? `${path}.` : ''}${k}: unknown key (expected one of ${Object.keys(fields).join(', ')})`);
    }
    for (const k of Object.keys(fields) as (keyof T & string)[]) {
      out[k] = (fields[k] as Check<T[typeof k]>)(rec[k], path ? `${path}.${k}` : k, p);
    }
    return out;
  };

export interface HostPort {
  host: string;
  port: number;
}

/** "192.0.2.1:53", "[2001:db8::1]:53", or an address alone with `defaultPort`. */
export function parseHostPort(text: string, defaultPort: number, allowPortZero = false): HostPort | undefined {
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(text);
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(text);
  const bare6 = /^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$/.test(text) ? [text, text, undefined] : null;
  const m = v6 ?? v4 ?? bare6;
  if (!m) return undefined;
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!Number.isInteger(port) || port < (allowPortZero ? 0 : 1) || port > 65535) return undefined;
  return { host: m[1] as string, port };
}

/** ADDRESS[:PORT]; `allowPortZero` for listeners, where 0 asks the kernel for a free port. */
export const hostPort =
  (defaultPort: number, allowPortZero = false): Check<HostPort> =>
  (v, path, p) => {
    const hp = typeof v === 'string' ? parseHostPort(v, defaultPort, allowPortZero) : undefined;
    if (hp) return hp;
    p.push(`${path}: expected ADDRESS[:PORT] (IPv6 as [::1]:5353), got ${show(v)}`);
    return { host: '127.0.0.1', port: defaultPort };
  };

/**
 * The admin address as every place that takes one writes it: ADDRESS[:PORT], [v6]:PORT or
 * http://ADDRESS[:PORT][/]; the port defaults to `defaultPort` in each form.
 */
export function parseAdminHostPort(text: string, defaultPort: number, allowPortZero = false): HostPort | undefined {
  const m = /^http:\/\/([^/?#]+)\/?$/i.exec(text);
  return parseHostPort(m ? (m[1] as string) : text, defaultPort, allowPortZero);
}

/** The admin listener: an address and port to bind (0 asks the kernel for a free port). */
export const adminListen =
  (defaultPort: number): Check<HostPort> =>
  (v, path, p) => {
    const hp = typeof v === 'string' ? parseAdminHostPort(v, defaultPort, true) : undefined;
    if (hp) return hp;
    p.push(`${path}: expected ADDRESS[:PORT], [v6]:PORT or http://ADDRESS:PORT, got ${show(v)}`);
    return { host: '127.0.0.1', port: defaultPort };
  };

/** Bytes, from an integer or "64MiB", "512KiB", "1GiB". */
export const size = (): Check<number> => (v, path, p) => {
  const units: Record<string, number> = { '': 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
  const m = typeof v === 'string' ? /^(\d+)\s*(kib|mib|gib)?$/i.exec(v.trim()) : null;
  const n =
    typeof v === 'number' && Number.isInteger(v)
      ? v
      : m
        ? Number(m[1]) * (units[(m[2] ?? '').toLowerCase()] as number)
        : NaN;
  if (n >= 0) return n;
  p.push(`${path}: expected a size like 67108864 or "64MiB", got ${show(v)}`);
  return 0;
};

/** An address prefix such as "10.0.0.0/8" or "2001:db8::/32". */
export const cidr =
  (valid: (s: string) => boolean): Check<string> =>
  (v, path, p) => {
    if (typeof v === 'string' && valid(v)) return v;
    p.push(`${path}: expected an address prefix like "192.0.2.0/24" or "2001:db8::/32", got ${show(v)}`);
    return '0.0.0.0/32';
  };

/** One IP address (no prefix, no port), as `valid` accepts it. */
export const address =
  (valid: (s: string) => boolean, what: string): Check<string> =>
  (v, path, p) => {
    if (typeof v === 'string' && valid(v)) return v;
    p.push(`${path}: expected ${what}, got ${show(v)}`);
    return '';
  };

/** A string, or false to hide the value. */
export const strOrFalse = (): Check<string | false> => (v, path, p) => {
  if (v === false || (typeof v === 'string' && v.length > 0)) return v;
  p.push(`${path}: expected a string, or false to hide it, got ${show(v)}`);
  return false;
};

/** A number from 0 to 1. */
/** A mapping whose missing keys take `defaults` (for a section whose default is null). */
export const withDefaults =
  <T extends object>(defaults: T, inner: Check<T>): Check<T> =>
  (v, path, p) =>
    inner(v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...defaults, ...v } : v, path, p);

export const fraction = (): Check<number> => (v, path, p) => {
  if (typeof v === 'number' && v >= 0 && v <= 1) return v;
  p.push(`${path}: expected a number from 0 to 1, got ${show(v)}`);
  return 0;
};

/** sun_path holds 108 bytes on Linux, the last one a NUL. */
const MAX_SOCKET_PATH = 107;

/** A Unix socket path: absolute, short enough for sun_path; "auto" takes `auto()`. */
export const socketPath =
  (auto: () => string): Check<string> =>
  (v, path, p) => {
    const s = v === 'auto' ? auto() : v;
    if (typeof s === 'string' && isAbsolute(s) && Buffer.byteLength(s) <= MAX_SOCKET_PATH) return s;
    p.push(`${path}: expected "auto" or an absolute path of at most ${MAX_SOCKET_PATH} bytes, got ${show(s)}`);
    return '';
  };

/** A host name as it appears in an HTTP Host header (letters, digits, dots, dashes). */
export const hostName = (): Check<string> => (v, path, p) => {
  if (
    typeof v === 'string' &&
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(v) &&
    v.length <= 253
  )
    return v.toLowerCase();
  p.push(`${path}: expected a host name like "edge1.example.org", got ${show(v)}`);
  return '';
};
