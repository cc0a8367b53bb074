// What the one-shot commands take from the node's config: the admin address forms, the default
// config path, and which admin endpoint flags and config choose.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { adminEndpoint, parseAdminAddress, requireConfig } from '../../../src/cli/config.ts';
import { EdgeError } from '../../../src/core/index.ts';
import { tempDir } from '../../helpers/tmp.ts';

const dir = tempDir('edgedns-cli-config-');
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const NO_DEFAULT = { EDGEDNS_CONFIG: join(dir, 'absent.yaml') };
const usageError = (re: RegExp) => (e: unknown) =>
  e instanceof EdgeError && e.code === 'ERR_CLI_USAGE' && re.test(e.message);

describe('parseAdminAddress: every form an admin address is written in', () => {
  const table: [string, string][] = [
    ['127.0.0.1:9153', 'http://127.0.0.1:9153/'],
    ['127.0.0.1', 'http://127.0.0.1:9153/'],
    ['[::1]:9154', 'http://[::1]:9154/'],
    ['::1', 'http://[::1]:9153/'],
    ['2001:db8::53', 'http://[2001:db8::53]:9153/'],
    ['localhost:9155', 'http://localhost:9155/'],
    ['http://127.0.0.1:9153', 'http://127.0.0.1:9153/'],
    ['http://127.0.0.1:9153/', 'http://127.0.0.1:9153/'],
    ['http://[::1]:8080', 'http://[::1]:8080/'],
    ['http://edge1.example.org', 'http://edge1.example.org:9153/'],
    ['http://proxy.example.org:80/edgedns', 'http://proxy.example.org/edgedns/'],
  ];
  for (const [text, want] of table) it(`${text} → ${want}`, () => assert.equal(parseAdminAddress(text).href, want));
  for (const bad of [
    '',
    'bogus::',
    '127.0.0.1:99999',
    '127.0.0.1:0',
    '[192.0.2.1]:53',
    '127.0.0.1:9153/path',
    'http://127.0.0.1:9153?x=1',
    'http://',
  ]) {
    it(`"${bad}" is a usage error naming the forms`, () =>
      assert.throws(
        () => parseAdminAddress(bad),
        usageError(/--admin: expected ADDR:PORT, \[v6\]:PORT or http:\/\/HOST:PORT, got/),
      ));
  }
  it('https is refused: the endpoint has no TLS', () =>
    assert.throws(() => parseAdminAddress('https://127.0.0.1:9153'), usageError(/plain http/)));
});

describe('requireConfig: route commands need a config', () => {
  it('the one given, else the default path when it exists', () => {
    assert.equal(requireConfig('/x.yaml', 'guard', NO_DEFAULT), '/x.yaml');
    const d = file('default.yaml', '{}\n');
    assert.equal(requireConfig(undefined, 'guard', { EDGEDNS_CONFIG: d }), d);
  });
  it('none: a usage error that says what to give', () => {
    assert.throws(
      () => requireConfig(undefined, 'announce withdraw', NO_DEFAULT),
      usageError(
        /^announce withdraw: needs the node's config .*--config FILE; the default .*absent\.yaml does not exist$/,
      ),
    );
  });
});

