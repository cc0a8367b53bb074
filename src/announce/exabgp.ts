// The exabgp adapter: API lines into the FIFO that ExaBGP's `process` reads. The FIFO must exist
// and be a FIFO: edgedns never creates it, since a regular file in its place would be replayed by
// the reader for ever (announce, withdraw, announce, … a flapping route).

import type { Stats } from 'node:fs';
import { constants as fsc } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, stat } from 'node:fs/promises';
import type { Adapter, AnnounceRequest, Deprefer } from './adapter.js';
import { AdapterError, depreferOf } from './adapter.js';

function kindOf(s: Stats): string {
  if (s.isFile()) return 'a regular file';
  if (s.isDirectory()) return 'a directory';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  return 'not a FIFO';
}

const notFifo = (path: string, s: Stats): AdapterError =>
  new AdapterError(
    `${path} is ${kindOf(s)}, not a FIFO: edgedns writes ExaBGP commands only into a FIFO (a file would be replayed by the reader); remove it and let ExaBGP's edgedns process make the FIFO`,
  );
const missing = (path: string): AdapterError =>
  new AdapterError(
    `${path} does not exist: ExaBGP's edgedns process makes this FIFO when it starts (deploy/exabgp/exabgp.conf); edgedns never creates it`,
  );

/** Open the FIFO for writing: no O_CREAT, and O_NONBLOCK so that no reader fails at once (ENXIO) instead of hanging. */
async function openFifo(path: string): Promise<FileHandle> {
  let before: Stats;
  try {
    before = await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw missing(path);
    throw new AdapterError(`cannot check ${path}: ${(e as Error).message}`);
  }
  // Checked before opening so that a device or a file is never even opened.
  if (!before.isFIFO()) throw notFifo(path, before);
  let fh: FileHandle;
  try {
    fh = await open(path, fsc.O_WRONLY | fsc.O_NONBLOCK | fsc.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENXIO')
      throw new AdapterError(
        `no ExaBGP process reads ${path} (is ExaBGP running with the edgedns process of deploy/exabgp/exabgp.conf?)`,
        true,
      );
    if (code === 'ENOENT') throw missing(path);
    throw new AdapterError(`cannot open ${path}: ${(e as Error).message}`);
  }
  // And again on what was opened: the path may have been replaced in between.
  const opened = await fh.stat();
  if (!opened.isFIFO()) {
    await fh.close().catch(() => {});
    throw notFifo(path, opened);
  }
  return fh;
}

/**
 * The attributes of a deprefer line: ` med M as-path [ A A … ]`. ExaBGP 4 sends an `as-path` as
 * given, without its own AS in front (it only makes `[ local-as ]` up when there is none), so the
 * path is `asn` once for the normal path and `prepend` times more: `asn` must be the neighbor's
 * `local-as` (eBGP).
 */
function exabgpAttributes(d: Deprefer | null): string {
  if (d === null) return '';
  const med = d.med === null ? '' : ` med ${d.med}`;
  const path =
    d.prepend === 0
      ? ''
      : ` as-path [ ${Array<number>(d.prepend + 1)
          .fill(d.asn)
          .join(' ')} ]`;
  return med + path;
}

/**
 * The API lines for a request: `announce route P next-hop self` (announce),
 * `announce route P next-hop self med M as-path [ A A A ]` (deprefer: the same route announced
 * again with other attributes replaces the path at the peer, no withdrawal), `withdraw route P
 * next-hop self` (withdraw).
 */
export function exabgpLines(req: AnnounceRequest): string {
  const attrs = exabgpAttributes(depreferOf(req));
  const verb = req.action === 'withdraw' ? 'withdraw' : 'announce';
  return req.prefixes.map((p) => `${verb} route ${p} next-hop self${attrs}\n`).join('');
}

/**
 * ExaBGP: `announce|withdraw route P next-hop self …` lines into the FIFO (never our stdout). The
 * FIFO stays open between calls, so the reader never sees an end of file. Done when the write
 * succeeded: ExaBGP gives the writer no answer to read back.
 */
export function exabgpAdapter(o: { pipe: string; timeoutMs: number }): Adapter & { close(): Promise<void> } {
  let fh: FileHandle | null = null;
  const drop = async (): Promise<void> => {
    await fh?.close().catch(() => {});
    fh = null;
  };
  return {
    name: 'exabgp',
    async apply(req) {
      const lines = exabgpLines(req);
      fh ??= await openFifo(o.pipe);
      try {
        // A few short lines, under PIPE_BUF: the kernel writes them whole or not at all.
        await fh.write(lines);
      } catch (e) {
        // The reader went away (EPIPE) or is not keeping up (EAGAIN): open again next time.
        await drop();
        const code = (e as NodeJS.ErrnoException).code;
        throw new AdapterError(
          `cannot write to ${o.pipe}: ${(e as Error).message}`,
          code === 'EAGAIN' || code === 'EPIPE',
        );
      }
      return lines.trim();
    },
    /** Let go of the FIFO (the next call opens it again). */
    close: drop,
  };
}
