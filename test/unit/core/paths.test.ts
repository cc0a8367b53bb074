// The default admin socket: the service's runtime folder, root's, the session's, else a private one per user.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { adminSocketCandidates, defaultAdminSocket } from '../../../src/core/index.ts';
import { validateConfig } from '../../../src/config/index.ts';

describe('default admin socket', () => {
  it('follows systemd, then root, then the session, then a folder per user', () => {
    const cases: [Record<string, string>, number, string][] = [
      [{ RUNTIME_DIRECTORY: '/run/edgedns', XDG_RUNTIME_DIR: '/run/user/1000' }, 998, '/run/edgedns/admin.sock'],
      [{ RUNTIME_DIRECTORY: '/run/edgedns:/run/other' }, 998, '/run/edgedns/admin.sock'],
      [{ XDG_RUNTIME_DIR: '/run/user/0' }, 0, '/run/edgedns/admin.sock'],
      [{ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000, '/run/user/1000/edgedns/admin.sock'],
      [{}, 1000, join(tmpdir(), 'edgedns-1000', 'admin.sock')],
    ];
    for (const [env, uid, want] of cases)
      assert.equal(defaultAdminSocket({ env, uid }), want, JSON.stringify({ env, uid }));
  });
  it('the CLI also looks in the service folder, once', () => {
    assert.deepEqual(adminSocketCandidates({ env: { XDG_RUNTIME_DIR: '/run/user/1000' }, uid: 1000 }), [
      '/run/user/1000/edgedns/admin.sock',
      '/run/edgedns/admin.sock',
    ]);
    assert.deepEqual(adminSocketCandidates({ env: {}, uid: 0 }), ['/run/edgedns/admin.sock']);
  });
  it('admin.socket in the config: auto, an absolute path short enough for sun_path, or null', () => {
    assert.match(String(validateConfig({}).admin.socket), /admin\.sock$/);
    assert.equal(validateConfig({ admin: { socket: null } }).admin.socket, null);
    assert.equal(validateConfig({ admin: { socket: '/run/x/admin.sock' } }).admin.socket, '/run/x/admin.sock');
    assert.throws(
      () => validateConfig({ admin: { socket: 'admin.sock' } }),
      /admin\.socket: expected "auto" or an absolute path/,
    );
    assert.throws(
      () => validateConfig({ admin: { socket: `/${'x'.repeat(120)}` } }),
      /admin\.socket: expected "auto" or an absolute path of at most 107 bytes/,
    );
    assert.throws(() => validateConfig({ admin: { hosts: ['bad name'] } }), /admin\.hosts\[0\]: expected a host name/);
  });
});
