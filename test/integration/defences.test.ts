// Response rate limiting and DNS cookies on the real server: floods of identical queries from one
// prefix over UDP (limited, slipped, dropped), the same over TCP and from another prefix (not),
// cookies seen with the real `dig +cookie`, a cookie minted at one site valid at another that
// shares the secret, the secret's rollover, and a bad secret file refused.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { dig } from '../helpers/dig.ts';
import { parseProm, value } from '../helpers/prom.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, runCli, startServer } from '../helpers/server.ts';
import { frame, tcpConnect } from '../helpers/wire.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('edgedns-defences-');
const SECRET_A = 'e5e973e5a6b2a43f48e7dc849e37bfcf';
const SECRET_B = '445536bcd2513298075a5d379663c962';
writeFileSync(join(dir, 'a.secret'), `${SECRET_A}\n`);
writeFileSync(join(dir, 'b.secret'), `${SECRET_B}\n`);

const servers: RunningServer[] = [];
after(async () => {
  // Together: each lingers 5 s after SIGTERM, and one at a time they took most of the file's budget.
  await Promise.all(servers.map((s) => s.stop()));
});

let n = 0;
async function node(lines: string[]): Promise<RunningServer> {
  const cfg = join(dir, `edgedns-${++n}.yaml`);
  writeFileSync(
    cfg,
    ['listen: ["127.0.0.1:0"]', `zones: { dir: ${JSON.stringify(ZONES)} }`, 'upstreams: []', ...lines].join('\n'),
  );
  const srv = await startServer({ config: cfg, args: [] });
  servers.push(srv);
  return srv;
}

const metrics = async (srv: RunningServer) =>
  parseProm(await (await fetch(`http://127.0.0.1:${srv.adminPort}/metrics`)).text());

/** A query for `name`, with EDNS and, when given, a COOKIE option holding `cookie`. */
function q(name: string, id: number, cookie?: Buffer): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: 'A', class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        options: cookie ? [{ code: 10, data: cookie }] : [],
      } as unknown as dnsPacket.Answer,
    ],
  });
}

interface Outcome {
  full: number;
  truncated: number;
  badcookie: number;
  unanswered: number;
  /**
   * Full answers a limit of 5 a second can let through in the time the flood took, from its first
   * query sent to its last reply (a span that holds the node's own): the first second's burst,
   * then 5 a second.
   */
  fullAllowed: number;
  /** The cookie of the last response that carried one. */
  cookie: Buffer | undefined;
}

/**
 * Send `count` queries built by `make(id)` from `from` as fast as the socket takes them, then wait
 * until the server has been quiet for a second; sort what came back.
 */
async function flood(port: number, count: number, make: (id: number) => Buffer, from = '127.0.0.1'): Promise<Outcome> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, from, () => r()));
  const out: Outcome = { full: 0, truncated: 0, badcookie: 0, unanswered: 0, fullAllowed: 0, cookie: undefined };
  let answered = 0;
  const first = performance.now();
  let last = first;
  let lastReply = first;
  sock.on('message', (m) => {
    answered++;
    last = performance.now();
    lastReply = last;
    const d = dnsPacket.decode(m) as dnsPacket.DecodedPacket & { rcode?: string };
    const opt = (d.additionals ?? []).find((a) => a.type === 'OPT') as
      { options?: { code: number; data: Buffer }[]; extendedRcode?: number } | undefined;
    const c = opt?.options?.find((o) => o.code === 10);
    if (c) out.cookie = c.data;
    // dns-packet reads the header's 4 rcode bits; BADCOOKIE is 23: 7 in the header, 1 in the OPT.
    if ((m.readUInt16BE(2) & 0x0f) === 7 && m.length > 12) out.badcookie++;
    else if (m.readUInt16BE(2) & 0x0200) out.truncated++;
    else if ((d.answers ?? []).length > 0) out.full++;
  });
  for (let i = 0; i < count; i++) {
    await new Promise<void>((r) => sock.send(make(i + 1), port, '127.0.0.1', () => r()));
  }
  last = performance.now();
  while (performance.now() - last < 1000 && answered < count) await new Promise((r) => setTimeout(r, 100));
  sock.close();
  out.unanswered = count - answered;
  out.fullAllowed = 5 + Math.ceil((5 * (lastReply - first)) / 1000);
  return out;
}

