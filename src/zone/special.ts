// RDATA of the types whose presentation form is not a plain list of fields: WKS, LOC, APL, A6,
// IPSECKEY, AMTRELAY, HIP, NSAP, ATMA, EUI48/EUI64, NID/L64 locators.

import { nameFromText } from '../wire/index.js';
import type { Field } from './fields.js';
import {
  RdataError,
  formatIPv4,
  formatIPv6,
  parseBase64,
  parseHex,
  parseIPv4,
  parseIPv6,
  parseUint,
  toBase64,
  toHex,
} from './text.js';

/** Field that consumes the whole RDATA. */
export type Codec = Field;

// --- WKS (RFC 1035 §3.4.2) ---------------------------------------------------------------
const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17 };
const SERVICES: Record<string, number> = {
  tcpmux: 1,
  echo: 7,
  discard: 9,
  systat: 11,
  daytime: 13,
  netstat: 15,
  qotd: 17,
  chargen: 19,
  'ftp-data': 20,
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  time: 37,
  whois: 43,
  tacacs: 49,
  domain: 53,
  bootps: 67,
  bootpc: 68,
  tftp: 69,
  gopher: 70,
  finger: 79,
  http: 80,
  www: 80,
  kerberos: 88,
  pop3: 110,
  sunrpc: 111,
  auth: 113,
  nntp: 119,
  ntp: 123,
  'netbios-ns': 137,
  imap: 143,
  snmp: 161,
  bgp: 179,
  ldap: 389,
  https: 443,
  syslog: 514,
  submission: 587,
  ldaps: 636,
  imaps: 993,
  pop3s: 995,
};

export const wks: Codec = {
  parse: (r, out) => {
    const a = r.bare('IPv4 address');
    const addr = parseIPv4(a);
    if (!addr) throw new RdataError(`expected an IPv4 address, got "${a}"`);
    out.bytes(addr);
    const p = r.bare('protocol');
    const proto = PROTOCOLS[p.toLowerCase()] ?? parseUint(p, 8, 'protocol');
    out.u8(proto);
    const bits: number[] = [];
    while (!r.done) {
      const s = r.bare('service');
      const port = SERVICES[s.toLowerCase()] ?? parseUint(s, 16, `service "${s}"`);
      const byte = port >> 3;
      while (bits.length <= byte) bits.push(0);
      bits[byte] = (bits[byte] as number) | (0x80 >> (port & 7));
    }
    out.bytes(bits);
  },
  print: (w) => {
    const addr = formatIPv4(w.bytes(4));
    const proto = w.u8();
    const ports: number[] = [];
    const bits = w.rest();
    bits.forEach((byte, i) => {
      for (let k = 0; k < 8; k++) if (byte & (0x80 >> k)) ports.push(i * 8 + k);
    });
    return [addr, proto, ...ports].join(' ');
  },
};

// --- LOC (RFC 1876) ------------------------------------------------------------------------
function locSize(text: string, what: string): number {
  const m = /^(\d+)(?:\.(\d{1,2}))?m?$/.exec(text);
  if (!m) throw new RdataError(`${what}: expected meters like "10m" or "1.5", got "${text}"`);
  const cm = Number(m[1]) * 100 + Number((m[2] ?? '0').padEnd(2, '0'));
  if (cm > 9_000_000_000) throw new RdataError(`${what}: ${text} is too large`);
  let exp = 0;
  while (exp < 9 && cm >= 10 ** (exp + 1)) exp++;
  const mant = Math.floor(cm / 10 ** exp);
  return (Math.min(mant, 9) << 4) | exp;
}

function printSize(v: number): string {
  const cm = (v >> 4) * 10 ** (v & 0x0f);
  return cm % 100 === 0 ? `${cm / 100}m` : `${(cm / 100).toFixed(2)}m`;
}

