// DNS over TLS to a real upstream: Unbound serving a local name on its tls-port with a certificate
// of a test CA; edgedns forwarding to it as tls://127.0.0.1:PORT#NAME with resolver.tlsCaFile.
// dig through edgedns gets the answer and the metrics count transport dot. A wrong name or a wrong
// SPKI pin marks the upstream down at once, /status says why, and dig gets SERVFAIL with EDE 22;
// the right pin without any CA works, and so does `serve --upstream tls://…` trusting the test CA
// through NODE_EXTRA_CA_CERTS (the system store plus it, as Node does).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../bench/procs.ts';
import { unboundServer } from '../../bench/unbound.ts';
import { spkiPin } from '../../src/client/index.ts';
import type { Daemon } from '../helpers/daemon.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { dig } from '../helpers/dig.ts';
import { metric } from '../helpers/hostile.ts';
import { PATIENCE_MS, until } from '../helpers/node.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, runCli, startFailure, startServer } from '../helpers/server.ts';
import type { TestCertificate } from '../helpers/tls.ts';
import { makeCertificate } from '../helpers/tls.ts';
import { tempDir } from '../helpers/tmp.ts';

const NAME = 'dns.example.test';
const WRONG_PIN = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
let cert: TestCertificate;
let unbound: Daemon;
let tlsPort: number;
const nodes: RunningServer[] = [];

interface StatusUpstream {
  address: string;
  transport: string;
  name: string | null;
  healthy: boolean;
  reason: string | null;
  queries: number;
}

/**
 * edgedns with this upstream entry (YAML flow), forwarding only to Unbound's tls-port, with the test
 * CA as resolver.tlsCaFile when `ca`. Tries of 3 s: a TLS handshake on a busy machine is slow, not broken.
 */
async function node(upstream: string, ca: boolean): Promise<RunningServer> {
  const dir = tempDir('edgedns-dot-up-');
  const cfg = join(dir, 'edgedns.yaml');
  writeFileSync(
    cfg,
    [
      'listen: ["127.0.0.1:0"]',
      `zones: { dir: ${JSON.stringify(ZONES)} }`,
      `upstreams: [${upstream}]`,
      'site: { id: dot-upstream }',
      `resolver: { timeout: 3s, deadline: 6s${ca ? `, tlsCaFile: ${JSON.stringify(cert.ca)}` : ''} }`,
    ].join('\n'),
  );
  const srv = await startServer({ config: cfg, args: [] });
  nodes.push(srv);
  return srv;
}

async function upstreamsOf(srv: RunningServer): Promise<StatusUpstream[]> {
  const s = (await (await fetch(`http://127.0.0.1:${srv.adminPort}/status`)).json()) as {
    upstreams: StatusUpstream[];
  };
  return s.upstreams;
}

before(async () => {
  const dir = tempDir('edgedns-unbound-dot-');
  cert = makeCertificate(dir, NAME);
  const port = await freePort();
  tlsPort = await freePort();
  const conf = join(dir, 'unbound.conf');
  writeFileSync(
    conf,
    `${unboundServer({ port, dir })}  interface: 127.0.0.1@${tlsPort}
  tls-port: ${tlsPort}
  tls-service-key: "${cert.key}"
  tls-service-pem: "${cert.cert}"
  num-threads: 1
  local-zone: "dotup.test." static
  local-data: "dotup.test. 600 IN SOA ns.dotup.test. h.dotup.test. 1 3600 600 86400 120"
  local-data: "www.dotup.test. 600 IN A 192.0.2.153"
  local-data: "pin.dotup.test. 600 IN A 192.0.2.154"
`,
  );
  unbound = await startDaemon({
    name: 'unbound',
    bin: 'unbound',
    args: ['-d', '-c', conf],
    dir,
    ready: async () => {
      const r = await dig({ host: '127.0.0.1', port }, ['+time=1', 'www.dotup.test']).catch(() => undefined);
      return r?.status === 'NOERROR';
    },
    what: 'Unbound answering on its plain port',
  });
  // Its TLS port, as a DoT client sees it.
  const viaTls = await dig({ host: '127.0.0.1', port: tlsPort }, ['+tls', 'www.dotup.test']);
  assert.equal(viaTls.answer[0]?.data, '192.0.2.153', viaTls.raw);
});
after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await unbound?.stop();
});

