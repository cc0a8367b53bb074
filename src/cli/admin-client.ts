// Talking to a running node's admin endpoint from the CLI: the endpoint the flags or the node's
// config name (see cli-config.ts) — its Unix socket by default, else TCP with its bearer token.

import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AdminEndpoint, AdminFlags } from './config.js';
import { EdgeError, ErrorCode } from '../core/index.js';

export type AdminClientOptions = AdminFlags;

const TIMEOUT_MS = 10_000;

export interface AdminResponse {
  status: number;
  json: unknown;
  text: string;
}

export async function adminRequest(
  o: AdminClientOptions,
  method: 'GET' | 'POST',
  path: string,
  body?: Record<string, unknown>,
): Promise<AdminResponse> {
  const { adminEndpoint } = await import('./config.js');
  const ep = adminEndpoint(o);
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (ep.kind === 'tcp') {
    // Only changes need the token: `status` works for whoever may not read the token file.
    if (method === 'POST' && ep.tokenFile !== null)
      headers.authorization = `Bearer ${readToken(ep.tokenFile, ep.tokenFrom)}`;
    const url = new URL(path, ep.url);
    return send(
      url,
      { method, headers },
      payload,
      `the admin endpoint at ${ep.url.origin}${fromConfig(ep)}`,
      'is edgedns running, and is that its admin address?',
    );
  }
  // Host "localhost" is what the node accepts on its socket (as curl --unix-socket sends).
  return send(
    new URL(path, 'http://localhost/'),
    { method, headers, socketPath: ep.path },
    payload,
    `the admin socket ${ep.path}${fromConfig(ep)}`,
    hintFor(ep),
  );
}

function fromConfig(ep: AdminEndpoint): string {
  return ep.config === undefined ? '' : ` (from ${ep.config})`;
}

function readToken(file: string, from: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    const code = (e as { code?: string }).code ?? (e as Error).message;
    throw new EdgeError(ErrorCode.USAGE, `cannot read the admin token ${file} (${from}): ${code}`);
  }
}

function hintFor(ep: AdminEndpoint & { kind: 'socket' }): string {
  const where = ep.given ? '' : `looked for ${ep.candidates.join(' and ')}; `;
  return `is edgedns running? (${where}--admin-socket PATH for another socket, --admin ADDR:PORT for TCP, --config FILE for the node's config)`;
}

function send(
  url: URL,
  opts: http.RequestOptions,
  payload: string | undefined,
  what: string,
  hint: string,
): Promise<AdminResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { ...opts, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON (e.g. /metrics)
        }
        resolve({ status: res.statusCode ?? 0, json, text });
      });
      res.on('error', (e) => reject(unreachable(what, e, hint)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', (e) => reject(unreachable(what, e, hint)));
    req.end(payload);
  });
}

function unreachable(what: string, e: Error, hint: string): EdgeError {
  const code = (e as { code?: string }).code;
  if (code === 'EACCES')
    return new EdgeError(
      ErrorCode.USAGE,
      `cannot reach ${what} (EACCES): run as the node's user or a member of its group`,
    );
  return new EdgeError(ErrorCode.USAGE, `cannot reach ${what} (${code ?? e.message}); ${hint}`);
}
