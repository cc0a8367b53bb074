// Readiness for systemd (Type=notify): the real node, started with NOTIFY_SOCKET naming a Unix
// datagram socket that a python3 receiver reads as systemd would. READY=1 comes only once the node
// answers (every worker listening), RELOADING=1 and READY=1 frame a reload, STOPPING=1 the stop;
// a notify socket that is not there costs a warning, not the node; the node's children do not
// get NOTIFY_SOCKET.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../../bench/procs.ts';
import { dig } from '../helpers/dig.ts';
import { rawRequest } from '../helpers/http.ts';
import { MAIN, ZONES } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';

// Prints every datagram as a JSON line; passed file descriptors (systemd-notify's BARRIER=1 pipe)
// are closed, which is what tells systemd-notify the message was read.
const RECEIVER = `
import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("bound"), flush=True)
while True:
    data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(16 * 4))
    for level, kind, d in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(d[: len(d) - len(d) % 4])
            for fd in fds:
                os.close(fd)
    print(json.dumps(data.decode()), flush=True)
`;

const procs: ChildProcess[] = [];
after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** The messages a receiver got, in order, BARRIER=1 left out; `next()` waits for the next one. */
interface Receiver {
  socket: string;
  next(): Promise<string>;
  stop(): Promise<void>;
}

async function startReceiver(dir: string): Promise<Receiver> {
  const socket = join(dir, 'notify.sock');
  const p = spawn('python3', ['-u', '-c', RECEIVER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  procs.push(p);
  const got: string[] = [];
  let wake: () => void = () => {};
  let buf = '';
  p.stdout?.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const m = JSON.parse(buf.slice(0, i)) as string;
      buf = buf.slice(i + 1);
      if (m !== 'BARRIER=1') got.push(m);
      wake();
    }
  });
  const next = async (): Promise<string> => {
    while (got.length === 0) {
      if (p.exitCode !== null) throw new Error('the receiver exited');
      await new Promise<void>((r) => (wake = r));
    }
    return got.shift() as string;
  };
  assert.equal(await next(), 'bound');
  return {
    socket,
    next,
    stop: async () => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = once(p, 'exit');
      p.kill('SIGTERM');
      await exited;
    },
  };
}

interface Node {
  proc: ChildProcess;
  logs(): string;
  stop(): Promise<number | null>;
}

function startNode(args: string[], env: NodeJS.ProcessEnv): Node {
  const proc = spawn(process.execPath, [MAIN, 'serve', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  procs.push(proc);
  let err = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  return {
    proc,
    logs: () => err,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

/** A message as its variables. */
function vars(m: string): Record<string, string> {
  return Object.fromEntries(m.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('systemd readiness (NOTIFY_SOCKET)', () => {
  it('READY=1 once the node answers; RELOADING=1 then READY=1 around a reload; STOPPING=1 at the stop', async () => {
    const dir = tempDir('edgedns-notify-');
    const r = await startReceiver(dir);
    const port = await freePort();
    const node = startNode(
      [
        '--listen',
        `127.0.0.1:${port}`,
        '--zones',
        ZONES,
        '--authoritative-only',
        '--admin',
        'off',
        '--admin-socket',
        'off',
      ],
      { NOTIFY_SOCKET: r.socket },
    );
    const ready = vars(await r.next());
    // The first word the manager hears is READY=1, and by then the node answers.
    assert.equal(ready.READY, '1', JSON.stringify(ready));
    const a = await dig({ host: '127.0.0.1', port }, ['www.example.test', 'A']);
    assert.equal(a.status, 'NOERROR');
    assert.deepEqual(
      a.answer.map((x) => x.data),
      ['192.0.2.80'],
    );
    assert.equal(ready.STATUS, `answering on 127.0.0.1:${port} (UDP, TCP), 1 zone(s)`);

    node.proc.kill('SIGHUP');
    const reloading = vars(await r.next());
    assert.equal(reloading.RELOADING, '1');
    assert.match(reloading.MONOTONIC_USEC ?? '', /^\d+$/);
    const reloaded = vars(await r.next());
    assert.equal(reloaded.READY, '1');
    assert.match(reloaded.STATUS ?? '', /; reloaded: 1 zone\(s\), unchanged$/);

    const stopped = node.stop();
    const stopping = vars(await r.next());
    assert.equal(stopping.STOPPING, '1');
    assert.equal(await stopped, 0);
    assert.doesNotMatch(node.logs(), /could not notify/);
    await r.stop();
  });

  it('workers: 2 — READY=1 once both workers listen', async () => {
    const dir = tempDir('edgedns-notify-');
    const r = await startReceiver(dir);
    const port = await freePort();
    const socket = join(dir, 'admin.sock');
    const node = startNode(
      [
        '--listen',
        `127.0.0.1:${port}`,
        '--zones',
        ZONES,
        '--authoritative-only',
        '--admin',
        'off',
        '--admin-socket',
        socket,
        '--workers',
        '2',
      ],
      { NOTIFY_SOCKET: r.socket },
    );
    assert.equal(vars(await r.next()).READY, '1');
    const status = JSON.parse((await rawRequest({ socket }, 'GET', '/status', { host: 'localhost' })).body) as {
      workers: { configured: number; listening: number };
    };
    assert.deepEqual([status.workers.configured, status.workers.listening], [2, 2]);
    assert.equal((await dig({ host: '127.0.0.1', port }, ['www.example.test', 'A'])).status, 'NOERROR');
    assert.equal(await node.stop(), 0);
    await r.stop();
  });

  it('a notify socket that is not there: a warning, and the node serves; its children never see NOTIFY_SOCKET', async () => {
    const dir = tempDir('edgedns-notify-');
    const port = await freePort();
    // The health command writes down what it was given for NOTIFY_SOCKET ("unset" when nothing).
    const seen = join(dir, 'seen');
    const hook = join(dir, 'hook.sh');
    writeFileSync(hook, `#!/bin/sh\necho "\${NOTIFY_SOCKET-unset}" > ${JSON.stringify(seen)}\n`);
    chmodSync(hook, 0o755);
    const config = join(dir, 'edgedns.yaml');
    writeFileSync(
      config,
      [
        `listen: ["127.0.0.1:${port}"]`,
        `zones: { dir: ${JSON.stringify(ZONES)} }`,
        'upstreams: []',
        'admin: { listen: null, socket: null }',
        `health: { interval: 200ms, fastInterval: 100ms, command: { command: ${JSON.stringify(hook)}, args: [], timeout: 2s } }`,
        '',
      ].join('\n'),
    );
    const node = startNode(['--config', config], { NOTIFY_SOCKET: join(dir, 'nobody-listens.sock') });
    while (!/could not notify the service manager/.test(node.logs())) {
      if (node.proc.exitCode !== null) assert.fail(`the node exited:\n${node.logs()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const warn =
      node
        .logs()
        .split('\n')
        .find((l) => l.includes('could not notify')) ?? '';
    assert.match(
      warn,
      /"level":"warn".*"message":"READY=1 STATUS=answering on 127\.0\.0\.1:\d+ \(UDP, TCP\), 1 zone\(s\)"/,
    );
    assert.equal((await dig({ host: '127.0.0.1', port }, ['www.example.test', 'A'])).status, 'NOERROR');
    while (!existsSync(seen) || readFileSync(seen, 'utf8') === '') await new Promise((r) => setTimeout(r, 50));
    assert.equal(readFileSync(seen, 'utf8'), 'unset\n');
    assert.equal(await node.stop(), 0);
  });
});
