// DNS over TLS and over HTTPS as users reach them: kdig +tls (checking the certificate against the
// test CA), dig +tls, dig +https and curl --http2, every answer with the site's NSID; DoH's status
// codes for bad requests; cache-control from the answer's TTL; RFC 8467 padding; pipelined DoT
// queries on one connection; a certificate replaced on disk and reloaded is what the next
// connection gets, and a bad one fails the reload and keeps the old; /status and the health
// checks list the listeners, the metrics count the transports.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../bench/procs.ts';
import { dig } from '../helpers/dig.ts';
import { metric } from '../helpers/hostile.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, runCli, startServer } from '../helpers/server.ts';
import { makeCertificate } from '../helpers/tls.ts';
import type { TestCertificate } from '../helpers/tls.ts';
import { tempDir } from '../helpers/tmp.ts';
import { decode, query } from '../helpers/wire.ts';

const dir = tempDir('edgedns-encrypted-');
const SITE = 'enc-site';
let srv: RunningServer;
let first: TestCertificate;
let dotPort: number;
let dohPort: number;
/** Where the node reads its certificate: replaced in place for the reload test. */
const certFile = join(dir, 'live.pem');
const keyFile = join(dir, 'live-key.pem');

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000, maxBuffer: 1 << 22 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/** curl to the DoH endpoint: the status, the headers and the body file. */
async function curl(
  args: string[],
  path = '/dns-query',
  http = '--http2',
): Promise<{ status: number; headers: string; body: string }> {
  const body = join(dir, `body-${Math.random().toString(36).slice(2)}`);
  const r = await run('curl', [
    '-s',
    http,
    '--cacert',
    first.ca,
    '--resolve',
    `${first.name}:${dohPort}:127.0.0.1`,
    '-D',
    '-',
    '-o',
    body,
    ...args,
    `https://${first.name}:${dohPort}${path}`,
  ]);
  const status = Number(/^HTTP\/\S+ (\d+)/m.exec(r.out)?.[1] ?? 0);
  return { status, headers: r.out, body };
}

/** `edgedns reload` through the node's admin socket. */
const reload = () => runCli(['reload', '--admin-socket', String(srv.adminSocket)]);

/** The subject CN of the certificate a new TLS connection to `port` is served (ALPN `alpn`). */
function servedName(port: number, alpn = 'dot'): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: [alpn] }, () => {
      const cn = s.getPeerCertificate().subject?.CN;
      s.destroy();
      resolve(String(cn));
    });
    s.on('error', (e: Error) => resolve(`(${e.message})`));
  });
}

before(async () => {
  first = makeCertificate(dir, 'dns.example.test');
  copyFileSync(first.cert, certFile);
  copyFileSync(first.key, keyFile);
  dotPort = await freePort();
  dohPort = await freePort();
  const cfg = join(dir, 'edgedns.yaml');
  writeFileSync(
    cfg,
    [
      'listen: ["127.0.0.1:0"]',
      `dot: { listen: ["127.0.0.1:${dotPort}"] }`,
      `doh: { listen: ["127.0.0.1:${dohPort}"] }`,
      `tls: { certFile: ${JSON.stringify(certFile)}, keyFile: ${JSON.stringify(keyFile)} }`,
      `zones: { dir: ${JSON.stringify(ZONES)} }`,
      'upstreams: []',
      `site: { id: ${SITE} }`,
    ].join('\n'),
  );
  srv = await startServer({ config: cfg, args: [] });
});
after(async () => {
  assert.equal(await srv.stop(), 0);
});

