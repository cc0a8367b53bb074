// Cleaning an upstream response before it is cached: only the records that answer the question
// are kept — the chain from the question name, the answering zone's authority records and the
// in-bailiwick addresses of the names they point to. Pure: a Message in, a Message out.
//
//   answer      qname ─CNAME→ n1 ─(DNAME at an ancestor + CNAME)→ n2 … → last: data of qtype
//               (+ RRSIGs over kept RRsets)                         ≤ MAX_CHAIN steps, no loops
//   authority   zone = closest SOA owner ⊇ last, else closest NS owner ⊇ last (none → nothing):
//               SOA at zone, NS at zone, NSEC/NSEC3 at or below zone (+ RRSIGs over them)
//   additional  A/AAAA at names that kept NS/MX/SRV/… point to, at or below zone (+ RRSIGs)
//
// Everything else — records for other names, data past the chain, out-of-bailiwick NS and glue —
// is dropped: a forged or careless record never reaches the cache, nor the first client.

import type { Message, WireRecord } from '../wire/index.js';
import { NAME_LAYOUTS, ROOT, T, isSubdomain, keyToWire, nameKey, nameLength, replaceSuffix } from '../wire/index.js';

/** Longest chain followed (CNAME and DNAME steps); a longer one is cut where it stands. */
export const MAX_CHAIN = 16;

/** Records dropped per section. */
export interface Dropped {
  answer: number;
  authority: number;
  additional: number;
}

export interface Cleaned {
  message: Message;
  dropped: Dropped;
  /** The name the chain ended at (a lower-case name key): the one the answer or the denial is for. */
  last: string;
  /** True when the chain ended in data of the question's type (a positive answer). */
  answered: boolean;
}

const MX = 15;
const AFSDB = 18;
const RT = 21;
const KX = 36;
const NSEC3 = 50;
/**
 * Types whose RDATA names cause additional-section processing (RFC 1035 §3.3: NS, MD, MF, MB, MX;
 * RFC 1183 AFSDB, RT; RFC 2782 SRV; RFC 2230 KX). Where the name sits comes from NAME_LAYOUTS.
 */
const TARGET_TYPES = new Set<number>([T.NS, 3, 4, 7, MX, AFSDB, RT, T.SRV, KX]);
/** RFC 1035 §3.3.x and RFC 3596 §3: additional processing adds addresses, nothing else. */
const ADDRESS_TYPES = new Set<number>([T.A, 28]);

/** Keep only what answers `qname`/`qtype` in `msg` (see the diagram above). */
export function cleanMessage(msg: Message, qname: Uint8Array, qtype: number): Cleaned {
  const chain = followChain(msg.answer, nameKey(qname), qtype);
  const zone = answeringZone(msg.authority, chain.last);
  const authority = zone === undefined ? [] : keepAuthority(msg.authority, zone);
  const answer = msg.answer.filter((_r, i) => chain.keep[i] === 1);
  const additional = zone === undefined ? [] : keepAdditional(msg.additional, zone, [...answer, ...authority]);
  return {
    message: { ...msg, answer, authority, additional },
    dropped: {
      answer: msg.answer.length - answer.length,
      authority: msg.authority.length - authority.length,
      additional: msg.additional.length - additional.length,
    },
    last: chain.last,
    answered: chain.answered,
  };
}

/**
 * RFC 1034 §4.3.2 step 3: the answer is the data of qtype at the current name, or a CNAME whose
 * target becomes the current name; RFC 6672 §3.1 (step 3c): a DNAME at a proper ancestor of the
 * current name, with the CNAME synthesized from it, moves the current name to the substituted one.
 */
function followChain(
  answer: readonly WireRecord[],
  start: string,
  qtype: number,
): { keep: Uint8Array; last: string; answered: boolean } {
  const keep = new Uint8Array(answer.length);
  const owners = answer.map((r) => nameKey(r.owner));
  /** "owner|type" of the RRsets kept, for their RRSIGs. */
  const kept = new Set<string>();
  /** Keep the RRset `owner`/`type`, or only its record `only`. */
  const keepSet = (owner: string, type: number, only?: number): void => {
    if (only !== undefined) keep[only] = 1;
    else
      for (let i = 0; i < answer.length; i++)
        if (owners[i] === owner && (answer[i] as WireRecord).type === type) keep[i] = 1;
    kept.add(`${owner}|${type}`);
  };
  let cur = start;
  let answered = false;
  const seen = new Set<string>();
  for (let step = 0; step <= MAX_CHAIN; step++) {
    // A loop (a name seen before) or a chain too long ends here, with what was kept so far.
    if (seen.has(cur)) break;
    seen.add(cur);
    // RFC 6672 §2.4: nothing exists below a DNAME, so a DNAME over the current name comes first.
    const dname = closestDname(answer, owners, cur);
    if (dname >= 0) {
      if (step === MAX_CHAIN) break;
      const d = answer[dname] as WireRecord;
      const owner = owners[dname] as string;
      keepSet(owner, T.DNAME, dname);
      // RFC 6672 §2.2: the owner suffix replaced by the target; too long a result ends the chain.
      const next = replaceSuffix(keyToWire(cur), owner.length, d.rdata);
      if (!next) break;
      const target = nameKey(next);
      // RFC 6672 §3.1: the CNAME synthesized at the current name is kept when it says what the
      // DNAME says; one that points elsewhere is not.
      const cname = owners.findIndex(
        (o, i) => o === cur && answer[i]?.type === T.CNAME && nameKey(answer[i]?.rdata ?? ROOT) === target,
      );
      if (cname >= 0) keepSet(cur, T.CNAME, cname);
      // The synthesized CNAME is itself the answer to a CNAME question (RFC 1034 §4.3.2 step 3a).
      if (cname >= 0 && qtype === T.CNAME) {
        answered = true;
        break;
      }
      cur = target;
      continue;
    }
    const here = owners.flatMap((o, i) => (o === cur ? [i] : []));
    // RFC 1034 §4.3.2 step 3a: a CNAME is followed unless it is what was asked for. RFC 2181
    // §10.1: a name with a CNAME has no other data, so data of qtype beside it is not kept.
    const cname =
      qtype === T.CNAME || qtype === T.ANY ? undefined : here.find((i) => (answer[i] as WireRecord).type === T.CNAME);
    if (cname !== undefined) {
      if (step === MAX_CHAIN) break;
      // RFC 2181 §10.1: one CNAME per name; only the one followed is kept.
      keepSet(cur, T.CNAME, cname);
      cur = nameKey((answer[cname] as WireRecord).rdata);
      continue;
    }
    for (const i of here) {
      const type = (answer[i] as WireRecord).type;
      if (!matches(type, qtype)) continue;
      keepSet(cur, type);
      answered = true;
    }
    break;
  }
  keepSignatures(answer, owners, kept, keep);
  return { keep, last: cur, answered };
}

