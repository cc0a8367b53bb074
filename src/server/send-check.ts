// Which UDP answers are sent with a completion callback (server/listeners.ts).

/** One send in this many is checked while none fails (a power of two). */
export const CHECK_EVERY = 16;
/** After a failure, every send is checked for this long. */
export const CHECK_ALL_MS = 10_000;

/**
 * Which UDP answers are sent with a completion callback. With one, Node calls back into JavaScript
 * after every send, even one done at once (a saturated responder answers 15% fewer queries a
 * second); without one, a failed send (ENOBUFS, EPERM from a firewall) is lost silently. So one
 * send in CHECK_EVERY is checked, and after a failure every send is, for CHECK_ALL_MS: failures are
 * counted exactly while they happen, after at most CHECK_EVERY - 1 uncounted ones.
 */
export class SendCheck {
  #n = 0;
  #all = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #failed: () => void;
  /** `failed`: called for each failed send that was checked. */
  constructor(failed: () => void) {
    this.#failed = failed;
  }

  readonly #done = (err: Error | null): void => {
    if (!err) return;
    this.#failed();
    this.#all = true;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => (this.#all = false), CHECK_ALL_MS);
    this.#timer.unref();
  };

  /** The callback for the next send, or undefined for none. */
  next(): ((err: Error | null) => void) | undefined {
    return this.#all || (++this.#n & (CHECK_EVERY - 1)) === 0 ? this.#done : undefined;
  }
}
