// A real DNS query to one of our own addresses, over UDP or TCP, used by the health checks and by
// `edgedns guard`: it passes only when a matching, correct answer comes back in time.

import * as net from 'node:net';
import {
  Class,
  OPT_NSID,
  Rcode,
  T,
  absoluteName,
  encodeQuery,
  frame,
  keyToText,
  nameFromText,
  nameKey,
  parseMessage,
} from '../wire/index.js';
import type { Question } from './query.js';
import { randomId } from './query.js';
import { responseOpt } from './stream.js';
import { ExchangeError, UdpTransport, checkReplyOrThrow, tcpExchange } from './transport.js';
import type { ExchangeTransport } from './transport.js';
import { dohRoundTrip, selfDot } from './secure.js';

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
 * The COOKIE option a probe sent from `from` carries (the server's own secrets mint it, so the
 * rate limiter exempts it: RFC 7873 §5.2.5); a flood from the node's own prefix, spoofed or not,
 * cannot hold its probes back and make it withdraw.
 */
export type ProbeCookie = (from: string) => Uint8Array;

/** A probe: no RD, no EDNS — the simplest query a node must answer — or EDNS with only a cookie. */
function buildProbe(q: Question, id: number, cookie?: Uint8Array): Buffer {
  const edns = cookie ? { udpSize: 1232, dnssecOk: false, options: cookie } : null;
  return encodeQuery({ id, flags: 0, qname: q.qname, qtype: q.qtype, qclass: q.qclass, edns });
}

function question(q: ProbeQuestion): Question {
  return {
    qname: nameFromText(q.name, null),
    qtype: q.type,
    qclass: q.class,
    dnssecOk: false,
    checkingDisabled: false,
  };
}

/** Check a reply that answers the probe's question; returns a description, or throws what is wrong. */
function verify(reply: Buffer, q: Question): string {
  const m = parseMessage(reply);
  if (!m?.qname) throw new Error('malformed reply');
  if (m.rcode !== Rcode.NOERROR) throw new Error(`rcode ${m.rcode}`);
  if (!m.answer.some((r) => r.type === q.qtype)) throw new Error('no answer record');
  return `${keyToText(nameKey(m.qname))} answered`;
}

/** Probes ignore replies that do not match (they wait for theirs, or time out). */
const probes = new UdpTransport({ v4: null, v6: null }, () => {});

/** Run one probe; every failure is an Error whose message starts with the transport and address. */
async function probe(
  transport: ExchangeTransport,
  t: ProbeTarget,
  pq: ProbeQuestion,
  timeoutMs: number,
  cookie?: ProbeCookie,
  dohPath = '',
): Promise<string> {
  const from = probeSource(t.host);
  try {
    const q = question(pq);
    const build = (id: number): Buffer => buildProbe(q, id, cookie?.(from));
    // From the address it probes (the cookie is minted for it); connected, so a closed port is
    // reported at once (ICMP port unreachable → ECONNREFUSED).
    let reply: Buffer;
    if (transport === 'UDP') reply = await probes.exchange(t, q, build, timeoutMs, from);
    else if (transport === 'TCP') reply = await tcpExchange(t, q, build, timeoutMs, () => {}, from);
    else if (transport === 'DoT') reply = await tcpExchange(t, q, build, timeoutMs, () => {}, from, selfDot);
    else {
      const id = randomId();
      reply = checkReplyOrThrow(await dohRoundTrip(t, dohPath, build(id), timeoutMs), id, q, 'DoH', timeoutMs);
    }
    return `${transport} ${t.host}:${t.port}: ${verify(reply, q)}`;
  } catch (e) {
    throw probeFailure(transport, t, timeoutMs, e);
  }
}

/**
 * A probe's failure, starting with the transport and address (the transport's message leaves
 * them out); a timeout reads "no answer within N ms", the guard's withdrawal reason.
 */
function probeFailure(transport: ExchangeTransport, t: ProbeTarget, timeoutMs: number, e: unknown): Error {
  const why =
    e instanceof ExchangeError && e.kind === 'timeout' ? `no answer within ${timeoutMs} ms` : (e as Error).message;
  return new Error(`${transport} ${t.host}:${t.port}: ${why}`, { cause: e });
}

/** An empty NSID option (RFC 5001 §2.3: the query carries it with no data). */
const ASK_NSID = Uint8Array.of(0, OPT_NSID, 0, 0);
const ID_SERVER = question({ name: 'id.server.', type: T.TXT, class: Class.CH });

/**
 * Another site's identity over its unicast address, as a fleet peer checks its data plane:
 * CH TXT id.server with an empty NSID option over UDP. Resolves with the NSID of a correct answer;
 * throws when none comes in time, or the answer carries no NSID.
 */
export async function probeNsid(t: ProbeTarget, timeoutMs: number): Promise<string> {
  const build = (id: number): Buffer =>
    encodeQuery({
      id,
      flags: 0,
      qname: ID_SERVER.qname,
      qtype: ID_SERVER.qtype,
      qclass: ID_SERVER.qclass,
      edns: { udpSize: 1232, dnssecOk: false, options: ASK_NSID },
    });
  try {
    const reply = await probes.exchange(t, ID_SERVER, build, timeoutMs);
    verify(reply, ID_SERVER);
    const nsid = responseOpt(reply)?.nsid;
    if (!nsid) throw new Error('the answer has no NSID');
    return nsid;
  } catch (e) {
    throw probeFailure('UDP', t, timeoutMs, e);
  }
}

export function probeUdp(t: ProbeTarget, q: ProbeQuestion, timeoutMs: number, cookie?: ProbeCookie): Promise<string> {
  return probe('UDP', t, q, timeoutMs, cookie);
}

export function probeTcp(t: ProbeTarget, q: ProbeQuestion, timeoutMs: number, cookie?: ProbeCookie): Promise<string> {
  return probe('TCP', t, q, timeoutMs, cookie);
}

/** A TLS handshake with the node's DoT listener (a certificate in date) and a real query. */
export function probeDot(t: ProbeTarget, q: ProbeQuestion, timeoutMs: number, cookie?: ProbeCookie): Promise<string> {
  return probe('DoT', t, q, timeoutMs, cookie);
}

/** An HTTP/2 POST to the node's DoH endpoint at `path` (TLS, a certificate in date) with a real query. */
export function probeDoh(
  t: ProbeTarget,
  path: string,
  q: ProbeQuestion,
  timeoutMs: number,
  cookie?: ProbeCookie,
): Promise<string> {
  return probe('DoH', t, q, timeoutMs, cookie, path);
}

/**
 * A TCP connection held open to a node, with a query every `keepaliveMs` so the node's idle
 * timeout never closes it. `onLost` fires when it closes or breaks: for a crashed process the
 * kernel closes it at once, which is faster than any probe interval.
 */
export function sentinel(
  t: ProbeTarget,
  q: ProbeQuestion,
  keepaliveMs: number,
  onLost: (why: string) => void,
): { close(): void } {
  let closedByUs = false;
  // Built once, before connecting: a bad question throws here, to the caller, not in a callback.
  const keepalive = frame(buildProbe(question(q), randomId()));
  const sock = net.connect({ host: t.host, port: t.port, localAddress: probeSource(t.host) });
  const ping = (): void => void sock.write(keepalive);
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
