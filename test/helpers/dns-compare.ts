// Ask two authoritative servers the same question with the real `dig` and compare their answers
// section by section: rcode, the AA and TC flags, and the answer, authority and additional sections
// as sets of records (owner lower-cased; TTL, class, type and RDATA as dig prints them; order within
// a section ignored). The OPT pseudo-section (NSID, cookies, EDE, the payload size) is ignored.
//
// The rules, reference (Knot) against candidate (edgedns):
//
// - rcode, AA and TC equal; answer and authority equal as sets, TTLs included: both serve the
//   same signed file, so the RRSIGs, NSEC and NSEC3 records are the same bytes, and a denial of
//   existence picks its proofs by the rules of RFC 4035 §3.1.3 and RFC 5155 §7.2, which leave no
//   choice in these zones (no opt-out, one wildcard). A different but valid proof still fails
//   here; the validating resolver's test says whether it is valid.
// - additional: optional content (RFC 1034 §4.3.2 step 6; RFC 4035 §3.1.1: RRSIGs there are "try
//   to include"), and implementations differ in it. An RRset both sides put there must be equal;
//   one that only one side has is allowed when it is an address RRset (A, AAAA) or an RRSIG over
//   one, and reported as a note; any other one-sided RRset (OPT excepted) is a difference. In a
//   referral (NOERROR, no AA, empty answer, NS in authority), every in-domain glue address the
//   reference gives must be there too (RFC 9471 §3: in-domain glue MUST be included, or TC set).
// - ANY (RFC 8482): a server may answer with one RRset, or a few, of its choosing (edgedns takes
//   one; Knot 3.2 also takes one, not necessarily the same; BIND all). So for ANY only rcode and AA
//   are compared with the reference's ANY answer, the candidate's answer must not be empty, and
//   each RRset in it (with its RRSIGs, when DO is set) must equal the reference's whole answer to
//   a query for that one type: a real, complete RRset of the name, signed as the zone signs it.
//   Its authority must equal the reference's answer's authority for that type, which is empty.
// - qtype RRSIG, the same way: Knot 3.2 answers with the RRSIGs of one type, BIND with all of the
//   name's. The candidate's RRSIGs, grouped by the type they cover, must each equal the RRSIGs of
//   the reference's answer to that type (asked with DO).
// - TC answers are compared on the flags only (what a truncated answer holds is the server's choice).
import { execFile } from 'node:child_process';

export interface Endpoint {
  host: string;
  port: number;
}

export interface Query {
  name: string;
  type: string;
  /** dig options besides the server and port: `+dnssec`, `+norec`, `+tcp`, `+bufsize=512`… */
  options: string[];
}

export interface Rr {
  /** Lower-cased, absolute. */
  owner: string;
  ttl: number;
  class: string;
  type: string;
  /** RDATA as dig prints it (`+nosplit`: base64 and hex unbroken). */
  data: string;
}

export type SectionName = 'answer' | 'authority' | 'additional';

export interface Reply {
  rcode: string;
  /** Header flags (`qr`, `aa`, `tc`, `rd`, `ra`, `ad`, `cd`). */
  flags: string[];
  answer: Rr[];
  authority: Rr[];
  additional: Rr[];
  /** Whether the reply carried an OPT record. */
  opt: boolean;
  /** How the reply came back: dig retries over TCP after TC unless told `+ignore`. */
  transport: 'UDP' | 'TCP';
  raw: string;
}

export interface Comparison {
  query: Query;
  reference: Reply;
  candidate: Reply;
  /** Differences that fail the comparison. */
  problems: string[];
  /** Allowed differences, for the log. */
  notes: string[];
}

/** The options every question here is asked with; the query's own come after them. */
export const DIG_BASE = ['+tries=1', '+time=10', '+nocookie', '+nosplit'];

/** The command line `ask` runs, for messages. */
export function digLine(server: Endpoint, q: Query): string {
  return `dig @${server.host} -p ${server.port} ${[...DIG_BASE, ...q.options, q.name, q.type].join(' ')}`;
}

