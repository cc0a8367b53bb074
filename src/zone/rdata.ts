// RDATA codecs by RR type: presentation text -> wire at load time, wire -> text for printing,
// and the RFC 3597 generic form (`\# LEN HEX`) for every type.

import { T, TYPES } from '../wire/index.js';
import type { Token } from './lexer.js';
import type { Field } from './fields.js';
import { ALGORITHMS, F, TokenReader, WireReader, keyFlags } from './fields.js';
import { a6, amtrelay, apl, atma, eui, hip, ipseckey, loc, locator64, nsap, wks } from './special.js';
import { svcb } from './svcb.js';
import { Bytes, RdataError, parseHex, parseUint, toHex } from './text.js';

const CERT_TYPES: Record<string, number> = {
  PKIX: 1,
  SPKI: 2,
  PGP: 3,
  IPKIX: 4,
  ISPKI: 5,
  IPGP: 6,
  ACPKIX: 7,
  IACPKIX: 8,
  URI: 253,
  OID: 254,
};
const DSYNC_SCHEMES: Record<string, number> = { NOTIFY: 1 };

const name = F.name;
const ds = (): Field[] => [
  F.u16('key tag'),
  F.mnemonic(8, ALGORITHMS, 'algorithm'),
  F.u8('digest type'),
  F.hex('digest'),
];
const dnskey = (): Field[] => [
  keyFlags(),
  F.u8('protocol'),
  F.mnemonic(8, ALGORITHMS, 'algorithm'),
  F.b64('public key'),
];
const rrsig = (): Field[] => [
  F.type('type covered'),
  F.mnemonic(8, ALGORITHMS, 'algorithm'),
  F.u8('labels'),
  F.u32('original TTL'),
  F.time('signature expiration'),
  F.time('signature inception'),
  F.u16('key tag'),
  name('signer name'),
  F.b64('signature'),
];
const tlsa = (): Field[] => [F.u8('usage'), F.u8('selector'), F.u8('matching type'), F.hex('certificate data')];

/**
 * The largest RDATA that fits a 65535-byte message (RFC 1035 §4.2.2) beside the 12-byte header and
 * the smallest record overhead (root owner, 10 fixed bytes); BIND uses the same bound.
 */
export const MAX_RDATA = 65535 - 12 - 1 - 10;

/** Field lists by type; a type missing here has only the generic form. */
const LAYOUT = new Map<number, Field[]>([
  [T.A, [F.a()]],
  [T.NS, [name('name server')]],
  [3, [name()]],
  [4, [name()]], // MD, MF
  [T.CNAME, [name('canonical name')]],
  [
    T.SOA,
    [
      name('primary server'),
      name('mailbox'),
      F.u32('serial'),
      F.period('refresh'),
      F.period('retry'),
      F.period('expire'),
      F.period('minimum'),
    ],
  ],
  [7, [name()]],
  [8, [name()]],
  [9, [name()]], // MB, MG, MR
  [11, [wks]],
  [T.PTR, [name()]],
  [T.HINFO, [F.str('CPU'), F.str('OS')]],
  [14, [name('responsible mailbox'), name('error mailbox')]], // MINFO
  [T.MX, [F.u16('preference'), name('exchange')]],
  [T.TXT, [F.strs()]],
  [17, [name('mailbox'), name('TXT name')]], // RP
  [18, [F.u16('subtype'), name('hostname')]], // AFSDB
  [19, [F.str('PSDN address')]], // X25
  [20, [F.str('ISDN address'), F.strOpt()]], // ISDN
  [21, [F.u16('preference'), name('intermediate host')]], // RT
  [22, [nsap]],
  [23, [name()]], // NSAP-PTR
  [24, rrsig()], // SIG
  [25, dnskey()], // KEY
  [26, [F.u16('preference'), name('MAP822'), name('MAPX400')]], // PX
  [27, [F.str('longitude'), F.str('latitude'), F.str('altitude')]], // GPOS
  [T.AAAA, [F.aaaa()]],
  [29, [loc]],
  [31, [F.hex('endpoint identifier')]], // EID
  [32, [F.hex('nimrod locator')]], // NIMLOC
  [T.SRV, [F.u16('priority'), F.u16('weight'), F.u16('port'), name('target')]],
  [34, [atma]],
  [35, [F.u16('order'), F.u16('preference'), F.str('flags'), F.str('services'), F.str('regexp'), name('replacement')]], // NAPTR
  [36, [F.u16('preference'), name('exchanger')]], // KX
  [
    37,
    [
      F.mnemonic(16, CERT_TYPES, 'certificate type'),
      F.u16('key tag'),
      F.mnemonic(8, ALGORITHMS, 'algorithm'),
      F.b64('certificate'),
    ],
  ],
  [38, [a6]],
  [T.DNAME, [name('target')]],
  [40, [F.u8('coding'), F.u8('subcoding'), F.u8('subcoding'), F.b64('data', true)]], // SINK
  [42, [apl]],
  [T.DS, ds()],
  [44, [F.u8('algorithm'), F.u8('fingerprint type'), F.hex('fingerprint')]], // SSHFP
  [45, [ipseckey]],
  [T.RRSIG, rrsig()],
  [T.NSEC, [name('next domain name'), F.bitmap()]],
  [T.DNSKEY, dnskey()],
  [49, [F.b64('DHCID data')]],
  [50, [F.u8('hash algorithm'), F.u8('flags'), F.u16('iterations'), F.salt(), F.b32(), F.bitmap()]], // NSEC3
  [51, [F.u8('hash algorithm'), F.u8('flags'), F.u16('iterations'), F.salt()]], // NSEC3PARAM
  [52, tlsa()],
  [53, tlsa()], // TLSA, SMIMEA
  [55, [hip]],
  [56, [F.strs()]], // NINFO
  [57, dnskey()], // RKEY
  [58, [name('previous name'), name('next name')]], // TALINK
  [59, ds()],
  [60, dnskey()], // CDS, CDNSKEY
  [61, [F.b64('public key')]], // OPENPGPKEY
  [62, [F.u32('SOA serial'), F.u16('flags'), F.bitmap()]], // CSYNC
  [63, [F.u32('serial'), F.u8('scheme'), F.u8('hash algorithm'), F.hex('digest')]], // ZONEMD
  [T.SVCB, [svcb]],
  [T.HTTPS, [svcb]],
  [66, [F.type('RR type'), F.mnemonic(8, DSYNC_SCHEMES, 'scheme'), F.u16('port'), name('target')]], // DSYNC
  [67, [F.b64('HHIT')]],
  [68, [F.b64('BRID')]],
  [99, [F.strs()]], // SPF
  [104, [locator64]], // NID
  [105, [F.u16('preference'), F.a()]], // L32
  [106, [locator64]], // L64
  [107, [F.u16('preference'), name('FQDN')]], // LP
  [108, [eui(6)]],
  [109, [eui(8)]],
  [256, [F.u16('priority'), F.u16('weight'), F.raw('target')]], // URI
  [257, [F.u8('flags'), caaTag(), F.raw('value')]], // CAA
  [258, [F.strs()]], // AVC
  [259, [F.u32('enterprise'), F.u32('type'), F.u8('location'), F.str('media type'), doaData()]], // DOA
  [260, [amtrelay]],
  [261, [F.strs()]], // RESINFO
  [262, [F.strs()]], // WALLET
  [32768, ds()],
  [32769, ds()], // TA, DLV
]);

