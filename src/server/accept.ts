// What every stream listener (TCP, DoT, DoH) does alike: admit a connection under the shared caps
// at accept, and bind its server.

import type * as net from 'node:net';
import { EdgeError, ErrorCode, formatHostPort } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { ListenAddress, ListenerObserver, TcpShared } from './listeners.js';

/**
 * RFC 7766 §6.2.2: a server may cap its connections, in total and per client. Decided at accept
 * (before a TLS handshake, which costs more), not with server.maxConnections, which knows neither
 * clients nor the probes' reserve. Refused: closed at once, null. Admitted: whether the slot is one
 * of the node's own probes.
 */
export function admit(sock: net.Socket, shared: TcpShared, obs: ListenerObserver): { reserved: boolean } | null {
  const slot = shared.admission.admit(sock.remoteAddress ?? '');
  if (!slot.ok) {
    obs.connectionRefused(slot.reason);
    sock.destroy();
    return null;
  }
  shared.conns.add(sock);
  obs.connectionOpened();
  sock.once('close', () => {
    slot.release();
    shared.conns.delete(sock);
    obs.connectionClosed();
  });
  return { reserved: slot.reserved };
}

/** Bind `server` on `a`; `what` (tcp, dot, doh) names it in errors and warnings. */
export function listenOn<S extends net.Server>(server: S, a: ListenAddress, what: string, log: Logger): Promise<S> {
  return new Promise((resolve, reject) => {
    server.once('error', (e) =>
      reject(new EdgeError(ErrorCode.LISTEN, `cannot listen on ${what} ${formatHostPort(a)}: ${e.message}`)),
    );
    server.listen({ host: a.host, port: a.port, ipv6Only: a.host.includes(':') }, () => {
      server.removeAllListeners('error');
      server.on('error', (e) => log.warn(`${what} server error`, { address: a.host, error: e.message }));
      resolve(server);
    });
  });
}
