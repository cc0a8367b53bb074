// TCP attackers for the hostile tests: connections from a loopback address other than the
// legitimate client's, each bounded in count and time and closed by the attacker at the end.

import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface AttackConn {
  sock: net.Socket;
  /** Resolves when the connection is closed (by either side). */
  closed: Promise<void>;
  /** Closed by the server (before the attacker closed it). */
  closedByServer(): boolean;
}

/** Open up to `count` connections from `from` to 127.0.0.1:port; those refused still count as opened then closed. */
export async function openConnections(port: number, from: string, count: number): Promise<AttackConn[]> {
  const out: AttackConn[] = [];
  for (let i = 0; i < count; i++) {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: from });
    sock.setNoDelay(true);
    sock.on('error', () => {});
    sock.on('data', () => {});
    let byUs = false;
    let byServer = false;
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.once('end', () => (byServer = !byUs));
    sock.once('close', () => (byServer ||= !byUs));
    const destroy = sock.destroy.bind(sock);
    sock.destroy = (e?: Error) => {
      byUs = true;
      return destroy(e);
    };
    await new Promise<void>((r) => {
      sock.once('connect', () => r());
      sock.once('close', () => r());
    });
    out.push({ sock, closed, closedByServer: () => byServer });
  }
  return out;
}

/** Close every connection the attacker still holds. */
export function closeAll(conns: readonly AttackConn[]): void {
  for (const c of conns) c.sock.destroy();
}

/** Wait at most `ms` for every connection to close; returns how many did. */
export async function closedWithin(conns: readonly AttackConn[], ms: number): Promise<number> {
  let n = 0;
  await Promise.race([Promise.all(conns.map((c) => c.closed.then(() => void n++))), sleep(ms)]);
  return n;
}
