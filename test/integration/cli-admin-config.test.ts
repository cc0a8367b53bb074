// The node's config tells the CLI where its admin endpoint is, as operators run it: the admin
// socket, address and token read from --config or the default path, and where it looked when the
// endpoint cannot be reached. (The other admin commands: cli-admin.test.ts.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliKit, noStack } from '../helpers/cli.ts';
import { ZONES, startServer } from '../helpers/server.ts';

const { dir, cli, write } = cliKit('edgedns-cli-admin-config-');

describe("the node's config tells the CLI where its admin endpoint is", () => {
  it('TCP address and token from --config, or from the default path', async () => {
    const token = write('token', 'sesame-0123456789abcdef\n');
    const base = `listen: ["127.0.0.1:0"]\nzones: { dir: ${JSON.stringify(ZONES)} }\nupstreams: []\n`;
    const cfg = write(
      'tcp.yaml',
      `${base}admin: { listen: "127.0.0.1:0", socket: null, tokenFile: ${JSON.stringify(token)} }\n`,
    );
    const srv = await startServer({ config: cfg, args: ['--admin-socket', 'off'] });
    try {
      // The client's copy names the port the node got.
      const client = write(
        'tcp-client.yaml',
        readFileSync(cfg, 'utf8').replace('"127.0.0.1:0", socket', `"127.0.0.1:${srv.adminPort}", socket`),
      );
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
      assert.equal(
        (JSON.parse(s2.stdout) as { listeners: { address: string }[] }).listeners[0]?.address,
        `127.0.0.1:${srv.port}`,
      );
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
