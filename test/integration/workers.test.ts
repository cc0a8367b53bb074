// `workers: N`: several processes answer on the same sockets; the primary keeps one admin endpoint,
// merges the metrics, reloads and flushes every worker, restarts a dead one, and takes them all
// down with it. The real server, queried with dig.
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, readdirSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dig } from '../helpers/dig.ts';
import { PATIENCE_MS, until } from '../helpers/node.ts';
import { parseProm, value } from '../helpers/prom.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ZONES, runCli, startServer } from '../helpers/server.ts';
import { FakeUpstream } from '../helpers/upstream.ts';
import { udpReusePort } from '../../src/server/index.ts';
import { decode, query, udpExchange } from '../helpers/wire.ts';
import { tempDir } from '../helpers/tmp.ts';

const SITE = 'workers-site';
let up: FakeUpstream;
let srv: RunningServer;
let zoneFile: string;

before(async () => {
  up = await FakeUpstream.start();
  up.set('www.example.org', 'A', 300, '192.0.2.1');
  const dir = tempDir('edgedns-workers-');
  zoneFile = join(dir, 'example.test.zone');
  copyFileSync(join(ZONES, 'example.test.zone'), zoneFile);
  const cfg = join(dir, 'edgedns.yaml');
  writeFileSync(
    cfg,
    [
      'listen: ["127.0.0.1:0"]',
      'workers: 2',
      `zones: { dir: ${JSON.stringify(dir)} }`,
      `upstreams: ["127.0.0.1:${up.port}"]`,
      `site: { id: ${SITE} }`,
    ].join('\n'),
  );
  srv = await startServer({ config: cfg, args: [] });
});
after(async () => {
  await srv.stop();
  await up.close();
});

const admin = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${srv.adminPort}${path}`, init);
const metrics = async () => parseProm(await (await admin('/metrics')).text());
const status = async () =>
  (await (await admin('/status')).json()) as {
    workers: { configured: number; listening: number; pids: number[] };
    zones: { serial: number }[];
    cache: { entries: number } | null;
  };
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The UDP sockets bound to 127.0.0.1:port (from /proc/net/udp) and the processes holding each. */
function udpSocketHolders(port: number, pids: number[]): number[][] {
  const want = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === want)
    .map((f) => f[9] as string);
  const holds = (pid: number, inode: string): boolean =>
    readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`;
      } catch {
        return false;
      }
    });
  return inodes
    .map((i) => pids.filter((p) => holds(p, i)).sort((a, b) => a - b))
    .sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
}

