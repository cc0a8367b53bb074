// The admin endpoint's rules: no Origin, our Host only, changes over the socket or with the token over TCP, JSON bodies, bounded numbers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { silentLogger } from '../../../src/core/index.ts';
import { durationField, hostAllowed, startAdmin, unknownField } from '../../../src/metrics/index.ts';
import { rawRequest } from '../../helpers/http.ts';
import { tempDir } from '../../helpers/tmp.ts';

const TOKEN = 's3cret-token-0123456789';
const MAX = { ms: 3_600_000, text: '1h' };

async function admin(opts: { tokenFile?: string } = {}) {
  const dir = tempDir('edgedns-admin-');
  const socket = join(dir, 'admin.sock');
  const calls: Record<string, unknown>[] = [];
  const registry = new Registry();
  const a = await startAdmin({
    listen: { host: '127.0.0.1', port: 0 },
    socket,
    tokenFile: opts.tokenFile ?? null,
    registry: () => registry,
    status: () => ({ site: 'x' }),
    ready: () => ({ ready: true, reason: 'test' }),
    actions: {
      // As app.ts builds /drill/fail: the same field checks.
      '/drill/fail': (body) => {
        const bad = unknownField(body, ['for']);
        const ms = durationField(body, 'for', MAX);
        if (bad) return { ok: false, message: bad };
        if (ms === null || typeof ms === 'string') return { ok: false, message: ms ?? 'for: required' };
        calls.push(body);
        return { ok: true, message: `failing for ${ms} ms` };
      },
    },
    log: silentLogger,
  });
  return { a, dir, socket, port: a.port as number, calls };
}

/** Run `fn` against a fresh endpoint, closed whatever happens. */
async function withAdmin(
  opts: { tokenFile?: string },
  fn: (s: Awaited<ReturnType<typeof admin>>) => Promise<void>,
): Promise<void> {
  const s = await admin(opts);
  try {
    await fn(s);
  } finally {
    await s.a.close();
  }
}

const request = rawRequest;

const JSON_TYPE = { 'content-type': 'application/json' };

