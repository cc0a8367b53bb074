// DNS cookies (RFC 7873, RFC 9018): the verdict on a query's COOKIE option and the option of the
// response, with server cookies every site of the fleet can verify because they share the secret.
//
// The COOKIE option data and the hash input (RFC 9018 §4.2, §4.4):
//
//   option data   | client cookie (8) | 1 | 0 0 0 | timestamp (4) | hash (8) |
//                 '------------------ hash input, as received ----'
//   hash input    | client cookie (8) | version | reserved (3) | timestamp (4) | client IP (4 or 16) |
//   hash          SipHash-2-4(hash input, secret), little-endian as the reference code writes it

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EdgeError, ErrorCode, SIPHASH_KEY_LEN, addressBytes, errorMessage, siphash24 } from '../core/index.js';
import { OPT_COOKIE, u32 } from '../wire/index.js';

/** The server's secrets, 16 bytes each: `previous` is still accepted during a rollover, never minted with. */
export interface CookieSecrets {
  current: Uint8Array;
  previous: Uint8Array | null;
}

export const CookieVerdict = { CLIENT_ONLY: 0, VALID: 1, INVALID: 2 } as const;
export type CookieVerdict = (typeof CookieVerdict)[keyof typeof CookieVerdict];

const CLIENT_COOKIE_LEN = 8;
/** RFC 9018 §4.2: version 1 server cookies are 16 bytes, so the option data is 24. */
const COOKIE_LEN = 24;
const VERSION = 1;
/** RFC 9018 §4.3: older than an hour, or more than five minutes ahead, is invalid. */
const MAX_AGE = 3600;
const MAX_AHEAD = 300;
/** RFC 9018 §4.3: a valid cookie older than half an hour is replaced by a fresh one. */
const RENEW_AFTER = 1800;
const PROBE_LABEL = new TextEncoder().encode('edgedns health probe');
/** Clients whose address bytes are remembered; the map starts over when full. */
const ADDRESS_MEMO = 1024;
/** What a client string that is not an address hashes as (Node never gives one). */
const NO_ADDRESS = new Uint8Array(0);

export class Cookies {
  readonly #current: Uint8Array;
  readonly #previous: Uint8Array | null;
  readonly #wall: () => number;
  /** The hash input, rebuilt for every check (client cookie .. client IP, at most 32 bytes). */
  readonly #input = new Uint8Array(16 + 16);
  readonly #hash = new Uint8Array(8);
  readonly #addresses = new Map<string, Uint8Array>();
  /**
   * The client cookie of the node's own health probes: derived from the current secret, so every
   * process of the node tells them apart (and keeps them out of the cookie counts) without a word
   * between them, and nobody without the secret can pass for a probe in those counts.
   */
  readonly probeClient = new Uint8Array(CLIENT_COOKIE_LEN);