describe('adminEndpoint: flags, then the config, then the default sockets', () => {
  it('--admin-socket wins, and takes no token', () => {
    assert.deepEqual(adminEndpoint({ adminSocket: '/run/x.sock' }, NO_DEFAULT), {
      kind: 'socket',
      path: '/run/x.sock',
      given: true,
      candidates: ['/run/x.sock'],
      config: undefined,
    });
    assert.throws(
      () => adminEndpoint({ adminSocket: '/x', tokenFile: '/t' }, NO_DEFAULT),
      usageError(/--token-file goes with TCP/),
    );
    assert.throws(
      () => adminEndpoint({ adminSocket: '/x', admin: '127.0.0.1:1' }, NO_DEFAULT),
      usageError(/exclude each other/),
    );
  });
  it('--admin and --token-file need no config: a broken default config is not read', () => {
    const broken = file('broken.yaml', 'listen: 5\n');
    const ep = adminEndpoint({ admin: '127.0.0.1:9153', tokenFile: '/t' }, { EDGEDNS_CONFIG: broken });
    assert.equal(
      ep.kind === 'tcp' && `${ep.url.href} ${ep.tokenFile} ${ep.tokenFrom}`,
      'http://127.0.0.1:9153/ /t --token-file',
    );
    assert.throws(
      () => adminEndpoint({ admin: '127.0.0.1:9153' }, { EDGEDNS_CONFIG: broken }),
      (e: unknown) => e instanceof EdgeError && e.code === 'ERR_CONFIG_INVALID',
    );
  });
  it("--admin takes the token from the config's admin.tokenFile", () => {
    const c = file('tok.yaml', 'admin: { tokenFile: /etc/edgedns/admin-token }\n');
    const ep = adminEndpoint({ admin: '[::1]:9153', config: c }, NO_DEFAULT);
    assert.equal(
      ep.kind === 'tcp' && `${ep.url.href} ${ep.tokenFile} ${ep.tokenFrom}`,
      `http://[::1]:9153/ /etc/edgedns/admin-token admin.tokenFile of ${c}`,
    );
  });
  it("the config's socket when it is there", async () => {
    const sock = join(dir, 'admin.sock');
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const c = file('sock.yaml', `admin: { socket: ${sock}, listen: "127.0.0.1:9999" }\n`);
      assert.deepEqual(adminEndpoint({}, { EDGEDNS_CONFIG: c }), {
        kind: 'socket',
        path: sock,
        given: false,
        candidates: [sock],
        config: c,
      });
      // --token-file asks for TCP: the config's address.
      const ep = adminEndpoint({ tokenFile: '/t' }, { EDGEDNS_CONFIG: c });
      assert.equal(ep.kind === 'tcp' && ep.url.href, 'http://127.0.0.1:9999/');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
  it("the config's TCP address (a wildcard as loopback) and token when its socket is absent or off", () => {
    const table: [string, string][] = [
      [
        `admin: { socket: ${join(dir, 'gone.sock')}, listen: "127.0.0.1:9999", tokenFile: /t }`,
        'http://127.0.0.1:9999/ /t',
      ],
      ['admin: { socket: null, listen: "0.0.0.0:9153" }', 'http://127.0.0.1:9153/ null'],
      ['admin: { socket: null, listen: "[::]:9153" }', 'http://[::1]:9153/ null'],
      ['admin: { socket: null, listen: "http://[2001:db8::1]:9000" }', 'http://[2001:db8::1]:9000/ null'],
    ];
    table.forEach(([yaml, want], i) => {
      const ep = adminEndpoint({ config: file(`tcp${i}.yaml`, `${yaml}\n`) }, NO_DEFAULT);
      assert.equal(ep.kind === 'tcp' && `${ep.url.href} ${ep.tokenFile}`, want, yaml);
    });
  });
  it('a config whose admin address cannot be reached from here is a usage error', () => {
    assert.throws(
      () => adminEndpoint({ config: file('p0.yaml', 'admin: { socket: null, listen: "127.0.0.1:0" }\n') }, NO_DEFAULT),
      usageError(/port 0 .*--admin ADDR:PORT/),
    );
    assert.throws(
      () => adminEndpoint({ config: file('off.yaml', 'admin: { socket: null, listen: null }\n') }, NO_DEFAULT),
      usageError(/admin endpoint is off in .*off\.yaml/),
    );
    assert.throws(
      () => adminEndpoint({ config: join(dir, 'nothing.yaml') }, NO_DEFAULT),
      (e: unknown) => e instanceof EdgeError && e.code === 'ERR_CONFIG_READ',
    );
  });
  it('no flags and no config: the default sockets, as before', () => {
    const ep = adminEndpoint({}, NO_DEFAULT);
    assert.equal(ep.kind, 'socket');
    assert.ok(ep.kind === 'socket' && !ep.given && ep.candidates.includes('/run/edgedns/admin.sock'));
    assert.throws(() => adminEndpoint({ tokenFile: '/t' }, NO_DEFAULT), usageError(/--token-file goes with TCP/));
  });
});
