// The admin HTTP endpoint: /metrics, /healthz, /readyz, /status, and the mutating POST actions.
// Mutating requests are accepted from loopback clients, or from anywhere with the bearer token
// read from a file; everything else gets 403.

import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { EdgeError, ErrorCode, errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';

export interface ActionResult {
  ok: boolean;
  message: string;
  [k: string]: unknown;
}

/** A POST action: receives the JSON body (or {}) and answers JSON. */
export type Action = (body: Record<string, unknown>) => ActionResult | Promise<ActionResult>;

export interface AdminOptions {
  host: string;
  port: number;
  /** File holding the bearer token for non-loopback clients; null = loopback only. */
  tokenFile: string | null;
  /** The registry to expose at /metrics (merged from the worker processes when there are some). */
  registry(): Registry | Promise<Registry>;
  status(): unknown | Promise<unknown>;
  /** Should this node receive traffic? */
  ready(): { ready: boolean; reason: string };
  actions: Readonly<Record<string, Action>>;
  log: Logger;
  /** Whether a client address counts as local (tests replace it to act as a remote client). */
  isLocal?: (address: string) => boolean;
}

export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

const MAX_BODY = 64 * 1024;

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startAdmin(o: AdminOptions): Promise<AdminServer> {
  const token = o.tokenFile ? readToken(o.tokenFile) : null;
  const isLocal = o.isLocal ?? isLoopback;
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      o.log.error('admin request failed', { path: req.url, error: errorMessage(e) });
      if (!res.headersSent) json(res, 500, { ok: false, message: 'internal error' });
    });
  });

  const authorized = (req: http.IncomingMessage): boolean => {
    if (isLocal(req.socket.remoteAddress ?? '')) return true;
    if (!token) return false;
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) return false;
    const got = Buffer.from(m[1] as string);
    return got.length === token.length && timingSafeEqual(got, token);
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    if (req.method === 'GET' || req.method === 'HEAD') {
      switch (path) {
        case '/metrics': {
          const registry = await o.registry();
          const body = await registry.metrics();
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
          return;
        }
        case '/healthz':
          return text(res, 200, 'ok\n');
        case '/readyz': {
          const r = o.ready();
          return text(res, r.ready ? 200 : 503, `${r.ready ? 'ready' : 'not ready'}: ${r.reason}\n`);
        }
        case '/status':
          return json(res, 200, await o.status());
        default:
          return json(res, 404, { ok: false, message: `no such endpoint: ${path}` });
      }
    }
    if (req.method !== 'POST') return json(res, 405, { ok: false, message: 'use GET or POST' });
    const action = o.actions[path];
    if (!action) return json(res, 404, { ok: false, message: `no such action: ${path}` });
    if (!authorized(req)) {
      o.log.warn('admin request refused', { path, client: req.socket.remoteAddress });
      return json(res, 403, { ok: false, message: token ? 'a bearer token is required from this address' : 'mutating requests are accepted from loopback only' });
    }
    const body = await readBody(req);
    if (body === undefined) return json(res, 400, { ok: false, message: 'the body must be a JSON object' });
    for (const [k, v] of url.searchParams) body[k] ??= v;
    const result = await action(body);
    o.log.info('admin action', { path, ok: result.ok, message: result.message, client: req.socket.remoteAddress });
    json(res, result.ok ? 200 : 400, result);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new EdgeError(ErrorCode.LISTEN, `cannot listen on admin ${o.host}:${o.port}: ${e.message}`)));
    server.listen(o.port, o.host, () => resolve());
  });
  server.on('error', (e) => o.log.warn('admin server error', { error: e.message }));
  const port = (server.address() as AddressInfo).port;
  o.log.info('admin listening', { address: o.host, port });
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

function readToken(file: string): Buffer {
  let t: string;
  try {
    t = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new EdgeError(ErrorCode.CONFIG_READ, `cannot read admin token file ${file}: ${errorMessage(e)}`);
  }
  if (t.length < 16) throw new EdgeError(ErrorCode.CONFIG_INVALID, `admin token in ${file} is shorter than 16 characters`);
  return Buffer.from(t);
}

function readBody(req: http.IncomingMessage): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve({});
      try {
        const v: unknown = JSON.parse(text);
        resolve(v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
      } catch {
        resolve(undefined);
      }
    });
    req.on('error', () => resolve(undefined));
  });
}

function json(res: http.ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

function text(res: http.ServerResponse, code: number, body: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}
