// Attack from upstream: a forward zone's DNS-over-TLS upstream accepts the TLS connection and then
// never answers, trickles its answers a byte at a time, sends garbage, or answers with wrong IDs,
// while a flood of unique names under the zone keeps asking it. The node keeps answering its local
// zones (the harness's legitimate client) and the names of its other upstream, the queries in
// flight stay at the per-zone cap, connections to the upstream do not pile up, memory stays
// bounded, the node stays UP; and once the upstream behaves, the zone is answered again (a probe
// after the back-off). Loopback only; bounded in count and time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { uniqueNames } from '../helpers/attacks.ts';
import type { DotMode } from '../helpers/dot-upstream.ts';
import { FakeDotUpstream } from '../helpers/dot-upstream.ts';
import type { HostileNode } from '../helpers/hostile.ts';
import { metric, peakSampler, startNode } from '../helpers/hostile.ts';
import { PATIENCE_MS, until } from '../helpers/node.ts';
import type { TestCertificate } from '../helpers/tls.ts';
import { makeCertificate } from '../helpers/tls.ts';
import { tempDir } from '../helpers/tmp.ts';
import { FakeUpstream } from '../helpers/upstream.ts';
import { decode, frame, query, tcpConnect, udpExchange } from '../helpers/wire.ts';
import { underAttack } from './harness.ts';

/** The flood's zone (uniqueNames asks under flood.example.org): counted under example.org by the per-zone cap. */
const PER_ZONE = 100;
/** Unique names a second from 127.0.0.3, each a miss to forward to the hostile upstream. */
const RATE = 200;
const ATTACK_MS = 8000;
/** Resident memory the attack may add to the answering process (failures remembered, buffers). */
const RSS_GROWTH_MAX_MIB = 64;

interface StatusUpstream {
  healthy: boolean;
  reason: string | null;
  transport: string;
}

const modes: DotMode[] = ['silent', 'trickle', 'garbage', 'wrong-id'];

