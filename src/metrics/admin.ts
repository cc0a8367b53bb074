// The admin HTTP endpoint on TCP and on a Unix socket: /metrics, /healthz, /readyz, /status, the
// node's own GET pages (/fleet, /fleet/state), and the mutating POST actions.
//
//   request ─► Origin header? ─────────────► 403  (a web page: CSRF)
//           ─► Host not ours? ─────────────► 403  (DNS rebinding)
//           ─► GET/HEAD: /metrics /healthz /readyz /status and `pages`, open on both
//           ─► POST: over the socket ──────► allowed (its file mode decides who may connect)
//                    over TCP: bearer token of admin.tokenFile, else 401 (403 without a token file)
//                 ─► content-type: application/json, else 415; a JSON object, else 400
//                 ─► the action: bad fields are a 400 naming the field
//
// The listeners themselves (their bounds, the socket's folder and mode): admin-listen.ts.

import { timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { EdgeError, ErrorCode, errorMessage, parseDuration } from '../core/index.js';
import type { Logger } from '../core/index.js';
import {
  SOCKET_MODE,
  boundedServer,
  capConnections,
  closeServer,
  listen,
  listenPrivately,
  prepareSocketPath,
  removeIfSame,
} from './admin-listen.js';

export interface ActionResult {
  ok: boolean;
  message: string;
  [k: string]: unknown;
}

/** A GET page of the node's own: its status, body and extra headers (JSON unless they say otherwise). */
export interface Page {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

/** A POST action: receives the JSON body and answers JSON; ok false is the caller's fault (400). */
export type Action = (body: Record<string, unknown>) => ActionResult | Promise<ActionResult>;

export interface AdminOptions {
  /** The TCP address; null = no TCP listener. */
  listen: { host: string; port: number } | null;
  /** The Unix socket path; null = no socket. */
  socket: string | null;
  /** File holding the bearer token that mutations over TCP need; null = no mutations over TCP. */
  tokenFile: string | null;
  /** Names besides the listen address and localhost accepted in the Host header over TCP. */
  hosts?: readonly string[];
  /** The registry to expose at /metrics (merged from the worker processes when there are some). */
  registry(): Registry | Promise<Registry>;
  status(): unknown;
  /** Should this node receive traffic? */
  ready(): { ready: boolean; reason: string };
  actions: Readonly<Record<string, Action>>;
  /** GET pages besides the built-in ones, by path. */
  pages?: Readonly<Record<string, (url: URL) => Page>>;
  log: Logger;
}

/**
 * A duration field of an admin request body: "10m" or a number of seconds, 1 ms to `max`;
 * null when absent; a message naming the field when bad (JSON numbers like 1e300 included).
 */
export function durationField(
  body: Record<string, unknown>,
  field: string,
  max: { ms: number; text: string },
): number | null | string {
  const v = body[field];
  if (v === undefined || v === null) return null;
  const ms =
    typeof v === 'number' && Number.isFinite(v)
      ? Math.round(v * 1000)
      : typeof v === 'string'
        ? parseDuration(v)
        : undefined;
  if (ms !== undefined && ms >= 1 && ms <= max.ms) return ms;
  return `${field}: expected a duration from 1ms to ${max.text} ("10s", "5m" or a number of seconds), got ${JSON.stringify(v)}`;
}

/** The first key of an admin request body that the action does not take, as a message; else null. */
export function unknownField(body: Record<string, unknown>, allowed: readonly string[]): string | null {
  const k = Object.keys(body).find((key) => !allowed.includes(key));
  return k === undefined ? null : `${k}: unknown field (expected ${allowed.length > 0 ? allowed.join(', ') : 'none'})`;
}

export interface AdminServer {
  /** The bound TCP port, or null without a TCP listener. */
  readonly port: number | null;
  readonly socket: string | null;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

/** Which listener a request came in on. */
type Via = { kind: 'tcp'; port: number } | { kind: 'socket' };

function isLoopbackLiteral(host: string): boolean {
  return host.startsWith('127.') || host === '::1' || host.startsWith('::ffff:127.');
}

/**
 * Whether a Host header names this endpoint: an attacker's page that rebinds its own name to
 * 127.0.0.1 still sends its own name, so only our address, loopback literals and localhost
 * (and `extra` names) pass; on a wildcard address any IP literal does. The port must be ours.
 */
export function hostAllowed(
  header: string | undefined,
  listenHost: string,
  port: number,
  extra: readonly string[] = [],
): boolean {
  if (header === undefined) return false;
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/i.exec(header.trim());
  if (!m) return false;
  const name = (m[1] ?? m[2] ?? '').toLowerCase();
  if ((m[3] === undefined ? 80 : Number(m[3])) !== port) return false;
  if (name === 'localhost' || name === listenHost.toLowerCase() || extra.includes(name)) return true;
  if (net.isIP(name) === 0) return false;
  return isLoopbackLiteral(name) || listenHost === '0.0.0.0' || listenHost === '::';
}

export async function startAdmin(o: AdminOptions): Promise<AdminServer> {
  const token = o.tokenFile ? readToken(o.tokenFile) : null;
  const extraHosts = (o.hosts ?? []).map((h) => h.toLowerCase());

  /** Why a request is refused before it is read, or null. */
  const refusal = (req: http.IncomingMessage, via: Via): [number, string] | null => {
    // A browser sends Origin on every cross-site POST and on fetches; our own clients never do.
    if (req.headers.origin !== undefined) return [403, 'requests from web pages are refused (Origin header present)'];
    const host = req.headers.host;
    if (via.kind === 'socket') {
      // No browser can reach the socket; curl and our CLI send "localhost".
      return host === undefined || host === 'localhost'
        ? null
        : [403, `Host "${host}" is not this admin socket (use localhost)`];
    }
    return hostAllowed(host, o.listen?.host ?? '', via.port, extraHosts)
      ? null
      : [403, `Host "${host ?? ''}" is not this admin endpoint`];
  };

  /** Whether a mutation may run: the socket's file mode already decided; TCP needs the token. */
  const authorize = (req: http.IncomingMessage, via: Via): [number, string] | null => {
    if (via.kind === 'socket') return null;
    if (!token) return [403, 'mutating requests over TCP are off (no admin.tokenFile): use the admin socket'];
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const got = m ? Buffer.from(m[1] as string) : null;
    if (got && got.length === token.length && timingSafeEqual(got, token)) return null;
    return [401, 'a valid bearer token is required over TCP (admin.tokenFile), or use the admin socket'];
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, via: Via): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    const client = via.kind === 'socket' ? 'socket' : req.socket.remoteAddress;
    const refused = refusal(req, via);
    if (refused) {
      o.log.warn('admin request refused', { path, client, reason: refused[1] });
      return json(res, refused[0], { ok: false, message: refused[1] });
    }
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
        default: {
          const page = o.pages?.[path]?.(url);
          if (!page) return json(res, 404, { ok: false, message: `no such endpoint: ${path}` });
          res.writeHead(page.status, { 'content-type': 'application/json', ...page.headers });
          res.end(page.body);
          return;
        }
      }
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'GET, HEAD, POST');
      return json(res, 405, { ok: false, message: 'use GET or POST' });
    }
    const action = o.actions[path];
    if (!action) return json(res, 404, { ok: false, message: `no such action: ${path}` });
    const denied = authorize(req, via);
    if (denied) {
      o.log.warn('admin request refused', { path, client, reason: denied[1] });
      if (denied[0] === 401) res.setHeader('www-authenticate', 'Bearer');
      return json(res, denied[0], { ok: false, message: denied[1] });
    }
    // A form can only send urlencoded, multipart or text/plain without a CORS preflight.
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json')
      return json(res, 415, {
        ok: false,
        message: `expected content-type application/json, got ${type ? `"${type}"` : 'none'}`,
      });
    const body = await readBody(req);
    if (body === 'too large')
      return json(res, 413, { ok: false, message: `the body is larger than ${MAX_BODY} bytes` });
    if (body === undefined) return json(res, 400, { ok: false, message: 'the body must be a JSON object, e.g. {}' });
    const result = await action(body);
    o.log.info('admin action', { path, ok: result.ok, message: result.message, client });
    json(res, result.ok ? 200 : 400, result);
  }

  const serve = (via: Via): http.Server =>
    boundedServer((req, res) => {
      void handle(req, res, via).catch((e: unknown) => {
        o.log.error('admin request failed', { path: req.url, error: errorMessage(e) });
        if (!res.headersSent) json(res, 500, { ok: false, message: 'internal error' });
      });
    });

  let tcp: http.Server | null = null;
  let port: number | null = null;
  if (o.listen) {
    const { host, port: wanted } = o.listen;
    // The bound port is known only after listening; the handler reads it from here.
    const via: { kind: 'tcp'; port: number } = { kind: 'tcp', port: wanted };
    tcp = serve(via);
    capConnections(tcp, o.log);
    await listen(tcp, (s) => s.listen(wanted, host), `${host}:${wanted}`);
    port = (tcp.address() as AddressInfo).port;
    via.port = port;
    o.log.info('admin listening', { address: host, port });
  }
  let unix: http.Server | null = null;
  let ino = 0;
  if (o.socket) {
    const path = o.socket;
    try {
      await prepareSocketPath(path);
      unix = serve({ kind: 'socket' });
      await listen(unix, (s) => listenPrivately(s, path), path);
      chmodSync(path, SOCKET_MODE);
      ino = statSync(path).ino;
    } catch (e) {
      await closeServer(tcp);
      throw e;
    }
    o.log.info('admin listening', { socket: path, mode: SOCKET_MODE.toString(8) });
  }
  return {
    port,
    socket: o.socket,
    close: async () => {
      await closeServer(tcp);
      await closeServer(unix);
      // Node unlinks the socket on close; a successor may already own a new file at that path.
      if (o.socket && ino !== 0) removeIfSame(o.socket, ino);
    },
  };
}

function readToken(file: string): Buffer {
  let t: string;
  try {
    t = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new EdgeError(ErrorCode.CONFIG_READ, `cannot read admin token file ${file}: ${errorMessage(e)}`);
  }
  if (t.length < 16)
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `admin token in ${file} is shorter than 16 characters`);
  return Buffer.from(t);
}

/** The body as a JSON object; an empty body is {}. */
function readBody(req: http.IncomingMessage): Promise<Record<string, unknown> | 'too large' | undefined> {
  return new Promise((resolve) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return resolve('too large');
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
