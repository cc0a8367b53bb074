// The reload policy a fleet needs: changed content needs a higher SOA serial, reloads are
// coalesced (one running, one pending), and `workers: N` loads the files once per reload.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dig } from '../helpers/dig.ts';
import { PATIENCE_MS, until } from '../helpers/node.ts';
import { rawRequest } from '../helpers/http.ts';
import { parseProm, value } from '../helpers/prom.ts';
import { runCli, startServer } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';

const zoneText = (serial: number, www: string): string =>
  `$TTL 60\n@ SOA ns h ${serial} 1 1 1 1\n@ NS ns\nns A 192.0.2.1\nwww A ${www}\n`;

async function setup(extra: string[] = []) {
  const dir = tempDir('edgedns-serial-');
  const zone = join(dir, 'serial.test.zone');
  writeFileSync(zone, zoneText(10, '192.0.2.10'));
  // No linger: these tests reload a node, they do not stop an announced one (5 s a stop otherwise).
  const cfg = join(dir, 'edgedns.yaml');
  writeFileSync(
    cfg,
    `listen: ["127.0.0.1:0"]\nzones: { dir: ${JSON.stringify(dir)} }\nupstreams: []\nannounce: { shutdownLinger: 0s }\n`,
  );
  const srv = await startServer({ config: cfg, args: extra });
  const metrics = async () => parseProm(await (await fetch(`http://127.0.0.1:${srv.adminPort}/metrics`)).text());
  const reload = (args: string[] = []) => runCli(['reload', '--admin-socket', String(srv.adminSocket), ...args]);
  const www = async () => (await dig(srv, ['www.serial.test'])).answer[0]?.data;
  return { dir, zone, srv, metrics, reload, www };
}

describe('reload policy', () => {
  for (const workers of ['1', '2']) {
    it(`changed content with the same serial is refused, naming the file and both serials (workers: ${workers})`, async () => {
      const t = await setup(['--workers', workers]);
      try {
        writeFileSync(t.zone, zoneText(10, '192.0.2.20'));
        const r = await t.reload();
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          /serial\.test\.zone: zone serial\.test\. changed but its SOA serial did not increase \(running 10, file 10\)/,
        );
        assert.equal(await t.www(), '192.0.2.10', 'the running zone stays');
        assert.equal(value(await t.metrics(), 'edgedns_zone_serial_refused_total'), 1);
        assert.equal(value(await t.metrics(), 'edgedns_config_reloads_total', { result: 'error' }), 1);
        // A lower serial is refused too (RFC 1982 arithmetic), a higher one goes.
        writeFileSync(t.zone, zoneText(9, '192.0.2.20'));
        assert.equal((await t.reload()).code, 1);
        writeFileSync(t.zone, zoneText(11, '192.0.2.20'));
        const ok = await t.reload();
        assert.equal(ok.code, 0, ok.stderr);
        const answers = await Promise.all(Array.from({ length: 10 }, () => t.www()));
        assert.deepEqual(new Set(answers), new Set(['192.0.2.20']), 'every worker switched');
        // Same content, same serial: nothing to refuse.
        assert.match((await t.reload()).stdout, /reloaded: 1 zone\(s\), unchanged/);
      } finally {
        await t.srv.stop();
      }
    });
  }

  it('a worker restarting during a reload ends up on the new zones, and the zones check agrees', async () => {
    const t = await setup(['--workers', '2']);
    try {
      const status = async () =>
        (await fetch(`http://127.0.0.1:${t.srv.adminPort}/status`)).json() as Promise<{
          workers: { pids: number[]; listening: number };
        }>;
      const [victim] = (await status()).workers.pids as [number];
      writeFileSync(t.zone, zoneText(15, '192.0.2.50'));
      process.kill(victim, 'SIGKILL');
      // The reload runs while the worker restarts from the load before it.
      const r = await t.reload();
      assert.equal(r.code, 0, r.stderr);
      await until(async () => (await status()).workers.listening === 2, PATIENCE_MS, 'the restarted worker to listen');
      let answers: (string | undefined)[] = [];
      await until(
        async () =>
          (answers = await Promise.all(Array.from({ length: 20 }, () => t.www()))).every((a) => a === '192.0.2.50'),
        PATIENCE_MS,
        'both workers to answer from the new load',
      ).catch(() => undefined);
      assert.deepEqual(new Set(answers), new Set(['192.0.2.50']), 'both workers answer from the new load');
      await new Promise((res) => setTimeout(res, 1500));
      const s = JSON.stringify(await status());
      assert.doesNotMatch(s, /older zone load/);
      assert.equal((await fetch(`http://127.0.0.1:${t.srv.adminPort}/readyz`)).status, 200);
    } finally {
      await t.srv.stop();
    }
  });

  it('serialPolicy: any accepts a change without a new serial (as BIND)', async () => {
    const t = await setup();
    const cfg = join(t.dir, 'edgedns.yaml');
    writeFileSync(
      cfg,
      `zones:\n  dir: ${t.dir}\n  serialPolicy: any\nupstreams: []\nlisten: ["127.0.0.1:0"]\nannounce: { shutdownLinger: 0s }\n`,
    );
    await t.srv.stop();
    const srv = await startServer({ config: cfg, args: [] });
    try {
      writeFileSync(t.zone, zoneText(10, '192.0.2.30'));
      const r = await runCli(['reload', '--admin-socket', String(srv.adminSocket)]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await dig(srv, ['www.serial.test'])).answer[0]?.data, '192.0.2.30');
    } finally {
      await srv.stop();
    }
  });

  it('reloads asked for while one runs become one more, whatever their number', async () => {
    const t = await setup();
    try {
      writeFileSync(t.zone, zoneText(12, '192.0.2.40'));
      const post = () =>
        rawRequest(
          { socket: String(t.srv.adminSocket) },
          'POST',
          '/reload',
          { host: 'localhost', 'content-type': 'application/json' },
          '{}',
        );
      const posts = (await Promise.all(Array.from({ length: 12 }, post))).map(
        (r) => JSON.parse(r.body) as { ok: boolean },
      );
      assert.ok(posts.every((p) => p.ok));
      // The first runs; the eleven others share the one after it.
      assert.equal(value(await t.metrics(), 'edgedns_config_reloads_total', { result: 'ok' }), 2);
      assert.equal(await t.www(), '192.0.2.40');
      // And reloading goes on working after a burst: a second burst, then one alone.
      writeFileSync(t.zone, zoneText(13, '192.0.2.41'));
      const again = (await Promise.all(Array.from({ length: 3 }, post))).map(
        (r) => JSON.parse(r.body) as { ok: boolean },
      );
      assert.ok(again.every((p) => p.ok));
      writeFileSync(t.zone, zoneText(14, '192.0.2.42'));
      const alone = await t.reload();
      assert.equal(alone.code, 0, alone.stderr);
      assert.equal(await t.www(), '192.0.2.42');
      assert.equal(value(await t.metrics(), 'edgedns_config_reloads_total', { result: 'ok' }), 5);
    } finally {
      await t.srv.stop();
    }
  });
});