/** RFC 8659 §4.1: the tag is letters and digits only. */
function caaTag(): Field {
  return {
    parse: (r, out) => {
      const t = r.bare('tag');
      if (!/^[A-Za-z0-9]{1,255}$/.test(t)) throw new RdataError(`CAA tag must be letters and digits, got "${t}"`);
      out.u8(t.length);
      out.bytes([...t].map((c) => c.charCodeAt(0)));
    },
    print: (w) => Buffer.from(w.charString()).toString('latin1'),
  };
}

/** DOA data: base64, or "-" for none (draft-durand-doa-over-dns). */
function doaData(): Field {
  const b64 = F.b64('data', true);
  return {
    parse: (r, out) => {
      if (r.peek()?.text === '-') {
        r.next('data');
        return;
      }
      b64.parse(r, out);
    },
    print: (w) => (w.done ? '-' : b64.print(w)),
  };
}

/** Where encodeRdata builds each RDATA before copying it out (no codec encodes RDATA in another). */
const RDATA = new Bytes();

/**
 * Encode RDATA from its tokens (those from `start` on), generic (`\#`) or presentation form.
 * Throws RdataError.
 */
export function encodeRdata(type: number, tokens: readonly Token[], origin: Uint8Array, start = 0): Uint8Array {
  const first = tokens[start];
  if (first && !first.quoted && first.text === '\\#') return encodeGeneric(type, tokens.slice(start));
  const layout = LAYOUT.get(type);
  if (!layout)
    throw new RdataError(`type ${typeLabel(type)} has no presentation format here; use the RFC 3597 form \\# LEN HEX`);
  const r = new TokenReader(tokens, origin, start);
  const out = RDATA;
  out.reset();
  for (const f of layout) f.parse(r, out);
  if (!r.done) throw new RdataError(`unexpected data "${r.text('')}" at the end of the RDATA`);
  if (out.length > MAX_RDATA)
    throw new RdataError(`RDATA of ${out.length} bytes cannot fit in a DNS message (at most ${MAX_RDATA})`);
  return out.toUint8Array();
}

function encodeGeneric(type: number, tokens: readonly Token[]): Uint8Array {
  const lenTok = tokens[1];
  if (!lenTok) throw new RdataError('\\# needs a length');
  const len = parseUint(lenTok.text, 16, 'generic RDATA length');
  const hex = tokens
    .slice(2)
    .map((t) => t.text)
    .join('');
  const bytes = parseHex(hex, 'generic RDATA');
  if (bytes.length !== len) throw new RdataError(`generic RDATA length is ${len} but ${bytes.length} bytes follow`);
  if (len > MAX_RDATA) throw new RdataError(`RDATA of ${len} bytes cannot fit in a DNS message (at most ${MAX_RDATA})`);
  const rdata = Uint8Array.from(bytes);
  // RFC 3597 §5: a known type in generic form must still be valid RDATA for that type.
  if (LAYOUT.has(type)) decodeRdata(type, rdata);
  return rdata;
}

/** Presentation text of wire RDATA; throws RdataError when the bytes do not fit the type. */
export function decodeRdata(type: number, rdata: Uint8Array): string {
  const layout = LAYOUT.get(type);
  if (!layout) return genericRdata(rdata);
  const w = new WireReader(rdata);
  const parts = layout.map((f) => f.print(w)).filter((p) => p !== '');
  if (!w.done) throw new RdataError('trailing bytes after RDATA');
  return parts.join(' ');
}

export function genericRdata(rdata: Uint8Array): string {
  return rdata.length === 0 ? '\\# 0' : `\\# ${rdata.length} ${toHex(rdata)}`;
}

/** Presentation text, falling back to the generic form when the bytes do not decode. */
export function rdataToText(type: number, rdata: Uint8Array): string {
  try {
    return decodeRdata(type, rdata);
  } catch {
    return genericRdata(rdata);
  }
}

function typeLabel(type: number): string {
  return Object.entries(TYPES).find(([, v]) => v === type)?.[0] ?? `TYPE${type}`;
}
