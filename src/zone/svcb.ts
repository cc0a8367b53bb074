// SVCB and HTTPS RDATA (RFC 9460 §2.1, Appendix A): priority, target, and SvcParams with the
// validation rules a zone must satisfy.

import { u16 } from '../wire/index.js';
import type { Field } from './fields.js';
import type { Bytes } from './text.js';
import {
  RdataError,
  escapeBytes,
  formatIPv4,
  formatIPv6,
  parseBase64,
  parseIPv4,
  parseIPv6,
  parseUint,
  toBase64,
  unescapeBytes,
} from './text.js';

const KEYS: Readonly<Record<string, number>> = {
  mandatory: 0,
  alpn: 1,
  'no-default-alpn': 2,
  port: 3,
  ipv4hint: 4,
  ech: 5,
  ipv6hint: 6,
  dohpath: 7,
  ohttp: 8,
  'tls-supported-groups': 9,
  docpath: 10,
  pvd: 11,
  oots: 12,
  // draft name of "ech", still found in zone files
  echconfig: 5,
};
const KEY_NAMES = [
  'mandatory',
  'alpn',
  'no-default-alpn',
  'port',
  'ipv4hint',
  'ech',
  'ipv6hint',
  'dohpath',
  'ohttp',
  'tls-supported-groups',
  'docpath',
  'pvd',
  'oots',
];

function keyNumber(name: string): number {
  const known = KEYS[name.toLowerCase()];
  if (known !== undefined) return known;
  const m = /^key(\d{1,5})$/i.exec(name);
  if (!m) throw new RdataError(`unknown SvcParamKey "${name}"`);
  const n = Number(m[1]);
  // RFC 9460 §14.3.2: 65535 is reserved ("invalid key").
  if (n > 65534) throw new RdataError(`SvcParamKey "${name}" is out of range`);
  return n;
}

function keyName(n: number): string {
  return KEY_NAMES[n] ?? `key${n}`;
}

/** Split an unescaped value list on commas, honouring `\,` and `\\` (Appendix A.1). */
function valueList(bytes: number[], what: string): number[][] {
  const items: number[][] = [];
  let cur: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b === 0x5c && i + 1 < bytes.length) {
      cur.push(bytes[++i] as number);
    } else if (b === 0x2c) {
      items.push(cur);
      cur = [];
    } else cur.push(b);
  }
  items.push(cur);
  if (items.some((x) => x.length === 0)) throw new RdataError(`${what}: empty item in list`);
  return items;
}

function encodeValue(key: number, value: string | undefined, name: string): number[] {
  const need = (): number[] => {
    if (value === undefined || value === '') throw new RdataError(`SvcParam "${name}" needs a value`);
    return unescapeBytes(value);
  };
  const text = (): string => String.fromCharCode(...need());
  switch (key) {
    case 0: {
      const keys = text().split(',').map(keyNumber);
      const out: number[] = [];
      for (const k of [...keys].sort((a, b) => a - b)) out.push(k >> 8, k & 0xff);
      return out;
    }
    case 1: {
      const out: number[] = [];
      for (const id of valueList(need(), 'alpn')) {
        if (id.length > 255) throw new RdataError('alpn: protocol id longer than 255 bytes');
        out.push(id.length, ...id);
      }
      return out;
    }
    case 2:
    case 8:
    case 11:
      if (value !== undefined) throw new RdataError(`SvcParam "${name}" takes no value`);
      return [];
    case 3: {
      const p = parseUint(text(), 16, 'port');
      return [p >> 8, p & 0xff];
    }
    case 4:
    case 6: {
      const out: number[] = [];
      for (const a of text().split(',')) {
        const b = key === 4 ? parseIPv4(a) : parseIPv6(a);
        if (!b) throw new RdataError(`${name}: bad address "${a}"`);
        out.push(...b);
      }
      return out;
    }
    case 5:
      // Zone files written for the draft carry a bare "echconfig"; accept it as empty.
      if (value === undefined && name.toLowerCase() === 'echconfig') return [];
      return parseBase64(text(), 'ech');
    case 7:
      return need();
    case 9: {
      // draft-ietf-tls-key-share-prediction: a list of 16-bit TLS group ids.
      const out: number[] = [];
      const seen = new Set<number>();
      for (const g of text().split(',')) {
        const v = parseUint(g, 16, 'tls-supported-groups');
        if (seen.has(v)) throw new RdataError(`tls-supported-groups: group ${v} listed twice`);
        seen.add(v);
        out.push(v >> 8, v & 0xff);
      }
      return out;
    }
    case 10: {
      // RFC 9953: path segments, each with a length byte; no value means the root path.
      if (value === undefined || value === '') return [];
      const out: number[] = [];
      for (const seg of valueList(unescapeBytes(value), 'docpath')) {
        if (seg.length > 255) throw new RdataError('docpath: segment longer than 255 bytes');
        out.push(seg.length, ...seg);
      }
      return out;
    }
    case 12: {
      // draft-johani-dnsop-svcb-oots: "proto:percent" items, each protocol once, percent 0..100.
      const out: number[] = [];
      const seen = new Set<string>();
      for (const item of text().split(',')) {
        const m = /^([^:]+):(\d{1,3})$/.exec(item);
        if (!m || Number(m[2]) > 100) throw new RdataError(`oots: expected protocol:percent (0..100), got "${item}"`);
        const proto = m[1] as string;
        if (seen.has(proto) || proto.length > 255)
          throw new RdataError(`oots: protocol "${proto}" listed twice or too long`);
        seen.add(proto);
        out.push(proto.length, ...[...proto].map((c) => c.charCodeAt(0)), Number(m[2]));
      }
      return out;
    }
    default:
      return value === undefined ? [] : unescapeBytes(value);
  }
}

