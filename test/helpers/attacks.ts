// The attacks of the hostile tests and of the bench's hostile table, written once. Each one sends
// only to 127.0.0.1, from addresses other than the legitimate client's (127.0.0.2), is bounded in
// count and time, and closes what it opened before it returns (also when it throws).

import { spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { setImmediate as yieldLoop, setTimeout as sleep } from 'node:timers/promises';
import { dig } from './dig.ts';
import type { RunningServer } from './server.ts';
import { frame, query } from './wire.ts';

// --- TCP connections ---------------------------------------------------------------------------

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

/** `count` loopback addresses from 127.0.0.`first` on. */
const addresses = (first: number, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `127.0.0.${first + i}`);

/**
 * TCP slots: groups of clients, one group after the other, each client opening up to `perClient`
 * idle connections (sending nothing); `rounds` times, `pauseMs` apart, at most `maxMs`.
 */
export async function tcpSlots(o: {
  port: number;
  groups: readonly (readonly [first: number, clients: number])[];
  perClient: number;
  rounds: number;
  pauseMs: number;
  maxMs: number;
}): Promise<{ connections: number }> {
  const conns: AttackConn[] = [];
  const t0 = performance.now();
  try {
    for (let round = 0; round < o.rounds && performance.now() - t0 < o.maxMs; round++) {
      for (const [first, n] of o.groups) {
        const opened = await Promise.all(addresses(first, n).map((from) => openConnections(o.port, from, o.perClient)));
        conns.push(...opened.flat());
      }
      await sleep(o.pauseMs);
    }
  } finally {
    closeAll(conns);
  }
  return { connections: conns.length };
}

/**
 * A trickle: `connections` from `from`, the second half after one real query, each sending one
 * byte of a query every `gapMs`, `bytes` times. Returns how many the node had not closed by then.
 */
export async function tcpTrickle(o: {
  port: number;
  from: string;
  connections: number;
  bytes: number;
  gapMs: number;
}): Promise<{ connections: number; stillOpen: number }> {
  const q = frame(query('www.example.test', 'A', { id: 1 }));
  const conns = await openConnections(o.port, o.from, o.connections);
  try {
    // Half ask a real query first: their trickle is the second message.
    for (const c of conns.slice(Math.floor(o.connections / 2))) c.sock.write(q);
    await sleep(300);
    for (let i = 0; i < o.bytes; i++) {
      for (const c of conns) if (!c.sock.destroyed) c.sock.write(q.subarray(i % q.length, (i % q.length) + 1));
      await sleep(o.gapMs);
    }
    return { connections: conns.length, stillOpen: conns.filter((c) => !c.closedByServer()).length };
  } finally {
    closeAll(conns);
  }
}

/**
 * Answers never read: `clients` addresses × `perClient` connections, each writing `queries`
 * pipelined queries for `big.example.test TXT` (about 1 KB an answer) and reading nothing; then
 * up to `waitMs` for the node to close them. (A close the node makes with a FIN is not seen here:
 * a paused socket reads no end of stream. The node's metrics say how it closed them.)
 */
export async function tcpUnread(o: {
  port: number;
  clients: number;
  perClient: number;
  queries: number;
  waitMs: number;
}): Promise<{ connections: number; bytesSent: number }> {
  const burst = Buffer.concat(
    Array.from({ length: o.queries }, (_, i) => frame(query('big.example.test', 'TXT', { id: i + 1 }))),
  );
  const conns: AttackConn[] = [];
  try {
    for (const from of addresses(3, o.clients)) {
      const cs = await openConnections(o.port, from, o.perClient);
      for (const c of cs) {
        c.sock.pause(); // never read
        c.sock.write(burst);
      }
      conns.push(...cs);
    }
    // Closed by the node at the drain deadline (over the cap) or the idle one.
    await closedWithin(conns, o.waitMs);
    return { connections: conns.length, bytesSent: burst.length * conns.length };
  } finally {
    closeAll(conns);
  }
}

/**
 * Zone transfers nobody reads: `clients` addresses × `perClient` connections, all opened first,
 * then each sending an AXFR of `zone` at once; each reads only the first message (the node's
 * verdict: the zone's first message, or REFUSED over a cap) and then nothing, and is closed after
 * `holdMs`. Returns the verdicts: transfers started per client address, and refusals.
 */
export async function transferFlood(o: {
  port: number;
  zone: string;
  clients: number;
  perClient: number;
  holdMs: number;
}): Promise<{ started: Record<string, number>; refused: number; unanswered: number }> {
  const conns: { from: string; c: AttackConn }[] = [];
  const started: Record<string, number> = {};
  let refused = 0;
  try {
    for (const from of addresses(3, o.clients))
      for (const c of await openConnections(o.port, from, o.perClient)) conns.push({ from, c });
    const t0 = performance.now();
    const firsts = conns.map(
      ({ c }) =>
        new Promise<number | null>((resolve) => {
          let buf = Buffer.alloc(0);
          const take = (d: Buffer): void => {
            buf = Buffer.concat([buf, d]);
            // The length, then the header: its rcode is in the message's fourth byte.
            if (buf.length < 6) return;
            c.sock.off('data', take);
            c.sock.pause(); // and never read again
            resolve((buf[5] as number) & 0x0f);
          };
          c.sock.on('data', take);
          void c.closed.then(() => resolve(null));
          setTimeout(() => resolve(null), o.holdMs).unref();
        }),
    );
    for (const { c } of conns) c.sock.write(frame(query(o.zone, 'AXFR', { id: 1 })));
    const rcodes = await Promise.all(firsts);
    rcodes.forEach((rcode, i) => {
      const from = (conns[i] as { from: string }).from;
      if (rcode === 0) started[from] = (started[from] ?? 0) + 1;
      else if (rcode === 5) refused++;
    });
    await sleep(Math.max(0, o.holdMs - (performance.now() - t0)));
    const unanswered = rcodes.filter((r) => r === null).length;
    return { started, refused, unanswered };
  } finally {
    closeAll(conns.map(({ c }) => c));
  }
}

/** A 64 KB message in 1-byte segments (Nagle off, one write per byte) on `connections` connections, at most `maxMs`. */
export async function tcpSegments(o: {
  port: number;
  from: string;
  connections: number;
  maxMs: number;
}): Promise<{ bytesPerConnection: number }> {
  const msg = Buffer.alloc(65537, 0);
  msg.writeUInt16BE(65535, 0);
  const conns = await openConnections(o.port, o.from, o.connections);
  const t0 = performance.now();
  let written = 0;
  try {
    for (let i = 0; i < msg.length && performance.now() - t0 < o.maxMs; i++) {
      for (const c of conns) if (!c.sock.destroyed) c.sock.write(msg.subarray(i, i + 1));
      written++;
      if (i % 16 === 0) await yieldLoop();
    }
  } finally {
    closeAll(conns);
  }
  return { bytesPerConnection: written };
}

// --- UDP floods --------------------------------------------------------------------------------

/** A UDP socket bound to `from` that counts the answers it gets. */
async function udpAttacker(from: string): Promise<{ sock: dgram.Socket; answered(): number }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, from, () => resolve());
  });
  let answered = 0;
  sock.on('message', () => answered++);
  return { sock, answered: () => answered };
}