export const loc: Codec = {
  parse: (r, out) => {
    const coord = (max: number, pos: string, neg: string, what: string): number => {
      const deg = parseUint(r.bare(what), 16, what);
      let min = 0;
      let sec = 0;
      let t = r.bare(what);
      if (/^\d+$/.test(t)) {
        min = Number(t);
        t = r.bare(what);
        if (/^\d+(\.\d{1,3})?$/.test(t)) {
          sec = Number(t);
          t = r.bare(what);
        }
      }
      const hemi = t.toUpperCase();
      if (hemi !== pos && hemi !== neg) throw new RdataError(`${what}: expected ${pos} or ${neg}, got "${t}"`);
      if (deg > max || min > 59 || sec >= 60 || (deg === max && (min > 0 || sec > 0)))
        throw new RdataError(`${what}: out of range`);
      const ms = Math.round(((deg * 60 + min) * 60 + sec) * 1000);
      return 2 ** 31 + (hemi === pos ? ms : -ms);
    };
    const lat = coord(90, 'N', 'S', 'latitude');
    const lon = coord(180, 'E', 'W', 'longitude');
    const altText = r.bare('altitude');
    const am = /^(-?)(\d+)(?:\.(\d{1,2}))?m?$/.exec(altText);
    if (!am) throw new RdataError(`altitude: expected meters, got "${altText}"`);
    const altCm = (Number(am[2]) * 100 + Number((am[3] ?? '0').padEnd(2, '0'))) * (am[1] ? -1 : 1);
    const alt = altCm + 10_000_000;
    if (alt < 0 || alt > 0xffffffff) throw new RdataError(`altitude ${altText} out of range`);
    const size = r.done ? 0x12 : locSize(r.bare('size'), 'size');
    const hp = r.done ? 0x16 : locSize(r.bare('horizontal precision'), 'horizontal precision');
    const vp = r.done ? 0x13 : locSize(r.bare('vertical precision'), 'vertical precision');
    out.u8(0);
    out.u8(size);
    out.u8(hp);
    out.u8(vp);
    out.u32(lat);
    out.u32(lon);
    out.u32(alt);
  },
  print: (w) => {
    const version = w.u8();
    if (version !== 0) throw new RdataError('unknown LOC version');
    const size = w.u8();
    const hp = w.u8();
    const vp = w.u8();
    const coord = (v: number, pos: string, neg: string): string => {
      let ms = v - 2 ** 31;
      const hemi = ms < 0 ? neg : pos;
      ms = Math.abs(ms);
      const deg = Math.floor(ms / 3_600_000);
      const min = Math.floor((ms % 3_600_000) / 60_000);
      const sec = (ms % 60_000) / 1000;
      return `${deg} ${min} ${sec.toFixed(3)} ${hemi}`;
    };
    const lat = coord(w.u32(), 'N', 'S');
    const lon = coord(w.u32(), 'E', 'W');
    const alt = (w.u32() - 10_000_000) / 100;
    return `${lat} ${lon} ${alt.toFixed(2)}m ${printSize(size)} ${printSize(hp)} ${printSize(vp)}`;
  },
};

// --- APL (RFC 3123) ------------------------------------------------------------------------
export const apl: Codec = {
  parse: (r, out) => {
    while (!r.done) {
      const t = r.bare('APL item');
      const m = /^(!?)(\d+):([^/]+)\/(\d+)$/.exec(t);
      if (!m) throw new RdataError(`APL item: expected [!]afi:address/prefix, got "${t}"`);
      const afi = Number(m[2]);
      const prefix = Number(m[4]);
      const addr = afi === 1 ? parseIPv4(m[3] as string) : afi === 2 ? parseIPv6(m[3] as string) : undefined;
      if (!addr) throw new RdataError(`APL item "${t}": bad address family or address`);
      if (prefix > addr.length * 8) throw new RdataError(`APL item "${t}": prefix too long`);
      let len = addr.length;
      while (len > 0 && addr[len - 1] === 0) len--;
      out.u16(afi);
      out.u8(prefix);
      out.u8((m[1] ? 0x80 : 0) | len);
      out.bytes(addr.slice(0, len));
    }
  },
  print: (w) => {
    const items: string[] = [];
    while (!w.done) {
      const afi = w.u16();
      const prefix = w.u8();
      const nl = w.u8();
      const data = w.bytes(nl & 0x7f);
      const full = new Uint8Array(afi === 2 ? 16 : 4);
      full.set(data.subarray(0, full.length));
      const addr = afi === 2 ? formatIPv6(full) : formatIPv4(full);
      items.push(`${nl & 0x80 ? '!' : ''}${afi}:${addr}/${prefix}`);
    }
    return items.join(' ');
  },
};

