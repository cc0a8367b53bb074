// The state exchange between sites: GET /fleet/state?nonce=N on a peer's admin listener, answered
// with its state as JSON and `x-edgedns-mac: hex(HMAC-SHA256(key, nonce "\n" body))`. The nonce is
// fresh for every request, so a recorded answer cannot be replayed, and no clocks need agree.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { EdgeError, ErrorCode, formatHostPort } from '../core/index.js';
import type { SiteState } from './rules.js';

export const STATE_PATH = '/fleet/state';
export const MAC_HEADER = 'x-edgedns-mac';
const NONCE = /^[0-9a-f]{32}$/;
/** A state is a few hundred bytes; a peer that sends more is broken or hostile. */
const MAX_STATE_BYTES = 64 * 1024;

/** The fleet key from its file: at least 16 bytes once surrounding white space is trimmed. */
export function readFleetKey(file: string): Buffer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new EdgeError(ErrorCode.CONFIG_READ, `fleet.keyFile ${file}: ${(e as Error).message}`);
  }
  if (Buffer.byteLength(text) < 16)
    throw new EdgeError(ErrorCode.CONFIG_INVALID, `fleet.keyFile ${file}: the key must be at least 16 bytes`);
  return Buffer.from(text);
}

export function macOf(key: Buffer, nonce: string, body: string): string {
  return createHmac('sha256', key).update(`${nonce}\n${body}`).digest('hex');
}

/** The answer to GET /fleet/state: 400 without a well-formed nonce. */
export function stateAnswer(
  key: Buffer,
  url: URL,
  state: SiteState,
): { status: number; body: string; headers: Record<string, string> } {
  const nonce = url.searchParams.get('nonce') ?? '';
  if (!NONCE.test(nonce))
    return { status: 400, body: '{"ok":false,"message":"nonce: expected 32 hex digits"}\n', headers: {} };
  const body = JSON.stringify(state);
  return { status: 200, body, headers: { [MAC_HEADER]: macOf(key, nonce, body) } };
}

/** Ask a peer for its state; throws with what went wrong (refused, timeout, bad MAC, bad JSON). */
export function fetchState(admin: { host: string; port: number }, key: Buffer, timeoutMs: number): Promise<SiteState> {
  const nonce = randomBytes(16).toString('hex');
  const where = formatHostPort(admin);
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: admin.host,
        port: admin.port,
        path: `${STATE_PATH}?nonce=${nonce}`,
        headers: { host: where },
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_STATE_BYTES) req.destroy(new Error(`more than ${MAX_STATE_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${body.slice(0, 200).trim()}`));
          const mac = Buffer.from(String(res.headers[MAC_HEADER] ?? ''), 'hex');
          const want = Buffer.from(macOf(key, nonce, body), 'hex');
          if (mac.length !== want.length || !timingSafeEqual(mac, want))
            return reject(new Error('bad MAC: not signed with this fleet key'));
          try {
            resolve(parseState(body));
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** A peer's state, checked field by field: a peer of another version or a broken one is refused. */
export function parseState(body: string): SiteState {
  const v: unknown = JSON.parse(body);
  const o = (v !== null && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  const str = (k: string): string => {
    if (typeof o[k] !== 'string') throw new Error(`state: ${k} is not a string`);
    return o[k];
  };
  const bool = (k: string): boolean => {
    if (typeof o[k] !== 'boolean') throw new Error(`state: ${k} is not true or false`);
    return o[k];
  };
  const record = <T>(k: string, ok: (x: unknown) => x is T): Record<string, T> => {
    const r = o[k];
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new Error(`state: ${k} is not a mapping`);
    for (const x of Object.values(r)) if (!ok(x)) throw new Error(`state: ${k} has a bad value`);
    return r as Record<string, T>;
  };
  const list = (k: string): string[] => {
    const l = o[k];
    if (!Array.isArray(l) || !l.every((x) => typeof x === 'string'))
      throw new Error(`state: ${k} is not a list of names`);
    return l;
  };
  const verdict = str('verdict');
  if (verdict !== 'ok' && verdict !== 'overloaded' && verdict !== 'broken') throw new Error('state: bad verdict');
  const load = record('load', (x): x is number => typeof x === 'number');
  return {
    site: str('site'),
    version: str('version'),
    state: str('state'),
    verdict,
    announced: bool('announced'),
    budgeted: bool('budgeted'),
    leaving: bool('leaving'),
    serials: record('serials', (x): x is number => typeof x === 'number'),
    configHash: str('configHash'),
    load: { utilization: load.utilization ?? 0, lagMs: load.lagMs ?? 0 },
    sees: record('sees', (x): x is boolean => typeof x === 'boolean'),
    acks: list('acks'),
  };
}
