// Errors with stable codes, so callers and tests match on `code`, never on message text.

export const ErrorCode = {
  CONFIG_INVALID: 'ERR_CONFIG_INVALID',
  CONFIG_READ: 'ERR_CONFIG_READ',
  ZONE_PARSE: 'ERR_ZONE_PARSE',
  ZONE_POLICY: 'ERR_ZONE_POLICY',
  ZONE_READ: 'ERR_ZONE_READ',
  LISTEN: 'ERR_SERVER_LISTEN',
  COOKIE_SECRET: 'ERR_COOKIE_SECRET',
  USAGE: 'ERR_CLI_USAGE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class EdgeError extends Error {
  readonly code: ErrorCode;
  /** Every problem found, when there were several (config validation lists them all). */
  readonly problems: readonly string[];

  constructor(code: ErrorCode, message: string, problems: readonly string[] = [message]) {
    super(message);
    this.name = 'EdgeError';
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
