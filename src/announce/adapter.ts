// The interface every route-announcement adapter implements, and what a call is told.

import { EdgeError, ErrorCode } from '../core/index.js';

/**
 * announce: the prefixes are routed here with the normal path. deprefer: still routed here, with a
 * worse path (a longer AS path and/or a MED), so that peers prefer other sites while this one can
 * still answer. withdraw: not routed here.
 */
export type Action = 'announce' | 'deprefer' | 'withdraw';

/**
 * The worse path of 'deprefer': `asn` put `prepend` times in front of the AS path (0: no prepend),
 * and the MED `med` (null: none).
 */
export interface Deprefer {
  asn: number;
  prepend: number;
  med: number | null;
}

export interface AnnounceRequest {
  action: Action;
  /** Prefixes such as "192.0.2.53/32" and "2001:db8::53/128". */
  prefixes: readonly string[];
  siteId: string;
  reason: string;
  /** Increases with every desired-state change. */
  seq: number;
  /** Non-null exactly when `action` is 'deprefer'. */
  deprefer: Deprefer | null;
}

/** A failed call. `retryLater` (exec exit 75, BIRD busy, no FIFO reader yet) is expected and quiet. */
export class AdapterError extends EdgeError {
  readonly retryLater: boolean;
  constructor(message: string, retryLater = false) {
    super(ErrorCode.ANNOUNCE_FAILED, message);
    this.retryLater = retryLater;
  }
}

/**
 * Applies one desired state. Must be idempotent: "already in that state" is success; and moving
 * between 'announce' and 'deprefer' replaces the path without withdrawing it in between. Throws
 * AdapterError on failure.
 */
export interface Adapter {
  readonly name: string;
  apply(req: AnnounceRequest): Promise<string>;
}

const UINT32_MAX = 4294967295;
/**
 * More prepends than this change nothing a peer does (paths that long are filtered as leaks), and
 * keep ExaBGP's lines short enough to be written to its FIFO whole (under PIPE_BUF).
 */
const MAX_PREPEND = 32;

const isUint = (n: unknown, max: number): boolean => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= max;

/** What is wrong with a Deprefer, one message per field, each starting with `path`. */
export function depreferProblems(d: Deprefer, path = 'deprefer'): string[] {
  const p: string[] = [];
  if (!isUint(d.prepend, MAX_PREPEND))
    p.push(`${path}.prepend: expected an integer 0..${MAX_PREPEND}, got ${JSON.stringify(d.prepend)}`);
  // RFC 7607: AS 0 is never put in a path; with no prepend the ASN is unused.
  if (d.prepend !== 0 && !(isUint(d.asn, UINT32_MAX) && d.asn > 0))
    p.push(`${path}.asn: expected an integer 1..${UINT32_MAX}, got ${JSON.stringify(d.asn)}`);
  if (d.med !== null && !isUint(d.med, UINT32_MAX))
    p.push(`${path}.med: expected null or an integer 0..${UINT32_MAX}, got ${JSON.stringify(d.med)}`);
  return p;
}

/**
 * The worse path a request asks for: null for announce and withdraw. Throws AdapterError when the
 * request is inconsistent (deprefer without values, values with another action, values out of
 * range): an adapter never writes a number it has not checked into a routing daemon's config.
 */
export function depreferOf(req: AnnounceRequest): Deprefer | null {
  if (req.action !== 'deprefer') {
    if (req.deprefer !== null) throw new AdapterError(`${req.action}: expected no deprefer values, got some`);
    return null;
  }
  if (req.deprefer === null) throw new AdapterError('deprefer: expected deprefer values (asn, prepend, med), got null');
  const problems = depreferProblems(req.deprefer);
  if (problems.length > 0) throw new AdapterError(`deprefer: ${problems.join('; ')}`);
  return req.deprefer;
}

/** "AS 65001 prepended 3 times, MED 100", for logs and adapter answers. */
export function describeDeprefer(d: Deprefer): string {
  const parts: string[] = [];
  if (d.prepend > 0) parts.push(`AS ${d.asn} prepended ${d.prepend} time${d.prepend === 1 ? '' : 's'}`);
  if (d.med !== null) parts.push(`MED ${d.med}`);
  return parts.length > 0 ? parts.join(', ') : 'no prepend, no MED';
}
