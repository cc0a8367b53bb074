// The interface every route-announcement adapter implements, and what a call is told.

import { EdgeError, ErrorCode } from '../core/index.js';

export type Action = 'announce' | 'withdraw';

export interface AnnounceRequest {
  action: Action;
  /** Prefixes such as "192.0.2.53/32" and "2001:db8::53/128". */
  prefixes: readonly string[];
  siteId: string;
  reason: string;
  /** Increases with every desired-state change. */
  seq: number;
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
 * Applies one desired state. Must be idempotent: "already in that state" is success. Throws
 * AdapterError on failure.
 */
export interface Adapter {
  readonly name: string;
  apply(req: AnnounceRequest): Promise<string>;
}
