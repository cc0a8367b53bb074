// Talking to a running node's admin endpoint from the CLI: over its Unix socket by default, over TCP with --admin URL and a token.

import { lstatSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import { EdgeError, ErrorCode, adminSocketCandidates } from '../core/index.js';

export interface AdminClientOptions {
  /** `--admin URL`: TCP instead of the socket. */
  admin?: string;
  /** `--admin-socket PATH`: this socket instead of the default ones. */
  adminSocket?: string;
  /** `--token-file`: the bearer token that mutations over TCP need. */
  tokenFile?: string;
}

const TIMEOUT_MS = 10_000;

/** The socket to use: the one given, else the first default that exists (else the first default). */
export function chooseSocket(given: string | undefined, candidates: readonly string[] = adminSocketCandidates()): string {
  if (given !== undefined) return given;
  const found = candidates.find((p) => {
    try {
      return lstatSync(p).isSocket();
    } catch {
      return false;
    }
  });
  return found ?? (candidates[0] as string);
}

export async function adminRequest(o: AdminClientOptions, method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<{ status: number; json: unknown; text: string }> {
  if (o.admin !== undefined && o.adminSocket !== undefined) throw new EdgeError(ErrorCode.USAGE, '--admin and --admin-socket exclude each other');
  if (o.tokenFile !== undefined && o.admin === undefined) throw new EdgeError(ErrorCode.USAGE, '--token-file goes with --admin URL (the socket needs no token)');
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (o.tokenFile) headers.authorization = `Bearer ${readFileSync(o.tokenFile, 'utf8').trim()}`;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (o.admin !== undefined) {
    const url = new URL(path, o.admin.endsWith('/') ? o.admin : `${o.admin}/`);
    return send(url, { method, headers }, payload, `the admin endpoint at ${o.admin}`, 'is edgedns running, and is --admin right?');
  }
  const socket = chooseSocket(o.adminSocket);
  // Host "localhost" is what the node accepts on its socket (as curl --unix-socket sends).
  return send(new URL(path, 'http://localhost/'), { method, headers, socketPath: socket }, payload, `the admin socket ${socket}`, hintFor(o.adminSocket));
}

function hintFor(given: string | undefined): string {
  const where = given === undefined ? `looked for ${adminSocketCandidates().join(' and ')}; ` : '';
  return `is edgedns running? (${where}--admin-socket PATH for another socket, --admin URL --token-file FILE for TCP)`;
}

function send(url: URL, opts: http.RequestOptions, payload: string | undefined, what: string, hint: string): Promise<{ status: number; json: unknown; text: string }> {
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
  if (code === 'EACCES') return new EdgeError(ErrorCode.USAGE, `cannot reach ${what} (EACCES): run as the node's user or a member of its group`);
  return new EdgeError(ErrorCode.USAGE, `cannot reach ${what} (${code ?? e.message}); ${hint}`);
}
