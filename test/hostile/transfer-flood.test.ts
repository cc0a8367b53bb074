// Zone transfers nobody reads: 8 clients (127.0.0.3…10, all in transferTo) each ask 3 AXFR at once
// of a zone of 100,000 TXT records (about 8 MB, more than the kernel's buffers hold), read the
// first message and then nothing. The caps hold (2 transfers per client per answering process, 10
// in all), the others are REFUSED at once, the node closes the readers that stall (the drain
// deadline; the attacker holds them 30 s, time enough for each process to read the zone and
// stall), and all the while it answers its legitimate clients over UDP (the harness) and TCP;
// afterwards a transfer runs to its end again.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { axfr } from '../../src/client/index.ts';
import { transferFlood } from '../helpers/attacks.ts';
import type { HostileNode } from '../helpers/hostile.ts';
import { metric, startNode } from '../helpers/hostile.ts';
import { tempDir } from '../helpers/tmp.ts';
import { decode, frame, query, tcpConnect } from '../helpers/wire.ts';
import { underAttack } from './harness.ts';

const RECORDS = 100_000;
const CLIENTS = 8;
const PER_CLIENT = 3;
const TOTAL_CAP = 10;

/** A folder with big.test (RECORDS TXT records) and a small zone for the legitimate clients. */
function zones(): string {
  const dir = join(tempDir('edgedns-xfr-flood-'), 'zones');
  mkdirSync(dir);
  const lines = ['$TTL 300', '@ SOA ns1 hostmaster 1 3600 600 86400 300', '@ NS ns1', 'ns1 A 192.0.2.1'];
  for (let i = 0; i < RECORDS; i++) lines.push(`h${i} TXT "record ${i} of a zone larger than the socket buffers"`);
  writeFileSync(join(dir, 'big.test.zone'), `${lines.join('\n')}\n`);
  writeFileSync(
    join(dir, 'example.test.zone'),
    '$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.80\n',
  );
  return dir;
}

/** A TCP client from 127.0.1.1: a query for www.example.test every 100 ms, a connection each. */
function tcpClient(port: number): { stop(): Promise<{ sent: number; answered: number }> } {
  let stopped = false;
  let sent = 0;
  let answered = 0;
  const loop = (async () => {
    while (!stopped) {
      sent++;
      try {
        const c = await tcpConnect(port, '127.0.0.1', '127.0.1.1');
        c.sock.write(frame(query('www.example.test', 'A', { id: sent })));
        const [r] = await c.next(1, 2000);
        if (r && decode(r).answers.some((a) => a.data === '192.0.2.80')) answered++;
        c.sock.destroy();
      } catch {
        // counted as not answered
      }
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { sent, answered };
    },
  };
}

for (const workers of [1, 2]) {
  describe(`zone transfers nobody reads, workers: ${workers}`, () => {
    let node: HostileNode;
    after(async () => {
      await node?.stop();
    });

    it('caps the transfers, closes the readers that stall, and keeps answering UDP and TCP', async (t) => {
      node = await startNode({
        workers,
        zonesDir: zones(),
        zoneKeys: 'transferTo: [{ address: 127.0.0.0/8 }]',
        startMs: 120_000,
      });
      const tcp = tcpClient(node.srv.port);
      const { attack } = await underAttack(
        t,
        node,
        () =>
          transferFlood({
            port: node.srv.port,
            zone: 'big.test',
            clients: CLIENTS,
            perClient: PER_CLIENT,
            holdMs: 30_000,
          }),
        8000,
      );
      const legitTcp = await tcp.stop();
      const started = Object.values(attack.started).reduce((a, b) => a + b, 0);
      const limited = await metric(node.adminPort, 'edgedns_zone_transfers_out_total', { result: 'limited' });
      const failed = await metric(node.adminPort, 'edgedns_zone_transfers_out_total', { result: 'failed' });
      const drained = await metric(node.adminPort, 'edgedns_tcp_timeouts_total', { deadline: 'drain' });
      t.diagnostic(
        `transfers started ${started} ${JSON.stringify(attack.started)}, refused ${attack.refused}, unanswered ${attack.unanswered}; node: limited ${limited}, failed ${failed}, drain timeouts ${drained}; TCP client ${legitTcp.answered}/${legitTcp.sent}`,
      );
      assert.equal(attack.unanswered, 0, 'every request had its verdict');
      assert.equal(started + attack.refused, CLIENTS * PER_CLIENT);
      assert.ok(started >= 2 && started <= TOTAL_CAP, `${started} transfers at once (cap ${TOTAL_CAP})`);
      for (const [from, n] of Object.entries(attack.started))
        assert.ok(n <= 2 * workers, `${from}: ${n} transfers at once (2 per answering process)`);
      assert.equal(limited, attack.refused, 'each refusal counted as limited');
      assert.ok(failed >= 1 && drained >= 1, 'the node closed readers that stopped reading');
      assert.ok(legitTcp.sent >= 50, `the TCP client sent ${legitTcp.sent}`);
      assert.equal(legitTcp.answered, legitTcp.sent, 'every TCP query answered');
      // The slots came back: a transfer that is read runs to its end.
      const z = await axfr({ host: '127.0.0.1', port: node.srv.port }, 'big.test.', {
        key: null,
        timeoutMs: 60_000,
        maxBytes: 64 << 20,
        from: '127.0.1.2',
      });
      assert.equal(z.records.length, RECORDS + 3);
    });
  });
}
