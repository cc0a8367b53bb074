// The loader thread: parse, check and compile zone files off the answering thread, and hand the
// result back as a zone image whose chunks are transferred, not copied.

import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { EdgeError } from '../core/index.js';
import type { LoadReply, LoadRequest } from './loader.js';
import { loadZones } from './store.js';

const { specs, now } = workerData as LoadRequest;
// Loading is background work: on Linux the nice value is per thread (setpriority on the calling
// thread), so the thread that answers queries gets the CPU first when both want it.
try {
  setPriority(19);
} catch {
  // not permitted here: load at the normal priority
}
let reply: LoadReply;
let transfer: ArrayBuffer[] = [];
try {
  const image = loadZones(specs, now).image();
  transfer = image.chunks.map((c) => c.buffer as ArrayBuffer);
  reply = { ok: true, image };
} catch (e) {
  reply = { ok: false, problems: e instanceof EdgeError ? [...e.problems] : [(e as Error).message] };
}
parentPort?.postMessage(reply, transfer);