/** Ask `server` with the real dig and parse what it printed. */
export function ask(server: Endpoint, q: Query): Promise<Reply> {
  const args = [`@${server.host}`, '-p', String(server.port), ...DIG_BASE, ...q.options, q.name, q.type];
  return new Promise((resolve, reject) => {
    execFile('dig', args, { timeout: 60_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err && !stdout) return reject(new Error(`${digLine(server, q)}: ${err.message} ${stderr}`));
      try {
        resolve(parseReply(stdout));
      } catch (e) {
        reject(new Error(`${digLine(server, q)}: ${(e as Error).message}`));
      }
    });
  });
}

const RR_LINE = /^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$/;

/**
 * Read one dig reply strictly: exactly one header, the record counts equal to the records read
 * (additional counts the OPT record), every record line well formed. Throws otherwise.
 */
export function parseReply(raw: string): Reply {
  const headers = raw.match(/^;; ->>HEADER<<-.*$/gm) ?? [];
  if (headers.length !== 1) {
    const why = /;; (connection timed out|communications error)[^\n]*/.exec(raw)?.[0] ?? '';
    throw new Error(`expected one reply, dig printed ${headers.length} ${why}\n${raw}`);
  }
  const rcode = /status: ([A-Z0-9]+)/.exec(headers[0])?.[1];
  const head = /^;; flags:([^;]*); QUERY: (\d+), ANSWER: (\d+), AUTHORITY: (\d+), ADDITIONAL: (\d+)$/m.exec(raw);
  if (!rcode || !head) throw new Error(`no status or flags line:\n${raw}`);
  const flags = (head[1] as string).trim().split(/\s+/).filter(Boolean);
  const sections: Record<SectionName, Rr[]> = { answer: [], authority: [], additional: [] };
  let current: SectionName | undefined;
  for (const line of raw.split('\n')) {
    const title = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:$/.exec(line);
    if (title) {
      current = (title[1] as string).toLowerCase() as SectionName;
      continue;
    }
    if (line === '' || line.startsWith(';')) {
      // A blank line ends a section; comments (the OPT pseudo-section, the question) are skipped.
      if (line === '') current = undefined;
      continue;
    }
    if (!current) throw new Error(`a record line outside any section: ${line}\n${raw}`);
    const m = RR_LINE.exec(line);
    if (!m) throw new Error(`a record line dig printed that is not one: ${line}`);
    sections[current].push({
      owner: (m[1] as string).toLowerCase(),
      ttl: Number(m[2]),
      class: m[3] as string,
      type: (m[4] as string).toUpperCase(),
      data: (m[5] ?? '').trim(),
    });
  }
  const opt = /^;; OPT PSEUDOSECTION:$/m.test(raw);
  const counts = [Number(head[3]), Number(head[4]), Number(head[5])];
  const read = [sections.answer.length, sections.authority.length, sections.additional.length + (opt ? 1 : 0)];
  if (counts.join() !== read.join()) {
    throw new Error(
      `header counts ${counts.join('/')} but read ${read.join('/')} (answer/authority/additional):\n${raw}`,
    );
  }
  const transport = /^;; SERVER: .*\((UDP|TCP)\)$/m.exec(raw)?.[1] === 'TCP' ? 'TCP' : 'UDP';
  return { rcode, flags, ...sections, opt, transport, raw };
}

/** One line per record, as compared: `owner ttl class type rdata`. */
export function rrText(r: Rr): string {
  return `${r.owner} ${r.ttl} ${r.class} ${r.type} ${r.data}`;
}

/** The type an RRSIG covers (its first RDATA field), or the record's own type. */
function coveredType(r: Rr): string {
  return r.type === 'RRSIG' ? (r.data.split(/\s+/)[0] ?? '').toUpperCase() : r.type;
}

