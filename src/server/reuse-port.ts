// Whether this process can give each `workers: N` worker a UDP socket of its own on the shared
// address (SO_REUSEPORT: the kernel spreads the datagrams over the sockets by their addresses and
// ports). dgram's `reusePort` option came with Node 22.12 and 23.1; Node 20 ignores it without a
// word, and a platform without SO_REUSEPORT load balancing (Linux before 3.9, macOS, Windows)
// fails the bind. So ask the running process rather than its version: bind two sockets to one
// loopback port with the option; both bind only where it works.

import * as dgram from 'node:dgram';

/** dgram's options with `reusePort`, which @types/node 20 does not know. */
export type ReusableSocketOptions = dgram.SocketOptions & { reusePort?: boolean };

/** Makes a UDP socket (dgram.createSocket); tests give one that behaves like another runtime. */
export type CreateUdpSocket = (options: ReusableSocketOptions) => dgram.Socket;

const createSocket: CreateUdpSocket = (o) => dgram.createSocket(o);

function bind(sock: dgram.Socket, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    // exclusive: in a cluster worker, a socket of its own, not the primary's shared one.
    sock.bind({ port, address: '127.0.0.1', exclusive: true }, () => {
      sock.off('error', reject);
      resolve(sock.address().port);
    });
  });
}

/** True when two sockets with `reusePort` can bind one port here (probed on 127.0.0.1). */
export async function udpReusePort(create: CreateUdpSocket = createSocket): Promise<boolean> {
  const opts: ReusableSocketOptions = { type: 'udp4', reusePort: true };
  const socks: dgram.Socket[] = [];
  try {
    socks.push(create(opts));
    const port = await bind(socks[0] as dgram.Socket, 0);
    socks.push(create(opts));
    await bind(socks[1] as dgram.Socket, port);
    return true;
  } catch {
    // EADDRINUSE: the option was ignored (Node 20); ENOTSUP and the like: the platform has none.
    return false;
  } finally {
    for (const s of socks) {
      try {
        s.close();
      } catch {
        // never bound, or closed already
      }
    }
  }
}
