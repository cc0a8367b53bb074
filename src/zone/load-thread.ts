// The loader thread: parse, check and compile zone files off the answering thread, and hand the
// result back as a zone image whose chunks are transferred, not copied.

import { parentPort, workerData } from 'node:worker_threads';
import { EdgeError } from '../core/index.js';
import type { LoadReply, LoadRequest } from './loader.js';
import { runInBackground } from './loader.js';
import { loadZones } from './store.js';

const { specs, now, background } = workerData as LoadRequest;
// A reload beside a serving node yields the CPU to answering (loader.ts); the first load, before
// anything is answered, runs at the node's own priority.
if (background) runInBackground();
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