// --- A6 (RFC 2874) -------------------------------------------------------------------------
export const a6: Codec = {
  parse: (r, out) => {
    const plen = parseUint(r.bare('prefix length'), 8, 'prefix length');
    if (plen > 128) throw new RdataError('prefix length over 128');
    out.u8(plen);
    if (plen < 128) {
      const t = r.bare('address suffix');
      const addr = parseIPv6(t);
      if (!addr) throw new RdataError(`expected an IPv6 address, got "${t}"`);
      const n = Math.ceil((128 - plen) / 8);
      const suffix = addr.slice(16 - n);
      if (plen % 8 !== 0) suffix[0] = (suffix[0] as number) & (0xff >> (plen % 8));
      out.bytes(suffix);
    }
    if (plen > 0) out.bytes(r.name('prefix name'));
  },
  print: (w) => {
    const plen = w.u8();
    const parts = [String(plen)];
    if (plen < 128) {
      const n = Math.ceil((128 - plen) / 8);
      const full = new Uint8Array(16);
      full.set(w.bytes(n), 16 - n);
      parts.push(formatIPv6(full));
    }
    if (plen > 0) parts.push(w.name());
    return parts.join(' ');
  },
};

// --- IPSECKEY (RFC 4025) and AMTRELAY (RFC 8777): a gateway whose form depends on a type ----
function gateway(type: number, text: string, origin: Uint8Array): number[] {
  switch (type) {
    case 0:
      if (text !== '.') throw new RdataError(`gateway type 0 needs ".", got "${text}"`);
      return [];
    case 1: {
      const a = parseIPv4(text);
      if (!a) throw new RdataError(`expected an IPv4 gateway, got "${text}"`);
      return a;
    }
    case 2: {
      const a = parseIPv6(text);
      if (!a) throw new RdataError(`expected an IPv6 gateway, got "${text}"`);
      return a;
    }
    case 3:
      try {
        return [...nameFromText(text, origin)];
      } catch (e) {
        throw new RdataError(`gateway: ${(e as Error).message}`);
      }
    default:
      throw new RdataError(`unknown gateway type ${type}`);
  }
}

function printGateway(type: number, w: Parameters<Field['print']>[0]): string {
  switch (type) {
    case 0:
      return '.';
    case 1:
      return formatIPv4(w.bytes(4));
    case 2:
      return formatIPv6(w.bytes(16));
    case 3:
      return w.name();
    default:
      throw new RdataError('unknown gateway type');
  }
}

export const ipseckey: Codec = {
  parse: (r, out) => {
    out.u8(parseUint(r.bare('precedence'), 8, 'precedence'));
    const type = parseUint(r.bare('gateway type'), 8, 'gateway type');
    out.u8(type);
    out.u8(parseUint(r.bare('algorithm'), 8, 'algorithm'));
    out.bytes(gateway(type, r.bare('gateway'), r.origin));
    if (!r.done) out.bytes(parseBase64(r.rest(), 'public key'));
  },
  print: (w) => {
    const prec = w.u8();
    const type = w.u8();
    const alg = w.u8();
    const gw = printGateway(type, w);
    const key = w.done ? '' : ` ${toBase64(w.rest())}`;
    return `${prec} ${type} ${alg} ${gw}${key}`;
  },
};

export const amtrelay: Codec = {
  parse: (r, out) => {
    out.u8(parseUint(r.bare('precedence'), 8, 'precedence'));
    const d = r.bare('discovery optional');
    if (d !== '0' && d !== '1') throw new RdataError(`discovery optional: expected 0 or 1, got "${d}"`);
    const type = parseUint(r.bare('relay type'), 8, 'relay type');
    if (type > 127) throw new RdataError('relay type over 127');
    out.u8((d === '1' ? 0x80 : 0) | type);
    if (type === 0) {
      if (!r.done && r.bare('relay') !== '.') throw new RdataError('relay type 0 takes "." or nothing');
      return;
    }
    out.bytes(gateway(type, r.bare('relay'), r.origin));
  },
  print: (w) => {
    const prec = w.u8();
    const dt = w.u8();
    const type = dt & 0x7f;
    const relay = type <= 3 ? printGateway(type, w) : toHex(w.rest());
    return `${prec} ${dt >> 7} ${type} ${relay}`;
  },
};

