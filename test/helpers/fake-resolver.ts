// A stand-in for the upstreams behind the Forwarder: resolutions the test settles by hand, and
// upstream replies built with dns-packet, so forwarding is tested without sockets or sleeps.

import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import type { Question } from '../../src/client/index.ts';
import type { ResolveError, UpstreamAnswer } from '../../src/resolver/index.ts';
import type { Upstreams } from '../../src/server/index.ts';
import type { Message } from '../../src/wire/index.ts';
import { nameToText, parseMessage } from '../../src/wire/index.ts';

/** One resolution asked of the fake: its question, and how the test ends it. */
export interface Asked {
  name: string;
  q: Question;
  settle(r: Message | Error): void;
}

/** Resolutions stay open until the test settles them; everything asked is kept in `asked`. */
export class FakeResolver implements Upstreams {
  /** Open resolutions, oldest first. */
  readonly asked: Asked[] = [];
  /** Every resolution ever asked (settled or not). */
  total = 0;
  /** Set: every upstream is down, nothing would be asked (Resolver.unavailable). */
  down: ResolveError | null = null;

  unavailable(): ResolveError | null {
    return this.down;
  }

  resolve(q: Question): Promise<UpstreamAnswer> {
    this.total++;
    return new Promise((resolve, reject) => {
      this.asked.push({
        name: nameToText(q.qname),
        q,
        settle: (r) => (r instanceof Error ? reject(r) : resolve({ message: r, upstream: '192.0.2.53:53' })),
      });
    });
  }

  /** Settle every open resolution with `r(name)`. */
  settleAll(r: (name: string) => Message | Error): void {
    for (const a of this.asked.splice(0)) a.settle(r(a.name));
  }
}

export interface ReplyOptions {
  /** An A record with this address. */
  a?: string;
  /** The TTL of the A record (300 by default). */
  ttl?: number;
  /** NXDOMAIN with the SOA of this zone. */
  nxZone?: string;
  servfail?: boolean;
  /** An NS record owned by this name in the authority section. */
  ns?: string;
  qtype?: string;
}

/** An upstream reply to `name`, parsed as the resolver hands it over. */
export function upstreamReply(name: string, opts: ReplyOptions = {}): Message {
  const qtype = opts.qtype ?? 'A';
  const soa = opts.nxZone
    ? [
        {
          name: opts.nxZone,
          type: 'SOA',
          ttl: 3600,
          class: 'IN',
          data: {
            mname: `ns.${opts.nxZone}`,
            rname: `h.${opts.nxZone}`,
            serial: 1,
            refresh: 2,
            retry: 3,
            expire: 4,
            minimum: 60,
          },
        },
      ]
    : [];
  const ns = opts.ns ? [{ name: opts.ns, type: 'NS', ttl: 3600, class: 'IN', data: `ns1.${opts.ns}` }] : [];
  const flags = 0x8180 | (opts.servfail ? 2 : opts.nxZone ? 3 : 0);
  const answers = opts.a ? [{ name, type: 'A', ttl: opts.ttl ?? 300, class: 'IN', data: opts.a }] : [];
  const m = parseMessage(
    dnsPacket.encode({
      type: 'response',
      id: 1,
      flags,
      questions: [{ name, type: qtype as 'A', class: 'IN' }],
      answers: answers as dnsPacket.Answer[],
      authorities: [...soa, ...ns] as dnsPacket.Answer[],
    }),
  );
  assert.ok(m, 'the reply parses');
  return m;
}
