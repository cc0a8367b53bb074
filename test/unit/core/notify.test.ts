// The service-manager notifier: nothing without a socket, messages in order whatever each send
// takes, one-line STATUS, the monotonic time with RELOADING=1, failures reported and survived.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NO_NOTIFIER, createNotifier, takeNotifySocket } from '../../../src/core/index.ts';

/** A sender that records each message and finishes them only when told (in any order). */
function heldSender(): {
  sent: string[][];
  finish(i: number, error?: Error): void;
  send: (socket: string, args: readonly string[]) => Promise<void>;
} {
  const sent: string[][] = [];
  const done: ((e?: Error) => void)[] = [];
  return {
    sent,
    finish: (i, error) => done[i]?.(error),
    send: (socket, args) => {
      sent.push([socket, ...args]);
      return new Promise((resolve, reject) => done.push((e) => (e ? reject(e) : resolve())));
    },
  };
}

describe('service manager notifier', () => {
  it('without NOTIFY_SOCKET: the no-op notifier, no sender called', async () => {
    let calls = 0;
    const n = createNotifier({ socket: undefined, onError: () => {}, send: async () => void calls++ });
    assert.equal(n, NO_NOTIFIER);
    n.ready('x');
    n.reloading('x');
    n.stopping('x');
    await n.flushed();
    assert.equal(calls, 0);
  });

  it('one message at a time, in the order asked: READY=1 never overtakes the RELOADING=1 before it', async () => {
    const s = heldSender();
    const n = createNotifier({
      socket: '/run/systemd/notify',
      onError: () => {},
      send: s.send,
      monotonicUsec: () => 123456789n,
    });
    n.ready('answering');
    n.reloading('reloading');
    n.ready('answering again');
    await new Promise((r) => setImmediate(r));
    assert.equal(s.sent.length, 1, 'the second waits for the first');
    s.finish(0);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(s.sent[1], ['/run/systemd/notify', 'RELOADING=1', 'MONOTONIC_USEC=123456789', 'STATUS=reloading']);
    s.finish(1);
    await new Promise((r) => setImmediate(r));
    s.finish(2);
    await n.flushed();
    assert.deepEqual(
      s.sent.map((m) => m[1]),
      ['READY=1', 'RELOADING=1', 'READY=1'],
    );
    assert.deepEqual(s.sent[2], ['/run/systemd/notify', 'READY=1', 'STATUS=answering again']);
  });

  it('STATUS stays one line (a newline would start another variable)', async () => {
    const s = heldSender();
    const n = createNotifier({ socket: '@abstract', onError: () => {}, send: s.send });
    n.stopping('stopping\nREADY=1\r\nnow');
    await new Promise((r) => setImmediate(r));
    s.finish(0);
    await n.flushed();
    assert.deepEqual(s.sent[0], ['@abstract', 'STOPPING=1', 'STATUS=stopping READY=1 now']);
  });

  it('a failed send is reported and the next message still goes', async () => {
    const s = heldSender();
    const errors: string[] = [];
    const n = createNotifier({
      socket: '/x',
      onError: (m, e) => errors.push(`${m}: ${(e as Error).message}`),
      send: s.send,
    });
    n.ready('a');
    n.stopping('b');
    await new Promise((r) => setImmediate(r));
    s.finish(0, new Error('spawn systemd-notify ENOENT'));
    await new Promise((r) => setImmediate(r));
    s.finish(1);
    await n.flushed();
    assert.deepEqual(errors, ['READY=1 STATUS=a: spawn systemd-notify ENOENT']);
    assert.equal(s.sent.length, 2);
  });

  it('RELOADING=1 carries CLOCK_MONOTONIC in microseconds by default', async () => {
    const s = heldSender();
    const n = createNotifier({ socket: '/x', onError: () => {}, send: s.send });
    const before = process.hrtime.bigint() / 1000n;
    n.reloading('r');
    await new Promise((r) => setImmediate(r));
    s.finish(0);
    await n.flushed();
    const usec = BigInt((s.sent[0]?.[2] ?? '').replace('MONOTONIC_USEC=', ''));
    assert.ok(usec >= before && usec <= process.hrtime.bigint() / 1000n, String(usec));
  });

  it("takeNotifySocket: the socket out of the environment, so that the node's children cannot speak for it", () => {
    const env: Record<string, string | undefined> = { NOTIFY_SOCKET: '/run/systemd/notify', PATH: '/bin' };
    assert.equal(takeNotifySocket(env), '/run/systemd/notify');
    assert.deepEqual(env, { PATH: '/bin' });
    assert.equal(takeNotifySocket(env), undefined);
    assert.equal(takeNotifySocket({ NOTIFY_SOCKET: '' }), undefined);
  });
});