/** dig +cookie's COOKIE line: the client cookie and the server's, as hex. */
function digCookie(raw: string): string | undefined {
  return /; COOKIE: ([0-9a-f]+)/.exec(raw)?.[1];
}

describe('response rate limiting', () => {
  it('limits identical answers to one /24 over UDP: a second’s worth answered, every 2nd limited one truncated, the rest dropped', async () => {
    const srv = await node(['rateLimit: { responsesPerSecond: 5, window: 5s, slip: 2 }']);
    const o = await flood(srv.port, 300, (id) => q('www.example.test', id));
    // 5 a second, plus the first second's burst, over however long the flood took on this machine.
    assert.ok(o.full <= o.fullAllowed, `full answers: ${JSON.stringify(o)}`);
    assert.ok(o.truncated > 50 && o.unanswered > 50, JSON.stringify(o));
    const m = await metrics(srv);
    assert.equal(value(m, 'edgedns_rate_limited_total', { action: 'slip', mode: 'enforce' }), o.truncated);
    assert.equal(value(m, 'edgedns_rate_limited_total', { action: 'drop', mode: 'enforce' }), o.unanswered);
    assert.match(
      srv.logs(),
      /rate limit: limiting responses.*"client":"127\.0\.0\.1".*"kind":"answer","name":"www\.example\.test\."/,
    );

    // The same client still gets everything over TCP, and another /24 over UDP.
    const tcp = await tcpConnect(srv.port, '127.0.0.1', '127.0.0.1');
    for (let i = 0; i < 50; i++) tcp.sock.write(frame(q('www.example.test', i + 1)));
    const viaTcp = await tcp.next(50);
    tcp.sock.destroy();
    assert.equal(viaTcp.filter((m) => (dnsPacket.decode(m).answers ?? []).length === 1).length, 50);
    const other = await flood(srv.port, 5, (id) => q('www.example.test', id), '127.0.1.1');
    assert.equal(other.full, 5, JSON.stringify(other));
  });

  it('counts random names under one zone as one NXDOMAIN account, and errors per prefix', async () => {
    const srv = await node(['rateLimit: { responsesPerSecond: 5, window: 5s, slip: 0 }']);
    const nx = await flood(srv.port, 200, (id) => q(`r${id}-${randomBytes(4).toString('hex')}.example.test`, id));
    assert.ok(nx.unanswered > 100, JSON.stringify(nx));
    assert.equal(nx.truncated, 0, 'slip 0 sends no truncated answers');
    // REFUSED (a name under no zone, no forwarding) is an error: one account for the prefix.
    const refused = await flood(srv.port, 200, (id) => q(`n${id}.not-ours.example`, id), '127.0.2.1');
    assert.ok(refused.unanswered > 100, JSON.stringify(refused));
  });

  it('only counts in logOnly mode, and is off with rateLimit: null', async () => {
    const logOnly = await node(['rateLimit: { responsesPerSecond: 5, logOnly: true }']);
    const o = await flood(logOnly.port, 100, (id) => q('www.example.test', id));
    assert.equal(o.full, 100, JSON.stringify(o));
    assert.ok(value(await metrics(logOnly), 'edgedns_rate_limited_total', { mode: 'log' }) > 50);
    assert.match(logOnly.logs(), /rate limit would limit responses \(logOnly\)/);
    const off = await node(['rateLimit: null']);
    const p = await flood(off.port, 100, (id) => q('www.example.test', id));
    assert.equal(p.full, 100, JSON.stringify(p));
  });
});