export const svcb: Field = {
  parse: (r, out: Bytes) => {
    const priority = parseUint(r.bare('priority'), 16, 'priority');
    out.u16(priority);
    out.bytes(r.name('target name'));
    const params = new Map<number, number[]>();
    while (!r.done) {
      const tok = r.next('SvcParam');
      if (tok.quoted) throw new RdataError(`SvcParam: unexpected quoted string "${tok.text}"`);
      const eq = tok.text.indexOf('=');
      const name = eq < 0 ? tok.text : tok.text.slice(0, eq);
      let value = eq < 0 ? undefined : tok.text.slice(eq + 1);
      if (value !== undefined && value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
        value = value.slice(1, -1);
      else if (value !== undefined && value.includes('"'))
        throw new RdataError(`SvcParam "${name}": stray quote in value`);
      const key = keyNumber(name);
      if (params.has(key)) throw new RdataError(`SvcParam "${keyName(key)}" appears twice`);
      params.set(key, encodeValue(key, value, name));
    }
    validate(params);
    for (const key of [...params.keys()].sort((a, b) => a - b)) {
      const v = params.get(key) as number[];
      if (v.length > 0xffff) throw new RdataError(`SvcParam "${keyName(key)}" value too long`);
      out.u16(key);
      out.u16(v.length);
      out.bytes(v);
    }
  },
  print: (w) => {
    const parts = [String(w.u16()), w.name()];
    while (!w.done) {
      const key = w.u16();
      const v = w.bytes(w.u16());
      parts.push(printParam(key, v));
    }
    return parts.join(' ');
  },
};

/** RFC 9460 §8: mandatory lists present keys, never itself, without repeats; §7.1.1. */
function validate(params: Map<number, number[]>): void {
  const mandatory = params.get(0);
  if (mandatory) {
    const seen = new Set<number>();
    for (let i = 0; i < mandatory.length; i += 2) {
      const k = ((mandatory[i] as number) << 8) | (mandatory[i + 1] as number);
      if (k === 0) throw new RdataError('"mandatory" may not list itself');
      if (seen.has(k)) throw new RdataError(`"mandatory" lists ${keyName(k)} twice`);
      if (!params.has(k)) throw new RdataError(`"mandatory" lists ${keyName(k)}, which is missing`);
      seen.add(k);
    }
  }
  if (params.has(2) && !params.has(1)) throw new RdataError('"no-default-alpn" requires "alpn"');
}

function printParam(key: number, v: Uint8Array): string {
  const name = keyName(key);
  switch (key) {
    case 0: {
      const keys: string[] = [];
      for (let i = 0; i + 1 < v.length; i += 2) keys.push(keyName(u16(v, i)));
      return `${name}=${keys.join(',')}`;
    }
    case 1: {
      const ids: string[] = [];
      for (let i = 0; i < v.length;) {
        const len = v[i] as number;
        ids.push(escapeBytes(v.subarray(i + 1, i + 1 + len), ',\\"').replace(/\\([,\\])/g, '\\\\$1'));
        i += 1 + len;
      }
      return `${name}="${ids.join(',')}"`;
    }
    case 2:
    case 8:
      return name;
    case 3:
      return `${name}=${((v[0] ?? 0) << 8) | (v[1] ?? 0)}`;
    case 4:
    case 6: {
      const size = key === 4 ? 4 : 16;
      const addrs: string[] = [];
      for (let i = 0; i + size <= v.length; i += size) addrs.push(key === 4 ? formatIPv4(v, i) : formatIPv6(v, i));
      return `${name}=${addrs.join(',')}`;
    }
    case 5:
      return `${name}=${toBase64(v)}`;
    case 9: {
      const groups: number[] = [];
      for (let i = 0; i + 1 < v.length; i += 2) groups.push(u16(v, i));
      return `${name}=${groups.join(',')}`;
    }
    default:
      return v.length === 0 ? name : `${name}="${escapeBytes(v, '"\\')}"`;
  }
}
