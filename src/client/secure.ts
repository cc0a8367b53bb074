// The node's own DoT and DoH listeners, reached as a client reaches them: a TLS handshake and a
// real query (the health probes). The certificate is not checked against a name (a probe connects
// to an address; the node's name is the operator's business), but one that has expired, or is not
// valid yet, fails the probe: every client would refuse it.

import * as http2 from 'node:http2';
import type * as net from 'node:net';
import * as tls from 'node:tls';
import type { Endpoint, SecureConnect } from './transport.js';
import { ExchangeError } from './transport.js';

/** What is wrong with a peer's certificate dates at `now` (ms), or null. */
export function certificateProblem(cert: tls.PeerCertificate | undefined, now: number): string | null {
  if (!cert?.valid_to) return 'no certificate';
  if (Date.parse(cert.valid_to) < now) return `the certificate expired on ${cert.valid_to}`;
  if (Date.parse(cert.valid_from) > now) return `the certificate is not valid before ${cert.valid_from}`;
  return null;
}

/** DoT to the node itself: ALPN "dot", any name, a certificate in date. */
export const selfDot: SecureConnect = {
  connect: (where: net.TcpNetConnectOpts) =>
    tls.connect({ ...where, rejectUnauthorized: false, ALPNProtocols: ['dot'] }),
  check: (sock) => certificateProblem(sock.getPeerCertificate(), Date.now()),
};

/**
 * One DNS message over DoH (RFC 8484 §4.1, POST) to `to` at `path`: resolves with the response
 * body of a 200; rejects with ExchangeError otherwise.
 */
export function dohRoundTrip(to: Endpoint, path: string, msg: Uint8Array, timeoutMs: number): Promise<Buffer> {
  const host = to.host.includes(':') ? `[${to.host}]` : to.host;
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://${host}:${to.port}`, { rejectUnauthorized: false });
    const finish = (err: Error | null, body?: Buffer): void => {
      clearTimeout(timer);
      session.destroy();
      if (err) reject(err);
      else resolve(body as Buffer);
    };
    const fail = (kind: 'timeout' | 'network', message: string): void =>
      finish(new ExchangeError(kind, 'DoH', Math.round(timeoutMs), message));
    const timer = setTimeout(() => fail('timeout', `no reply within ${Math.round(timeoutMs)} ms`), timeoutMs);
    session.on('error', (e: Error) => fail('network', e.message));
    session.on('connect', () => {
      const problem = certificateProblem((session.socket as tls.TLSSocket).getPeerCertificate(), Date.now());
      if (problem) return fail('network', problem);
      const req = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/dns-message',
        accept: 'application/dns-message',
      });
      const chunks: Buffer[] = [];
      let status = 0;
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () =>
        status === 200 ? finish(null, Buffer.concat(chunks)) : fail('network', `HTTP status ${status}`),
      );
      req.on('error', (e: Error) => fail('network', e.message));
      req.end(msg);
    });
  });
}