  /** `wallSeconds`: Unix time in seconds; cookie timestamps are wall time because every site must read them alike. */
  constructor(secrets: CookieSecrets, wallSeconds: () => number) {
    this.#current = secretBytes(secrets.current, 'current');
    this.#previous = secrets.previous === null ? null : secretBytes(secrets.previous, 'previous');
    this.#wall = wallSeconds;
    siphash24(this.#current, PROBE_LABEL, 0, PROBE_LABEL.length, this.probeClient, 0);
  }

  /** Whether the COOKIE option data at `at` starts with the probes' client cookie. */
  isProbe(msg: Uint8Array, at: number): boolean {
    const p = this.probeClient;
    for (let i = 0; i < CLIENT_COOKIE_LEN; i++) if (msg[at + i] !== p[i]) return false;
    return true;
  }

  /**
   * The verdict on a query's COOKIE option. data = msg[at, at+len): 8 bytes (client cookie only) or
   * 16..40 (the parser has checked). client: the address as Node gives it.
   */
  verdict(msg: Uint8Array, at: number, len: number, client: string): CookieVerdict {
    if (len === CLIENT_COOKIE_LEN) return CookieVerdict.CLIENT_ONLY;
    // RFC 9018 §4.2: the only server cookie we know is version 1, 16 bytes.
    if (len !== COOKIE_LEN || msg[at + 8] !== VERSION) return CookieVerdict.INVALID;
    const age = this.#age(msg, at);
    if (age > MAX_AGE || age < -MAX_AHEAD) return CookieVerdict.INVALID;
    // RFC 9018 §4.4: the reserved bytes are hashed as received (Appendix A.3).
    const n = this.#prepare(msg, at, client);
    if (this.#matches(this.#current, n, msg, at + 16)) return CookieVerdict.VALID;
    // RFC 9018 §5 (rollover): the previous secret still verifies what it made.
    if (this.#previous !== null && this.#matches(this.#previous, n, msg, at + 16)) return CookieVerdict.VALID;
    return CookieVerdict.INVALID;
  }

  /** The COOKIE option of the node's own probe sent from `from`: the probes' client cookie with a server cookie minted for `from`. */
  probeOption(from: string): Uint8Array {
    return this.option(this.probeClient, 0, CLIENT_COOKIE_LEN, from, CookieVerdict.CLIENT_ONLY);
  }

  /**
   * The whole COOKIE option for the response (code, length, client cookie, server cookie), given
   * the query's option data and the verdict `verdict()` returned for it. RFC 9018 §4.3: a valid
   * server cookie younger than 30 minutes and made with the current secret is echoed unchanged;
   * otherwise a fresh one is minted with the current secret and the current time.
   */
  option(msg: Uint8Array, at: number, len: number, client: string, verdict: CookieVerdict): Uint8Array {
    const out = new Uint8Array(4 + COOKIE_LEN);
    out[1] = OPT_COOKIE;
    out[3] = COOKIE_LEN;
    for (let i = 0; i < CLIENT_COOKIE_LEN; i++) out[4 + i] = msg[at + i] as number;
    if (verdict === CookieVerdict.VALID && len === COOKIE_LEN && this.#echoable(msg, at, client)) {
      for (let i = CLIENT_COOKIE_LEN; i < COOKIE_LEN; i++) out[4 + i] = msg[at + i] as number;
      return out;
    }
    const input = this.#input;
    for (let i = 0; i < CLIENT_COOKIE_LEN; i++) input[i] = msg[at + i] as number;
    const now = this.#wall() >>> 0;
    input[8] = VERSION;
    input[9] = 0;
    input[10] = 0;
    input[11] = 0;
    input[12] = now >>> 24;
    input[13] = now >>> 16;
    input[14] = now >>> 8;
    input[15] = now;
    const ip = this.#address(client);
    input.set(ip, 16);
    for (let i = 8; i < 16; i++) out[4 + i] = input[i] as number;
    siphash24(this.#current, input, 0, 16 + ip.length, out, 4 + 16);
    return out;
  }

  /** A valid cookie is echoed when it is young and the current secret made it (no previous → it did). */
  #echoable(msg: Uint8Array, at: number, client: string): boolean {
    const age = this.#age(msg, at);
    if (age >= RENEW_AFTER || age < -MAX_AHEAD) return false;
    return this.#previous === null || this.#matches(this.#current, this.#prepare(msg, at, client), msg, at + 16);
  }

  /** Seconds since the cookie's timestamp, in serial number arithmetic (RFC 1982; RFC 9018 §4.3). */
  #age(msg: Uint8Array, at: number): number {
    const t = u32(msg, at + 12);
    return ((this.#wall() >>> 0) - t) | 0;
  }

  /** The hash input of a received cookie: its first 16 bytes, then the client's address. Its length. */
  #prepare(msg: Uint8Array, at: number, client: string): number {
    const input = this.#input;
    for (let i = 0; i < 16; i++) input[i] = msg[at + i] as number;
    const ip = this.#address(client);
    input.set(ip, 16);
    return 16 + ip.length;
  }

  /** Whether the hash of the prepared input under `secret` is msg[at, at+8), compared without an early exit. */
  #matches(secret: Uint8Array, n: number, msg: Uint8Array, at: number): boolean {
    const h = this.#hash;
    siphash24(secret, this.#input, 0, n, h, 0);
    let diff = 0;
    for (let i = 0; i < 8; i++) diff |= (h[i] as number) ^ (msg[at + i] as number);
    return diff === 0;
  }

  #address(client: string): Uint8Array {
    let b = this.#addresses.get(client);
    if (b === undefined) {
      b = addressBytes(client) ?? NO_ADDRESS;
      if (this.#addresses.size >= ADDRESS_MEMO) this.#addresses.clear();
      this.#addresses.set(client, b);
    }
    return b;
  }
}

function secretBytes(secret: Uint8Array, which: string): Uint8Array {
  if (secret.length !== SIPHASH_KEY_LEN)
    throw new EdgeError(
      ErrorCode.COOKIE_SECRET,
      `the ${which} cookie secret: expected ${SIPHASH_KEY_LEN} bytes, got ${secret.length}`,
    );
  return Uint8Array.from(secret);
}

/**
 * The secrets from `cookies.secretFile` and `cookies.previousSecretFile`: each file holds 32
 * hexadecimal digits (whitespace around them allowed). Without a secret file the secret is random,
 * which suits a single site: its cookies verify nowhere else.
 */
export function readCookieSecrets(secretFile: string | null, previousFile: string | null): CookieSecrets {
  return {
    current:
      secretFile === null
        ? Uint8Array.from(randomBytes(SIPHASH_KEY_LEN))
        : readSecret('cookies.secretFile', secretFile),
    previous: previousFile === null ? null : readSecret('cookies.previousSecretFile', previousFile),
  };
}

function readSecret(key: string, file: string): Uint8Array {
  const fail = (problem: string): EdgeError => new EdgeError(ErrorCode.COOKIE_SECRET, `${key} ${file}: ${problem}`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fail(`cannot read it (${errorMessage(err)})`);
  }
  const hex = text.trim();
  const expected = `expected ${2 * SIPHASH_KEY_LEN} hexadecimal digits (a 128-bit secret)`;
  if (hex.length !== 2 * SIPHASH_KEY_LEN) throw fail(`${expected}, got ${hex.length} characters`);
  // The secret itself never goes into a message: only where it goes wrong.
  const bad = hex.search(/[^0-9a-fA-F]/);
  if (bad >= 0) throw fail(`${expected}, got a character that is not one at position ${bad + 1}`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