describe('a DoT upstream (Unbound with tls-service-pem)', () => {
  it('tls://127.0.0.1:PORT#name with resolver.tlsCaFile: answered; the metrics count dot', async () => {
    const srv = await node(`"tls://127.0.0.1:${tlsPort}#${NAME}"`, true);
    const r = await dig(srv, ['www.dotup.test']);
    assert.equal(r.status, 'NOERROR', r.raw);
    assert.equal(r.answer[0]?.data, '192.0.2.153');
    const up = `127.0.0.1:${tlsPort}`;
    assert.ok(
      (await metric(srv.adminPort as number, 'edgedns_upstream_queries_total', { upstream: up, transport: 'dot' })) >=
        1,
    );
    assert.equal(await metric(srv.adminPort as number, 'edgedns_upstream_queries_total', { transport: 'udp' }), 0);
    // Several at once over the one connection, then the SOA over TCP from the client's side.
    const many = await Promise.all(['www', 'pin', 'nothere'].map((n) => dig(srv, [`${n}.dotup.test`])));
    assert.deepEqual(
      many.map((m) => m.status),
      ['NOERROR', 'NOERROR', 'NXDOMAIN'],
    );
    const [s] = await upstreamsOf(srv);
    assert.deepEqual(
      { address: s?.address, transport: s?.transport, name: s?.name, healthy: s?.healthy, reason: s?.reason },
      { address: up, transport: 'tls', name: NAME, healthy: true, reason: null },
    );
  });

  for (const [what, upstream, reason] of [
    ['a wrong name', `"tls://127.0.0.1:PORT#wrong.example"`, /the certificate does not name wrong\.example/],
    ['a wrong SPKI pin', `{ address: "127.0.0.1:PORT", tls: { spki: "${WRONG_PIN}" } }`, /SPKI pin mismatch/],
  ] as const)
    it(`${what}: marked down at once, /status says why, dig gets SERVFAIL with EDE 22`, async () => {
      const srv = await node(upstream.replace('PORT', String(tlsPort)), true);
      const r = await dig(srv, ['www.dotup.test']);
      assert.equal(r.status, 'SERVFAIL', r.raw);
      assert.match(r.ede ?? '', /^22 \(No Reachable Authority\): \(DoT 127\.0\.0\.1:\d+: /);
      assert.match(r.ede ?? '', reason);
      const [s] = await upstreamsOf(srv);
      assert.equal(s?.healthy, false);
      assert.equal(s?.transport, 'tls');
      assert.match(s?.reason ?? '', reason);
      assert.equal(await metric(srv.adminPort as number, 'edgedns_upstream_up'), 0);
      assert.equal(
        await metric(srv.adminPort as number, 'edgedns_upstream_errors_total', { kind: 'certificate' }),
        1,
        'one try, then down',
      );
      // Another name while it is down (and no probe is due yet): SERVFAIL with EDE 22 at once.
      const again = await dig(srv, ['pin.dotup.test']);
      assert.equal(again.status, 'SERVFAIL');
      assert.match(again.ede ?? '', /^22 /);
      // Probed with the back-off: its probes fail the same way, and it stays down.
      await until(
        async () =>
          (await metric(srv.adminPort as number, 'edgedns_upstream_errors_total', { kind: 'certificate' })) >= 2 ||
          (await dig(srv, [`probe${Date.now()}.dotup.test`]), false),
        PATIENCE_MS,
        'a probe after the back-off',
      );
      const [later] = await upstreamsOf(srv);
      assert.equal(later?.healthy, false);
      assert.match(later?.reason ?? '', reason);
    });

  it('serve --upstream tls://…#name, the test CA from NODE_EXTRA_CA_CERTS (no CA file): answered', async () => {
    const cfg = join(tempDir('edgedns-dot-up-'), 'edgedns.yaml');
    writeFileSync(cfg, 'resolver: { timeout: 3s, deadline: 6s }\n');
    const srv = await startServer({
      config: cfg,
      args: ['--listen', '127.0.0.1:0', '--zones', ZONES, '--upstream', `tls://127.0.0.1:${tlsPort}#${NAME}`],
      env: { NODE_EXTRA_CA_CERTS: cert.ca },
    });
    nodes.push(srv);
    const r = await dig(srv, ['www.dotup.test']);
    assert.equal(r.status, 'NOERROR', r.raw);
    assert.equal(r.answer[0]?.data, '192.0.2.153');
    const [s] = await upstreamsOf(srv);
    assert.equal(s?.transport, 'tls');
    assert.equal(s?.healthy, true);
  });

  it('a CA file that cannot be read, or holds no certificate: serve refuses to start (exit 2), naming the key', async () => {
    const dir = tempDir('edgedns-dot-up-');
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'not a certificate\n');
    for (const [lines, message] of [
      [
        [
          `upstreams: ["tls://127.0.0.1:${tlsPort}#${NAME}"]`,
          `resolver: { tlsCaFile: ${JSON.stringify(join(dir, 'none.pem'))} }`,
        ],
        /resolver\.tlsCaFile: cannot read \S+none\.pem: ENOENT/,
      ],
      [
        [`upstreams: [{ address: "127.0.0.1:${tlsPort}", tls: { name: ${NAME}, caFile: ${JSON.stringify(notPem)} } }]`],
        /upstreams\[0\]\.tls\.caFile: no PEM certificate in \S+not\.pem/,
      ],
    ] as const) {
      const cfg = join(dir, 'edgedns.yaml');
      writeFileSync(cfg, ['listen: ["127.0.0.1:0"]', `zones: { dir: ${JSON.stringify(ZONES)} }`, ...lines].join('\n'));
      const r = await runCli(['serve', '--config', cfg, '--admin', 'off', '--admin-socket', 'off']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(startFailure(r.stderr), message);
    }
  });

  it('the right SPKI pin and no CA at all: answered', async () => {
    const der = Buffer.from(readFileSync(cert.cert, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const srv = await node(`{ address: "127.0.0.1:${tlsPort}", tls: { spki: "${spkiPin(der)}" } }`, false);
    const r = await dig(srv, ['pin.dotup.test']);
    assert.equal(r.status, 'NOERROR', r.raw);
    assert.equal(r.answer[0]?.data, '192.0.2.154');
    const [s] = await upstreamsOf(srv);
    assert.equal(s?.healthy, true);
    assert.equal(s?.name, null);
  });
});