describe('workers: 2', () => {
  it('runs two worker processes that answer over UDP and TCP with the site identity', async () => {
    const s = await status();
    assert.equal(s.workers.configured, 2);
    assert.equal(s.workers.listening, 2);
    assert.equal(s.workers.pids.length, 2);
    assert.ok(!s.workers.pids.includes(srv.proc.pid as number), 'the primary does not answer DNS itself');
    for (const transport of ['+notcp', '+tcp']) {
      const r = await dig(srv, [transport, '+nsid', 'www.example.test']);
      assert.equal(r.status, 'NOERROR');
      assert.equal(r.answer[0]?.data, '192.0.2.80');
      assert.equal(r.nsid, SITE);
    }
  });

  it('serves one /metrics with the counts of every worker added up, and the primary health state', async () => {
    const before = value(await metrics(), 'edgedns_queries_total', { transport: 'udp', qtype: 'AAAA' });
    // Enough queries that both workers take some (the kernel picks the reader of each datagram).
    await Promise.all(Array.from({ length: 40 }, (_, i) => dig(srv, ['+notcp', `n${i}.example.test`, 'AAAA'])));
    const m = await metrics();
    assert.equal(value(m, 'edgedns_queries_total', { transport: 'udp', qtype: 'AAAA' }) - before, 40);
    assert.equal(value(m, 'edgedns_workers_configured'), 2);
    assert.equal(value(m, 'edgedns_workers_listening'), 2);
    assert.equal(
      value(m, 'edgedns_health_state', { state: 'UP' }) + value(m, 'edgedns_health_state', { state: 'RISING' }),
      1,
    );
    assert.equal(value(m, 'edgedns_build_info', { site: SITE }), 1);
  });

  it('forwards, caches in the workers, and flushes every worker', async () => {
    for (let i = 0; i < 6; i++) assert.equal((await dig(srv, ['www.example.org'])).answer[0]?.data, '192.0.2.1');
    const s = await status();
    // Each worker has a cache of its own: the name is in one or both.
    assert.ok(s.cache && s.cache.entries >= 1 && s.cache.entries <= 2, `cache entries ${s.cache?.entries}`);
    const r = await runCli(['cache', 'flush', '--admin-socket', String(srv.adminSocket)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`flushed ${s.cache?.entries} entries`));
    assert.equal((await status()).cache?.entries, 0);
  });

  it('each worker has upstream sockets of its own: many distinct names, every one answered, none lost to a sibling', async () => {
    const m0 = await metrics();
    const names = Array.from({ length: 400 }, (_, i) => `u${i}.example.org`);
    const replies: (Buffer | null)[] = [];
    // 20 at a time, so the kernel spreads them over both workers.
    for (let i = 0; i < names.length; i += 20) {
      replies.push(
        ...(await Promise.all(
          names.slice(i, i + 20).map((n, j) => udpExchange(srv.port, query(n, 'A', { id: i + j + 1, rd: true }), 3000)),
        )),
      );
    }
    const rcodes = replies.map((r) => (r ? decode(r).rcode : 'lost'));
    assert.deepEqual(new Set(rcodes), new Set(['NXDOMAIN']), 'every name answered from the upstream');
    const m = await metrics();
    const delta = (name: string, labels: Record<string, string> = {}): number =>
      value(m, name, labels) - value(m0, name, labels);
    assert.equal(delta('edgedns_upstream_timeouts_total'), 0, 'no upstream query timed out');
    assert.equal(delta('edgedns_upstream_mismatched_replies_total'), 0, 'no reply was read by the wrong worker');
  });

  it('reloads every worker, and a bad zone file keeps them all answering from the running zones', async () => {
    const text = readFileSync(zoneFile, 'utf8');
    const serial = (await status()).zones[0]?.serial as number;
    writeFileSync(zoneFile, text.replace(String(serial), String(serial + 1)));
    const ok = await runCli(['reload', '--admin-socket', String(srv.adminSocket)]);
    assert.equal(ok.code, 0, ok.stderr);
    const serials = await Promise.all(Array.from({ length: 20 }, () => dig(srv, ['example.test', 'SOA'])));
    assert.deepEqual(new Set(serials.map((r) => r.answer[0]?.data.split(' ')[2])), new Set([String(serial + 1)]));

    writeFileSync(zoneFile, `${text}\nbroken line here\n`);
    const bad = await runCli(['reload', '--admin-socket', String(srv.adminSocket)]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr + bad.stdout, /example\.test\.zone:\d+/);
    const still = await Promise.all(Array.from({ length: 20 }, () => dig(srv, ['example.test', 'SOA'])));
    assert.deepEqual(new Set(still.map((r) => r.answer[0]?.data.split(' ')[2])), new Set([String(serial + 1)]));
    writeFileSync(zoneFile, text);
  });

  it('restarts a worker killed with SIGKILL while the other one answers', async () => {
    const [victim, other] = (await status()).workers.pids as [number, number];
    process.kill(victim, 'SIGKILL');
    for (let i = 0; i < 10; i++) assert.equal((await dig(srv, ['www.example.test'])).status, 'NOERROR');
    await until(() => !alive(victim), PATIENCE_MS, 'the killed worker to be gone');
    let s = await status();
    await until(async () => (s = await status()).workers.listening === 2, PATIENCE_MS, 'a new worker to listen');
    assert.ok(s.workers.pids.includes(other));
    assert.ok(!s.workers.pids.includes(victim));
    assert.equal(value(await metrics(), 'edgedns_worker_restarts_total'), 1);
    assert.match(srv.logs(), /"msg":"worker exited; restarting it".*"signal":"SIGKILL"/);
  });

  it('a restarted worker answers from the zones the others serve, not from files changed since', async () => {
    const text = readFileSync(zoneFile, 'utf8');
    const serial = Number((await dig(srv, ['example.test', 'SOA'])).answer[0]?.data.split(' ')[2]);
    writeFileSync(zoneFile, text.replace(String(serial), String(serial + 7)));
    const [victim] = (await status()).workers.pids as [number];
    process.kill(victim, 'SIGKILL');
    await until(() => !alive(victim), PATIENCE_MS, 'the killed worker to be gone');
    await until(async () => (await status()).workers.listening === 2, PATIENCE_MS, 'a new worker to listen');
    const answers = await Promise.all(Array.from({ length: 20 }, () => dig(srv, ['example.test', 'SOA'])));
    assert.deepEqual(new Set(answers.map((r) => r.answer[0]?.data.split(' ')[2])), new Set([String(serial)]));
    writeFileSync(zoneFile, text);
  });

  it('UDP, restarted workers included: a socket per worker where this Node has reusePort, else one the primary shares', async () => {
    const workers = [...(await status()).workers.pids].sort((a, b) => a - b);
    const primary = srv.proc.pid as number;
    const holders = udpSocketHolders(srv.port, [primary, ...workers]);
    if (await udpReusePort()) {
      assert.deepEqual(
        holders,
        workers.map((w) => [w]),
      );
      assert.match(srv.logs(), /"msg":"workers listening".*"udp":"a socket per worker \(reusePort\)"/);
    } else {
      assert.deepEqual(holders, [[primary, ...workers].sort((a, b) => a - b)]);
      assert.match(srv.logs(), /"msg":"workers listening".*"udp":"shared through the primary"/);
    }
  });

  it('retries a worker that cannot start again, with back-off, until it can', async () => {
    const restarts = value(await metrics(), 'edgedns_worker_restarts_total');
    const [victim] = (await status()).workers.pids as [number];
    // A worker starts from the zone image its primary wrote; take it away (as a tmp cleaner would).
    const env = readFileSync(`/proc/${victim}/environ`, 'utf8')
      .split('\0')
      .find((e) => e.startsWith('EDGEDNS_WORKER='));
    const image = (JSON.parse(env?.slice('EDGEDNS_WORKER='.length) ?? '{}') as { image: string }).image;
    renameSync(image, `${image}.away`);
    process.kill(victim, 'SIGKILL');
    // Killed, then started at once and failed (no image), then again after 1 s and failed.
    await until(
      async () => value(await metrics(), 'edgedns_worker_restarts_total') >= restarts + 3,
      PATIENCE_MS,
      'restarted and retried',
    );
    assert.equal((await status()).workers.listening, 1);
    assert.equal((await dig(srv, ['www.example.test'])).status, 'NOERROR');
    renameSync(`${image}.away`, image);
    await until(
      async () => (await status()).workers.listening === 2,
      PATIENCE_MS,
      'the worker to listen again once it can load its zones',
    );
    assert.match(srv.logs(), /"msg":"worker restart failed".*zones-\d+\.img/);
  });

  it('stops its workers when it stops', async () => {
    const pids = (await status()).workers.pids;
    assert.equal(await srv.stop(), 0);
    for (const pid of pids) await until(() => !alive(pid), PATIENCE_MS, `worker ${pid} to exit`);
  });
});

describe('workers without their primary', () => {
  it('exit when the primary is killed with SIGKILL (nobody would watch health or routes)', async () => {
    const s = await startServer({
      args: ['--listen', '127.0.0.1:0', '--zones', ZONES, '--authoritative-only', '--workers', '2'],
    });
    const pids = (
      (await (await fetch(`http://127.0.0.1:${s.adminPort}/status`)).json()) as { workers: { pids: number[] } }
    ).workers.pids;
    assert.equal(pids.length, 2);
    await s.stop('SIGKILL');
    for (const pid of pids) await until(() => !alive(pid), PATIENCE_MS, `worker ${pid} to exit`);
  });

  it('a worker that cannot bind fails the start with the reason', async () => {
    const holder = await startServer();
    const r = await runCli([
      'serve',
      '--listen',
      `127.0.0.1:${holder.port}`,
      '--zones',
      ZONES,
      '--authoritative-only',
      '--workers',
      '2',
      '--admin',
      'off',
    ]);
    await holder.stop();
    assert.equal(r.code, 2); // as without workers
    assert.match(r.stderr, new RegExp(`cannot listen on (udp|tcp) 127\\.0\\.0\\.1:${holder.port}`));
  });
});