/**
 * Send `perTick(sent)` queries every 10 ms tick for `ms` (at most ms / 5 ticks), the name and type
 * of query number i from `nameOf(i)`; wait a second for the last answers, then close.
 */
async function udpFlood(o: {
  port: number;
  from: string;
  ms: number;
  perTick: number;
  nameOf: (i: number) => readonly [string, string];
  /** DO=1 on every query (EDNS). */
  dnssec?: boolean;
}): Promise<{ sent: number; answered: number }> {
  const { sock, answered } = await udpAttacker(o.from);
  let sent = 0;
  try {
    const started = performance.now();
    for (let tick = 0; performance.now() - started < o.ms && tick < o.ms / 5; tick++) {
      // Catch up to the schedule so the rate holds when the event loop is late.
      const due = Math.min(
        Math.floor(((performance.now() - started) / 10 + 1) * o.perTick),
        Math.ceil((o.ms / 10) * o.perTick),
      );
      for (; sent < due; sent++) {
        const [name, type] = o.nameOf(sent);
        sock.send(query(name, type, { id: sent & 0xffff, dnssec: o.dnssec === true }), o.port, '127.0.0.1');
      }
      await sleep(10);
    }
    await sleep(1000);
    return { sent, answered: answered() };
  } finally {
    sock.close();
  }
}