for (const mode of modes) {
  describe(`hostile: a DoT upstream that accepts TLS, then ${mode}`, () => {
    let cert: TestCertificate;
    let evil: FakeDotUpstream;
    let good: FakeUpstream;
    let node: HostileNode;
    before(async () => {
      cert = makeCertificate(tempDir('edgedns-hostile-dot-'), 'dns.example.test');
      evil = await FakeDotUpstream.start(cert);
      good = await FakeUpstream.start();
      node = await startNode({
        workers: 1,
        extra: [
          `upstreams: ["127.0.0.1:${good.port}"]`,
          'forward:',
          `  - zone: example.org.`,
          `    upstreams: [{ address: "127.0.0.1:${evil.port}", tls: { name: dns.example.test, caFile: ${JSON.stringify(cert.ca)} } }]`,
          'recursion: { allow: ["127.0.0.0/8"] }',
          `fetchLimits: { inFlight: 2000, perZone: ${PER_ZONE} }`,
          // Tries of 2 s: the fake upstreams live in this busy test process (the flood's sender too).
          'resolver: { timeout: 2s, deadline: 4s }',
        ],
      });
    });
    after(async () => {
      await node?.stop();
      await evil?.close();
      await good?.close();
    });

    it('local zones and the other upstream answered, in flight at the cap, connections and memory bounded, UP; back when it behaves', async (t) => {
      evil.mode = mode;
      const mismatchedBefore = await metric(node.adminPort, 'edgedns_upstream_mismatched_replies_total');
      const inFlight = peakSampler(() => metric(node.adminPort, 'edgedns_upstream_queries_in_flight'), 0);
      // The node's own longest event-loop stall, scrape by scrape (a diagnostic: the client judges).
      const stall = peakSampler(() => metric(node.adminPort, 'nodejs_eventloop_lag_max_seconds'), 0, 500);
      let openPeak = 0;
      const conns = setInterval(() => (openPeak = Math.max(openPeak, evil.open)), 20);
      // Over TCP, which shedding never drops: names under the zone that reach its upstream however
      // busy the machine, and names of the other (default) upstream, ten a second, all through the attack.
      const otherAsker = await tcpConnect(node.srv.port, '127.0.0.1', '127.0.0.5');
      const other = { asked: 0, answered: 0, failed: [] as string[] };
      let attacking = true;
      const otherNames = (async () => {
        for (let i = 0; attacking; i++, await sleep(100)) {
          const name = `n${i}.good.example.net`;
          otherAsker.sock.write(frame(query(name, 'A', { id: i & 0xffff })));
          const [reply] = (await otherAsker.next(i + 1, 10_000)).slice(i);
          other.asked++;
          const rcode = reply ? decode(reply).rcode : 'no reply';
          if (rcode === 'NXDOMAIN' && good.names.includes(name)) other.answered++;
          else other.failed.push(`${name}: ${rcode}`);
        }
      })();
      // Connected when the attack starts: an idle connection is closed at tcp.firstQueryTimeout,
      // and starting the legitimate client takes seconds on a busy machine.
      let zoneAsker: Awaited<ReturnType<typeof tcpConnect>> | undefined;
      const zoneNames = async (): Promise<number> => {
        const asker = await tcpConnect(node.srv.port, '127.0.0.1', '127.0.0.4');
        zoneAsker = asker;
        let sent = 0;
        for (const t0 = performance.now(); performance.now() - t0 < ATTACK_MS; await sleep(100))
          for (let k = 0; k < 5; k++, sent++)
            asker.sock.write(frame(query(`t${sent}.tcp.example.org`, 'A', { id: sent & 0xffff })));
        return sent;
      };
      let o;
      try {
        o = await underAttack(t, node, () =>
          Promise.all([
            uniqueNames({ port: node.srv.port, from: '127.0.0.3', ms: ATTACK_MS, rate: RATE }),
            zoneNames(),
          ]),
        );
      } finally {
        attacking = false;
        await otherNames;
        clearInterval(conns);
        zoneAsker?.sock.destroy();
        otherAsker.sock.destroy();
      }
      const [flood, overTcp] = o.attack;
      const peak = inFlight.stop();
      const stallMs = stall.stop() * 1000;
      const mismatched = (await metric(node.adminPort, 'edgedns_upstream_mismatched_replies_total')) - mismatchedBefore;
      const s = (await (await fetch(`http://127.0.0.1:${node.adminPort}/status`)).json()) as {
        forward: { zone: string; upstreams: StatusUpstream[] }[];
      };
      const hostile = s.forward[0]?.upstreams[0];
      t.diagnostic(
        `flood: ${flood.sent} unique names sent over UDP, ${overTcp} over TCP; the upstream got ${evil.queries} queries on ${evil.accepted} connections (at most ${openPeak} open at once); ${mismatched} replies dropped as mismatched; upstream resolutions in flight at most ${peak}`,
      );
      t.diagnostic(
        `the other upstream: ${other.answered} of ${other.asked} names answered ${other.failed.slice(0, 3).join('; ')}`,
      );
      t.diagnostic(
        `the hostile upstream in /status: ${JSON.stringify(hostile)}; longest event-loop stall ${stallMs.toFixed(0)} ms`,
      );

      assert.ok(flood.sent >= (RATE * ATTACK_MS) / 1000 / 2, `the attacker sent ${flood.sent}`);
      assert.ok(evil.queries >= 1, 'the flood reached the hostile upstream');
      assert.ok(peak <= PER_ZONE + 1, `at most ${PER_ZONE} resolutions in flight (and the other names' one): ${peak}`);
      assert.ok(openPeak <= 2, `connections to the upstream do not pile up: ${openPeak} open at once`);
      assert.ok(other.asked >= 3, `the other upstream was asked ${other.asked} times`);
      assert.deepEqual(other.failed, [], 'every name of the other upstream answered by it');
      assert.ok(
        o.rss.peak - o.rss.before < RSS_GROWTH_MAX_MIB,
        `RSS grew ${(o.rss.peak - o.rss.before).toFixed(1)} MiB (bound ${RSS_GROWTH_MAX_MIB})`,
      );
      if (mode === 'garbage' || mode === 'wrong-id') assert.ok(mismatched > 0, 'its replies were dropped');
      assert.equal(hostile?.transport, 'tls');
      assert.equal(hostile?.healthy, false, 'marked down');
      assert.match(hostile?.reason ?? '', /^(no DoT reply from|DoT 127\.0\.0\.1:\d+: )/);

      // It behaves again: a probe after the back-off finds it, and the zone is answered.
      evil.mode = 'answer';
      let i = 0;
      await until(
        async () => {
          const r = await udpExchange(node.srv.port, query(`back${i++}.example.org`, 'A'), 10_000);
          return r !== null && decode(r).rcode === 'NXDOMAIN';
        },
        PATIENCE_MS * 2,
        'the forward zone answered again',
      );
      assert.equal(node.srv.proc.exitCode, null, 'the node lives');
    });
  });
}