describe('DNS cookies', () => {
  it('answers dig +cookie with a server cookie, and dig finds its client cookie in it', async () => {
    const srv = await node([`cookies: { secretFile: ${JSON.stringify(join(dir, 'a.secret'))} }`]);
    const r = await dig(srv, ['+cookie', 'www.example.test', 'A']);
    assert.equal(r.status, 'NOERROR');
    const c = digCookie(r.raw);
    assert.ok(c && c.length === 48, r.raw);
    assert.match(r.raw, /; COOKIE: [0-9a-f]{48} \(good\)/);
    // RFC 9018 §4.2: version 1, reserved 0, and a timestamp of about now.
    assert.equal(c.slice(16, 24), '01000000');
    assert.ok(Math.abs(parseInt(c.slice(24, 32), 16) - Date.now() / 1000) < 600);
    // Sent back, it is valid: the server counts it so.
    const again = await dig(srv, [`+cookie=${c}`, 'www.example.test', 'A']);
    assert.equal(again.status, 'NOERROR');
    assert.match(again.raw, /\(good\)/);
    const m = await metrics(srv);
    assert.equal(value(m, 'edgedns_cookies_total', { verdict: 'client_only' }), 1);
    assert.equal(value(m, 'edgedns_cookies_total', { verdict: 'valid' }), 1);
  });

  it('answers FORMERR to a COOKIE option of a forbidden length (RFC 7873 §5.2.2)', async () => {
    const srv = servers[servers.length - 1] as RunningServer;
    const r = await dig(srv, ['+cookie=0102030405', 'www.example.test', 'A']);
    assert.equal(r.status, 'FORMERR');
  });

  it('exempts a client with a valid server cookie from the rate limit; a bad one gets BADCOOKIE and a fresh cookie', async () => {
    const srv = await node([
      'rateLimit: { responsesPerSecond: 5, window: 5s, slip: 2 }',
      `cookies: { secretFile: ${JSON.stringify(join(dir, 'a.secret'))} }`,
    ]);
    const client = randomBytes(8);
    const first = await flood(srv.port, 1, (id) => q('www.example.test', id, client));
    assert.ok(first.cookie && first.cookie.length === 24);
    const good = await flood(srv.port, 200, (id) => q('www.example.test', id, first.cookie));
    assert.equal(good.full, 200, JSON.stringify(good));
    // A forged server cookie is no exemption: limited, and the slipped responses are BADCOOKIE.
    const forged = Buffer.concat([client, Buffer.from('01000000', 'hex'), Buffer.alloc(12, 0x5a)]);
    const bad = await flood(srv.port, 200, (id) => q('www.example.test', id, forged), '127.0.3.1');
    assert.ok(bad.full <= bad.fullAllowed && bad.badcookie > 20, JSON.stringify(bad));
    // The BADCOOKIE carried a valid cookie for that client: using it, everything is answered.
    assert.ok(bad.cookie && !bad.cookie.equals(forged));
    const retried = await flood(srv.port, 100, (id) => q('www.example.test', id, bad.cookie), '127.0.3.1');
    assert.equal(retried.full, 100, JSON.stringify(retried));
    assert.ok(value(await metrics(srv), 'edgedns_rate_limited_total', { action: 'badcookie' }) >= bad.badcookie);
  });

  it('shares the secret across sites and rolls it over with the previous secret', async () => {
    const siteA = await node([
      'site: { id: site-a }',
      `cookies: { secretFile: ${JSON.stringify(join(dir, 'a.secret'))} }`,
    ]);
    const siteB = await node([
      'site: { id: site-b }',
      `cookies: { secretFile: ${JSON.stringify(join(dir, 'a.secret'))} }`,
    ]);
    // After the rollover: the new secret mints, the old one is still accepted.
    const rolled = await node([
      'site: { id: site-c }',
      `cookies: { secretFile: ${JSON.stringify(join(dir, 'b.secret'))}, previousSecretFile: ${JSON.stringify(join(dir, 'a.secret'))} }`,
    ]);
    const other = await node([
      'site: { id: site-d }',
      `cookies: { secretFile: ${JSON.stringify(join(dir, 'b.secret'))} }`,
    ]);
    const fromA = digCookie((await dig(siteA, ['+cookie', 'www.example.test'])).raw) as string;
    for (const [srv, verdict] of [
      [siteB, 'valid'],
      [rolled, 'valid'],
      [other, 'invalid'],
    ] as const) {
      const r = await dig(srv, [`+cookie=${fromA}`, 'www.example.test']);
      assert.equal(r.status, 'NOERROR');
      assert.equal(value(await metrics(srv), 'edgedns_cookies_total', { verdict }), 1, `${verdict} at ${srv.port}`);
    }
    // The rolled site mints with its new secret: the cookie it returns is no longer A's.
    const fromRolled = digCookie((await dig(rolled, ['+cookie', 'www.example.test'])).raw) as string;
    const atOther = await dig(other, [`+cookie=${fromRolled}`, 'www.example.test']);
    assert.equal(atOther.status, 'NOERROR');
    assert.equal(value(await metrics(other), 'edgedns_cookies_total', { verdict: 'valid' }), 1);
  });

  it('with workers: 2 and no secret file, one random secret for the node: a cookie from one worker is valid at the other', async () => {
    const srv = await node(['workers: 2']);
    const client = randomBytes(8);
    const first = await flood(srv.port, 1, (id) => q('www.example.test', id, client));
    assert.ok(first.cookie && first.cookie.length === 24);
    // Forty queries from forty sockets: the kernel spreads them over both workers' shared socket.
    for (let i = 0; i < 40; i++) {
      const o = await flood(srv.port, 1, (id) => q('www.example.test', id, first.cookie));
      assert.equal(o.full, 1);
    }
    const m = await metrics(srv);
    assert.equal(value(m, 'edgedns_cookies_total', { verdict: 'valid' }), 40);
    assert.equal(value(m, 'edgedns_cookies_total', { verdict: 'invalid' }), 0);
  });

  it('refuses a bad secret file at start and on reload, naming the file, and keeps serving', async () => {
    const bad = join(dir, 'bad.secret');
    writeFileSync(bad, 'not-hex\n');
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(
      cfg,
      [
        'listen: ["127.0.0.1:0"]',
        `zones: { dir: ${JSON.stringify(ZONES)} }`,
        'upstreams: []',
        `cookies: { secretFile: ${JSON.stringify(bad)} }`,
      ].join('\n'),
    );
    const r = await runCli(['serve', '--config', cfg, '--admin', 'off', '--admin-socket', 'off']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*32 hexadecimal digits`));

    const good = join(dir, 'good.secret');
    writeFileSync(good, `${SECRET_A}\n`);
    const cfg2 = join(dir, 'reload.yaml');
    writeFileSync(
      cfg2,
      [
        'listen: ["127.0.0.1:0"]',
        `zones: { dir: ${JSON.stringify(ZONES)} }`,
        'upstreams: []',
        `cookies: { secretFile: ${JSON.stringify(good)} }`,
      ].join('\n'),
    );
    const srv = await startServer({ config: cfg2, args: [] });
    servers.push(srv);
    const before = digCookie((await dig(srv, ['+cookie', 'www.example.test'])).raw) as string;
    writeFileSync(good, 'short\n');
    const reload = await runCli(['reload', '--admin-socket', srv.adminSocket as string]);
    assert.notEqual(reload.code, 0, reload.stdout + reload.stderr);
    assert.match(reload.stdout + reload.stderr, /good\.secret/);
    // Still the old secret: the cookie from before is valid.
    await dig(srv, [`+cookie=${before}`, 'www.example.test']);
    assert.equal(value(await metrics(srv), 'edgedns_cookies_total', { verdict: 'valid' }), 1);
  });
});
