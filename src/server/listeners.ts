// UDP and TCP listeners, one socket of each per configured address; replies leave from the socket
// the query arrived on (DESIGN.md: never only 0.0.0.0 for an anycast address).

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { EdgeError, ErrorCode, errorMessage, literalLookup } from '../core/index.js';
import type { Logger } from '../core/index.js';
import { FrameReader, frame } from '../wire/index.js';
import type { Answer, Pipeline } from './pipeline.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface TcpLimits {
  idleTimeoutMs: number;
  maxConnections: number;
  /** Queries of one connection waiting for an upstream answer before reading pauses. */
  maxInFlight: number;
}

export interface TcpObserver {
  connectionOpened(): void;
  connectionClosed(): void;
  connectionRefused(): void;
}

export interface ListenerSet {
  /** The bound addresses (with real ports when 0 was asked). */
  readonly bound: ListenAddress[];
  /** Every socket is still open and listening; otherwise which ones are not. */
  listening(): { ok: boolean; detail: string };
  closeTcp(): Promise<void>;
  closeUdp(): Promise<void>;
  close(): Promise<void>;
}

const UDP_BUFFER = 4 * 1024 * 1024;

const NOOP_TCP: TcpObserver = { connectionOpened: () => {}, connectionClosed: () => {}, connectionRefused: () => {} };

export async function startListeners(
  addresses: readonly ListenAddress[],
  pipeline: Pipeline,
  limits: TcpLimits,
  log: Logger,
  tcpObs: TcpObserver = NOOP_TCP,
): Promise<ListenerSet> {
  const udp: dgram.Socket[] = [];
  const tcp: net.Server[] = [];
  const conns = new Set<net.Socket>();
  const bound: ListenAddress[] = [];
  const closeTcp = async (): Promise<void> => {
    // Stop accepting, then close the open connections: server.close() waits for them to end.
    const closed = Promise.all(tcp.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const c of conns) c.destroy();
    await closed;
  };
  const closeUdp = async (): Promise<void> => {
    await Promise.all(udp.map((s) => new Promise<void>((r) => s.close(() => r()))));
  };
  try {
    for (const a of addresses) {
      // UDP first: with port 0, the TCP socket takes the port the kernel gave the UDP one; if
      // that port is taken for TCP, try another (a few times).
      let u = await bindUdp(a, pipeline, log);
      let t: net.Server | undefined;
      for (let attempt = 0; !t; attempt++) {
        try {
          t = await bindTcp({ host: a.host, port: u.address().port }, pipeline, limits, log, conns, tcpObs);
        } catch (e) {
          if (a.port !== 0 || attempt >= 5) {
            u.close();
            throw e;
          }
          u.close();
          u = await bindUdp(a, pipeline, log);
        }
      }
      udp.push(u);
      tcp.push(t);
      const port = u.address().port;
      bound.push({ host: a.host, port });
      log.info('listening', { address: a.host, port, transports: ['udp', 'tcp'] });
    }
  } catch (e) {
    await closeTcp();
    await closeUdp();
    throw e;
  }
  const closed = new Set<string>();
  udp.forEach((u, i) => u.once('close', () => closed.add(`udp ${fmt(bound[i] as ListenAddress)}`)));
  tcp.forEach((t, i) => t.once('close', () => closed.add(`tcp ${fmt(bound[i] as ListenAddress)}`)));
  return {
    bound,
    listening: () => {
      const down = [...closed, ...tcp.flatMap((t, i) => (t.listening ? [] : [`tcp ${fmt(bound[i] as ListenAddress)}`]))];
      return down.length === 0 ? { ok: true, detail: `${bound.length} address(es), UDP and TCP` } : { ok: false, detail: `not listening: ${[...new Set(down)].join(', ')}` };
    },
    closeTcp,
    closeUdp,
    close: async () => {
      await closeTcp();
      await closeUdp();
    },
  };
}

