// Startup, reload on SIGHUP (a bad file keeps the running data), stop on SIGTERM/SIGINT, IPv6.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dig } from '../helpers/dig.ts';
import { ZONES, runCli, startFailure, startServer } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';

const waitFor = async (cond: () => boolean, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  assert.ok(cond(), 'condition not met in time');
};

describe('lifecycle', () => {
  it('SIGHUP reloads zones; a broken zone keeps the running data and logs why', async () => {
    const dir = tempDir('edgedns-reload-');
    const zone = join(dir, 'reload.test.zone');
    writeFileSync(zone, '$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.10\n');
    const srv = await startServer({ args: ['--listen', '127.0.0.1:0', '--zones', dir, '--authoritative-only'] });
    try {
      assert.equal((await dig(srv, ['www.reload.test'])).answer[0]?.data, '192.0.2.10');
      writeFileSync(zone, '$TTL 60\n@ SOA ns h 2 1 1 1 1\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.20\n');
      srv.proc.kill('SIGHUP');
      await waitFor(() => srv.logs().includes('"reload ok"'));
      assert.equal((await dig(srv, ['www.reload.test'])).answer[0]?.data, '192.0.2.20');
      writeFileSync(zone, '$TTL 60\n@ SOA ns h 3 1 1 1 1\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.300\n');
      srv.proc.kill('SIGHUP');
      await waitFor(() => srv.logs().includes('"reload failed'));
      assert.match(srv.logs(), /reload\.test\.zone:5: expected an IPv4 address, got \\"192\.0\.2\.300\\"/);
      assert.equal((await dig(srv, ['www.reload.test'])).answer[0]?.data, '192.0.2.20', 'the running zone is kept');
    } finally {
      assert.equal(await srv.stop('SIGINT'), 0);
    }
  });

  it('SIGTERM stops cleanly with exit 0 and logs stop', async () => {
    const srv = await startServer();
    assert.equal(await srv.stop('SIGTERM'), 0);
    assert.match(srv.logs(), /"msg":"stopped"/);
  });

  it('a bad config is fatal at startup: exit 2, every problem named', async () => {
    const dir = tempDir('edgedns-badcfg-');
    const cfg = join(dir, 'edgedns.yaml');
    writeFileSync(cfg, 'listen: ["127.0.0.1:0"]\nupstreams: []\nedns: { udpPayload: 99999 }\nnope: 1\n');
    const r = await runCli(['serve', '--config', cfg]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /edns\.udpPayload: expected an integer 512\.\.4096, got 99999/);
    assert.match(r.stderr, /nope: unknown key/);
  });

  it('a bad zone is fatal at startup: exit 1 with file and line', async () => {
    const dir = tempDir('edgedns-badzone-');
    copyFileSync(join(ZONES, 'example.test.zone'), join(dir, 'example.test.zone'));
    writeFileSync(join(dir, 'broken.test.zone'), '$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns MX x\n');
    const r = await runCli(['serve', '--listen', '127.0.0.1:0', '--zones', dir, '--authoritative-only']);
    assert.equal(r.code, 1);
    assert.match(startFailure(r.stderr), /broken\.test\.zone:4: preference: expected an integer, got "x"/);
  });

  it('a busy address is a clear startup error', async () => {
    const srv = await startServer();
    try {
      const r = await runCli(['serve', '--listen', `127.0.0.1:${srv.port}`, '--zones', ZONES, '--authoritative-only']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`cannot listen on (udp|tcp) 127\\.0\\.0\\.1:${srv.port}`));
    } finally {
      await srv.stop();
    }
  });

  it('listens on IPv6 loopback and several addresses at once', async () => {
    const srv = await startServer({
      args: ['--listen', '127.0.0.1:0', '--listen', '[::1]:0', '--zones', ZONES, '--authoritative-only'],
    });
    try {
      const m = /"address":"::1","port":(\d+)/.exec(srv.logs());
      assert.ok(m, srv.logs());
      const r6 = await dig({ host: '::1', port: Number(m[1]) }, ['+tcp', 'www.example.test', 'AAAA']);
      assert.equal(r6.answer[0]?.data, '2001:db8::80');
      const r4 = await dig({ host: '::1', port: Number(m[1]) }, ['www.example.test', 'AAAA']);
      assert.equal(r4.status, 'NOERROR');
    } finally {
      await srv.stop();
    }
  });
});
