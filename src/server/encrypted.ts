// Encrypted DNS: DNS over TLS (RFC 7858) and DNS over HTTPS (RFC 8484), each a listener of its own
// in front of the same pipeline as UDP and TCP, under the same connection caps (tcp-limits.ts).
//
//   DoT  tls.Server (TLS 1.2/1.3, ALPN "dot") → serveConnection: 2-byte framing, pipelining,
//        answers out of order, the TCP deadlines; the handshake must end within firstQueryTimeout
//   DoH  http2 secure server (HTTP/1.1 too) → one query per request: GET ?dns=base64url or POST
//        application/dns-message; 200 with cache-control max-age = the answer's smallest TTL
//
// The certificate is swapped for new connections (`setTls`, on reload); open ones keep theirs.

import { readFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import type { Readable } from 'node:stream';
import * as tls from 'node:tls';
import { EdgeError, ErrorCode, errorMessage } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { MAX_FRAME, answerTtlMin } from '../wire/index.js';
import type { ListenAddress, ListenerObserver, TcpShared } from './listeners.js';
import type { Pipeline } from './pipeline.js';
import { serveConnection } from './tcp.js';
import { admit, listenOn } from './accept.js';

/** A certificate chain and its key, PEM, as read from `tls.certFile` and `tls.keyFile`. */
export interface TlsMaterial {
  cert: string;
  key: string;
}

/** RFC 8484 §6: the media type of a DNS message. */
const DNS_MESSAGE = 'application/dns-message';
/** Streams one HTTP/2 connection may have open (RFC 9113 §5.1.2's SETTINGS_MAX_CONCURRENT_STREAMS). */
const DOH_STREAMS = 100;

export function secureContext(m: TlsMaterial): tls.SecureContextOptions {
  return { cert: m.cert, key: m.key, minVersion: 'TLSv1.2' };
}

/**
 * Read and check the certificate and key (at start and on every reload: a bad file fails the load
 * and keeps the running certificate). Errors name the file and what is wrong with it.
 */
export function readTlsMaterial(certFile: string, keyFile: string): TlsMaterial {
  const read = (key: string, file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new EdgeError(ErrorCode.TLS_FILE, `${key} ${file}: cannot read it (${errorMessage(e)})`);
    }
  };
  const m = { cert: read('tls.certFile', certFile), key: read('tls.keyFile', keyFile) };
  try {
    tls.createSecureContext(secureContext(m));
  } catch (e) {
    throw new EdgeError(
      ErrorCode.TLS_FILE,
      `tls.certFile ${certFile}, tls.keyFile ${keyFile}: not a certificate and its key in PEM (${errorMessage(e)})`,
    );
  }
  return m;
}

