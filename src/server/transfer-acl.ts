// Who may transfer the zones out (`zones.transferTo`): a client inside an entry's prefix, signed
// with the entry's TSIG key when the entry has one (RFC 8945). Pure: a request's bytes, its client
// and the time in, a verdict out; the responses are built from it in transfer-out.ts.

import { CidrSet } from '../core/index.js';
import type { TsigKey, TsigKeyText } from '../wire/index.js';
import { Rcode, TsigError, tsigKeyFromText, tsigVerify } from '../wire/index.js';

/** One `zones.transferTo` entry, its key read (text: it crosses to worker processes). */
export interface TransferRule {
  /** A CIDR prefix or an address. */
  address: string;
  key: TsigKeyText | null;
}

/** Why a request is not served, as the metric counts it. */
export type Refusal = 'refused' | 'badtsig' | 'formerr';

export type AclVerdict =
  /** Served; `key` and `mac` (the request's) sign every message of the answer, or null: unsigned. */
  | { ok: true; key: TsigKey | null; mac: Uint8Array | null }
  | {
      ok: false;
      rcode: number;
      result: Refusal;
      why: string;
      /** The request verified with this key: the answer is signed over its MAC. */
      signed: { key: TsigKey; mac: Uint8Array } | null;
      /** The TSIG error the answer reports (RFC 8945 §5.2), and the request's key and time. */
      tsig: { error: number; keyName: string; algorithm: string; timeSigned: number } | null;
    };

const TSIG_ERRORS = { badkey: TsigError.BADKEY, badsig: TsigError.BADSIG, badtrunc: TsigError.BADTRUNC } as const;

export class TransferAcl {
  readonly #rules: { set: CidrSet; key: TsigKey | null }[];
  readonly #any: CidrSet;
  /** Every key of the rules, by name (config/ makes one name one key). */
  readonly #keys = new Map<string, TsigKey>();

  constructor(rules: readonly TransferRule[]) {
    this.#rules = rules.map((r) => ({ set: new CidrSet([r.address]), key: r.key && tsigKeyFromText(r.key) }));
    for (const r of this.#rules) if (r.key) this.#keys.set(r.key.name, r.key);
    this.#any = new CidrSet(rules.map((r) => r.address));
  }

  /** Whether `client` is in some entry; everyone else is REFUSED as for any other query. */
  covers(client: string): boolean {
    return this.#any.has(client);
  }

  /**
   * The verdict on a transfer request from `client` at `now` (seconds): served when an entry holds
   * the client and either has no key or has the key the request is signed with. The signature is
   * checked against every configured key (RFC 8945 §5.2): an unknown key is BADKEY, a MAC that does
   * not verify BADSIG, a clock too far off BADTIME (NOTAUTH with the TSIG error); a key that
   * verifies but is not this address's, or no signature where a key is required: REFUSED.
   */
  check(msg: Uint8Array, client: string, now: number): AclVerdict {
    const rules = this.#rules.filter((r) => r.set.has(client));
    const refuse = (why: string, signed: { key: TsigKey; mac: Uint8Array } | null = null): AclVerdict => ({
      ok: false,
      rcode: Rcode.REFUSED,
      result: 'refused',
      why,
      signed,
      tsig: null,
    });
    if (rules.length === 0) return refuse('not in zones.transferTo');
    const v = tsigVerify(msg, (name) => this.#keys.get(name), { now });
    const request = { keyName: v.keyName, algorithm: v.algorithm, timeSigned: v.timeSigned };
    switch (v.status) {
      case 'unsigned':
        if (rules.some((r) => r.key === null)) return { ok: true, key: null, mac: null };
        return refuse('not signed: zones.transferTo requires a TSIG key from this address');
      case 'ok': {
        const key = this.#keys.get(v.keyName) as TsigKey; // verified with it
        if (rules.some((r) => r.key === null || r.key.name === key.name)) return { ok: true, key, mac: v.mac };
        return refuse(`signed with ${key.name}, which zones.transferTo does not give this address`, {
          key,
          mac: v.mac,
        });
      }
      case 'formerr':
        return { ok: false, rcode: Rcode.FORMERR, result: 'formerr', why: 'malformed TSIG', signed: null, tsig: null };
      case 'badtime': {
        // RFC 8945 §5.2.3: the MAC verified, so the answer is signed, with our time in other data.
        const key = this.#keys.get(v.keyName) as TsigKey;
        return {
          ok: false,
          rcode: Rcode.NOTAUTH,
          result: 'badtsig',
          why: `TSIG BADTIME: signed at ${v.timeSigned}, now ${now}`,
          signed: { key, mac: v.mac },
          tsig: { error: TsigError.BADTIME, ...request },
        };
      }
      default:
        // RFC 8945 §5.3.2: an unsigned error answer (MAC size 0) for an unknown key or a bad MAC.
        return {
          ok: false,
          rcode: Rcode.NOTAUTH,
          result: 'badtsig',
          why: `TSIG ${v.status.toUpperCase()} (key ${v.keyName || '?'}, ${v.algorithm || '?'})`,
          signed: null,
          tsig: { error: TSIG_ERRORS[v.status], ...request },
        };
    }
  }
}
