// Big-endian fields written into growing chunks of bytes, and read back with byte fields as views
// into the chunk (no copy): the framing of zone images (image.ts).

import { EdgeError, ErrorCode } from '../core/index.js';

/** Appends big-endian fields to growing chunks. */
export class ChunkWriter {
  readonly chunks: Uint8Array[] = [];
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  /** `size`: the first chunk's expected size (it grows past it). */
  constructor(size = 64 * 1024) {
    this.#buf = new Uint8Array(size);
    this.#view = new DataView(this.#buf.buffer);
  }

  get length(): number {
    return this.#len;
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.#room(1);
    this.#view.setUint8(this.#len, v);
    this.#len += 1;
  }
  u16(v: number): void {
    this.#room(2);
    this.#view.setUint16(this.#len, v);
    this.#len += 2;
  }
  u32(v: number): void {
    this.#room(4);
    this.#view.setUint32(this.#len, v);
    this.#len += 4;
  }
  i32(v: number): void {
    this.#room(4);
    this.#view.setInt32(this.#len, v);
    this.#len += 4;
  }
  f64(v: number): void {
    this.#room(8);
    this.#view.setFloat64(this.#len, v);
    this.#len += 8;
  }
  bytes16(b: Uint8Array): void {
    this.u16(b.length);
    this.raw(b);
  }
  bytes32(b: Uint8Array): void {
    this.u32(b.length);
    this.raw(b);
  }
  raw(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /** Append `src[start, end)` (no view made of it). */
  copy(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.#room(n);
    const buf = this.#buf;
    const at = this.#len;
    if (n > 64) buf.set(src.subarray(start, end), at);
    else for (let i = 0; i < n; i++) buf[at + i] = src[start + i] as number;
    this.#len = at + n;
  }

  /** Overwrite a u32 written earlier (at `at` in the current chunk). */
  patch32(at: number, v: number): void {
    this.#view.setUint32(at, v);
  }

  /**
   * End the writer with its bytes as they are, no copy: a view of its buffer, whose untouched tail
   * is never made resident. Nothing may be written after it.
   */
  take(): Uint8Array {
    const out = this.#buf.subarray(0, this.#len);
    this.#buf = new Uint8Array(0);
    this.#view = new DataView(this.#buf.buffer);
    this.#len = 0;
    return out;
  }

  /** End the current chunk: its bytes are copied into a buffer of exactly their size. */
  cut(): void {
    this.chunks.push(this.#buf.slice(0, this.#len));
    this.#len = 0;
  }
}

/** Reads what ChunkWriter wrote; byte fields are views into the chunk. */
export class ChunkReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.#buf.byteLength;
  }

  u8(): number {
    return this.#view.getUint8(this.pos++);
  }
  u16(): number {
    const v = this.#view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.#view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    const v = this.#view.getInt32(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    const v = this.#view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.#buf.byteLength) throw new EdgeError(ErrorCode.ZONE_READ, 'zone image is truncated');
    const b = this.#buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  bytes16(): Uint8Array {
    return this.bytes(this.u16());
  }
  bytes32(): Uint8Array {
    return this.bytes(this.u32());
  }
}