/** What both TLS listeners do with a raw connection and a failed handshake. */
function acceptTls(
  server: tls.Server,
  shared: TcpShared,
  obs: ListenerObserver,
  each?: (raw: net.Socket) => void,
): void {
  server.on('connection', (raw: net.Socket) => {
    raw.setNoDelay(true);
    each?.(raw);
    admit(raw, shared, obs);
  });
  server.on('tlsClientError', (e: Error & { code?: string }) => {
    if (e.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') obs.timedOut('handshake');
  });
}

/** A DoT listener: TLS, then the TCP connection handling with its limits. */
export function bindDot(
  a: ListenAddress,
  material: TlsMaterial,
  pipeline: Pipeline,
  shared: TcpShared,
  log: Logger,
  obs: ListenerObserver,
): Promise<tls.Server> {
  const server = tls.createServer({
    ...secureContext(material),
    ALPNProtocols: ['dot'],
    allowHalfOpen: true,
    // A client that connects and never finishes its handshake holds a slot this long at most.
    handshakeTimeout: shared.limits.firstQueryTimeoutMs,
  });
  acceptTls(server, shared, obs);
  server.on('secureConnection', (sock: tls.TLSSocket) => {
    serveConnection(sock, {
      pipeline,
      transport: 'dot',
      limits: shared.limits,
      budget: shared.budget,
      timers: shared.timers,
      log,
      obs,
      reserved: false,
    });
  });
  return listenOn(server, a, 'dot', log);
}

/** A DoH listener: HTTP/2 over TLS (and HTTP/1.1), one DNS query per request at `path`. */
export function bindDoh(
  a: ListenAddress,
  path: string,
  material: TlsMaterial,
  pipeline: Pipeline,
  shared: TcpShared,
  log: Logger,
  obs: ListenerObserver,
): Promise<http2.Http2SecureServer> {
  const server = http2.createSecureServer({
    ...secureContext(material),
    allowHTTP1: true,
    handshakeTimeout: shared.limits.firstQueryTimeoutMs,
    settings: { maxConcurrentStreams: DOH_STREAMS },
  });
  // A connection with nothing going on this long is closed (as TCP's idleTimeout).
  acceptTls(server, shared, obs, (raw) =>
    raw.setTimeout(shared.limits.idleTimeoutMs, () => {
      obs.timedOut('idle');
      raw.destroy();
    }),
  );
  // HTTP/2 on the stream API: no compatibility request/response objects per query (they cost about
  // a third of DoH's queries a second). HTTP/1.1 connections (allowHTTP1) come as 'request' events; adding that listener
  // makes the server route HTTP/2 streams to 'request' too, so its stream handler is replaced.
  const failed = (respond: Respond) => (e: unknown) => {
    log.error('query failed', { error: errorMessage(e), transport: 'doh' });
    respond(500);
  };
  server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    const respond = http1Respond(res);
    const asked = { method: req.method, url: req.url, type: req.headers['content-type'] };
    dohAnswer(asked, req, req.socket?.remoteAddress ?? '', path, pipeline, respond).catch(failed(respond));
  });
  server.removeAllListeners('stream');
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    // A stream the client resets with an error code emits 'error': with no listener, that would
    // throw out of the session and end the process. The answer, when it comes, finds it destroyed.
    stream.on('error', () => {});
    const respond = http2Respond(stream);
    const asked = { method: headers[':method'], url: headers[':path'], type: headers['content-type'] };
    dohAnswer(asked, stream, stream.session?.socket?.remoteAddress ?? '', path, pipeline, respond).catch(
      failed(respond),
    );
  });
  return listenOn(server, a, 'doh', log);
}

/** Send a DoH response: a status, a body (none for errors) and headers. */
type Respond = (status: number, body?: Buffer, headers?: http2.OutgoingHttpHeaders) => void;

/** HTTP/2: headers, then the body with END_STREAM in one DATA frame. */
function http2Respond(stream: http2.ServerHttp2Stream): Respond {
  return (status, body, headers = {}) => {
    if (stream.destroyed || stream.headersSent) return;
    stream.respond({ ':status': status, 'content-length': body?.length ?? 0, ...headers });
    stream.end(body);
  };
}

function http1Respond(res: http2.Http2ServerResponse): Respond {
  return (status, body, headers = {}) => {
    if (res.headersSent || res.writableEnded) return;
    // A body too long is not read to its end: the connection closes after the 413.
    const close = status === 413 ? { connection: 'close' } : {};
    res.writeHead(status, { 'content-length': body?.length ?? 0, ...close, ...headers });
    if (body) res.end(body);
    else res.end();
  };
}

/** RFC 8484 §4.1: GET with ?dns=BASE64URL, or POST with the message as the body. */
async function dohAnswer(
  asked: { method: string | undefined; url: string | undefined; type: string | undefined },
  from: Readable,
  client: string,
  path: string,
  pipeline: Pipeline,
  respond: Respond,
): Promise<void> {
  const url = new URL(asked.url ?? '/', 'https://doh.invalid');
  if (url.pathname !== path) return respond(404);
  let msg: Buffer | null;
  if (asked.method === 'GET') {
    const dns = url.searchParams.get('dns');
    if (dns === null || !/^[A-Za-z0-9_-]+$/.test(dns)) return respond(400);
    msg = Buffer.from(dns, 'base64url');
    if (msg.length > MAX_FRAME) return respond(413);
  } else if (asked.method === 'POST') {
    const type = (asked.type ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== DNS_MESSAGE) return respond(415);
    msg = await body(from, MAX_FRAME);
    if (msg === null) return respond(413);
  } else return respond(405, undefined, { allow: 'GET, POST' });
  if (msg.length < 12) return respond(400);
  const out = await pipeline.handle(msg, 'doh', client);
  // Dropped (nothing to answer): an HTTP client still needs a status.
  if (!out) return respond(400);
  const ttl = answerTtlMin(out);
  respond(200, out, {
    'content-type': DNS_MESSAGE,
    ...(ttl !== null && { 'cache-control': `max-age=${ttl}` }),
  });
}

/** A request's body, or null when it is longer than `max` (the rest is not read). */
function body(req: Readable, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) {
        // Stop reading; the 413 goes out on the stream, which closes with it.
        req.removeAllListeners('data');
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
