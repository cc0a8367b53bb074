// Errors with stable codes, so callers and tests match on `code`, never on message text.

export const ErrorCode = {
  CONFIG_INVALID: 'ERR_CONFIG_INVALID',
  CONFIG_READ: 'ERR_CONFIG_READ',
  ZONE_PARSE: 'ERR_ZONE_PARSE',
  ZONE_POLICY: 'ERR_ZONE_POLICY',
  ZONE_READ: 'ERR_ZONE_READ',
  LISTEN: 'ERR_SERVER_LISTEN',
  COOKIE_SECRET: 'ERR_COOKIE_SECRET',
  /** The TLS certificate or key of the DoT and DoH listeners cannot be read or used. */
  TLS_FILE: 'ERR_TLS_FILE',
  USAGE: 'ERR_CLI_USAGE',
  /** A domain name that cannot be (a label over 63 octets, a name over 255, bad escapes). */
  NAME_INVALID: 'ERR_WIRE_NAME',
  /** RDATA that does not fit its type (presentation or wire form). */
  RDATA_INVALID: 'ERR_ZONE_RDATA',
  /** A zone file's tokens: unbalanced parentheses or quotes, bad escapes. */
  ZONE_LEX: 'ERR_ZONE_LEX',
  /** A resolution without a usable answer (its `reason` says why). */
  RESOLVE: 'ERR_UPSTREAM_RESOLVE',
  /** One query to one server failed (its `kind`: timeout or network). */
  EXCHANGE: 'ERR_UPSTREAM_EXCHANGE',
  /** A zone transfer in failed (refused, TSIG, malformed, too big or too slow). */
  TRANSFER: 'ERR_CLIENT_TRANSFER',
  /** A routing adapter call failed (its `retryLater` says whether that was expected). */
  ANNOUNCE_FAILED: 'ERR_ANNOUNCE_FAILED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class EdgeError extends Error {
  readonly code: ErrorCode;
  /** Every problem found, when there were several (config validation lists them all). */
  readonly problems: readonly string[];

  constructor(code: ErrorCode, message: string, problems: readonly string[] = [message]) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.problems = problems;
  }
}

export function isEdgeError(err: unknown): err is EdgeError {
  return err instanceof EdgeError;
}

/** The message of anything thrown, for logs. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
