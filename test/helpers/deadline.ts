// A failure timeout for a promise that must settle: waiting is fine, hanging is not. Never a
// measurement: a test that needs to know *when* something happened asks an injected clock or
// the node's own log, not this machine's scheduler.

/** `p`, or a rejection naming `what` when it has not settled within `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
