// udpReusePort: the probe says yes only where two sockets with `reusePort` bind one port: a
// runtime that honours the option, not one that ignores it (Node 20) or one whose platform
// refuses it; and on the running Node it agrees with the release notes (Node 22.12+, 23.1+).
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { CreateUdpSocket, ReusableSocketOptions } from '../../../src/server/index.ts';
import { udpReusePort } from '../../../src/server/index.ts';

/** A socket that binds as a runtime would: every bind succeeds, or fails with `error`. */
function fakeRuntime(bindError: string | null): {
  create: CreateUdpSocket;
  options: ReusableSocketOptions[];
  closed: () => number;
} {
  const options: ReusableSocketOptions[] = [];
  let closed = 0;
  let nextPort = 40000;
  const create: CreateUdpSocket = (o) => {
    options.push(o);
    const s = new EventEmitter() as EventEmitter & { port: number };
    s.port = 0;
    return Object.assign(s, {
      bind: (b: dgram.BindOptions, cb: () => void) => {
        setImmediate(() => {
          if (bindError) s.emit('error', Object.assign(new Error(`bind ${bindError}`), { code: bindError }));
          else {
            s.port = b.port || nextPort++;
            cb();
          }
        });
      },
      address: () => ({ address: '127.0.0.1', family: 'IPv4', port: s.port }),
      close: () => void closed++,
    }) as unknown as dgram.Socket;
  };
  return { create, options, closed: () => closed };
}

/** This Node's release has the option (the Node docs: v22.12.0 and v23.1.0), and Linux spreads datagrams. */
function releaseHasReusePort(version: string, platform: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const has = major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
  return has && platform === 'linux';
}

describe('udpReusePort', () => {
  it('a runtime that honours the option: yes; both sockets asked for reusePort and closed', async () => {
    const rt = fakeRuntime(null);
    assert.equal(await udpReusePort(rt.create), true);
    assert.equal(rt.options.length, 2);
    assert.ok(rt.options.every((o) => o.reusePort === true));
    assert.equal(rt.closed(), 2);
  });
  it('a platform that refuses it at bind (ENOTSUP): no', async () => {
    const rt = fakeRuntime('ENOTSUP');
    assert.equal(await udpReusePort(rt.create), false);
    assert.equal(rt.closed(), 1);
  });
  it('a runtime that ignores it, as Node 20 does: the second bind finds the port taken, no', async () => {
    // Real sockets with the option taken away.
    const ignoring: CreateUdpSocket = ({ reusePort: _dropped, ...o }) => dgram.createSocket(o);
    assert.equal(await udpReusePort(ignoring), false);
  });
  it(`this Node (${process.version} on ${process.platform}) agrees with its release`, async () => {
    assert.equal(await udpReusePort(), releaseHasReusePort(process.versions.node, process.platform));
  });
});
