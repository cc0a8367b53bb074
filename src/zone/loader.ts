// Loading zones off the answering path: a worker thread parses, checks and compiles the files into
// a zone image; the answering side opens the image in place (it decodes only what queries ask for)
// and swaps the new store in whole. An image can also go through a file, to worker processes.

import { readFile, rename, writeFile } from 'node:fs/promises';
import { getPriority, setPriority } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EdgeError, ErrorCode } from '../core/index.js';
import type { ZoneImage } from './image.js';
import { decodeHeader, openImage } from './image.js';
import type { ZoneSpec } from './store.js';
import { ZoneStore } from './store.js';

export interface LoadRequest {
  specs: ZoneSpec[];
  now: number;
  /** A reload beside a serving node: the thread lowers its priority so that answering goes first. */
  background: boolean;
}

export type LoadReply = { ok: true; image: ZoneImage } | { ok: false; problems: string[] };

/** Longest a load may take (a zone of millions of records takes minutes on a slow machine). */
const LOAD_TIMEOUT_MS = 10 * 60_000;

export interface LoadOptions {
  /** A reload while the node serves: the thread yields the CPU to answering. */
  background?: boolean;
  now?: number;
}

/** Parse, check and compile zone files in a worker thread; rejects with every problem (file, line). */
export function loadInThread(
  specs: readonly ZoneSpec[],
  { background = false, now = Date.now() }: LoadOptions = {},
): Promise<ZoneImage> {
  return new Promise((resolve, reject) => {
    const w = startThread('load-thread', { specs: [...specs], now, background } satisfies LoadRequest);
    let settled = false;
    // A file that never ends (a FIFO, a hung mount) must not hold every later reload behind it.
    const timer = setTimeout(() => {
      settled = true;
      void w.terminate();
      reject(
        new EdgeError(
          ErrorCode.ZONE_READ,
          `zone loader: no result within ${LOAD_TIMEOUT_MS / 1000} s reading ${specs.map((z) => z.file).join(', ')}`,
        ),
      );
    }, LOAD_TIMEOUT_MS);
    w.once('message', (m: LoadReply) => {
      clearTimeout(timer);
      settled = true;
      if (m.ok) resolve(m.image);
      else reject(new EdgeError(ErrorCode.ZONE_PARSE, m.problems.join('\n'), m.problems));
    });
    w.once('error', (e) => {
      clearTimeout(timer);
      settled = true;
      reject(new EdgeError(ErrorCode.ZONE_READ, `zone loader failed: ${e.message}`));
    });
    w.once('exit', (code) => {
      clearTimeout(timer);
      if (!settled) reject(new EdgeError(ErrorCode.ZONE_READ, `zone loader exited (code ${code}) without a result`));
    });
  });
}

/** A worker thread running `name`, a file of this folder (`load-thread`, `dump-thread`). */
export function startThread(name: string, workerData: unknown): Worker {
  const here = fileURLToPath(import.meta.url);
  const script = here.replace(/loader(\.[jt]s)$/, `${name}${extname(here)}`);
  // From sources (tests run them through tsx) the thread needs tsx's hook, which Node 20 applies
  // to modules the thread imports but not to the thread's entry file itself.
  return extname(here) === '.ts'
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(pathToFileURL(script).href)}); })`,
        { eval: true, workerData },
      )
    : new Worker(script, { workerData });
}

/**
 * How much nicer than the node a thread's work runs (a reload, a transfer's zone read). On Linux
 * the nice value is per thread (setpriority on the calling thread), so the thread that answers gets
 * the CPU first when both want one: at +10 a reload takes about a tenth of a CPU it shares with
 * answering (CFS weights 110 : 1024). Not +19: the reload would then starve behind any other busy
 * process on the host (1.5%), and a 200k-record zone took minutes to reload on a loaded 2-core
 * machine.
 */
const BACKGROUND_NICE = 10;

/** Lower the calling thread's priority by BACKGROUND_NICE (where permitted). */
export function runInBackground(): void {
  try {
    setPriority(Math.min(19, getPriority() + BACKGROUND_NICE));
  } catch {
    // not permitted here: run at the node's priority
  }
}

/** A store over an image's bytes: nothing is decoded until a query needs it. */
export function openStore(image: ZoneImage): ZoneStore {
  const { zones, loadedAt } = openImage(image);
  return new ZoneStore(zones, loadedAt, false);
}

/** Write an image to `path` atomically (a temporary name, then rename). */
export async function writeImageFile(path: string, image: ZoneImage): Promise<void> {
  const parts: Uint8Array[] = [];
  for (const c of image.chunks) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(c.length);
    parts.push(len, c);
  }
  await writeFile(`${path}.tmp`, parts);
  await rename(`${path}.tmp`, path);
}

export async function readImageFile(path: string): Promise<ZoneImage> {
  const buf = await readFile(path);
  const chunks: Uint8Array[] = [];
  for (let off = 0; off < buf.length;) {
    if (off + 4 > buf.length) throw new EdgeError(ErrorCode.ZONE_READ, `${path}: truncated zone image`);
    const len = buf.readUInt32BE(off);
    if (off + 4 + len > buf.length) throw new EdgeError(ErrorCode.ZONE_READ, `${path}: truncated zone image`);
    chunks.push(buf.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  const head = chunks[0];
  if (!head) throw new EdgeError(ErrorCode.ZONE_READ, `${path}: empty zone image`);
  try {
    return { header: decodeHeader(head), chunks };
  } catch (e) {
    throw new EdgeError(ErrorCode.ZONE_READ, `${path}: not a zone image (${(e as Error).message})`);
  }
}