/** The names `randomNames` asks under: NXDOMAIN, wildcard, below a cut, below a cut deeper down. */
export const RANDOM_NAME_SUFFIXES = ['example.test', 'wild.example.test', 'sub.example.test', 'a.b.dc1.example.test'];

/**
 * Random names under a hosted zone, every name new, `perTick` queries every 10 ms for `ms`; a third
 * TXT. `suffixes`: where (RANDOM_NAME_SUFFIXES by default); `dnssec`: DO=1 on every query.
 */
export function randomNames(o: {
  port: number;
  from: string;
  ms: number;
  perTick: number;
  suffixes?: readonly string[];
  dnssec?: boolean;
}): Promise<{ sent: number; answered: number }> {
  const suffixes = o.suffixes ?? RANDOM_NAME_SUFFIXES;
  return udpFlood({
    ...o,
    nameOf: (i) => [
      `${Math.random().toString(36).slice(2, 12)}${i.toString(36)}.${suffixes[i % suffixes.length]}`,
      i % 3 === 0 ? 'TXT' : 'A',
    ],
  });
}

/**
 * Names that exist, every one new: the first `records` names of big.test (writeBigZone), visited
 * in a scattered order with none asked twice until all were, `perTick` queries every 10 ms for `ms`.
 */
export function zoneNames(o: {
  port: number;
  from: string;
  ms: number;
  perTick: number;
  records: number;
}): Promise<{ sent: number; answered: number }> {
  // 7919 is prime and no divisor of a round `records`: i → i × 7919 mod records visits every name once.
  return udpFlood({ ...o, nameOf: (i) => [`h${(i * 7919) % o.records}.big.test`, 'A'] });
}

/** Unique names to forward (water torture into the cache): `rate` a second for `ms`, each name new. */
export function uniqueNames(o: {
  port: number;
  from: string;
  ms: number;
  rate: number;
}): Promise<{ sent: number; answered: number }> {
  return udpFlood({
    port: o.port,
    from: o.from,
    ms: o.ms,
    perTick: o.rate / 100,
    nameOf: (i) => [`r${i}-${(i * 2654435761) % 4294967296}.flood.example.org`, 'A'],
  });
}

/**
 * Reflection (amplification) from one spoofed source: `count` identical queries for `name`/`type`
 * with an EDNS buffer of `udpSize`, `rate` a second for at most `ms`, all "from" the victim `from`.
 * Loopback cannot forge a source, so the victim's own socket sends them, and it counts what it
 * sends and what the node sends it: the amplification is bytesReceived / bytesSent. A second for
 * the last answers, then close.
 */
export async function reflection(o: {
  port: number;
  from: string;
  name: string;
  type: string;
  udpSize: number;
  count: number;
  rate: number;
  ms: number;
}): Promise<{ sent: number; bytesSent: number; answers: number; truncated: number; bytesReceived: number }> {
  const { sock } = await udpAttacker(o.from);
  let answers = 0;
  let truncated = 0;
  let bytesReceived = 0;
  sock.on('message', (m: Buffer) => {
    answers++;
    bytesReceived += m.length;
    if (m.length >= 3 && (m[2] as number) & 0x02) truncated++; // the TC bit (RFC 1035 §4.1.1)
  });
  const q = query(o.name, o.type, { id: 0x5151, edns: true, udpSize: o.udpSize });
  let sent = 0;
  try {
    const started = performance.now();
    for (let tick = 0; sent < o.count && performance.now() - started < o.ms && tick < o.ms / 5; tick++) {
      // Catch up to the schedule so the rate holds when the event loop is late.
      const due = Math.min(Math.floor(((performance.now() - started) / 1000) * o.rate) + 1, o.count);
      for (; sent < due; sent++) sock.send(q, o.port, '127.0.0.1');
      await sleep(10);
    }
    await sleep(1000);
    return { sent, bytesSent: sent * q.length, answers, truncated, bytesReceived };
  } finally {
    sock.close();
  }
}

