// The loader thread: parse, check and compile zone files off the answering thread, and hand the
// result back as a zone image whose chunks are transferred, not copied.

import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { EdgeError } from '../core/index.js';
import type { LoadReply, LoadRequest } from './loader.js';
import { loadZones } from './store.js';

const { specs, now, background } = workerData as LoadRequest;
/**
 * How much nicer than the node a reload runs. On Linux the nice value is per thread (setpriority on
 * the calling thread), so the thread that answers gets the CPU first when both want one: at +10 a
 * reload takes about a tenth of a CPU it shares with answering (CFS weights 110 : 1024). Not +19: the
 * reload would then starve behind any other busy process on the host (1.5%), and a 200k-record zone
 * took minutes to reload on a loaded 2-core machine. The first load, before anything is answered,
 * runs at the node's own priority.
 */
const BACKGROUND_NICE = 10;
if (background) {
  try {
    setPriority(Math.min(19, getPriority() + BACKGROUND_NICE));
  } catch {
    // not permitted here: load at the node's priority
  }
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
