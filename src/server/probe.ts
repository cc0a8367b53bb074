// A real DNS query to one of our own addresses, over UDP or TCP, used by the health checks and by
// `edgedns guard`: it passes only when a matching, correct answer comes back in time.

import { randomInt } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { tcpRoundTrip } from '../resolver/index.js';
import { Class, FLAG_QR, Rcode, T, absoluteName, encodeQuery, frame, keyToText, nameFromText, nameKey, parseMessage } from '../wire/index.js';
import type { Cookies } from './cookies.js';
import { CookieVerdict } from './cookies.js';

export interface ProbeTarget {
  host: string;
  port: number;
}

export interface ProbeQuestion {
  /** Presentation name, e.g. "example.test." */
  name: string;
  type: number;
  class: number;
}

/**
 * Where a TCP probe connects from: the address it probes, so that the node counts it among its
 * own connections (a reserved slot that an attacker cannot take; see tcp-limits.ts). A wildcard
 * listen address is probed over loopback, from loopback.
 */
function probeSource(host: string): string {
  return host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
}

/** The SOA of a zone we serve, or CH TXT id.server when we serve none. */
export function probeQuestion(zoneOrigin: string | undefined): ProbeQuestion {
  // An origin from the config may lack its final dot ("example.test"); the name is absolute.
  if (zoneOrigin) return { name: keyToText(nameKey(absoluteName(zoneOrigin))), type: T.SOA, class: Class.IN };
  return { name: 'id.server.', type: T.TXT, class: Class.CH };
}

/**
 * A probe: no RD, no EDNS — the simplest query a node must answer. With `cookies` (the node's own
 * secrets), the probe carries a server cookie minted for its source address instead: the rate
 * limiter exempts a valid cookie (RFC 7873 §5.2.5), so a flood from the node's own prefix, spoofed
 * or not, cannot hold its probes back and make it withdraw.
 */
function buildProbe(q: ProbeQuestion, id: number, cookie?: { cookies: Cookies; from: string }): Buffer {
  const qname = nameFromText(q.name, null);
  if (!cookie) return encodeQuery({ id, flags: 0, qname, qtype: q.type, qclass: q.class, edns: null });
  const c = cookie.cookies;
  const options = c.option(c.probeClient, 0, 8, cookie.from, CookieVerdict.CLIENT_ONLY);
  return encodeQuery({ id, flags: 0, qname, qtype: q.type, qclass: q.class, edns: { udpSize: 1232, dnssecOk: false, options } });
}

/** Check a reply; returns a description, or throws what is wrong with it. */
function verify(reply: Buffer, id: number, q: ProbeQuestion): string {
  const m = parseMessage(reply);
  if (!m) throw new Error('malformed reply');
  if (m.id !== id || (m.flags & FLAG_QR) === 0) throw new Error('reply does not match the probe');
  if (!m.qname || nameKey(m.qname) !== nameKey(nameFromText(q.name, null)) || m.qtype !== q.type) throw new Error('reply is for another question');
  if (m.rcode !== Rcode.NOERROR) throw new Error(`rcode ${m.rcode}`);
  if (!m.answer.some((r) => r.type === q.type)) throw new Error('no answer record');
  return `${keyToText(nameKey(m.qname))} answered`;
}

export function probeUdp(t: ProbeTarget, q: ProbeQuestion, timeoutMs: number, cookies?: Cookies): Promise<string> {
  const id = randomInt(0x10000);
  const from = probeSource(t.host);
  return new Promise((resolve, reject) => {
    // Built before the socket: a question that cannot be encoded rejects, never throws in a callback.
    let probe: Buffer;
    try {
      probe = buildProbe(q, id, cookies && { cookies, from });
    } catch (e) {
      return reject(new Error(`UDP ${t.host}:${t.port}: ${(e as Error).message}`));
    }
    const sock = dgram.createSocket(t.host.includes(':') ? 'udp6' : 'udp4');
    const done = (err: Error | null, detail = ''): void => {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(detail);
    };
    const timer = setTimeout(() => done(new Error(`UDP ${t.host}:${t.port}: no answer within ${timeoutMs} ms`)), timeoutMs);
    sock.on('error', (e) => done(new Error(`UDP ${t.host}:${t.port}: ${e.message}`)));
    // From the address it probes (the cookie is minted for it); connected, so a closed port is
    // reported at once (ICMP port unreachable → ECONNREFUSED).
    sock.bind({ address: from, port: 0, exclusive: true }, () => sock.connect(t.port, t.host, () => sock.send(probe)));
    sock.on('message', (m) => {
      try {
        done(null, `UDP ${t.host}:${t.port}: ${verify(m, id, q)}`);
      } catch (e) {
        done(new Error(`UDP ${t.host}:${t.port}: ${(e as Error).message}`));
      }
    });
  });
}

/**
 * A TCP connection held open to a node, with a query every `keepaliveMs` so the node's idle
 * timeout never closes it. `onLost` fires when it closes or breaks: for a crashed process the
 * kernel closes it at once, which is faster than any probe interval.
 */
export function sentinel(t: ProbeTarget, q: ProbeQuestion, keepaliveMs: number, onLost: (why: string) => void): { close(): void } {
  let closedByUs = false;
  // Built once, before connecting: a bad question throws here, to the caller, not in a callback.
  const probe = frame(buildProbe(q, randomInt(0x10000)));
  const sock = net.connect({ host: t.host, port: t.port, localAddress: probeSource(t.host) });
  const ping = (): void => void sock.write(probe);
  const timer = setInterval(ping, keepaliveMs);
  timer.unref();
  // At once too: the node closes a connection that sends no query within tcp.firstQueryTimeout.
  sock.on('connect', ping);
  sock.on('data', () => {});
  sock.on('error', () => {});
  sock.on('close', () => {
    clearInterval(timer);
    if (!closedByUs) onLost(`TCP ${t.host}:${t.port}: connection closed`);
  });
  return {
    close: () => {
      closedByUs = true;
      clearInterval(timer);
      sock.destroy();
    },
  };
}

export async function probeTcp(t: ProbeTarget, q: ProbeQuestion, timeoutMs: number, cookies?: Cookies): Promise<string> {
  const id = randomInt(0x10000);
  const from = probeSource(t.host);
  // The transport's messages name the address already; a bad answer gets it here.
  const reply = await tcpRoundTrip(t, buildProbe(q, id, cookies && { cookies, from }), timeoutMs, from);
  try {
    return `TCP ${t.host}:${t.port}: ${verify(reply, id, q)}`;
  } catch (e) {
    throw new Error(`TCP ${t.host}:${t.port}: ${(e as Error).message}`);
  }
}
