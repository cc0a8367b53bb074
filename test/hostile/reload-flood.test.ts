// Attack: reloads of a 200k-record zone, asked for over and over (SIGHUP every 500 ms, the content
// changing each time) while a legitimate client asks from 127.0.0.2. Zones load in a thread and
// are decoded between queries: the client stays answered, the node stays UP, the reloads are
// coalesced, and the last change is what ends up served.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { dig } from '../helpers/dig.ts';
import { describe as describeResult, legitClient, nodeHealth, rssMb } from '../helpers/hostile.ts';
import { parseProm, value } from '../helpers/prom.ts';
import { ZONES, startServer } from '../helpers/server.ts';

const RECORDS = 200_000;
const SIGHUPS = 20;

function bigZone(dir: string): string {
  const lines = ['$TTL 3600', '$INCLUDE soa.inc', '@ NS ns1', 'ns1 A 192.0.2.1'];
  for (let i = 0; i < RECORDS; i++) lines.push(`h${i} A 198.51.100.${i % 250}`);
  writeFileSync(join(dir, 'big.test.zone'), `${lines.join('\n')}\n`);
  const soa = join(dir, 'soa.inc');
  writeFileSync(soa, '@ SOA ns1 hostmaster 1 3600 600 86400 300\n');
  return soa;
}

for (const workers of [1, 2]) {
  test(`reloading a ${RECORDS}-record zone ${SIGHUPS} times (workers: ${workers}): answered, UP, coalesced`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'edgedns-bigzone-'));
    copyFileSync(join(ZONES, 'example.test.zone'), join(dir, 'example.test.zone'));
    const soa = bigZone(dir);
    const srv = await startServer({ args: ['--listen', '127.0.0.1:0', '--zones', dir, '--authoritative-only', '--workers', String(workers)], timeoutMs: 150_000 });
    try {
      const admin = srv.adminPort as number;
      const metrics = async () => parseProm(await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text());
      for (let i = 0; i < 100 && !(await nodeHealth(admin)).ready; i++) await sleep(200);
      assert.ok((await nodeHealth(admin)).ready, 'ready before the attack');
      const pids = workers > 1 ? ((await (await fetch(`http://127.0.0.1:${admin}/status`)).json()) as { workers: { pids: number[] } }).workers.pids : [srv.proc.pid as number];
      const rss = () => pids.reduce((a, p) => a + rssMb(p), rssMb(srv.proc.pid as number) * (workers > 1 ? 1 : 0));
      const rssBefore = rss();
      let rssPeak = rssBefore;
      const legit = await legitClient({ port: srv.port, from: '127.0.0.2', rate: 100, maxMs: 200_000 });
      for (let serial = 2; serial < 2 + SIGHUPS; serial++) {
        writeFileSync(soa, `@ SOA ns1 hostmaster ${serial} 3600 600 86400 300\n`);
        srv.proc.kill('SIGHUP');
        await sleep(500);
        rssPeak = Math.max(rssPeak, rss());
      }
      const last = 1 + SIGHUPS;
      // Wait (bounded) for the last change to be served: the pending reload picks it up.
      const served = async () => Number((await dig(srv, ['big.test', 'SOA'])).answer[0]?.data.split(' ')[2]);
      const t0 = performance.now();
      while ((await served()) !== last && performance.now() - t0 < 150_000) {
        rssPeak = Math.max(rssPeak, rss());
        await sleep(500);
      }
      const r = await legit.stop();
      const m = await metrics();
      const reloads = value(m, 'edgedns_config_reloads_total', { result: 'ok' });
      const h = await nodeHealth(admin);
      t.diagnostic(`legitimate client: ${describeResult(r)}`);
      t.diagnostic(`${SIGHUPS} SIGHUPs → ${reloads} reloads; RSS ${rssBefore.toFixed(0)} MiB before, ${rssPeak.toFixed(0)} MiB peak, ${rss().toFixed(0)} MiB after`);
      assert.equal(await served(), last, 'the last change is served');
      assert.ok(r.rate >= 0.99, `legitimate client answered ${(r.rate * 100).toFixed(2)}% (< 99%)`);
      assert.ok(reloads >= 2 && reloads <= SIGHUPS / 2, `coalesced: ${reloads} reloads for ${SIGHUPS} SIGHUPs`);
      assert.ok(h.ready && h.up, 'still UP and announced');
      assert.equal(h.flaps, 0, 'never withdrawn');
      assert.equal(h.workerRestarts, 0, 'no worker restarted');
      // The old and the new zone set exist together during a swap, and the loader thread's copy
      // besides: bounded by a few times the resting size.
      assert.ok(rssPeak < rssBefore * 4 + 512, `RSS peak ${rssPeak.toFixed(0)} MiB (resting ${rssBefore.toFixed(0)} MiB)`);
    } finally {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
