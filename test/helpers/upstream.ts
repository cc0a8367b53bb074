// A fake upstream resolver on loopback (UDP and TCP on one port) that tests steer: answer,
// delay, drop, truncate, SERVFAIL, or reply with a wrong ID, a wrong question or from a wrong port;
// `inject` adds extra records to a reply's sections (forged or careless data for the cache to drop).

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import dnsPacket from 'dns-packet';

export type Mode = 'answer' | 'drop' | 'truncate' | 'servfail' | 'wrong-id' | 'wrong-question' | 'wrong-port';

export interface FakeRecord {
  name: string;
  type: string;
  ttl: number;
  data: unknown;
}

/** Records added to the sections of one question's reply (positive or NXDOMAIN). */
export interface Injected {
  answer?: FakeRecord[];
  authority?: FakeRecord[];
  additional?: FakeRecord[];
}

export class FakeUpstream {
  mode: Mode = 'answer';
  delayMs = 0;
  /** Answers by "name|TYPE" (lower case); a name with no entry gets NXDOMAIN with an SOA. */
  readonly zone = new Map<string, FakeRecord[]>();
  negativeTtl = 60;
  /** Extra records by "name|TYPE" (lower case), appended after the reply's own. */
  readonly injected = new Map<string, Injected>();
  udpQueries = 0;
  tcpQueries = 0;
  /** The names asked (lower case, as dns-packet prints them), UDP and TCP, in order. */
  readonly names: string[] = [];
  /** Source addresses, ports and IDs of the UDP queries received. */
  readonly sourceAddresses: string[] = [];
  readonly sourcePorts: number[] = [];
  readonly ids: number[] = [];
  /** UDP replies sent; queries received and not (yet) replied to now, and the most there ever were. */
  udpReplied = 0;
  outstanding = 0;
  peakOutstanding = 0;
  /** The DO and CD bits of the last query. */
  last: { dnssecOk: boolean; cd: boolean; payload: number } | undefined;
  readonly #udp: dgram.Socket;
  readonly #other: dgram.Socket;
  readonly #tcp: net.Server;
  readonly #conns = new Set<net.Socket>();
  port = 0;
  #held: (() => void)[] | null = null;

  private constructor() {
    this.#udp = dgram.createSocket('udp4');
    this.#other = dgram.createSocket('udp4');
    this.#tcp = net.createServer((s) => this.#serveTcp(s));
  }