/** Index of the DNAME whose owner is the closest proper ancestor of `name`, or -1. */
function closestDname(answer: readonly WireRecord[], owners: readonly string[], name: string): number {
  let best = -1;
  for (let i = 0; i < answer.length; i++) {
    const o = owners[i] as string;
    if ((answer[i] as WireRecord).type !== T.DNAME || o === name || !isSubdomain(name, o)) continue;
    if (best < 0 || o.length > (owners[best] as string).length) best = i;
  }
  return best;
}

/** RRSIGs over the kept RRsets: same owner, type covered (RFC 4035 §3.1.1 puts them together). */
function keepSignatures(
  records: readonly WireRecord[],
  owners: readonly string[],
  kept: ReadonlySet<string>,
  keep: Uint8Array,
): void {
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as WireRecord;
    if (
      r.type === T.RRSIG &&
      r.rdata.length >= 2 &&
      kept.has(`${owners[i]}|${(r.rdata[0] as number) * 256 + (r.rdata[1] as number)}`)
    )
      keep[i] = 1;
  }
}

function matches(type: number, qtype: number): boolean {
  return type === qtype || qtype === T.ANY;
}

/**
 * The zone the answer came from: the closest SOA owner at or above the last name of the chain,
 * else the closest NS owner (RFC 2181 §5.4.1: authority data is only as good as the zone it is
 * from, and a zone only speaks for names at or below its apex). undefined: none.
 */
function answeringZone(authority: readonly WireRecord[], last: string): string | undefined {
  for (const type of [T.SOA, T.NS]) {
    let zone: string | undefined;
    for (const r of authority) {
      if (r.type !== type) continue;
      const o = nameKey(r.owner);
      if (isSubdomain(last, o) && (zone === undefined || o.length > zone.length)) zone = o;
    }
    if (zone !== undefined) return zone;
  }
  return undefined;
}

/** SOA and NS at the apex, NSEC/NSEC3 at or below it (RFC 2308 §3, RFC 4035 §3.1.3), their RRSIGs. */
function keepAuthority(authority: readonly WireRecord[], zone: string): WireRecord[] {
  const owners = authority.map((r) => nameKey(r.owner));
  const keep = new Uint8Array(authority.length);
  const kept = new Set<string>();
  for (let i = 0; i < authority.length; i++) {
    const { type } = authority[i] as WireRecord;
    const o = owners[i] as string;
    const apex = (type === T.SOA || type === T.NS) && o === zone;
    const denial = (type === T.NSEC || type === NSEC3) && isSubdomain(o, zone);
    if (!apex && !denial) continue;
    keep[i] = 1;
    kept.add(`${o}|${type}`);
  }
  keepSignatures(authority, owners, kept, keep);
  return authority.filter((_r, i) => keep[i] === 1);
}

/**
 * RFC 2181 §5.4.1: additional data is kept only for names the kept records point to, and only
 * when the answering zone is authoritative for them (at or below its apex) — no glue from
 * elsewhere.
 */
function keepAdditional(additional: readonly WireRecord[], zone: string, kept: readonly WireRecord[]): WireRecord[] {
  const targets = new Set<string>();
  for (const r of kept) for (const t of targetNames(r)) if (isSubdomain(t, zone)) targets.add(t);
  const owners = additional.map((r) => nameKey(r.owner));
  const keep = new Uint8Array(additional.length);
  const sets = new Set<string>();
  for (let i = 0; i < additional.length; i++) {
    const { type } = additional[i] as WireRecord;
    const o = owners[i] as string;
    if (!ADDRESS_TYPES.has(type) || !targets.has(o)) continue;
    keep[i] = 1;
    sets.add(`${o}|${type}`);
  }
  keepSignatures(additional, owners, sets, keep);
  return additional.filter((_r, i) => keep[i] === 1);
}

/** The names (keys) in a record's RDATA that call for additional processing. */
function targetNames(r: WireRecord): string[] {
  const layout = NAME_LAYOUTS[r.type];
  if (!layout || !TARGET_TYPES.has(r.type)) return [];
  const out: string[] = [];
  let i = 0;
  for (const f of layout) {
    if (i >= r.rdata.length || f === 'r') break;
    if (f === 'n') {
      const len = nameLength(r.rdata, i);
      out.push(nameKey(r.rdata, i, i + len));
      i += len;
    } else {
      i += Number(f);
    }
  }
  return out;
}
