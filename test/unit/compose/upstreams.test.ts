// Building the resolvers from the config: an upstream that is this node itself is skipped (a plain
// one equal to a listen address, a tls:// one equal to a DoT listen address), each forward zone
// gets a resolver of its own with the recursion ACL it inherits, and DoT upstreams keep their name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildForwardResolvers, buildResolver } from '../../../src/compose/index.ts';
import { validateConfig } from '../../../src/config/index.ts';
import { createLogger } from '../../../src/core/index.ts';
import { NOOP_RESOLVER_OBSERVER } from '../../../src/resolver/index.ts';

const observer = NOOP_RESOLVER_OBSERVER;

function logged(): { log: ReturnType<typeof createLogger>; lines: () => { msg: string; upstream?: string }[] } {
  const out: string[] = [];
  return {
    log: createLogger({ level: 'debug', write: (l) => out.push(l) }),
    lines: () => out.map((l) => JSON.parse(l) as { msg: string; upstream?: string }),
  };
}

describe('compose: upstreams that are this node', () => {
  it('skips a plain upstream equal to a listen address and a tls:// one equal to a DoT listen address', () => {
    const c = validateConfig({
      listen: ['127.0.0.1:5353'],
      dot: { listen: ['127.0.0.1:8853'] },
      tls: { certFile: '/c.pem', keyFile: '/k.pem' },
      upstreams: [
        '127.0.0.1:5353',
        'tls://127.0.0.1:8853#self.example',
        // The same port as our DoT listener but plain DNS, and our UDP port over TLS: not us.
        '127.0.0.1:8853',
        { address: '127.0.0.1:5353', tls: { spki: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=' } },
      ],
    });
    const { log, lines } = logged();
    const r = buildResolver(c, '/', log, observer);
    assert.deepEqual(
      r?.status().map((u) => [u.address, u.transport]),
      [
        ['127.0.0.1:8853', 'udp'],
        ['127.0.0.1:5353', 'tls'],
      ],
    );
    assert.deepEqual(
      lines()
        .filter((l) => /skipped/.test(l.msg))
        .map((l) => [l.msg, l.upstream]),
      [
        ['upstream is one of our own listen addresses; skipped', '127.0.0.1:5353'],
        ['upstream is one of our own DoT listen addresses; skipped', 'tls://127.0.0.1:8853#self.example'],
      ],
    );
    r?.close();
  });

  it('a forward zone gets a resolver of its own, or none when its every upstream is this node', () => {
    const c = validateConfig({
      listen: ['127.0.0.1:5353'],
      recursion: { allow: ['192.0.2.0/24'] },
      forward: [
        {
          zone: 'corp.example.',
          upstreams: ['10.1.1.1', 'tls://10.1.1.2#ns.corp.example'],
          recursionAllow: ['10.0.0.0/8'],
        },
        { zone: 'loop.corp.example.', upstreams: ['127.0.0.1:5353'] },
      ],
    });
    const zones = buildForwardResolvers(c, '/', logged().log, observer);
    assert.deepEqual(
      zones.map((z) => [
        z.zone,
        z.resolver?.status().map((u) => [u.address, u.transport, u.name]) ?? null,
        z.recursionAllow,
      ]),
      [
        [
          'corp.example.',
          [
            ['10.1.1.1:53', 'udp', null],
            ['10.1.1.2:853', 'tls', 'ns.corp.example'],
          ],
          ['10.0.0.0/8'],
        ],
        ['loop.corp.example.', null, ['10.0.0.0/8']],
      ],
    );
    for (const z of zones) z.resolver?.close();
  });
});