  static async start(): Promise<FakeUpstream> {
    const f = new FakeUpstream();
    await new Promise<void>((r) => f.#udp.bind(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => f.#other.bind(0, '127.0.0.1', () => r()));
    f.port = f.#udp.address().port;
    await new Promise<void>((r) => f.#tcp.listen(f.port, '127.0.0.1', () => r()));
    f.#udp.on('message', (m, rinfo) => {
      f.udpQueries++;
      f.outstanding++;
      f.peakOutstanding = Math.max(f.peakOutstanding, f.outstanding);
      f.sourceAddresses.push(rinfo.address);
      f.sourcePorts.push(rinfo.port);
      if (m.length >= 2) f.ids.push(m.readUInt16BE(0));
      const reply = f.#reply(m, 'udp');
      // Never replied to (drop): outstanding for good, as a black hole's queries are.
      if (!reply) return;
      const send = (): void => {
        f.outstanding--;
        f.udpReplied++;
        const sock = f.mode === 'wrong-port' ? f.#other : f.#udp;
        sock.send(reply, rinfo.port, rinfo.address);
      };
      if (f.#held) f.#held.push(send);
      else if (f.delayMs > 0) setTimeout(send, f.delayMs);
      else send();
    });
    return f;
  }

  /** Keep every UDP reply from now on until `release()`: queries stay in flight as long as a test needs. */
  hold(): void {
    this.#held ??= [];
  }

  /** Send the replies kept since `hold()`, and reply at once again. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const send of held) send();
  }

  set(name: string, type: string, ttl: number, ...data: unknown[]): void {
    this.zone.set(
      `${name.toLowerCase()}|${type}`,
      data.map((d) => ({ name, type, ttl, data: d })),
    );
  }

  /** Append `extra` to every reply to `name`/`type`. */
  inject(name: string, type: string, extra: Injected): void {
    this.injected.set(`${name.toLowerCase()}|${type}`, extra);
  }

  get queries(): number {
    return this.udpQueries + this.tcpQueries;
  }

  async close(): Promise<void> {
    this.#udp.close();
    this.#other.close();
    for (const c of this.#conns) c.destroy();
    await new Promise<void>((r) => this.#tcp.close(() => r()));
  }

  #reply(m: Buffer, transport: 'udp' | 'tcp'): Buffer | null {
    let q: dnsPacket.DecodedPacket;
    try {
      q = dnsPacket.decode(m);
    } catch {
      return null;
    }
    if (this.mode === 'drop') return null;
    const question = q.questions?.[0];
    if (!question) return null;
    this.names.push(question.name.toLowerCase());
    const opt = (q.additionals ?? []).find((a) => a.type === 'OPT') as unknown as
      { flags?: number; udpPayloadSize?: number } | undefined;
    this.last = {
      dnssecOk: ((opt?.flags ?? 0) & dnsPacket.DNSSEC_OK) !== 0,
      cd: ((q.flags ?? 0) & dnsPacket.CHECKING_DISABLED) !== 0,
      payload: opt?.udpPayloadSize ?? 512,
    };
    const records = this.zone.get(`${question.name.toLowerCase()}|${question.type}`);
    const base = {
      type: 'response' as const,
      id: this.mode === 'wrong-id' ? (q.id ?? 0) ^ 0x5555 : (q.id ?? 0),
      questions: [this.mode === 'wrong-question' ? { ...question, name: `evil.${question.name}` } : question],
    };
    let flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE;
    if (this.mode === 'servfail') return dnsPacket.encode({ ...base, flags: flags | 2 });
    if (this.mode === 'truncate' && transport === 'udp')
      return dnsPacket.encode({ ...base, flags: flags | dnsPacket.TRUNCATED_RESPONSE });
    const extra = this.injected.get(`${question.name.toLowerCase()}|${question.type}`) ?? {};
    const rrs = (rs: FakeRecord[] | undefined): dnsPacket.Answer[] =>
      (rs ?? []).map((r) => ({ ...r, class: 'IN' })) as dnsPacket.Answer[];
    const injected = { authorities: rrs(extra.authority), additionals: rrs(extra.additional) };
    if (records)
      return dnsPacket.encode({ ...base, flags, answers: [...rrs(records), ...rrs(extra.answer)], ...injected });
    flags |= 3; // NXDOMAIN
    const zone = question.name.split('.').slice(-2).join('.');
    const soa = {
      name: zone,
      type: 'SOA',
      ttl: 3600,
      class: 'IN',
      data: {
        mname: `ns.${zone}`,
        rname: `h.${zone}`,
        serial: 1,
        refresh: 2,
        retry: 3,
        expire: 4,
        minimum: this.negativeTtl,
      },
    } as dnsPacket.Answer;
    return dnsPacket.encode({
      ...base,
      flags,
      answers: rrs(extra.answer),
      authorities: [soa, ...injected.authorities],
      additionals: injected.additionals,
    });
  }

  #serveTcp(s: net.Socket): void {
    this.#conns.add(s);
    s.once('close', () => this.#conns.delete(s));
    let buf = Buffer.alloc(0);
    s.on('error', () => s.destroy());
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + m.length);
        this.tcpQueries++;
        const reply = this.#reply(m, 'tcp');
        if (!reply) continue;
        const framed = Buffer.alloc(reply.length + 2);
        framed.writeUInt16BE(reply.length, 0);
        reply.copy(framed, 2);
        s.write(framed);
      }
    });
  }
}
