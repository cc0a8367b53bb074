// Talking to a running node's admin endpoint from the CLI (status, reload, cache flush, drain…).

import { readFileSync } from 'node:fs';
import { EdgeError, ErrorCode } from '../core/index.js';

export const DEFAULT_ADMIN = 'http://127.0.0.1:9153';

export interface AdminClientOptions {
  admin: string;
  tokenFile?: string;
}

export async function adminRequest(o: AdminClientOptions, method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<{ status: number; json: unknown; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.tokenFile) headers.authorization = `Bearer ${readFileSync(o.tokenFile, 'utf8').trim()}`;
  const url = new URL(path, o.admin.endsWith('/') ? o.admin : `${o.admin}/`);
  let res: Response;
  try {
    res = await fetch(url, { method, headers, ...(body && { body: JSON.stringify(body) }), signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new EdgeError(ErrorCode.USAGE, `cannot reach the admin endpoint at ${o.admin} (${cause}); is edgedns running, and is --admin right?`);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON (e.g. /metrics)
  }
  return { status: res.status, json, text };
}