/** The RRset a record belongs to; RRSIGs by the type they cover: `owner TYPE` or `owner RRSIG/TYPE`. */
function rrsetKey(r: Rr): string {
  return r.type === 'RRSIG' ? `${r.owner} RRSIG/${coveredType(r)}` : `${r.owner} ${r.type}`;
}

function groupByRrset(rrs: Rr[]): Map<string, Rr[]> {
  const m = new Map<string, Rr[]>();
  for (const r of rrs) {
    const k = rrsetKey(r);
    m.set(k, [...(m.get(k) ?? []), r]);
  }
  return m;
}

/** Records only one side has, as lines for a message; empty when the sets are equal. */
function setDiff(section: string, ref: Rr[], cand: Rr[], refName: string, candName: string): string[] {
  const a = new Set(ref.map(rrText));
  const b = new Set(cand.map(rrText));
  const out: string[] = [];
  for (const t of a) if (!b.has(t)) out.push(`${section}: only ${refName} has  ${t}`);
  for (const t of b) if (!a.has(t)) out.push(`${section}: only ${candName} has  ${t}`);
  // Sets hide a record given twice: count too.
  if (out.length === 0 && ref.length !== cand.length) {
    out.push(`${section}: ${refName} has ${ref.length} records, ${candName} ${cand.length} (a record repeated)`);
  }
  return out;
}

const ADDRESS_TYPES = new Set(['A', 'AAAA']);

