// The loader thread: parse, check and compile zone files off the answering thread, and hand the
// result back as a zone image whose chunks are transferred, not copied.

import { parentPort, workerData } from 'node:worker_threads';
import { EdgeError } from '../core/index.js';
import type { LoadReply, LoadRequest } from './loader.js';
import { loadZones } from './store.js';

const { specs, now } = workerData as LoadRequest;
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
