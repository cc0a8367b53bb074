// Wire-format constants of the DNS message (RFC 1035 §4.1, RFC 6891, RFC 6895 registries).

export const HEADER_LEN = 12;
export const MAX_NAME_LEN = 255;
export const MAX_LABEL_LEN = 63;
/** RFC 1035 §4.2.1: the UDP limit without EDNS. */
export const CLASSIC_UDP_SIZE = 512;

export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
export const FLAG_AD = 0x0020;
export const FLAG_CD = 0x0010;
export const OPCODE_MASK = 0x7800;
export const OPCODE_SHIFT = 11;

export const Opcode = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  /** RFC 8945 §5.3.2: the TSIG of a request failed; RFC 2136 §2.2 for updates. */
  NOTAUTH: 9,
  /** RFC 2136 §2.2: a name outside the zone (NOTIFY, RFC 1996 §3.7, for a zone not served). */
  NOTZONE: 10,
  /** RFC 6891 §9: extended rcode 16, carried half in the OPT TTL. */
  BADVERS: 16,
  /** RFC 7873 §8: a bad or missing server cookie. */
  BADCOOKIE: 23,
} as const;
export type Rcode = (typeof Rcode)[keyof typeof Rcode];

const RCODE_NAMES = new Map<number, string>(Object.entries(Rcode).map(([k, v]) => [v, k]));

/** The mnemonic of an rcode (NOERROR, NXDOMAIN …), or `RCODEnn` for one without a name here. */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`;
}

export const Class = { IN: 1, CS: 2, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

export const OPT_TYPE = 41;
export const OPT_NSID = 3;
/** RFC 7873 §4: the COOKIE option. */
export const OPT_COOKIE = 10;
export const OPT_EDE = 15;
/** RFC 7830: the EDNS(0) Padding option. */
export const OPT_PADDING = 12;
/** RFC 3225 §3: the DO bit in the OPT TTL. */
export const EDNS_DO = 0x8000;

/** RR type numbers by mnemonic (IANA "Resource Record (RR) TYPEs"). */
export const TYPES: Readonly<Record<string, number>> = {
  A: 1,
  NS: 2,
  MD: 3,
  MF: 4,
  CNAME: 5,
  SOA: 6,
  MB: 7,
  MG: 8,
  MR: 9,
  NULL: 10,
  WKS: 11,
  PTR: 12,
  HINFO: 13,
  MINFO: 14,
  MX: 15,
  TXT: 16,
  RP: 17,
  AFSDB: 18,
  X25: 19,
  ISDN: 20,
  RT: 21,
  NSAP: 22,
  'NSAP-PTR': 23,
  SIG: 24,
  KEY: 25,
  PX: 26,
  GPOS: 27,
  AAAA: 28,
  LOC: 29,
  NXT: 30,
  EID: 31,
  NIMLOC: 32,
  SRV: 33,
  ATMA: 34,
  NAPTR: 35,
  KX: 36,
  CERT: 37,
  A6: 38,
  DNAME: 39,
  SINK: 40,
  OPT: 41,
  APL: 42,
  DS: 43,
  SSHFP: 44,
  IPSECKEY: 45,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  DHCID: 49,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  SMIMEA: 53,
  HIP: 55,
  NINFO: 56,
  RKEY: 57,
  TALINK: 58,
  CDS: 59,
  CDNSKEY: 60,
  OPENPGPKEY: 61,
  CSYNC: 62,
  ZONEMD: 63,
  SVCB: 64,
  HTTPS: 65,
  DSYNC: 66,
  HHIT: 67,
  BRID: 68,
  SPF: 99,
  UINFO: 100,
  UID: 101,
  GID: 102,
  UNSPEC: 103,
  NID: 104,
  L32: 105,
  L64: 106,
  LP: 107,
  EUI48: 108,
  EUI64: 109,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
  URI: 256,
  CAA: 257,
  AVC: 258,
  DOA: 259,
  AMTRELAY: 260,
  RESINFO: 261,
  WALLET: 262,
  TA: 32768,
  DLV: 32769,
};

const TYPE_NAMES = new Map<number, string>(Object.entries(TYPES).map(([k, v]) => [v, k]));

export const T = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  DNAME: 39,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  NSEC3PARAM: 51,
  SVCB: 64,
  HTTPS: 65,
  ANY: 255,
} as const;

export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

const TYPE_NUMBERS = new Map<string, number>(Object.entries(TYPES));

/** The type number of a mnemonic or `TYPEnnn`, or undefined. */
export function typeFromText(text: string): number | undefined {
  const exact = TYPE_NUMBERS.get(text); // as written in nearly every zone file: no upper-casing
  if (exact !== undefined) return exact;
  const up = text.toUpperCase();
  const known = TYPES[up];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(up);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n <= 0xffff ? n : undefined;
}

const CLASS_NAMES = new Map<number, string>([
  [1, 'IN'],
  [2, 'CS'],
  [3, 'CH'],
  [4, 'HS'],
  [254, 'NONE'],
  [255, 'ANY'],
]);

export function className(cls: number): string {
  return CLASS_NAMES.get(cls) ?? `CLASS${cls}`;
}

export function classFromText(text: string): number | undefined {
  if (text === 'IN') return 1; // nearly every record that names a class
  if (text.length < 2) return undefined; // a type such as A, not a class
  const up = text.toUpperCase();
  switch (up) {
    case 'IN':
      return 1;
    case 'CS':
      return 2;
    case 'CH':
    case 'CHAOS':
      return 3;
    case 'HS':
    case 'HESIOD':
      return 4;
    case 'NONE':
      return 254;
    case 'ANY':
      return 255;
    default: {
      const m = /^CLASS(\d{1,5})$/.exec(up);
      if (!m) return undefined;
      const n = Number(m[1]);
      return n <= 0xffff ? n : undefined;
    }
  }
}

/**
 * Field layouts of RDATA that holds names a sender may have compressed (RFC 3597 §4, RFC 2782,
 * RFC 3403): 'n' a name, a digit that many bytes, 'r' the rest.
 */
export const NAME_LAYOUTS: Readonly<Record<number, string>> = {
  2: 'n',
  3: 'n',
  4: 'n',
  5: 'n',
  6: 'nnr',
  7: 'n',
  8: 'n',
  9: 'n',
  12: 'n',
  14: 'nn',
  15: '2n',
  17: 'nn',
  18: '2n',
  21: '2n',
  26: '2nn',
  33: '6n',
  36: '2n',
  39: 'n',
};

/** RFC 6895 §3.1: 128–255 are meta types (and OPT is one too); they never appear in zone data. */
export function isMetaType(type: number): boolean {
  return type === OPT_TYPE || (type >= 128 && type <= 255);
}