function isAddressRrset(key: string): boolean {
  const type = key.split(' ')[1] ?? '';
  return ADDRESS_TYPES.has(type.replace(/^RRSIG\//, ''));
}

/** Whether `name` is `zone` or below it (both lower-cased, absolute). */
export function isAtOrBelow(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/** A referral: NOERROR, no AA, nothing in answer, an NS RRset in authority. */
export function isReferral(r: Reply): boolean {
  return (
    r.rcode === 'NOERROR' &&
    !r.flags.includes('aa') &&
    r.answer.length === 0 &&
    r.authority.some((x) => x.type === 'NS')
  );
}

function compareAdditional(
  ref: Reply,
  cand: Reply,
  names: [string, string],
  problems: string[],
  notes: string[],
): void {
  const [refName, candName] = names;
  const a = groupByRrset(ref.additional);
  const b = groupByRrset(cand.additional);
  for (const [key, refRrs] of a) {
    const candRrs = b.get(key);
    if (candRrs) problems.push(...setDiff('additional', refRrs, candRrs, refName, candName));
  }
  for (const [side, mine, theirs] of [
    [refName, a, b],
    [candName, b, a],
  ] as const) {
    for (const [key, rrs] of mine) {
      if (theirs.has(key)) continue;
      const line = `additional: only ${side} has the RRset ${key} (${rrs.map(rrText).join(' | ')})`;
      if (isAddressRrset(key)) notes.push(line);
      else problems.push(line);
    }
  }
  // RFC 9471 §3: in-domain glue of a referral must be there.
  if (isReferral(ref)) {
    const cuts = ref.authority.filter((x) => x.type === 'NS').map((x) => x.owner);
    const candTexts = new Set(cand.additional.map(rrText));
    for (const g of ref.additional) {
      if (!ADDRESS_TYPES.has(g.type) || !cuts.some((c) => isAtOrBelow(g.owner, c))) continue;
      if (!candTexts.has(rrText(g))) problems.push(`additional: in-domain glue missing from ${candName}: ${rrText(g)}`);
    }
  }
}

function compareHeader(ref: Reply, cand: Reply, names: [string, string], flags: string[]): string[] {
  const out: string[] = [];
  if (ref.rcode !== cand.rcode) out.push(`rcode: ${names[0]} ${ref.rcode}, ${names[1]} ${cand.rcode}`);
  for (const f of flags) {
    const x = ref.flags.includes(f);
    const y = cand.flags.includes(f);
    if (x !== y) out.push(`flag ${f.toUpperCase()}: ${names[0]} ${x ? 1 : 0}, ${names[1]} ${y ? 1 : 0}`);
  }
  return out;
}

/**
 * Compare two replies to the same question (not ANY, not RRSIG) by the rules at the top of this file.
 * `names` label the two sides in the messages.
 */
export function compareReplies(
  ref: Reply,
  cand: Reply,
  names: [string, string] = ['reference', 'candidate'],
): { problems: string[]; notes: string[] } {
  const problems = compareHeader(ref, cand, names, ['aa', 'tc']);
  const notes: string[] = [];
  if (ref.flags.includes('tc') || cand.flags.includes('tc')) return { problems, notes };
  problems.push(...setDiff('answer', ref.answer, cand.answer, ...names));
  problems.push(...setDiff('authority', ref.authority, cand.authority, ...names));
  compareAdditional(ref, cand, names, problems, notes);
  return { problems, notes };
}

/** Ask both servers `q` and compare; ANY and RRSIG by their rule (which asks the reference more). */
export async function compareServers(
  reference: Endpoint,
  candidate: Endpoint,
  q: Query,
  names: [string, string] = ['reference', 'candidate'],
): Promise<Comparison> {
  const [ref, cand] = await Promise.all([ask(reference, q), ask(candidate, q)]);
  const qtype = q.type.toUpperCase();
  if (qtype !== 'ANY' && qtype !== 'RRSIG') {
    return { query: q, reference: ref, candidate: cand, ...compareReplies(ref, cand, names) };
  }
  const problems = compareHeader(ref, cand, names, ['aa']);
  const notes: string[] = [];
  if (cand.answer.length === 0) problems.push(`answer: ${names[1]}'s answer to ${qtype} is empty`);
  for (const type of [...new Set(cand.answer.map(coveredType))]) {
    const mine = cand.answer.filter((r) => coveredType(r) === type);
    const owners = new Set(mine.map((r) => r.owner));
    if (owners.size !== 1) problems.push(`answer: ${names[1]}'s ${type} records have ${owners.size} owners`);
    // The reference's answer for the one type: with DO for an RRSIG question, which asks for them.
    const options = qtype === 'RRSIG' && !q.options.includes('+dnssec') ? [...q.options, '+dnssec'] : q.options;
    const one = await ask(reference, { ...q, type, options });
    const theirs = qtype === 'RRSIG' ? one.answer.filter((r) => r.type === 'RRSIG') : one.answer;
    const label = `${names[0]}'s answer to ${type}`;
    problems.push(...setDiff(`answer (${qtype}, the ${type} RRset)`, theirs, mine, label, names[1]));
    problems.push(...setDiff('authority', one.authority, cand.authority, label, names[1]));
  }
  return { query: q, reference: ref, candidate: cand, problems, notes };
}

/** A comparison as text: the question, then every problem and note, then both raw replies when there are problems. */
export function formatComparison(c: Comparison, names: [string, string] = ['reference', 'candidate']): string {
  const q = `${c.query.name} ${c.query.type} ${c.query.options.join(' ')}`;
  if (c.problems.length === 0) return `${q}: same${c.notes.length ? `\n  note ${c.notes.join('\n  note ')}` : ''}`;
  return [
    `${q}: ${c.problems.length} difference(s)`,
    ...c.problems.map((p) => `  ${p}`),
    ...c.notes.map((n) => `  note ${n}`),
    `--- ${names[0]} said:`,
    c.reference.raw.trim(),
    `--- ${names[1]} said:`,
    c.candidate.raw.trim(),
  ].join('\n');
}

/** The DNSSEC records (RRSIG, NSEC, NSEC3) anywhere in a reply: an answer without DO has none. */
export function dnssecRecords(r: Reply): Rr[] {
  return [...r.answer, ...r.authority, ...r.additional].filter((x) => ['RRSIG', 'NSEC', 'NSEC3'].includes(x.type));
}
