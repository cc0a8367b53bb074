// The admin endpoint attacked as a web page in a browser on the host and a neighbouring process would: each attempt refused, the node still UP, ready and not drained; the operator's CLI still drives it over the socket.
// And as a client on the network would, now that fleet peers read it: connections held open or
// trickled, and requests as fast as it can send them; the node keeps answering DNS and other clients.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as http from 'node:http';
import * as net from 'node:net';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_LIMITS } from '../../src/metrics/index.ts';
import { describe as describeResult, legitClientProcess, nodeHealth } from '../helpers/hostile.ts';
import { rawRequest } from '../helpers/http.ts';
import { runCli, startServer } from '../helpers/server.ts';
import type { RunningServer } from '../helpers/server.ts';

/** GET /status over `agent` (a keep-alive connection of the flooding client), the body read whole. */
function fetchStatus(agent: http.Agent, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: '/status', headers: { host }, agent, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

let srv: RunningServer;
let port: number;
let socket: string;

/** Poll `cond` every 100 ms for at most `ms`. */
async function waitFor(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  for (let waited = 0; !(await cond()); waited += 100) {
    if (waited >= ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

const healthState = async (): Promise<string> => {
  const r = await rawRequest({ port }, 'GET', '/status', { host: `127.0.0.1:${port}` });
  return (JSON.parse(r.body) as { health: { state: string } }).health.state;
};

/** UP, ready and not drained, with no withdrawal since it rose. */
async function assertUntouched(): Promise<void> {
  const h = await nodeHealth(port);
  assert.equal(h.ready, true, 'still ready');
  assert.equal(h.up, true, 'still UP');
  assert.equal(h.flaps, 0, 'never withdrawn');
  // SHEDDING is in service too: an admin flood may well load the node.
  assert.match(await healthState(), /^(UP|SHEDDING)$/, 'not DISABLED (drained)');
  assert.doesNotMatch(srv.logs(), /"msg":"(drain|drill: injected local failure|reload ok)"/);
}

before(async () => {
  srv = await startServer();
  port = srv.adminPort as number;
  socket = srv.adminSocket as string;
  await waitFor(async () => (await nodeHealth(port)).ready, 15_000, 'the node to rise');
});

after(async () => {
  await srv.stop();
});

describe('admin endpoint under attack', () => {
  it('a web page: form and fetch POSTs carry Origin and are refused (CSRF)', async () => {
    const host = `127.0.0.1:${port}`;
    const attempts: [string, Record<string, string>, string][] = [
      // <form method=post action=http://127.0.0.1:9153/drill/fail> posts urlencoded with Origin.
      [
        '/drill/fail',
        { host, origin: 'http://attacker.example', 'content-type': 'application/x-www-form-urlencoded' },
        'for=3600',
      ],
      ['/drain', { host, origin: 'http://attacker.example', 'content-type': 'text/plain' }, '{"for":"1h"}'],
      // A sandboxed iframe or a file: page sends "null".
      ['/reload', { host, origin: 'null', 'content-type': 'application/json' }, '{}'],
      ['/drain', { host: 'localhost', origin: 'http://attacker.example', 'content-type': 'application/json' }, '{}'],
    ];
    for (const [path, headers, body] of attempts) {
      const r = await rawRequest({ port }, 'POST', path, headers, body);
      assert.equal(r.status, 403, `${path} ${JSON.stringify(headers)}`);
      assert.match(r.body, /Origin header/);
    }
    await assertUntouched();
  });

  it('a rebound name: a Host that is not the admin address is refused, reads included (DNS rebinding)', async () => {
    for (const host of [`attacker.example:${port}`, `127.0.0.1.attacker.example:${port}`]) {
      assert.equal((await rawRequest({ port }, 'GET', '/status', { host })).status, 403, `GET /status Host ${host}`);
      assert.equal((await rawRequest({ port }, 'GET', '/metrics', { host })).status, 403, `GET /metrics Host ${host}`);
      const r = await rawRequest({ port }, 'POST', '/drain', { host, 'content-type': 'application/json' }, '{}');
      assert.equal(r.status, 403, `POST /drain Host ${host}`);
      assert.match(r.body, /is not this admin endpoint/);
    }
    await assertUntouched();
  });

  it('a neighbour on loopback: a plain POST without a token is refused (no token file: none accepted)', async () => {
    const host = `127.0.0.1:${port}`;
    for (const path of ['/drill/fail', '/drain', '/reload', '/cache/flush', '/undrain']) {
      const r = await rawRequest({ port }, 'POST', path, { host, 'content-type': 'application/json' }, '{"for":"1h"}');
      assert.equal(r.status, 403, path);
      assert.match(r.body, /use the admin socket/);
      const guessed = await rawRequest(
        { port },
        'POST',
        path,
        { host, 'content-type': 'application/json', authorization: 'Bearer 0123456789abcdef0123' },
        '{"for":"1h"}',
      );
      assert.equal(guessed.status, 403, `${path} with a guessed token`);
    }
    // The CLI over TCP without a token is refused the same way, and says what to do.
    const cli = await runCli(['drain', '--admin', `http://127.0.0.1:${port}`]);
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /use the admin socket \(HTTP 403\)/);
    await assertUntouched();
  });

  it('huge, negative and non-numbers are a 400 naming the field, over the socket too', async () => {
    const bodies: [string, string][] = [
      ['/drill/fail', '{"for":1e300}'],
      ['/drill/fail', '{"for":-1}'],
      ['/drill/fail', '{"for":"NaN"}'],
      ['/drill/fail', '{"for":"99999999999999999999w"}'],
      ['/drain', '{"for":1e300}'],
      ['/drain', '{"for":-30}'],
      ['/drain', '{"reason":{"a":1}}'],
    ];
    for (const [path, body] of bodies) {
      const r = await rawRequest(
        { socket },
        'POST',
        path,
        { host: 'localhost', 'content-type': 'application/json' },
        body,
      );
      assert.equal(r.status, 400, `${path} ${body}`);
      assert.match((JSON.parse(r.body) as { message: string }).message, /^(for|reason): /, `${path} ${body}`);
    }
    const form = await rawRequest(
      { socket },
      'POST',
      '/drain',
      { host: 'localhost', 'content-type': 'application/x-www-form-urlencoded' },
      'for=1h',
    );
    assert.equal(form.status, 415);
    // Over TCP the token check comes first: a stranger learns nothing about the body rules.
    assert.equal(
      (
        await rawRequest(
          { port },
          'POST',
          '/drill/fail',
          { host: `127.0.0.1:${port}`, 'content-type': 'application/json' },
          '{"for":1e300}',
        )
      ).status,
      403,
    );
    await assertUntouched();
  });

  it('one client holding connections: at most the per-client cap stay open, silent ones are closed, others are served', async () => {
    const closed = new Set<net.Socket>();
    const socks: net.Socket[] = [];
    const open = (from: string): net.Socket => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: from });
      s.on('error', () => {});
      s.resume(); // reading, or the node's FIN goes unseen
      s.once('close', () => closed.add(s));
      socks.push(s);
      return s;
    };
    try {
      // The cap's worth first, all connected; then more from the same address.
      const held = Array.from({ length: ADMIN_LIMITS.perClient }, () => open('127.0.0.3'));
      await Promise.all(held.map((s) => once(s, 'connect')));
      const over = Array.from({ length: 100 }, () => open('127.0.0.3'));
      await waitFor(async () => over.every((s) => closed.has(s)), 30_000, 'the connections over the cap closed');
      // Closed on arrival: the held ones, silent, last until the headers deadline.
      assert.deepEqual(
        held.filter((s) => closed.has(s)),
        [],
        'the connections within the cap are still open',
      );
      const host = `127.0.0.1:${port}`;
      assert.equal((await rawRequest({ port }, 'GET', '/healthz', { host })).status, 200, 'another client is served');
      // One that trickles its headers, a byte a second, is cut off at the headers deadline too.
      const slow = open('127.0.0.4');
      const trickle = setInterval(() => slow.writable && slow.write('G'), 1000);
      try {
        await waitFor(
          async () => held.every((s) => closed.has(s)),
          ADMIN_LIMITS.headersMs + 15_000,
          'the silent connections closed',
        );
        await waitFor(async () => closed.has(slow), ADMIN_LIMITS.headersMs + 15_000, 'the trickling connection closed');
      } finally {
        clearInterval(trickle);
      }
      assert.match(
        srv.logs(),
        /"msg":"admin: connections refused, over the per-client cap","site":"[^"]*","client":"127\.0\.0\.3"/,
      );
      await assertUntouched();
    } finally {
      for (const s of socks) s.destroy();
    }
  });

  it('requests as fast as one client can send them: DNS and the other clients are still answered', async () => {
    const host = `127.0.0.1:${port}`;
    const legit = await legitClientProcess({ port: srv.port, from: '127.0.0.2', rate: 100, maxMs: 40_000 });
    const end = performance.now() + 8000;
    let sent = 0;
    // As many keep-alive connections as the cap lets one client have, each asking back to back.
    const agent = new http.Agent({ keepAlive: true, maxSockets: ADMIN_LIMITS.perClient, localAddress: '127.0.0.3' });
    const flood = Array.from({ length: ADMIN_LIMITS.perClient }, async () => {
      while (performance.now() < end && sent < 200_000) {
        sent++;
        await fetchStatus(agent, port, host).catch(() => undefined);
      }
    });
    const other: number[] = [];
    while (performance.now() < end) {
      other.push((await rawRequest({ port }, 'GET', '/healthz', { host })).status);
      await sleep(500);
    }
    await Promise.all(flood);
    agent.destroy();
    const r = await legit.stop();
    assert.ok(sent >= 100, `the flood sent ${sent} requests`);
    assert.ok(other.length > 0 && other.every((s) => s === 200), `another client's /healthz: ${other.join(' ')}`);
    assert.ok(r.rate >= 0.99, `DNS during the flood: ${describeResult(r)}`);
    await assertUntouched();
  });

  it('the operator: edgedns drain and undrain work over the socket (found by default, or named)', async () => {
    // The node's socket is where the CLI looks by default when the runtime folder is the same.
    const d = await runCli(['drain', '--reason', 'hostile test'], { env: { RUNTIME_DIRECTORY: dirname(socket) } });
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^drained until undrained/);
    await waitFor(async () => (await healthState()) === 'DISABLED', 5000, 'DISABLED after drain');
    assert.equal((await nodeHealth(port)).ready, false, 'a drained node is not ready');
    const u = await runCli(['undrain', '--admin-socket', socket]);
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stdout, /^undrained: now /);
    await waitFor(async () => (await nodeHealth(port)).ready, 15_000, 'ready after undrain');
    assert.match(await healthState(), /^(UP|SHEDDING)$/);
  });
});
