// The admin endpoint's listeners: an HTTP server with deadlines, the TCP listener's connection caps,
// and the Unix socket's folder, mode and lifetime.
//
// The TCP listener faces the network once sites share state (fleet peers read /fleet/state): a
// client may hold at most ADMIN_LIMITS.perClient connections and all of them ADMIN_LIMITS.total,
// and a request's headers must arrive within ADMIN_LIMITS.headersMs (a silent connection's too),
// so that no one client can hold the peers and the Prometheus scrapes out, nor the process's file
// descriptors.

import { lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { dirname } from 'node:path';
import { Admission, EdgeError, ErrorCode, errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';

/** Bounds of the TCP listener (none of them touch the Unix socket, whose file mode decides who connects). */
export const ADMIN_LIMITS = {
  /** Connections from one address: peers, a Prometheus and an operator's CLI need one or two each. */
  perClient: 8,
  total: 256,
  /**
   * A request's headers must be in by then, counted from the connection for its first request
   * (a silent connection and a slow trickle are both closed); the whole request by requestMs.
   */
  headersMs: 5000,
  requestMs: 10_000,
} as const;

/** rw for the node's user and group: the group is who may drive the node without a token. */
export const SOCKET_MODE = 0o660;

/** An HTTP server held to ADMIN_LIMITS' deadlines. */
export function boundedServer(handler: http.RequestListener): http.Server {
  return http.createServer(
    {
      headersTimeout: ADMIN_LIMITS.headersMs,
      requestTimeout: ADMIN_LIMITS.requestMs,
      // How often Node looks for requests past those deadlines (30 s by default).
      connectionsCheckingInterval: 1000,
    },
    handler,
  );
}

export function listen(server: http.Server, start: (s: http.Server) => void, where: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(new EdgeError(ErrorCode.LISTEN, `cannot listen on admin ${where}: ${e.message}`)),
    );
    server.once('listening', () => {
      server.on('error', () => {});
      resolve();
    });
    start(server);
  });
}

/** Bind with a umask that leaves no moment when others may connect before the chmod. */
export function listenPrivately(server: http.Server, path: string): void {
  const old = process.umask(0o117);
  try {
    server.listen(path);
  } finally {
    process.umask(old);
  }
}

/**
 * Make the socket's folder (private when we create it), refuse a folder anyone could swap the
 * socket in, and remove a stale socket left by a crash, but never a live one or another file.
 */
export async function prepareSocketPath(path: string): Promise<void> {
  const dir = dirname(path);
  const fail = (why: string): EdgeError => new EdgeError(ErrorCode.LISTEN, `cannot use admin socket ${path}: ${why}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fail(`cannot create ${dir}: ${errorMessage(e)}`);
  }
  const d = lstatSync(dir);
  const uid = process.geteuid?.() ?? 0;
  if (!d.isDirectory()) throw fail(`${dir} is not a folder`);
  if (d.uid !== uid && d.uid !== 0) throw fail(`${dir} belongs to uid ${d.uid}, not to this process (uid ${uid})`);
  // Sticky (like /tmp) protects entries from other users; without it they could replace ours.
  if ((d.mode & 0o022) !== 0 && (d.mode & 0o1000) === 0) throw fail(`${dir} is writable by others`);
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw fail('the path exists and is not a socket');
  if (await socketAnswers(path)) throw fail('another process is listening on it (is edgedns already running?)');
  unlinkSync(path);
}

/** ADMIN_LIMITS' connection caps on a TCP server (the DNS listeners' Admission); refusals logged at most every 10 s. */
export function capConnections(server: http.Server, log: Logger): void {
  const admission = new Admission({ maxConnections: ADMIN_LIMITS.total, maxPerClient: ADMIN_LIMITS.perClient });
  let refused = 0;
  let loggedAt = -Infinity;
  server.on('connection', (s: net.Socket) => {
    const client = s.remoteAddress ?? '';
    const a = admission.admit(client);
    if (a.ok) {
      s.once('close', () => a.release());
      return;
    }
    s.destroy();
    refused++;
    if (performance.now() - loggedAt >= 10_000) {
      loggedAt = performance.now();
      const cap = a.reason === 'per_client' ? 'the per-client cap' : 'the total cap';
      log.warn(`admin: connections refused, over ${cap}`, { client, perClient: ADMIN_LIMITS.perClient, refused });
    }
  });
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(path);
    c.setTimeout(1000);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('timeout', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export function removeIfSame(path: string, ino: number): void {
  try {
    if (lstatSync(path).ino === ino) unlinkSync(path);
  } catch {
    // already gone
  }
}

export function closeServer(server: http.Server | null): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
}
