// Master-file parsing (RFC 1035 §5): directives, owner/TTL/class inheritance, $INCLUDE, and
// RDATA through the type codecs. Produces records; zone policy is applied when the zone is built (zone.ts).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { EdgeError, ErrorCode } from '../core/index.js';
import {
  Class,
  NameError,
  T,
  classFromText,
  isMetaType,
  nameFromText,
  soaMinimum,
  typeFromText,
} from '../wire/index.js';
import type { Entry, Token } from './lexer.js';
import { LexError, lex } from './lexer.js';
import { encodeRdata } from './rdata.js';
import { RdataError, parseTtl } from './text.js';

export interface ZoneRecord {
  owner: Uint8Array;
  ttl: number;
  class: number;
  type: number;
  rdata: Uint8Array;
  file: string;
  line: number;
}

/** One problem in a zone file, with where it is. */
export class ZoneSyntaxError extends EdgeError {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
  constructor(file: string, line: number, reason: string) {
    super(ErrorCode.ZONE_PARSE, `${file}:${line}: ${reason}`);
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}

/** RFC 2181 §8: TTLs are 31-bit. */
const MAX_TTL = 0x7fffffff;
const MAX_INCLUDE_DEPTH = 16;

interface State {
  /** Default TTL from $TTL, or from the SOA MINIMUM when the file has no $TTL (BIND). */
  defaultTtl: number | undefined;
  /** The last TTL written on a record (RFC 1035 §5.1 inheritance). */
  lastTtl: number | undefined;
  zoneClass: number | undefined;
  /** Where each record goes (an array, or a zone being built). */
  emit: (r: ZoneRecord) => void;
  records: number;
  depth: number;
}

export interface ParseOptions {
  /** Where `$INCLUDE` paths that are not found beside the including file are looked up (BIND's
   * working directory); defaults to the process's. */
  cwd?: string;
}

/** Parse a zone file from disk. Throws ZoneSyntaxError naming the file and line. */
export function parseZoneFile(path: string, origin: Uint8Array, opts: ParseOptions = {}): ZoneRecord[] {
  const records: ZoneRecord[] = [];
  parseZoneFileEach(path, origin, (r) => records.push(r), opts);
  return records;
}

/** Parse a zone file from disk, handing each record to `emit` as it is read (none kept here). */
export function parseZoneFileEach(
  path: string,
  origin: Uint8Array,
  emit: (r: ZoneRecord) => void,
  opts: ParseOptions = {},
): void {
  const state = newState(emit);
  parseFileInto(
    state,
    { file: path, origin, owner: undefined, cwd: opts.cwd ?? process.cwd() },
    { file: path, line: 0 },
  );
  if (state.records === 0) throw new ZoneSyntaxError(path, 1, 'the file holds no records');
}

/** Parse zone text (tests, stdin). */
export function parseZoneText(text: string, origin: Uint8Array, file = '<text>'): ZoneRecord[] {
  const records: ZoneRecord[] = [];
  parseTextInto(
    newState((r) => records.push(r)),
    text,
    { file, origin, owner: undefined, cwd: process.cwd() },
  );
  return records;
}

function newState(emit: (r: ZoneRecord) => void): State {
  return { defaultTtl: undefined, lastTtl: undefined, zoneClass: undefined, emit, records: 0, depth: 0 };
}

/** Where the parser is: the file, its current $ORIGIN and owner, and the folder $INCLUDE also tries. */
interface Place {
  file: string;
  origin: Uint8Array;
  owner: Uint8Array | undefined;
  cwd: string;
}

/** A file and line, for the error when an included file cannot be read. */
interface Line {
  file: string;
  line: number;
}

function readZone(path: string, from: Line): string {
  try {
    return readFileSync(path, 'latin1');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new ZoneSyntaxError(from.file, from.line, `cannot read ${path}: ${why}`);
  }
}

function parseFileInto(st: State, start: Place, from: Line): void {
  parseTextInto(st, readZone(start.file, from), start);
}

function parseTextInto(st: State, text: string, start: Place): void {
  const { file } = start;
  // RFC 1035 §5.1: an include does not change the parent's origin or current owner: a copy.
  const at: Place = { ...start };
  try {
    lex(text, (entry) => parseEntry(st, entry, at));
  } catch (e) {
    if (e instanceof LexError) throw new ZoneSyntaxError(file, e.line, e.message);
    throw e;
  }
}

/** One entry of a file: a directive, or a record (the owner it names is the next one's default). */
function parseEntry(st: State, entry: Entry, at: Place): void {
  const { file, cwd } = at;
  {
    const fail = (reason: string): never => {
      throw new ZoneSyntaxError(file, entry.line, reason);
    };
    const first = entry.tokens[0] as Token;
    if (!entry.blankStart && !first.quoted && first.text.startsWith('$')) {
      const directive = first.text.toUpperCase();
      const args = entry.tokens.slice(1);
      switch (directive) {
        case '$ORIGIN': {
          if (args.length !== 1) fail('$ORIGIN takes one domain name');
          at.origin = toName((args[0] as Token).text, at.origin, fail);
          break;
        }
        case '$TTL': {
          if (args.length !== 1) fail('$TTL takes one TTL');
          st.defaultTtl = checkTtl((args[0] as Token).text, fail);
          break;
        }
        case '$INCLUDE': {
          if (args.length < 1 || args.length > 2) fail('$INCLUDE takes a file name and an optional origin');
          if (st.depth >= MAX_INCLUDE_DEPTH) fail(`$INCLUDE nested more than ${MAX_INCLUDE_DEPTH} deep`);
          const target = (args[0] as Token).text;
          const origin = args[1] ? toName(args[1].text, at.origin, fail) : at.origin;
          st.depth++;
          parseFileInto(
            st,
            { file: includePath(target, file, cwd), origin, owner: args[1] ? undefined : at.owner, cwd },
            { file, line: entry.line },
          );
          st.depth--;
          break;
        }
        case '$GENERATE':
          fail('$GENERATE is not supported: expand it before loading');
          break;
        default:
          fail(`unknown directive ${first.text}`);
      }
      return;
    }
    at.owner = parseRecord(st, entry, at, fail);
  }
}

function includePath(target: string, file: string, cwd: string): string {
  if (isAbsolute(target)) return target;
  const beside = resolve(dirname(file), target);
  if (existsSync(beside)) return beside;
  // BIND resolves relative includes from its working directory.
  return resolve(cwd, target);
}

function parseRecord(st: State, entry: Entry, at: Readonly<Place>, fail: (r: string) => never): Uint8Array {
  const { origin, owner: lastOwner, file } = at;
  const toks = entry.tokens;
  let i = 0;
  let owner: Uint8Array;
  if (entry.blankStart) {
    if (!lastOwner) fail('record has no owner name and no previous owner to inherit');
    owner = lastOwner;
  } else {
    owner = toName((toks[0] as Token).text, origin, fail);
    i = 1;
  }
  let ttl: number | undefined;
  let cls: number | undefined;
  let type: number | undefined;
  for (; i < toks.length && type === undefined; i++) {
    const t = toks[i] as Token;
    if (t.quoted) fail(`expected a TTL, class or type, got "${t.text}"`);
    if (ttl === undefined && isDigit(t.text.charCodeAt(0))) {
      ttl = checkTtl(t.text, fail);
      continue;
    }
    const c = classFromText(t.text);
    if (cls === undefined && c !== undefined) {
      cls = c;
      continue;
    }
    type = typeFromText(t.text);
    if (type === undefined) fail(`unknown type "${t.text}"`);
  }
  if (type === undefined) fail('record has no type');
  const rtype = type;
  if (isMetaType(rtype)) fail(`${toks[i - 1]?.text} is a meta type and cannot appear in a zone file`);
  if (cls === Class.ANY || cls === Class.NONE)
    fail(`class ${cls === Class.ANY ? 'ANY' : 'NONE'} is not valid on a record`);
  const zoneClass = st.zoneClass ?? cls ?? Class.IN;
  if (cls !== undefined && cls !== zoneClass) fail(`class differs from the zone's class`);
  st.zoneClass = zoneClass;

  let rdata: Uint8Array;
  try {
    rdata = encodeRdata(rtype, toks, origin, i);
  } catch (e) {
    if (e instanceof RdataError || e instanceof NameError) fail(e.message);
    throw e;
  }

  if (ttl !== undefined) st.lastTtl = ttl;
  else if (st.defaultTtl !== undefined) ttl = st.defaultTtl;
  else if (st.lastTtl !== undefined) ttl = st.lastTtl;
  else if (rtype === T.SOA) {
    // No $TTL and no TTL yet: BIND uses the SOA MINIMUM (RFC 2308 §4 keeps it as the default).
    ttl = soaMinimum(rdata);
    st.defaultTtl = ttl;
  } else fail('no TTL given and no $TTL or earlier TTL to use');
  st.records++;
  st.emit({ owner, ttl: ttl, class: zoneClass, type: rtype, rdata, file, line: entry.line });
  return owner;
}

/** An ASCII digit (what `\d` matches). */
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function checkTtl(text: string, fail: (r: string) => never): number {
  const v = parseTtl(text);
  if (v === undefined) fail(`invalid TTL "${text}"`);
  if (v > MAX_TTL) fail(`TTL ${text} is larger than ${MAX_TTL} (RFC 2181 §8)`);
  return v;
}

function toName(text: string, origin: Uint8Array, fail: (r: string) => never): Uint8Array {
  try {
    return nameFromText(text, origin);
  } catch (e) {
    if (e instanceof NameError) fail(e.message);
    throw e;
  }
}