// --- HIP (RFC 8005) ------------------------------------------------------------------------
export const hip: Codec = {
  parse: (r, out) => {
    const alg = parseUint(r.bare('PK algorithm'), 8, 'PK algorithm');
    const hit = parseHex(r.bare('HIT'), 'HIT');
    const pk = parseBase64(r.bare('public key'), 'public key');
    if (hit.length > 255 || pk.length > 0xffff) throw new RdataError('HIT or public key too long');
    out.u8(hit.length);
    out.u8(alg);
    out.u16(pk.length);
    out.bytes(hit);
    out.bytes(pk);
    while (!r.done) out.bytes(r.name('rendezvous server'));
  },
  print: (w) => {
    const hitLen = w.u8();
    const alg = w.u8();
    const pkLen = w.u16();
    const parts = [String(alg), toHex(w.bytes(hitLen)), toBase64(w.bytes(pkLen))];
    while (!w.done) parts.push(w.name());
    return parts.join(' ');
  },
};

// --- NSAP (RFC 1706), ATMA, EUI48/64 (RFC 7043), NID/L64 (RFC 6742) ---------------------------
export const nsap: Codec = {
  parse: (r, out) => {
    const t = r.bare('NSAP address');
    if (!/^0x/i.test(t)) throw new RdataError(`NSAP address must start with 0x, got "${t}"`);
    const hex = t.slice(2).replace(/\./g, '');
    if (hex.length === 0) throw new RdataError('empty NSAP address');
    out.bytes(parseHex(hex, 'NSAP address'));
  },
  print: (w) => `0x${toHex(w.rest()).toLowerCase()}`,
};

export const atma: Codec = {
  parse: (r, out) => {
    const t = r.bare('ATM address');
    if (t.startsWith('+')) {
      const digits = t.slice(1).replace(/\./g, '');
      if (!/^\d+$/.test(digits)) throw new RdataError(`E.164 ATM address must be digits, got "${t}"`);
      out.u8(1);
      out.bytes([...digits].map((c) => c.charCodeAt(0)));
    } else {
      out.u8(0);
      out.bytes(parseHex(t.replace(/\./g, ''), 'ATM address'));
    }
  },
  print: (w) => {
    const format = w.u8();
    const rest = w.rest();
    return format === 1 ? `+${Buffer.from(rest).toString('latin1')}` : toHex(rest).toLowerCase();
  },
};

export const eui = (octets: 6 | 8): Codec => ({
  parse: (r, out) => {
    const t = r.bare('EUI address');
    const re = octets === 6 ? /^([0-9a-f]{2}-){5}[0-9a-f]{2}$/i : /^([0-9a-f]{2}-){7}[0-9a-f]{2}$/i;
    if (!re.test(t)) throw new RdataError(`expected ${octets} hex pairs separated by "-", got "${t}"`);
    out.bytes(parseHex(t.replace(/-/g, ''), 'EUI address'));
  },
  print: (w) => [...w.bytes(octets)].map((b) => b.toString(16).padStart(2, '0')).join('-'),
});

export const locator64: Codec = {
  parse: (r, out) => {
    out.u16(parseUint(r.bare('preference'), 16, 'preference'));
    const t = r.bare('locator');
    if (!/^([0-9a-f]{1,4}:){3}[0-9a-f]{1,4}$/i.test(t))
      throw new RdataError(`expected a locator like 0014:4fff:ff20:ee64, got "${t}"`);
    for (const g of t.split(':')) out.u16(parseInt(g, 16));
  },
  print: (w) => {
    const pref = w.u16();
    const groups: string[] = [];
    for (let i = 0; i < 4; i++) groups.push(w.u16().toString(16).padStart(4, '0'));
    return `${pref} ${groups.join(':')}`;
  },
};
