// Raw DNS over UDP/TCP for tests that need bytes dig will not send; dns-packet is the oracle.

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import dnsPacket from 'dns-packet';

export function query(
  name: string,
  type: string,
  opts: {
    id?: number;
    rd?: boolean;
    edns?: boolean;
    nsid?: boolean;
    udpSize?: number;
    class?: string;
    /** EDNS with the DO bit (RFC 3225). */
    dnssec?: boolean;
  } = {},
): Buffer {
  const additionals: dnsPacket.Answer[] = [];
  if (opts.edns || opts.nsid || opts.dnssec) {
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: opts.udpSize ?? 1232,
      flags: opts.dnssec ? dnsPacket.DNSSEC_OK : 0,
      options: opts.nsid ? [{ code: 3, data: Buffer.alloc(0) }] : [],
    } as unknown as dnsPacket.Answer);
  }
  return dnsPacket.encode({
    type: 'query',
    id: opts.id ?? 4242,
    flags: opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as 'A', class: (opts.class ?? 'IN') as 'IN' }],
    additionals,
  });
}

/** Send one datagram and wait for the reply (or null after `timeoutMs`). */
export function udpExchange(
  port: number,
  msg: Uint8Array,
  timeoutMs = 10_000,
  host = '127.0.0.1',
): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.send(msg, port, host);
  });
}

/**
 * Open a TCP connection (from `from`: connections from the node's own listen address take its
 * probes' reserved slots, so tests of the caps connect from another loopback address); collect
 * length-framed responses.
 */
export function tcpConnect(
  port: number,
  host = '127.0.0.1',
  from?: string,
): Promise<{
  sock: net.Socket;
  responses: Buffer[];
  closed: Promise<void>;
  next(n: number, timeoutMs?: number): Promise<Buffer[]>;
}> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host, ...(from === undefined ? {} : { localAddress: from }) }, () => {
      const responses: Buffer[] = [];
      let buf = Buffer.alloc(0);
      const waiters: (() => void)[] = [];
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0);
          responses.push(buf.subarray(2, 2 + len));
          buf = buf.subarray(2 + len);
        }
        for (const w of waiters.splice(0)) w();
      });
      const closed = new Promise<void>((r) => sock.once('close', () => r()));
      const next = async (n: number, timeoutMs = 10_000): Promise<Buffer[]> => {
        const deadline = Date.now() + timeoutMs;
        while (responses.length < n && Date.now() < deadline) {
          await Promise.race([
            new Promise<void>((r) => waiters.push(r)),
            closed,
            new Promise((r) => setTimeout(r, 50)),
          ]);
        }
        return responses.slice(0, n);
      };
      resolve({ sock, responses, closed, next });
    });
    sock.once('error', reject);
  });
}

export function frame(msg: Uint8Array): Buffer {
  const b = Buffer.alloc(msg.length + 2);
  b.writeUInt16BE(msg.length, 0);
  b.set(msg, 2);
  return b;
}

/** The fields of a decoded message the tests read (dns-packet's own types omit several). */
export interface Rec {
  name: string;
  type: string;
  ttl?: number;
  class?: string;
  data?: unknown;
  [k: string]: unknown;
}
export interface Msg {
  id: number;
  rcode: string;
  flag_aa: boolean;
  flag_tc: boolean;
  flag_rd: boolean;
  questions: { name: string; type: string }[];
  answers: Rec[];
  authorities: Rec[];
  additionals: Rec[];
}

export function decode(b: Uint8Array): Msg {
  return dnsPacket.decode(Buffer.from(b)) as unknown as Msg;
}

/** dns-packet's record codec and name helpers, which its type declarations leave out. */
export const oracle = dnsPacket as unknown as {
  answer: { encode(rr: Record<string, unknown>): Buffer };
  name: { encodingLength(name: string): number };
};
