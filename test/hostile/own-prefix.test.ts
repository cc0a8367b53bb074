// Attack: a flood of the very question the node's health probe asks (the SOA of its first zone),
// from the node's own /24 (127.0.0.9 against a node on 127.0.0.1; on the internet, spoofed from
// the anycast address's prefix). The rate limiter holds those answers back; the node's own UDP
// probe carries a server cookie minted for its address, is exempt, and the node stays UP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { reflection } from '../helpers/attacks.ts';
import type { HostileNode } from '../helpers/hostile.ts';
import { metric, startNode } from '../helpers/hostile.ts';
import { underAttack } from './harness.ts';

describe('a flood of the probe’s own question from the node’s own prefix', () => {
  let node: HostileNode;
  before(async () => {
    node = await startNode({ workers: 1 });
  });
  after(async () => {
    await node.stop();
  });

  it('is rate limited, and the node’s probes are not: it stays UP', async (t) => {
    // 300 a second for 8 s: 15 times the default rate, for 8 probe intervals (3 failures withdraw).
    const { attack } = await underAttack(
      t,
      node,
      () =>
        reflection({
          port: node.srv.port,
          from: '127.0.0.9',
          name: 'example.test',
          type: 'SOA',
          udpSize: 1232,
          count: 2400,
          rate: 300,
          ms: 8000,
        }),
      8000,
    );
    const limited =
      (await metric(node.adminPort, 'edgedns_rate_limited_total', { action: 'drop' })) +
      (await metric(node.adminPort, 'edgedns_rate_limited_total', { action: 'slip' }));
    t.diagnostic(
      `attacker sent ${attack.sent}, got ${attack.answers} back (${attack.truncated} truncated); the limiter held back ${limited}`,
    );
    assert.ok(limited >= attack.sent / 2, `the limiter held back ${limited} of ${attack.sent}`);
  });
});
