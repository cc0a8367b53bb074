// TLS as the node's queries use it. The node's own DoT and DoH listeners, reached as a client
// reaches them: a TLS handshake and a real query (the health probes). The certificate is not
// checked against a name (a probe connects to an address; the node's name is the operator's
// business), but one that has expired, or is not valid yet, fails the probe: every client would
// refuse it. DoT upstreams (RFC 7858, RFC 8310): authenticated by name and CA, or by an SPKI pin.

import { X509Certificate, createHash } from 'node:crypto';
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

/** How a DNS-over-TLS upstream is authenticated (RFC 8310 §8.1: a name; RFC 7858 §4.2: an SPKI pin). */
export interface UpstreamAuth {
  /** The name the certificate must carry (also sent as SNI); null: the pin alone. */
  name: string | null;
  /** Base64 SHA-256 of the certificate's DER SubjectPublicKeyInfo; null: no pin. */
  spki: string | null;
  /** PEM CAs the chain must lead to; null: the system's store and NODE_EXTRA_CA_CERTS, as Node's default. */
  ca: string | Buffer | null;
}

/** RFC 7858 §4.2: the SPKI pin of a DER certificate — base64 of SHA-256 over its DER SubjectPublicKeyInfo. */
export function spkiPin(der: Buffer): string {
  const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/**
 * What is wrong with a DoT upstream's certificate, or null. Its dates always count; a pin, when
 * given, must match; the name, when given, must be the certificate's; without a pin the chain must
 * lead to a trusted CA (RFC 7858 §4.2: a pin authenticates without one, a self-signed server too).
 */
export function upstreamCertificateProblem(
  cert: tls.DetailedPeerCertificate | tls.PeerCertificate | undefined,
  chainError: string | null,
  auth: UpstreamAuth,
  now: number,
): string | null {
  const dates = certificateProblem(cert, now);
  if (dates || !cert) return dates;
  if (auth.spki !== null) {
    const pin = spkiPin(cert.raw);
    if (pin !== auth.spki) return `SPKI pin mismatch: the certificate's is ${pin}, expected ${auth.spki}`;
  }
  if (auth.name !== null) {
    const wrong = tls.checkServerIdentity(auth.name, cert);
    if (wrong) return `the certificate does not name ${auth.name} (${wrong.message})`;
  }
  // Node's verification of the chain (and of the SNI name, checked above in words of our own).
  if (auth.spki === null && chainError !== null) return `untrusted certificate (${chainError})`;
  return null;
}

/**
 * DoT to an upstream: ALPN "dot", TLS 1.2 or later, SNI the name when there is one. The handshake
 * does not reject (every problem is told by `check`, in words, so an operator sees why).
 */
export function upstreamDot(auth: UpstreamAuth): SecureConnect {
  return {
    connect: (where: net.TcpNetConnectOpts) =>
      tls.connect({
        ...where,
        rejectUnauthorized: false,
        ALPNProtocols: ['dot'],
        minVersion: 'TLSv1.2',
        ...(auth.name !== null && { servername: auth.name }),
        ...(auth.ca !== null && { ca: auth.ca }),
      }),
    check: (sock) => {
      const chain = sock.authorized ? null : String(sock.authorizationError ?? 'not verified');
      return upstreamCertificateProblem(sock.getPeerCertificate(), chain, auth, Date.now());
    },
  };
}

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
