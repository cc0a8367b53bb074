// One raw HTTP request to loopback or a Unix socket with exactly the headers given (fetch adds or forbids some, Host and Origin among them).

import * as http from 'node:http';

export interface RawAnswer {
  status: number;
  body: string;
}

export type Target = { port: number } | { socket: string };

export function rawRequest(
  to: Target,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const where = 'socket' in to ? { socketPath: to.socket } : { host: '127.0.0.1', port: to.port };
    const req = http.request({ ...where, method, path, headers, setHost: false, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}