describe('admin endpoint rules', () => {
  it('refuses any request carrying an Origin header, on TCP and on the socket', async () => {
    await withAdmin({}, async (s) => {
      const host = { host: `127.0.0.1:${s.port}` };
      for (const origin of ['http://attacker.example', 'null', `http://127.0.0.1:${s.port}`]) {
        const r = await request(
          { port: s.port },
          'POST',
          '/drill/fail',
          { ...host, ...JSON_TYPE, origin },
          '{"for":"5s"}',
        );
        assert.equal(r.status, 403, origin);
        assert.match(r.body, /Origin/);
      }
      assert.equal(
        (await request({ port: s.port }, 'GET', '/status', { ...host, origin: 'http://attacker.example' })).status,
        403,
        'reads too',
      );
      const viaSocket = await request(
        { socket: s.socket },
        'POST',
        '/drill/fail',
        { host: 'localhost', ...JSON_TYPE, origin: 'http://attacker.example' },
        '{"for":"5s"}',
      );
      assert.equal(viaSocket.status, 403);
      assert.equal(s.calls.length, 0);
    });
  });

  it('refuses a Host that is not the admin address (DNS rebinding), reads included', async () => {
    await withAdmin({}, async (s) => {
      for (const host of [
        `attacker.example:${s.port}`,
        `rebind.127.0.0.1.nip.example:${s.port}`,
        '127.0.0.1:1',
        '127.0.0.1',
        '',
      ]) {
        assert.equal((await request({ port: s.port }, 'GET', '/metrics', { host })).status, 403, `GET Host "${host}"`);
        assert.equal(
          (await request({ socket: s.socket }, 'POST', '/drill/fail', { host, ...JSON_TYPE }, '{"for":"5s"}')).status,
          403,
          `socket Host "${host}"`,
        );
      }
      // Node's HTTP server answers 400 itself to an HTTP/1.1 request without Host.
      assert.equal((await request({ port: s.port }, 'GET', '/metrics', {})).status, 400, 'no Host at all');
      for (const host of [`127.0.0.1:${s.port}`, `localhost:${s.port}`, `[::1]:${s.port}`])
        assert.equal((await request({ port: s.port }, 'GET', '/metrics', { host })).status, 200, host);
      assert.equal(s.calls.length, 0);
    });
  });

  it('knows which Host headers name the endpoint', () => {
    const cases: [string | undefined, string, number, string[], boolean][] = [
      ['127.0.0.1:9153', '127.0.0.1', 9153, [], true],
      ['LOCALHOST:9153', '127.0.0.1', 9153, [], true],
      ['127.0.0.1:9154', '127.0.0.1', 9153, [], false],
      ['192.0.2.7:9153', '127.0.0.1', 9153, [], false],
      ['192.0.2.7:9153', '0.0.0.0', 9153, [], true],
      ['[2001:db8::1]:9153', '::', 9153, [], true],
      ['edge1.example.org:9153', '0.0.0.0', 9153, [], false],
      ['edge1.example.org:9153', '0.0.0.0', 9153, ['edge1.example.org'], true],
      ['localhost', '127.0.0.1', 80, [], true],
      [undefined, '127.0.0.1', 9153, [], false],
      ['127.0.0.1:9153@x', '127.0.0.1', 9153, [], false],
    ];
    for (const [h, listen, port, extra, want] of cases)
      assert.equal(hostAllowed(h, listen, port, extra), want, `${h} on ${listen}:${port}`);
  });

  it('over TCP a change needs the token: none, a wrong one and no token file are refused; the right one is accepted', async () => {
    const dir = tempDir('edgedns-admin-');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    await withAdmin({ tokenFile }, async (s) => {
      const host = { host: `127.0.0.1:${s.port}`, ...JSON_TYPE };
      const none = await request({ port: s.port }, 'POST', '/drill/fail', host, '{"for":"5s"}');
      assert.equal(none.status, 401, 'loopback is not trusted');
      const wrong = await request(
        { port: s.port },
        'POST',
        '/drill/fail',
        { ...host, authorization: 'Bearer wrong-token-0123456789' },
        '{"for":"5s"}',
      );
      assert.equal(wrong.status, 401);
      assert.equal(s.calls.length, 0);
      const ok = await request(
        { port: s.port },
        'POST',
        '/drill/fail',
        { ...host, authorization: `Bearer ${TOKEN}` },
        '{"for":"5s"}',
      );
      assert.equal(ok.status, 200, ok.body);
      assert.equal(s.calls.length, 1);
    });
    await withAdmin({}, async (off) => {
      const r = await request(
        { port: off.port },
        'POST',
        '/drill/fail',
        { host: `127.0.0.1:${off.port}`, ...JSON_TYPE, authorization: `Bearer ${TOKEN}` },
        '{"for":"5s"}',
      );
      assert.equal(r.status, 403);
      assert.match(r.body, /use the admin socket/);
      assert.equal(off.calls.length, 0);
    });
  });

  it('over the socket a change needs no token; reads stay open over TCP', async () => {
    await withAdmin({}, async (s) => {
      const r = await request(
        { socket: s.socket },
        'POST',
        '/drill/fail',
        { host: 'localhost', ...JSON_TYPE },
        '{"for":"5s"}',
      );
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(s.calls, [{ for: '5s' }]);
      for (const path of ['/metrics', '/healthz', '/readyz', '/status'])
        assert.equal((await request({ port: s.port }, 'GET', path, { host: `127.0.0.1:${s.port}` })).status, 200, path);
    });
  });

  it('a change is a JSON object: other content types get 415, other bodies 400', async () => {
    const s = await admin();
    const sock = { socket: s.socket };
    try {
      for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
        assert.equal(
          (await request(sock, 'POST', '/drill/fail', { host: 'localhost', 'content-type': type }, 'for=5s')).status,
          415,
          type,
        );
      }
      assert.equal(
        (await request(sock, 'POST', '/drill/fail', { host: 'localhost' }, '{"for":"5s"}')).status,
        415,
        'no content type',
      );
      for (const body of ['[1,2]', '"5s"', '{"for":', 'null'])
        assert.equal(
          (await request(sock, 'POST', '/drill/fail', { host: 'localhost', ...JSON_TYPE }, body)).status,
          400,
          body,
        );
      assert.equal(
        (
          await request(
            sock,
            'POST',
            '/drill/fail',
            { host: 'localhost', 'content-type': 'application/json; charset=utf-8' },
            '{"for":2}',
          )
        ).status,
        200,
        'with a charset',
      );
      assert.equal(s.calls.length, 1);
    } finally {
      await s.a.close();
    }
  });

  it('bad numbers are a 400 naming the field, never a 500', async () => {
    await withAdmin({}, async (s) => {
      for (const body of [
        '{"for":1e300}',
        '{"for":-5}',
        '{"for":"NaN"}',
        '{"for":0}',
        '{"for":"1e300s"}',
        '{"for":"99999999999999w"}',
        '{"for":true}',
        '{"for":"5s","then":1}',
      ]) {
        const r = await request({ socket: s.socket }, 'POST', '/drill/fail', { host: 'localhost', ...JSON_TYPE }, body);
        assert.equal(r.status, 400, body);
        assert.match((JSON.parse(r.body) as { message: string }).message, /^(for|then): /, body);
      }
      assert.equal(s.calls.length, 0);
    });
  });

  it('duration fields: within bounds, or a message naming the field', () => {
    assert.equal(durationField({ for: '10s' }, 'for', MAX), 10_000);
    assert.equal(durationField({ for: 1.5 }, 'for', MAX), 1500);
    assert.equal(durationField({ for: '1h' }, 'for', MAX), 3_600_000);
    assert.equal(durationField({}, 'for', MAX), null);
    for (const v of [1e300, -1, 0, '1h1ms', 'NaN', Number.NaN, '', [], {}])
      assert.match(
        String(durationField({ for: v }, 'for', MAX)),
        /^for: expected a duration from 1ms to 1h/,
        JSON.stringify(v),
      );
    assert.equal(unknownField({ for: 1 }, ['for']), null);
    assert.match(String(unknownField({ force: 1 }, ['for'])), /^force: unknown field/);
  });

  it('the socket is mode 0660, a stale one is replaced, a live one is refused, and it is removed at close', async () => {
    const s = await admin();
    assert.equal(lstatSync(s.socket).mode & 0o777, 0o660);
    await assert.rejects(
      startAdmin({
        listen: null,
        socket: s.socket,
        tokenFile: null,
        registry: () => new Registry(),
        status: () => ({}),
        ready: () => ({ ready: true, reason: '' }),
        actions: {},
        log: silentLogger,
      }),
      /another process is listening on it/,
    );
    await s.a.close();
    assert.equal(existsSync(s.socket), false);
    // A crashed node leaves its socket file behind: a process that listens there and is killed.
    const crashed = spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(s.socket)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    assert.equal(crashed.signal, 'SIGKILL');
    assert.ok(lstatSync(s.socket).isSocket(), 'the stale socket is there');
    const again = await startAdmin({
      listen: null,
      socket: s.socket,
      tokenFile: null,
      registry: () => new Registry(),
      status: () => ({}),
      ready: () => ({ ready: true, reason: 'again' }),
      actions: {},
      log: silentLogger,
    });
    try {
      assert.equal(
        (await request({ socket: s.socket }, 'GET', '/readyz', { host: 'localhost' })).body,
        'ready: again\n',
      );
    } finally {
      await again.close();
    }
    writeFileSync(join(s.dir, 'not-a-socket'), 'x');
    await assert.rejects(
      startAdmin({
        listen: null,
        socket: join(s.dir, 'not-a-socket'),
        tokenFile: null,
        registry: () => new Registry(),
        status: () => ({}),
        ready: () => ({ ready: true, reason: '' }),
        actions: {},
        log: silentLogger,
      }),
      /exists and is not a socket/,
    );
  });

  it('rejects a short token file at startup', async () => {
    const dir = tempDir('edgedns-admin-');
    writeFileSync(join(dir, 't'), 'short');
    await assert.rejects(admin({ tokenFile: join(dir, 't') }), /shorter than 16/);
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    await withAdmin({}, async (s) => {
      assert.equal((await request({ port: s.port }, 'GET', '/nope', { host: `127.0.0.1:${s.port}` })).status, 404);
      assert.equal((await request({ socket: s.socket }, 'DELETE', '/drill/fail', { host: 'localhost' })).status, 405);
    });
  });
});
