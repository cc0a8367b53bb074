// The commands that talk to a running node and the route commands, as operators run them: every
// form of the admin address, the node's config read for its admin socket, address and token
// (--config, or the default path), route commands refused without a config, and the exit code of
// a refused reload.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nodeSetup } from '../helpers/node.ts';
import { ZONES, runCli, startFailure, startServer } from '../helpers/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgedns-cli-admin-'));
/** No config at the default path: whatever /etc/edgedns holds on this machine. */
const NO_DEFAULT = { EDGEDNS_CONFIG: join(dir, 'absent.yaml') };
const cli = (args: string[], env: NodeJS.ProcessEnv = NO_DEFAULT) => runCli(args, { env });
const noStack = (stderr: string): void => assert.doesNotMatch(stderr, /\n\s+at |internal error/, stderr);

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('admin address forms', () => {
  it('status --admin ADDR:PORT, http://ADDR:PORT and [v6]:PORT all reach the node', async () => {
    const v4 = await startServer();
    const v6 = await startServer({ args: ['--listen', '127.0.0.1:0', '--zones', ZONES, '--authoritative-only', '--admin', '[::1]:0'] });
    try {
      for (const [admin, port] of [[`127.0.0.1:${v4.adminPort}`, v4.port], [`http://127.0.0.1:${v4.adminPort}`, v4.port], [`http://127.0.0.1:${v4.adminPort}/`, v4.port], [`[::1]:${v6.adminPort}`, v6.port], [`http://[::1]:${v6.adminPort}`, v6.port]] as const) {
        const r = await cli(['status', '--admin', admin]);
        assert.equal(r.code, 0, `${admin}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^listening: 127\\.0\\.0\\.1:${port} `, 'm'), admin);
      }
    } finally {
      await v4.stop();
      await v6.stop();
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
    const srv = await startServer({ args: ['--listen', '127.0.0.1:0', '--zones', ZONES, '--authoritative-only', '--admin', 'http://127.0.0.1:0'] });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${srv.adminPort}/healthz`)).status, 200);
    } finally {
      await srv.stop();
    }
    const r = await cli(['serve', '--listen', '127.0.0.1:0', '--zones', ZONES, '--authoritative-only', '--admin', 'https://127.0.0.1:0']);
    assert.equal(r.code, 2);
    assert.match(startFailure(r.stderr), /admin\.listen: expected ADDRESS\[:PORT\], \[v6\]:PORT or http:\/\/ADDRESS:PORT, got "https:\/\/127\.0\.0\.1:0"/);
  });
});

describe("the node's config tells the CLI where its admin endpoint is", () => {
  it('TCP address and token from --config, or from the default path', async () => {
    const token = write('token', 'sesame-0123456789abcdef\n');
    const base = `listen: ["127.0.0.1:0"]\nzones: { dir: ${JSON.stringify(ZONES)} }\nupstreams: []\n`;
    const cfg = write('tcp.yaml', `${base}admin: { listen: "127.0.0.1:0", socket: null, tokenFile: ${JSON.stringify(token)} }\n`);
    const srv = await startServer({ config: cfg, args: ['--admin-socket', 'off'] });
    try {
      // The client's copy names the port the node got.
      const client = write('tcp-client.yaml', readFileSync(cfg, 'utf8').replace('"127.0.0.1:0", socket', `"127.0.0.1:${srv.adminPort}", socket`));
      const s = await cli(['status', '--config', client]);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, new RegExp(`^listening: 127\\.0\\.0\\.1:${srv.port} `, 'm'));
      // A change over TCP: the token is the config's admin.tokenFile.
      const d = await cli(['drain', '--reason', 'cli test', '--config', client]);
      assert.equal(d.code, 0, d.stderr);
      assert.match(d.stdout, /drained/);
      // No --config: the default path ($EDGEDNS_CONFIG here, /etc/edgedns/edgedns.yaml otherwise).
      const u = await cli(['undrain'], { EDGEDNS_CONFIG: client });
      assert.equal(u.code, 0, u.stderr);
      const s2 = await cli(['status', '--json'], { EDGEDNS_CONFIG: client });
      assert.equal(s2.code, 0, s2.stderr);
      assert.equal((JSON.parse(s2.stdout) as { listeners: { address: string }[] }).listeners[0]?.address, `127.0.0.1:${srv.port}`);
      // --admin with the config: its token still comes from the config.
      const d2 = await cli(['drain', '--admin', `127.0.0.1:${srv.adminPort}`, '--config', client]);
      assert.equal(d2.code, 0, d2.stderr);
      // Without a token the node refuses the change: a usage error naming why.
      const noToken = await cli(['undrain', '--admin', `127.0.0.1:${srv.adminPort}`]);
      assert.equal(noToken.code, 2);
      assert.match(noToken.stderr, /bearer token is required/);
      noStack(noToken.stderr);
    } finally {
      await srv.stop();
    }
  });
  it("the config's socket", async () => {
    const srv = await startServer();
    try {
      const client = write('sock.yaml', `admin: { socket: ${JSON.stringify(srv.adminSocket)}, listen: null }\n`);
      const r = await cli(['status', '--config', client]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^listening: 127\\.0\\.0\\.1:${srv.port} `, 'm'));
      const f = await cli(['cache', 'flush', '--config', client]);
      assert.equal(f.code, 2, 'an authoritative-only node has no cache');
      assert.match(f.stderr, /there is no cache/);
    } finally {
      await srv.stop();
    }
  });
  it('an unreachable endpoint from the config says where it looked; an invalid config is exit 2', async () => {
    const gone = write('gone.yaml', `admin: { socket: ${JSON.stringify(join(dir, 'none.sock'))}, listen: null }\n`);
    const r = await cli(['status', '--config', gone]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot reach the admin socket .*none\.sock \(from .*gone\.yaml\) \(ENOENT\)/);
    noStack(r.stderr);
    const bad = await cli(['status'], { EDGEDNS_CONFIG: write('bad.yaml', 'admin: { listen: 5 }\n') });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad\.yaml: invalid config:\n\s+admin\.listen: expected/);
    noStack(bad.stderr);
  });
});

describe('route commands need a config', () => {
  it('announce withdraw and guard without one: exit 2, a clear message, nothing run', async () => {
    for (const args of [['announce', 'withdraw'], ['announce', 'announce'], ['guard']]) {
      const r = await cli(args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, new RegExp(`^edgedns: ${args.join(' ')}: needs the node's config \\(its adapter and prefixes\\): --config FILE; the default .*absent\\.yaml does not exist\\n$`));
      assert.equal(r.stdout, '', 'no "withdraw: logged"');
    }
  });
  it('the default path when it exists', async () => {
    const n = nodeSetup();
    const r = await cli(['announce', 'withdraw'], { EDGEDNS_CONFIG: n.config });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(n.calls().map((c) => c.action), ['withdraw']);
  });
  it('a config that fails validation: exit 2 with the problem, the adapter not run', async () => {
    const n = nodeSetup();
    writeFileSync(n.config, readFileSync(n.config, 'utf8').replace('prefixes: [127.0.0.1/32]', 'prefixes: [203.0.113.53/32]'));
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
    const cfg = write('reload.yaml', `listen: ["127.0.0.1:0"]\nzones: { dir: ${JSON.stringify(zones)} }\nupstreams: []\n`);
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
