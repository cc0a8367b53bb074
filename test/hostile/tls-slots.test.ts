// TLS slots: attacker addresses open as many connections as they can to the DoT and DoH ports and
// never start the TLS handshake. The TCP caps refuse them at accept (before any handshake work), a
// handshake not done within tcp.firstQueryTimeout is closed, and the node's own DoT and DoH probes
// (from its listen address, a reserved slot) keep passing: the node stays UP, and a legitimate DoT
// client still gets its answer.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { freePort } from '../../bench/procs.ts';
import { tcpSlots } from '../helpers/attacks.ts';
import { dig } from '../helpers/dig.ts';
import type { HostileNode } from '../helpers/hostile.ts';
import { metric, startNode } from '../helpers/hostile.ts';
import { makeCertificate } from '../helpers/tls.ts';
import { tempDir } from '../helpers/tmp.ts';
import { underAttack } from './harness.ts';

describe('TLS slots (DoT and DoH)', () => {
  let node: HostileNode;
  after(async () => {
    await node?.stop();
  });

  it('refuses over the caps, closes handshakes that never come; the probes keep their slots', async (t) => {
    const cert = makeCertificate(tempDir('edgedns-tls-slots-'), 'dns.example.test');
    const dot = await freePort();
    const doh = await freePort();
    node = await startNode({
      workers: 1,
      extra: [
        'tcp: { maxConnections: 100, maxPerClient: 16, firstQueryTimeout: 2s }',
        `dot: { listen: ["127.0.0.1:${dot}"] }`,
        `doh: { listen: ["127.0.0.1:${doh}"] }`,
        `tls: { certFile: ${JSON.stringify(cert.cert)}, keyFile: ${JSON.stringify(cert.key)} }`,
      ],
    });
    const attack = (port: number) =>
      tcpSlots({
        port,
        groups: [
          [3, 4],
          [7, 6],
        ],
        perClient: 100,
        rounds: 2,
        pauseMs: 3000,
        maxMs: 20_000,
      });
    const { attack: done } = await underAttack(t, node, () => Promise.all([attack(dot), attack(doh)]), 8000);
    const perClient = await metric(node.adminPort, 'edgedns_tcp_connections_refused_total', { reason: 'per_client' });
    const handshake = await metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline: 'handshake' });
    const idle = await metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline: 'idle' });
    t.diagnostic(
      `attacker connections ${done.map((d) => d.connections).join(' + ')}; refused per_client ${perClient}; closed at handshake ${handshake}, idle ${idle}`,
    );
    assert.ok(perClient > 0, 'the per-client cap refused some');
    assert.ok(handshake > 0, 'handshakes that never came were closed');
    // A legitimate DoT and DoH client, from another address, right after.
    for (const [port, flag] of [
      [dot, '+tls'],
      [doh, '+https'],
    ] as const) {
      const r = await dig({ host: '127.0.0.1', port }, ['-b', '127.0.0.2', flag, 'www.example.test', 'A']);
      assert.equal(r.status, 'NOERROR', r.raw);
    }
  });
});
