// DNS over TCP framing (RFC 1035 §4.2.2, RFC 7766 §8): every message is preceded by its length in
// two bytes, and a stream may carry many messages split across reads in any way.

/** A message with its 2-byte length in front. */
export function frame(msg: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(msg.length + 2);
  out[0] = msg.length >> 8;
  out[1] = msg.length & 0xff;
  out.set(msg, 2);
  return out;
}

const EMPTY = Buffer.alloc(0);

/** The largest a 2-byte length can frame, with its length. */
export const MAX_FRAME = 65535 + 2;

/**
 * Splits a TCP byte stream into the messages framed in it, in time linear in the bytes: chunks are
 * kept as they arrived and each byte is copied at most once, when a message spans chunks (a 64 KB
 * message sent in 1-byte segments is 65537 chunks, not 65537 growing copies).
 *
 *   chunks: [ c0 ][ c1 ][ c2 ] …      head = index of c0, off = bytes of c0 already taken
 *             ^off
 */
export class FrameReader {
  #chunks: Buffer[] = [];
  #head = 0;
  #off = 0;
  #pending = 0;

  /** Add bytes as they arrived; take the messages with next(). */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#pending += chunk.length;
  }

  /** The next whole message (a view when it lies in one chunk, else one copy), or null. */
  next(): Buffer | null {
    if (this.#pending < 2) return null;
    const len = (this.#byte(0) << 8) | this.#byte(1);
    if (this.#pending < 2 + len) return null;
    this.#skip(2);
    return this.#take(len);
  }

  /** Bytes received and not yet taken as messages (whole ones included). */
  get pending(): number {
    return this.#pending;
  }

  /** A message has begun and is not complete yet. */
  get partial(): boolean {
    if (this.#pending === 0) return false;
    if (this.#pending < 2) return true;
    return this.#pending < 2 + ((this.#byte(0) << 8) | this.#byte(1));
  }

  #byte(i: number): number {
    let at = this.#off + i;
    for (let c = this.#head; c < this.#chunks.length; c++) {
      const chunk = this.#chunks[c] as Buffer;
      if (at < chunk.length) return chunk[at] as number;
      at -= chunk.length;
    }
    return 0;
  }

  #skip(n: number): void {
    this.#take(n);
  }

  #take(n: number): Buffer {
    // A zero-length message (a client may frame one) can end the buffered bytes: no chunk is left.
    if (n === 0) return EMPTY;
    this.#pending -= n;
    const first = this.#chunks[this.#head] as Buffer;
    if (first.length - this.#off >= n) {
      const out = first.subarray(this.#off, this.#off + n);
      this.#off += n;
      if (this.#off === first.length) this.#drop();
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const c = this.#chunks[this.#head] as Buffer;
      const k = Math.min(n - done, c.length - this.#off);
      c.copy(out, done, this.#off, this.#off + k);
      done += k;
      this.#off += k;
      if (this.#off === c.length) this.#drop();
    }
    return out;
  }

  /** The head chunk is used up; compact the array now and then so it does not grow for ever. */
  #drop(): void {
    this.#head++;
    this.#off = 0;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}
