// The commands that talk to a running node and the route commands, as operators run them: every
// form of the admin address, route commands refused without a config, and the exit code of a
// refused reload. (The node's config read for its admin socket, address and token:
// cli-admin-config.test.ts.)
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliKit, noStack } from '../helpers/cli.ts';
import { nodeSetup } from '../helpers/node.ts';
import { ZONES, startFailure, startServer } from '../helpers/server.ts';

const { dir, cli, write } = cliKit('edgedns-cli-admin-');

describe('admin address forms', () => {
  it('status --admin ADDR:PORT, http://ADDR:PORT and [v6]:PORT all reach the node', async () => {
    const v4 = await startServer();
    const v6 = await startServer({
      args: ['--listen', '127.0.0.1:0', '--zones', ZONES, '--authoritative-only', '--admin', '[::1]:0'],
    });
    try {
      for (const [admin, port] of [
        [`127.0.0.1:${v4.adminPort}`, v4.port],
        [`http://127.0.0.1:${v4.adminPort}`, v4.port],
        [`http://127.0.0.1:${v4.adminPort}/`, v4.port],
        [`[::1]:${v6.adminPort}`, v6.port],
        [`http://[::1]:${v6.adminPort}`, v6.port],
      ] as const) {
        const r = await cli(['status', '--admin', admin]);
        assert.equal(r.code, 0, `${admin}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^listening: 127\\.0\\.0\\.1:${port} `, 'm'), admin);
      }
    } finally {
      await Promise.all([v4.stop(), v6.stop()]);
    }
  });
  it('a bad address is a usage error, exit 2, no stack trace', async () => {
    for (const bad of ['bogus::', '127.0.0.1:99999', 'https://127.0.0.1:9153']) {
      const r = await cli(['status', '--admin', bad]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /^edgedns: --admin: /);
      noStack(r.stderr);
    }
  });
  it('serve --admin takes the same forms', async () => {
    const srv = await startServer({
      args: ['--listen', '127.0.0.1:0', '--zones', ZONES, '--authoritative-only', '--admin', 'http://127.0.0.1:0'],
    });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${srv.adminPort}/healthz`)).status, 200);
    } finally {
      await srv.stop();
    }
    const r = await cli([
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--zones',
      ZONES,
      '--authoritative-only',
      '--admin',
      'https://127.0.0.1:0',
    ]);
    assert.equal(r.code, 2);
    assert.match(
      startFailure(r.stderr),
      /admin\.listen: expected ADDRESS\[:PORT\], \[v6\]:PORT or http:\/\/ADDRESS:PORT, got "https:\/\/127\.0\.0\.1:0"/,
    );
  });
});

describe('route commands need a config', () => {
  it('announce withdraw and guard without one: exit 2, a clear message, nothing run', async () => {
    for (const args of [['announce', 'withdraw'], ['announce', 'announce'], ['guard']]) {
      const r = await cli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(
        r.stderr,
        new RegExp(
          `^edgedns: ${args.join(' ')}: needs the node's config \\(its adapter and prefixes\\): --config FILE; the default .*absent\\.yaml does not exist\\n$`,
        ),
      );
      assert.equal(r.stdout, '', 'no "withdraw: logged"');
    }
  });
  it('the default path when it exists', async () => {
    const n = nodeSetup();
    const r = await cli(['announce', 'withdraw'], { EDGEDNS_CONFIG: n.config });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      n.calls().map((c) => c.action),
      ['withdraw'],
    );
  });
  it('a config that fails validation: exit 2 with the problem, the adapter not run', async () => {
    const n = nodeSetup();
    writeFileSync(
      n.config,
      readFileSync(n.config, 'utf8').replace('prefixes: [127.0.0.1/32]', 'prefixes: [203.0.113.53/32]'),
    );
    const r = await cli(['announce', 'withdraw', '--config', n.config]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /announce\.prefixes\[0\]: no listen address is in 203\.0\.113\.53\/32/);
    assert.deepEqual(n.calls(), []);
  });
});

describe('a refused reload exits as the matching check', () => {
  it('1 for a rejected zone (as zone check), 2 for an invalid config (as config check)', async () => {
    const zones = join(dir, 'reload-zones');
    mkdirSync(zones);
    copyFileSync(join(ZONES, 'example.test.zone'), join(zones, 'example.test.zone'));
    const cfg = write(
      'reload.yaml',
      `listen: ["127.0.0.1:0"]\nzones: { dir: ${JSON.stringify(zones)} }\nupstreams: []\n`,
    );
    const srv = await startServer({ config: cfg, args: [] });
    const admin = ['--admin-socket', String(srv.adminSocket)];
    try {
      const zoneText = readFileSync(join(zones, 'example.test.zone'), 'utf8');
      writeFileSync(join(zones, 'example.test.zone'), `${zoneText}bad.example.test. 60 IN AAAA 192.0.2.1\n`);
      const z = await cli(['reload', ...admin]);
      assert.equal(z.code, 1, z.stderr);
      assert.match(z.stderr, /example\.test\.zone:\d+: expected an IPv6 address, got "192\.0\.2\.1"/);
      const check = await cli(['zone', 'check', join(zones, 'example.test.zone'), 'example.test.']);
      assert.equal(check.code, z.code, 'zone check says the same');
      writeFileSync(join(zones, 'example.test.zone'), zoneText);
      writeFileSync(cfg, `${readFileSync(cfg, 'utf8')}bogus: 1\n`);
      const c = await cli(['reload', ...admin]);
      assert.equal(c.code, 2, c.stderr);
      assert.match(c.stderr, /bogus: unknown key/);
      assert.equal((await cli(['config', 'check', cfg])).code, c.code, 'config check says the same');
      noStack(z.stderr + c.stderr);
    } finally {
      await srv.stop();
    }
  });
});
