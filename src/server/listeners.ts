// UDP and TCP listeners, one socket of each per configured address; replies leave from the socket
// the query arrived on (DESIGN.md: never only 0.0.0.0 for an anycast address). Nothing a client
// sends, and no address it sends from, can throw out of a socket callback.

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import { EdgeError, ErrorCode, errorMessage, formatHostPort, literalLookup } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { Transport } from './observers.js';
import type { Answer, Pipeline } from './pipeline.js';
import type { ReusableSocketOptions } from './reuse-port.js';
import { SendCheck } from './send-check.js';
import { serveConnection } from './tcp.js';
import type { TlsMaterial } from './encrypted.js';
import { bindDoh, bindDot, secureContext } from './encrypted.js';
import { admit, listenOn } from './accept.js';
import type { Deadline, RefuseReason, TcpLimits, Timers } from './tcp-limits.js';
import { Admission, SELF_RESERVE, WriteBudget, realTimers } from './tcp-limits.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * Why an answer was not sent: `bad_port` a UDP query from source port 0 (no reply can reach it;
 * dropped unanswered), `rejected` send() refused the address, `failed` the kernel reported an
 * error afterwards, `reset` the TCP connection was gone before the answer was written.
 */
export type SendFailure = 'bad_port' | 'rejected' | 'failed' | 'reset';

export interface ListenerObserver {
  connectionOpened(): void;
  connectionClosed(): void;
  connectionRefused(reason: RefuseReason): void;
  /** A connection closed at one of its deadlines. */
  timedOut(deadline: Deadline): void;
  sendError(transport: Transport, reason: SendFailure): void;
  /** Answer bytes of all TCP connections not yet handed to the kernel. */
  unwrittenBytes(total: number): void;
}

/** DNS over TLS and over HTTPS: where, at which path, with which certificate. */
export interface EncryptedListen {
  dot: readonly ListenAddress[];
  doh: readonly ListenAddress[];
  dohPath: string;
  tls: TlsMaterial | null;
}

export interface ListenerSet {
  /** The bound addresses (with real ports when 0 was asked). */
  readonly bound: ListenAddress[];
  /** The bound DoT and DoH addresses. */
  readonly boundDot: ListenAddress[];
  readonly boundDoh: ListenAddress[];
  /** A new certificate for the connections to come (reload); open ones keep theirs. */
  setTls(tls: TlsMaterial): void;
  /** Every socket is still open and listening; otherwise which ones are not. */
  listening(): { ok: boolean; detail: string };
  closeTcp(): Promise<void>;
  closeUdp(): Promise<void>;
  close(): Promise<void>;
}

const UDP_BUFFER = 4 * 1024 * 1024;

const NOOP: ListenerObserver = {
  connectionOpened: () => {},
  connectionClosed: () => {},
  connectionRefused: () => {},
  timedOut: () => {},
  sendError: () => {},
  unwrittenBytes: () => {},
};

/** What every TCP listener of a process shares (DoT and DoH too): the caps, the write budget, the clock. */
export interface TcpShared {
  limits: TcpLimits;
  admission: Admission;
  budget: WriteBudget;
  timers: Timers;
  conns: Set<net.Socket>;
}

/**
 * The addresses only this host can open a connection from: the listen addresses (loopback as
 * well for a wildcard one, which the probes reach over loopback).
 */
function ownAddresses(addresses: readonly ListenAddress[]): string[] {
  return addresses.flatMap((a) => (a.host === '0.0.0.0' ? ['127.0.0.1'] : a.host === '::' ? ['::1'] : [a.host]));
}

/**
 * `reusePort`: each UDP socket is this process's own with SO_REUSEPORT (a `workers: N` worker
 * where udpReusePort() holds), not one shared through the cluster primary. TCP is shared as ever.
 */