// A UDP datagram with source port 0, which no socket API sends: a raw socket (root) through
// python3, which builds the UDP header itself. Loopback only; bounded count and rate.
const RAW_SENDER = `
import socket, struct, sys, time
src, dst, port, count, gap, payload = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), bytes.fromhex(sys.argv[6])
assert dst.startswith("127.") and src.startswith("127.")
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.bind((src, 0))
# Source port 0; checksum 0 means "none" for UDP over IPv4 (RFC 768).
hdr = struct.pack("!HHHH", 0, port, 8 + len(payload), 0)
for i in range(count):
    s.sendto(hdr + payload, (dst, 0))
    time.sleep(gap)
`;

/** Send `count` datagrams from `from`:0 to 127.0.0.1:`port`, `gapMs` apart; resolves when done. */
export async function sendFromPortZero(opts: {
  from: string;
  port: number;
  payload: Buffer;
  count: number;
  gapMs: number;
}): Promise<void> {
  const p = spawn(
    'python3',
    [
      '-c',
      RAW_SENDER,
      opts.from,
      '127.0.0.1',
      String(opts.port),
      String(opts.count),
      String(opts.gapMs / 1000),
      opts.payload.toString('hex'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const timer = setTimeout(() => p.kill('SIGKILL'), opts.count * opts.gapMs + 10_000);
  const [code] = (await once(p, 'exit')) as [number | null];
  clearTimeout(timer);
  if (code !== 0) throw new Error(`raw sender exited ${code}: ${err}`);
}

/** What `portZero` sends, one kind per attacker address: a zone answer, a cached/forwarded one, a miss. */
export const PORT_ZERO_QUERIES = [
  ['www.example.test', 'A'],
  ['www.example.org', 'A'],
  ['nx.example.org', 'AAAA'],
] as const;

/** Datagrams from source port 0: `count` of each kind in PORT_ZERO_QUERIES, `gapMs` apart. */
export async function portZero(o: { port: number; count: number; gapMs: number }): Promise<{ sent: number }> {
  await Promise.all(
    PORT_ZERO_QUERIES.map(([n, ty], i) =>
      sendFromPortZero({
        from: `127.0.0.${3 + i}`,
        port: o.port,
        payload: query(n, ty, { id: 1000 + i, rd: true }),
        count: o.count,
        gapMs: o.gapMs,
      }),
    ),
  );
  return { sent: PORT_ZERO_QUERIES.length * o.count };
}

// --- reloads -------------------------------------------------------------------------------------

/** Write `big.test` with `records` A records into `dir`, its SOA in an include file (returned) that a reload changes cheaply. */
export function writeBigZone(dir: string, records: number): string {
  const lines = ['$TTL 3600', '$INCLUDE soa.inc', '@ NS ns1', 'ns1 A 192.0.2.1'];
  for (let i = 0; i < records; i++) lines.push(`h${i} A 198.51.100.${i % 250}`);
  writeFileSync(join(dir, 'big.test.zone'), `${lines.join('\n')}\n`);
  const soa = join(dir, 'soa.inc');
  writeSoa(soa, 1);
  return soa;
}

const writeSoa = (file: string, serial: number): void =>
  writeFileSync(file, `@ SOA ns1 hostmaster ${serial} 3600 600 86400 300\n`);

/**
 * Reloads of big.test (see writeBigZone) while it is asked for: a new serial and a SIGHUP to
 * `srv` every `gapMs`, `sighups` times; then up to `waitMs` for the last serial to be served.
 */
export async function reloadFlood(o: {
  srv: RunningServer;
  soaFile: string;
  sighups: number;
  gapMs: number;
  waitMs: number;
}): Promise<{ lastSerial: number; served: number }> {
  for (let serial = 2; serial < 2 + o.sighups; serial++) {
    writeSoa(o.soaFile, serial);
    o.srv.proc.kill('SIGHUP');
    await sleep(o.gapMs);
  }
  const lastSerial = 1 + o.sighups;
  // The pending reload picks the last change up.
  const served = async (): Promise<number> =>
    Number((await dig(o.srv, ['big.test', 'SOA'])).answer[0]?.data.split(' ')[2]);
  const t0 = performance.now();
  while ((await served()) !== lastSerial && performance.now() - t0 < o.waitMs) await sleep(500);
  return { lastSerial, served: await served() };
}
