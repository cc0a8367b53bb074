// Loading zones off the answering path: a worker thread parses, checks and compiles the files into
// a zone image; the answering side decodes the image a few milliseconds at a time between queries
// and swaps the result in whole. An image can also go through a file, to worker processes.

import { readFile, rename, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { EdgeError, ErrorCode } from '../core/index.js';
import { nameFromText } from '../wire/index.js';
import type { ZoneImage } from './image.js';
import { assembleZone, decodeChunk, decodeHeader } from './image.js';
import type { NodeAnswers, ZoneSpec } from './store.js';
import { ZoneStore } from './store.js';
import type { ZoneNode } from './zone.js';

export interface LoadRequest {
  specs: ZoneSpec[];
  now: number;
}

export type LoadReply = { ok: true; image: ZoneImage } | { ok: false; problems: string[] };

/** Decoding runs for at most this long before letting queries in. */
const SLICE_MS = 4;

/** Parse, check and compile zone files in a worker thread; rejects with every problem (file, line). */
export function loadInThread(specs: readonly ZoneSpec[], now = Date.now()): Promise<ZoneImage> {
  const here = fileURLToPath(import.meta.url);
  const script = here.replace(/loader(\.[jt]s)$/, `load-thread${extname(here)}`);
  return new Promise((resolve, reject) => {
    const workerData = { specs: [...specs], now } satisfies LoadRequest;
    // From sources (tests run them through tsx) the thread needs tsx's hook, which Node 20 applies
    // to modules the thread imports but not to the thread's entry file itself.
    const w =
      extname(here) === '.ts'
        ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(pathToFileURL(script).href)}); })`, { eval: true, workerData })
        : new Worker(script, { workerData });
    let settled = false;
    w.once('message', (m: LoadReply) => {
      settled = true;
      if (m.ok) resolve(m.image);
      else reject(new EdgeError(ErrorCode.ZONE_PARSE, m.problems.join('\n'), m.problems));
    });
    w.once('error', (e) => {
      settled = true;
      reject(new EdgeError(ErrorCode.ZONE_READ, `zone loader failed: ${e.message}`));
    });
    w.once('exit', (code) => {
      if (!settled) reject(new EdgeError(ErrorCode.ZONE_READ, `zone loader exited (code ${code}) without a result`));
    });
  });
}

/** Build a store from an image, yielding to the event loop every few milliseconds. */
export async function decodeImage(image: ZoneImage): Promise<ZoneStore> {
  const [head, ...rest] = image.chunks;
  if (!head) throw new EdgeError(ErrorCode.ZONE_READ, 'empty zone image');
  const header = decodeHeader(head);
  const nodes = header.zones.map(() => new Map<string, ZoneNode>());
  const compiled = new Map<string, NodeAnswers>();
  let sliceStart = performance.now();
  for (const chunk of rest) {
    const d = decodeChunk(chunk);
    const into = nodes[d.zone];
    if (!into) throw new EdgeError(ErrorCode.ZONE_READ, `zone image: chunk for zone ${d.zone} of ${nodes.length}`);
    for (const n of d.nodes) into.set(n.key, n);
    for (const [k, a] of d.compiled) compiled.set(k, a);
    if (performance.now() - sliceStart >= SLICE_MS) {
      await yieldToLoop();
      sliceStart = performance.now();
    }
  }
  const zones = header.zones.map((info, i) => assembleZone(info, nameFromText(info.origin, null), nodes[i] as Map<string, ZoneNode>));
  return new ZoneStore(zones, header.loadedAt, compiled);
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
  for (let off = 0; off < buf.length; ) {
    if (off + 4 > buf.length) throw new EdgeError(ErrorCode.ZONE_READ, `${path}: truncated zone image`);
    const len = buf.readUInt32BE(off);
    if (off + 4 + len > buf.length) throw new EdgeError(ErrorCode.ZONE_READ, `${path}: truncated zone image`);
    chunks.push(buf.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  const head = chunks[0];
  if (!head) throw new EdgeError(ErrorCode.ZONE_READ, `${path}: empty zone image`);
  return { header: decodeHeader(head), chunks };
}