function bindUdp(a: ListenAddress, pipeline: Pipeline, log: Logger): Promise<dgram.Socket> {
  const v6 = a.host.includes(':');
  // Large buffers absorb bursts (capped by net.core.rmem_max / wmem_max).
  const sock = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6, recvBufferSize: UDP_BUFFER, sendBufferSize: UDP_BUFFER, lookup: literalLookup });
  const fail = (e: unknown): void => {
    // The pipeline does not throw on bad input; this is a bug, and one query must not stop the rest.
    log.error('query failed', { error: errorMessage(e), transport: 'udp' });
  };
  sock.on('message', (msg, rinfo) => {
    let out: Answer;
    try {
      out = pipeline.handle(msg, 'udp', rinfo.address);
    } catch (e) {
      return fail(e);
    }
    if (out === null) return;
    if (out instanceof Promise) {
      out.then((b) => b && sock.send(b, rinfo.port, rinfo.address), fail);
      return;
    }
    sock.send(out, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    sock.once('error', (e) => reject(new EdgeError(ErrorCode.LISTEN, `cannot listen on udp ${fmt(a)}: ${e.message}`)));
    sock.bind(a.port, a.host, () => {
      sock.removeAllListeners('error');
      sock.on('error', (e) => log.warn('udp socket error', { address: a.host, error: e.message }));
      resolve(sock);
    });
  });
}

function bindTcp(a: ListenAddress, pipeline: Pipeline, limits: TcpLimits, log: Logger, conns: Set<net.Socket>, obs: TcpObserver): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (sock) => {
    conns.add(sock);
    obs.connectionOpened();
    sock.once('close', () => {
      conns.delete(sock);
      obs.connectionClosed();
    });
    serveConnection(sock, pipeline, limits, log);
  });
  // RFC 7766 §6.2.2: a server may cap its connections; Node closes the ones over the cap.
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => obs.connectionRefused());
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new EdgeError(ErrorCode.LISTEN, `cannot listen on tcp ${fmt(a)}: ${e.message}`)));
    server.listen({ host: a.host, port: a.port, ipv6Only: a.host.includes(':') }, () => {
      server.removeAllListeners('error');
      server.on('error', (e) => log.warn('tcp server error', { address: a.host, error: e.message }));
      resolve(server);
    });
  });
}

/**
 * One TCP connection: 2-byte length framing (RFC 1035 §4.2.2), any number of queries, each
 * answered as soon as it is ready (RFC 7766 §6.2.1.1), an idle timeout, and half-close: after the
 * client's FIN, answer what was asked, then close.
 */
function serveConnection(sock: net.Socket, pipeline: Pipeline, limits: TcpLimits, log: Logger): void {
  const reader = new FrameReader();
  let inFlight = 0;
  let clientDone = false;
  const client = sock.remoteAddress ?? '';
  const send = (out: Buffer | null): void => {
    if (out && !sock.destroyed) sock.write(frame(out));
  };
  const settle = (): void => {
    inFlight--;
    if (clientDone && inFlight === 0) sock.end();
    else if (sock.isPaused() && inFlight < limits.maxInFlight && !sock.writableNeedDrain) sock.resume();
  };
  const fail = (e: unknown): void => log.error('query failed', { error: errorMessage(e), transport: 'tcp' });
  sock.setTimeout(limits.idleTimeoutMs, () => sock.destroy());
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk: Buffer) => {
    for (const msg of reader.push(chunk)) {
      try {
        const out = pipeline.handle(msg, 'tcp', client);
        if (out instanceof Promise) {
          // RFC 7766 §6.2.1.1: answers go out as they are ready, not in query order.
          inFlight++;
          out.then(send, fail).finally(settle);
        } else send(out);
      } catch (e) {
        fail(e);
      }
    }
    if (reader.pending > MAX_PENDING) sock.destroy(); // a frame can never be larger than this
    if (sock.writableNeedDrain || inFlight >= limits.maxInFlight) {
      // The client is not reading its answers, or has too many waiting: stop reading for now.
      sock.pause();
      sock.once('drain', () => {
        if (inFlight < limits.maxInFlight) sock.resume();
      });
    }
  });
  sock.on('end', () => {
    // Half-close: answer what was asked, then close our side.
    clientDone = true;
    if (inFlight === 0) sock.end();
  });
}

/** A 2-byte length frames at most 65535 bytes; more unparsed than one frame means garbage. */
const MAX_PENDING = 65535 + 2;

function fmt(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
