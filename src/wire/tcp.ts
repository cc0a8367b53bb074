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

/** Splits a TCP byte stream into the messages framed in it. */
export class FrameReader {
  #buf: Buffer = EMPTY;

  /** Add bytes as they arrived; returns the messages they complete (views, in order). */
  push(chunk: Buffer): Buffer[] {
    const buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: Buffer[] = [];
    let off = 0;
    while (buf.length - off >= 2) {
      const len = buf.readUInt16BE(off);
      if (buf.length - off - 2 < len) break;
      out.push(buf.subarray(off + 2, off + 2 + len));
      off += 2 + len;
    }
    this.#buf = off === buf.length ? EMPTY : buf.subarray(off);
    return out;
  }

  /** Bytes received that do not make a whole message yet. */
  get pending(): number {
    return this.#buf.length;
  }
}