describe('DNS over TLS and over HTTPS', () => {
  it('kdig +tls, checking the certificate against the CA, gets the answer and the NSID', async () => {
    const r = await run('kdig', [
      `@127.0.0.1`,
      '-p',
      String(dotPort),
      '+tls',
      `+tls-ca=${first.ca}`,
      `+tls-hostname=${first.name}`,
      '+nsid',
      'www.example.test',
      'A',
    ]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /TLS session \(TLS1\.3\)/);
    assert.match(r.out, /status: NOERROR/);
    assert.match(r.out, new RegExp(`NSID: [0-9A-F]+ "${SITE}"`));
    assert.match(r.out, /www\.example\.test\.\s+\d+\s+IN\s+A\s+192\.0\.2\.80/);
  });

  it('dig +tls and dig +https get the answer and the NSID', async () => {
    for (const [port, flag] of [
      [dotPort, '+tls'],
      [dohPort, '+https'],
    ] as const) {
      const r = await dig({ host: '127.0.0.1', port }, [flag, '+nsid', 'www.example.test', 'A']);
      assert.equal(r.status, 'NOERROR', r.raw);
      assert.equal(r.nsid, SITE, r.raw);
      assert.equal(r.answer[0]?.data, '192.0.2.80');
    }
  });

  it('curl --http2 and --http1.1: GET and POST application/dns-message; max-age is the answer TTL', async () => {
    const udp = await dig(srv, ['www.example.test', 'A']);
    const ttl = udp.answer[0]?.ttl;
    const msg = query('www.example.test', 'A', { id: 0, nsid: true });
    const msgFile = join(dir, 'q.bin');
    writeFileSync(msgFile, msg);
    const answers: { http: string; r: Awaited<ReturnType<typeof curl>> }[] = [];
    for (const http of ['--http2', '--http1.1']) {
      answers.push({ http, r: await curl([], `/dns-query?dns=${msg.toString('base64url')}`, http) });
      const post = ['-H', 'content-type: application/dns-message', '--data-binary', `@${msgFile}`];
      answers.push({ http, r: await curl(post, '/dns-query', http) });
    }
    for (const { http, r } of answers) {
      assert.match(r.headers, http === '--http2' ? /^HTTP\/2 /m : /^HTTP\/1\.1 /m, r.headers);
      assert.equal(r.status, 200, r.headers);
      assert.match(r.headers, /^content-type: application\/dns-message/im);
      assert.match(r.headers, new RegExp(`^cache-control: max-age=${ttl}\\b`, 'im'));
      const answer = decode(readFileSync(r.body));
      assert.equal((answer.answers?.[0] as { data?: string } | undefined)?.data, '192.0.2.80');
    }
  });

  it('bad DoH requests get 400, 404, 405, 413, 415 over HTTP/2 and HTTP/1.1', async () => {
    const msgFile = join(dir, 'q2.bin');
    writeFileSync(msgFile, query('www.example.test', 'A', { id: 0 }));
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(70_000));
    const cases: [number, string[], string][] = [
      [400, [], '/dns-query'],
      [400, [], '/dns-query?dns=not*base64url'],
      [400, [], `/dns-query?dns=${Buffer.alloc(5).toString('base64url')}`],
      [404, [], '/elsewhere?dns=AAAA'],
      [405, ['-X', 'PUT'], '/dns-query'],
      [413, ['-H', 'content-type: application/dns-message', '--data-binary', `@${big}`], '/dns-query'],
      [415, ['-H', 'content-type: text/plain', '--data-binary', `@${msgFile}`], '/dns-query'],
    ];
    for (const http of ['--http2', '--http1.1'])
      for (const [want, args, path] of cases) {
        const r = await curl(args, path, http);
        assert.equal(r.status, want, `${http} ${args.join(' ')} ${path}: ${r.headers}`);
      }
    // The node answers on.
    assert.equal((await dig({ host: '127.0.0.1', port: dohPort }, ['+https', 'www.example.test'])).status, 'NOERROR');
  });

  it('pads a padded query to a multiple of 468 octets (RFC 8467)', async () => {
    const r = await run('kdig', [`@127.0.0.1`, '-p', String(dotPort), '+tls', '+padding', 'www.example.test', 'A']);
    const size = Number(/Received (\d+) B/.exec(r.out)?.[1]);
    assert.ok(size > 0 && size % 468 === 0, r.out);
    // kdig pads over TLS by default: +nopadding for a query without the option.
    const plain = await run('kdig', [
      `@127.0.0.1`,
      '-p',
      String(dotPort),
      '+tls',
      '+nopadding',
      'www.example.test',
      'A',
    ]);
    assert.ok(Number(/Received (\d+) B/.exec(plain.out)?.[1]) % 468 !== 0, plain.out);
  });

  it('answers queries pipelined on one DoT connection', async () => {
    const ids = [11, 12, 13, 14, 15];
    const got = await new Promise<number[]>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: dotPort, ca: first.cert, rejectUnauthorized: false }, () => {
        s.write(
          Buffer.concat(
            ids.map((id) => {
              const q = query('www.example.test', 'A', { id });
              return Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
            }),
          ),
        );
      });
      let buf = Buffer.alloc(0);
      const seen: number[] = [];
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          seen.push(buf.readUInt16BE(2));
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
        if (seen.length === ids.length) {
          s.destroy();
          resolve(seen);
        }
      });
      s.on('error', reject);
    });
    assert.deepEqual([...got].sort(), ids);
  });

  it('lists the listeners in /status, probes them in its health checks, counts their queries', async () => {
    const status = (await (await fetch(`http://127.0.0.1:${srv.adminPort}/status`)).json()) as {
      listeners: { address: string; transports: string[] }[];
      health: { checks: { name: string; ok: boolean; detail: string }[] };
    };
    assert.ok(status.listeners.some((l) => l.address === `127.0.0.1:${dotPort}` && l.transports.includes('dot')));
    assert.ok(status.listeners.some((l) => l.address === `127.0.0.1:${dohPort}` && l.transports.includes('doh')));
    for (const name of [`dot 127.0.0.1:${dotPort}`, `doh 127.0.0.1:${dohPort}`]) {
      const c = status.health.checks.find((x) => x.name === name);
      assert.ok(c?.ok, `${name}: ${JSON.stringify(c)}`);
      assert.match(c.detail, /answered/);
    }
    assert.ok((await metric(srv.adminPort as number, 'edgedns_queries_total', { transport: 'dot', qtype: 'A' })) > 0);
    assert.ok((await metric(srv.adminPort as number, 'edgedns_queries_total', { transport: 'doh', qtype: 'A' })) > 0);
  });

  it('a certificate replaced and reloaded is served to the next connection; a bad one keeps the old', async () => {
    assert.equal(await servedName(dotPort), first.name);
    const second = makeCertificate(dir, 'second.example.test', 'second');
    copyFileSync(second.cert, certFile);
    copyFileSync(second.key, keyFile);
    // `edgedns reload` returns when the reload is done (or refused), however busy the machine.
    const ok = await reload();
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(await servedName(dotPort), second.name, 'the new certificate on DoT');
    assert.equal(await servedName(dohPort, 'h2'), second.name, 'the new certificate on DoH');
    writeFileSync(certFile, 'not a certificate\n');
    const bad = await reload();
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr + bad.stdout, /not a certificate and its key in PEM/);
    assert.equal(await servedName(dotPort), second.name, 'the running certificate stays');
    const r = await dig({ host: '127.0.0.1', port: dotPort }, ['+tls', 'www.example.test']);
    assert.equal(r.status, 'NOERROR');
  });
});