export async function startListeners(
  addresses: readonly ListenAddress[],
  pipeline: Pipeline,
  limits: TcpLimits,
  log: Logger,
  obs: ListenerObserver = NOOP,
  timers: Timers = realTimers,
  bindOptions: { reusePort?: boolean; encrypted?: EncryptedListen } = {},
): Promise<ListenerSet> {
  const reusePort = bindOptions.reusePort === true;
  const enc = bindOptions.encrypted;
  const udp: dgram.Socket[] = [];
  const tcp: net.Server[] = [];
  /** DoT and DoH servers (TLS servers, closed with the TCP ones). */
  const secure: { server: tls.Server; what: 'dot' | 'doh'; at: ListenAddress }[] = [];
  const conns = new Set<net.Socket>();
  const shared: TcpShared = {
    limits,
    admission: new Admission(
      limits,
      ownAddresses([...addresses, ...(enc?.dot ?? []), ...(enc?.doh ?? [])]),
      SELF_RESERVE,
    ),
    budget: new WriteBudget(limits.maxUnwrittenTotal, (n) => obs.unwrittenBytes(n)),
    timers,
    conns,
  };
  const bound: ListenAddress[] = [];
  const closeTcp = async (): Promise<void> => {
    // Stop accepting, then close the open connections: server.close() waits for them to end.
    const servers: net.Server[] = [...tcp, ...secure.map((s) => s.server)];
    const closed = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
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
      let u = await bindUdp(a, pipeline, log, obs, reusePort);
      let t: net.Server | undefined;
      for (let attempt = 0; !t; attempt++) {
        try {
          t = await bindTcp({ host: a.host, port: u.address().port }, pipeline, shared, log, obs);
        } catch (e) {
          if (a.port !== 0 || attempt >= 5) {
            u.close();
            throw e;
          }
          u.close();
          u = await bindUdp(a, pipeline, log, obs, reusePort);
        }
      }
      udp.push(u);
      tcp.push(t);
      const port = u.address().port;
      bound.push({ host: a.host, port });
      log.info('listening', { address: a.host, port, transports: ['udp', 'tcp'] });
    }
    if (enc && (enc.dot.length > 0 || enc.doh.length > 0)) {
      const material = enc.tls;
      if (!material) throw new EdgeError(ErrorCode.LISTEN, 'DoT and DoH listeners need tls.certFile and tls.keyFile');
      for (const a of enc.dot) {
        const server = await bindDot(a, material, pipeline, shared, log, obs);
        secure.push({ server, what: 'dot', at: { host: a.host, port: (server.address() as net.AddressInfo).port } });
      }
      for (const a of enc.doh) {
        const server = await bindDoh(a, enc.dohPath, material, pipeline, shared, log, obs);
        secure.push({ server, what: 'doh', at: { host: a.host, port: (server.address() as net.AddressInfo).port } });
      }
      for (const s of secure) log.info('listening', { address: s.at.host, port: s.at.port, transports: [s.what] });
    }
  } catch (e) {
    await closeTcp();
    await closeUdp();
    throw e;
  }
  const closed = new Set<string>();
  udp.forEach((u, i) => u.once('close', () => closed.add(`udp ${formatHostPort(bound[i] as ListenAddress)}`)));
  tcp.forEach((t, i) => t.once('close', () => closed.add(`tcp ${formatHostPort(bound[i] as ListenAddress)}`)));
  for (const s of secure) s.server.once('close', () => closed.add(`${s.what} ${formatHostPort(s.at)}`));
  return {
    bound,
    boundDot: secure.filter((s) => s.what === 'dot').map((s) => s.at),
    boundDoh: secure.filter((s) => s.what === 'doh').map((s) => s.at),
    setTls: (material) => {
      for (const s of secure) s.server.setSecureContext(secureContext(material));
    },
    listening: () => {
      const down = [
        ...closed,
        ...tcp.flatMap((t, i) => (t.listening ? [] : [`tcp ${formatHostPort(bound[i] as ListenAddress)}`])),
        ...secure.flatMap((s) => (s.server.listening ? [] : [`${s.what} ${formatHostPort(s.at)}`])),
      ];
      const extra = secure.length > 0 ? `, ${secure.length} DoT/DoH` : '';
      return down.length === 0
        ? { ok: true, detail: `${bound.length} address(es), UDP and TCP${extra}` }
        : { ok: false, detail: `not listening: ${[...new Set(down)].join(', ')}` };
    },
    closeTcp,
    closeUdp,
    close: async () => {
      await closeTcp();
      await closeUdp();
    },
  };
}

/**
 * Send a UDP answer without ever throwing: a reply to port 0 cannot be sent (send() throws
 * ERR_SOCKET_BAD_PORT synchronously), and a later failure is counted when checked (SendCheck).
 */
function sendUdp(
  sock: dgram.Socket,
  out: Buffer,
  rinfo: dgram.RemoteInfo,
  obs: ListenerObserver,
  check: SendCheck,
): void {
  try {
    sock.send(out, rinfo.port, rinfo.address, check.next());
  } catch {
    obs.sendError('udp', 'rejected');
  }
}

function bindUdp(
  a: ListenAddress,
  pipeline: Pipeline,
  log: Logger,
  obs: ListenerObserver,
  reusePort: boolean,
): Promise<dgram.Socket> {
  const v6 = a.host.includes(':');
  // Large buffers absorb bursts (capped by net.core.rmem_max / wmem_max).
  const options: ReusableSocketOptions = {
    type: v6 ? 'udp6' : 'udp4',
    ipv6Only: v6,
    recvBufferSize: UDP_BUFFER,
    sendBufferSize: UDP_BUFFER,
    lookup: literalLookup,
    ...(reusePort && { reusePort: true }),
  };
  const sock = dgram.createSocket(options);
  const fail = (e: unknown): void => {
    // The pipeline does not throw on bad input; this is a bug, and one query must not stop the rest.
    log.error('query failed', { error: errorMessage(e), transport: 'udp' });
  };
  const check = new SendCheck(() => obs.sendError('udp', 'failed'));
  sock.on('message', (msg, rinfo) => {
    // RFC 768: source port 0 means "no reply expected"; no answer can reach it, so do no work.
    if (rinfo.port === 0) return obs.sendError('udp', 'bad_port');
    let out: Answer;
    try {
      out = pipeline.handle(msg, 'udp', rinfo.address);
    } catch (e) {
      return fail(e);
    }
    if (out === null) return;
    if (out instanceof Promise) {
      out.then((b) => b && sendUdp(sock, b, rinfo, obs, check), fail);
      return;
    }
    sendUdp(sock, out, rinfo, obs, check);
  });
  return new Promise((resolve, reject) => {
    sock.once('error', (e) =>
      reject(new EdgeError(ErrorCode.LISTEN, `cannot listen on udp ${formatHostPort(a)}: ${e.message}`)),
    );
    // exclusive with reusePort: the worker binds its own socket rather than ask the cluster primary.
    sock.bind({ port: a.port, address: a.host, exclusive: reusePort }, () => {
      sock.removeAllListeners('error');
      sock.on('error', (e) => log.warn('udp socket error', { address: a.host, error: e.message }));
      resolve(sock);
    });
  });
}

function bindTcp(
  a: ListenAddress,
  pipeline: Pipeline,
  shared: TcpShared,
  log: Logger,
  obs: ListenerObserver,
): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (sock) => {
    const slot = admit(sock, shared, obs);
    if (!slot) return;
    serveConnection(sock, {
      pipeline,
      transport: 'tcp',
      limits: shared.limits,
      budget: shared.budget,
      timers: shared.timers,
      log,
      obs,
      reserved: slot.reserved,
    });
  });
  return listenOn(server, a, 'tcp', log);
}
