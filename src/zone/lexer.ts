// Splitting a master file (RFC 1035 §5.1) into entries: one entry per logical line, with
// parentheses joining lines, comments removed, and quoted strings kept whole.

import { EdgeError, ErrorCode } from '../core/index.js';

export interface Token {
  /** Raw text; for a wholly quoted token, the text between the quotes (escapes still in it). */
  text: string;
  quoted: boolean;
}

export interface Entry {
  tokens: Token[];
  /** Line number (1-based) where the entry starts. */
  line: number;
  /** The entry's first line starts with a blank: the owner is omitted. */
  blankStart: boolean;
}

export class LexError extends EdgeError {
  readonly line: number;
  constructor(message: string, line: number) {
    super(ErrorCode.ZONE_LEX, message);
    this.line = line;
  }
}

/** Whether a character code ends a token outside quotes: blank, CR, ';', '(' or ')'. */
function separates(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x3b || c === 0x28 || c === 0x29;
}

/**
 * Split `text` into entries, each handed to `onEntry` as soon as it ends. The entry, its token
 * array and its tokens are reused for the next entry: they are valid only during the call (copy
 * what must outlive it).
 */
export function lex(text: string, onEntry: (e: Entry) => void): void {
  const tokens: Token[] = [];
  /** Token objects made so far, reused entry after entry. */
  const made: Token[] = [];
  const entry: Entry = { tokens, line: 1, blankStart: false };
  let line = 1;
  let entryLine = 1;
  let blankStart = false;
  let depth = 0;
  let parenLine = 0;
  let atLineStart = true;
  let i = 0;
  const n = text.length;

  const flush = (): void => {
    if (tokens.length > 0) {
      entry.line = entryLine;
      entry.blankStart = blankStart;
      onEntry(entry);
      tokens.length = 0;
    }
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    if (atLineStart && depth === 0) {
      atLineStart = false;
      entryLine = line;
      blankStart = c === 0x20 || c === 0x09;
    }
    if (c === 0x0a) {
      line++;
      i++;
      if (depth === 0) {
        flush();
        atLineStart = true;
      }
      continue;
    }
    if (c === 0x20 || c === 0x09 || c === 0x0d) {
      i++;
      continue;
    }
    if (c === 0x3b) {
      while (i < n && text.charCodeAt(i) !== 0x0a) i++;
      continue;
    }
    if (c === 0x28) {
      if (depth === 0) parenLine = line;
      depth++;
      i++;
      continue;
    }
    if (c === 0x29) {
      if (depth === 0) throw new LexError('")" without "("', line);
      depth--;
      i++;
      continue;
    }
    // A token: runs to a blank, newline, ';', '(' or ')' outside quotes; its text is the file's
    // (escapes and quotes as written).
    const start = i;
    let inQuote = false;
    let quotes = 0;
    while (i < n) {
      const d = text.charCodeAt(i);
      if (d === 0x5c) {
        // A backslash before a line end stays as it is: the field parser decides.
        i += i + 1 < n && text.charCodeAt(i + 1) !== 0x0a ? 2 : 1;
        continue;
      }
      if (d === 0x22) {
        inQuote = !inQuote;
        quotes++;
        i++;
        continue;
      }
      if (d === 0x0a) {
        if (inQuote) throw new LexError('line ends inside a quoted string', line);
        break;
      }
      if (!inQuote && separates(d)) break;
      i++;
    }
    if (inQuote) throw new LexError('file ends inside a quoted string', line);
    const raw = text.slice(start, i);
    const whole = quotes === 2 && raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"');
    let t = made[tokens.length];
    if (!t) {
      t = { text: '', quoted: false };
      made.push(t);
    }
    t.text = whole ? raw.slice(1, -1) : raw;
    t.quoted = whole;
    tokens.push(t);
  }
  if (depth > 0) throw new LexError('"(" never closed', parenLine);
  flush();
}
