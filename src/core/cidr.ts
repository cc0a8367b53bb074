// Address prefixes (CIDR) and matching client addresses against a list of them.

import { isIPv4, isIPv6 } from 'node:net';

interface Prefix {
  v6: boolean;
  bytes: Uint8Array;
  bits: number;
}

function ipBytes(addr: string): Uint8Array | undefined {
  if (isIPv4(addr)) return Uint8Array.from(addr.split('.').map(Number));
  if (!isIPv6(addr)) return undefined;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  let s = addr;
  const extra: number[] = [];
  if (tail) {
    extra.push(...(tail[1] as string).split('.').map(Number));
    s = addr.slice(0, -(tail[1] as string).length) + '0:0';
  }
  const [head = '', rest] = s.split('::') as [string, string | undefined];
  const hs = head ? head.split(':') : [];
  const rs = rest ? rest.split(':') : [];
  const groups = [...hs, ...new Array<string>(8 - hs.length - rs.length).fill('0'), ...rs];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g || '0', 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  if (extra.length === 4) out.set(extra, 12);
  return out;
}

/** An IPv4-mapped IPv6 address (::ffff:192.0.2.1) as the IPv4 address it maps. */
function unmapped(b: Uint8Array | undefined): Uint8Array | undefined {
  return b && b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff
    ? b.subarray(12)
    : b;
}

/** Parse "192.0.2.0/24", "2001:db8::/32" or a bare address; undefined when invalid. */
export function parseCidr(text: string): Prefix | undefined {
  const [addr = '', len] = text.split('/');
  const bytes = ipBytes(addr);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  const bits = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(bits >= 0 && bits <= max)) return undefined;
  return { v6: bytes.length === 16, bytes, bits };
}

const MEMO_LIMIT = 10_000;

/** Matches addresses against prefixes; IPv4-mapped IPv6 addresses match IPv4 prefixes. */
export class CidrSet {
  readonly #prefixes: Prefix[];
  constructor(cidrs: readonly string[]) {
    this.#prefixes = cidrs.map((c) => {
      const p = parseCidr(c);
      if (!p) throw new Error(`invalid prefix "${c}"`);
      return p;
    });
  }

  /** Recent answers by address: the ACL is asked for every forwarded query. */
  readonly #memo = new Map<string, boolean>();

  has(addr: string): boolean {
    const known = this.#memo.get(addr);
    if (known !== undefined) return known;
    const v = this.#match(addr);
    if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
    this.#memo.set(addr, v);
    return v;
  }

  #match(addr: string): boolean {
    const bytes = unmapped(ipBytes(addr));
    if (!bytes) return false;
    for (const p of this.#prefixes) {
      if (p.bytes.length !== bytes.length) continue;
      let bits = p.bits;
      let i = 0;
      for (; bits >= 8; bits -= 8, i++) if (p.bytes[i] !== bytes[i]) break;
      if (bits >= 8) continue;
      const mask = (0xff << (8 - bits)) & 0xff;
      if (bits === 0 || ((p.bytes[i] as number) & mask) === ((bytes[i] as number) & mask)) return true;
    }
    return false;
  }
}

/**
 * A `lookup` for dgram sockets that only send to IP literals. dgram passes the address of every
 * send through dns.lookup, which answers even a literal on the next tick (one deferred callback per
 * datagram); this answers at once.
 */
export function literalLookup(
  address: string,
  _family: unknown,
  callback: (err: null, address: string, family: number) => void,
): void {
  callback(null, address, address.includes(':') ? 6 : 4);
}

/**
 * The prefix a per-client limit counts by: the address for IPv4 (IPv4-mapped IPv6 included), its
 * /64 for IPv6 (one host usually has a whole /64); "" for what is not an address.
 */
export function clientPrefix(addr: string): string {
  const b = addressBytes(addr);
  if (!b) return '';
  if (b.length === 4) return b.join('.');
  return `${Buffer.from(b.subarray(0, 8)).toString('hex')}/64`;
}

/**
 * A prefix with host bits set ("192.0.2.53/24") as the network it names ("192.0.2.0/24");
 * undefined when the prefix is clean or not a prefix. BIRD refuses such a route outright.
 */
export function prefixNetwork(text: string): string | undefined {
  const p = parseCidr(text);
  if (!p) return undefined;
  const net = Uint8Array.from(p.bytes, (b, i) => {
    const keep = Math.max(0, Math.min(8, p.bits - 8 * i));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  if (net.every((b, i) => b === p.bytes[i])) return undefined;
  const addr = p.v6 ? formatV6(net) : net.join('.');
  return `${addr}/${p.bits}`;
}

/** 16 bytes as RFC 5952 text (the longest run of zero groups as "::"). */
function formatV6(b: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i] as number) << 8) | (b[2 * i + 1] as number));
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

/** An address as its 4 or 16 bytes (an IPv4-mapped IPv6 address as its 4); undefined when not an address. */
export function addressBytes(addr: string): Uint8Array | undefined {
  return unmapped(ipBytes(addr));
}

/** ADDRESS:PORT, with an IPv6 address in brackets ([::1]:53), as configs and logs write it. */
export function formatHostPort(hp: { host: string; port: number }): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
