// Attack: overload. A flood of random NXDOMAIN names from 127.0.0.3 (no cookies, the rate limiter
// off so that only the load defends) for 20 s against a node whose overload limit is set low
// enough that the flood crosses it. The node must shed instead of withdrawing: SHEDDING while the
// flood lasts (announced, ready, never withdrawn), the flood's NXDOMAIN dropped or truncated, the
// legitimate client (zone names) answered; and back to UP once the flood is over.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { randomNames } from '../helpers/attacks.ts';
import { hostileNode, metric } from '../helpers/hostile.ts';
import { PATIENCE_MS, nodeSetup, until } from '../helpers/node.ts';
import { startServer } from '../helpers/server.ts';
import { underAttack } from './harness.ts';

const ATTACK_MS = 20_000;
/** Queries per 10 ms tick: 10,000 q/s. */
const PER_TICK = 100;

test('overload: the node sheds and keeps its route; the legitimate client unharmed; UP again after', async (t) => {
  const n = nodeSetup();
  // nodeSetup never counts as overloaded; here a busy event loop (20%) is the point.
  const yaml = readFileSync(n.config, 'utf8');
  writeFileSync(
    n.config,
    `${yaml.replace(/overload: \{[^}]*\}/, 'overload: { maxUtilization: 0.2, maxDropRate: 100 }')}rateLimit: null\n`,
  );
  const srv = await startServer({ config: n.config, args: [] });
  try {
    const admin = srv.adminPort as number;
    await until(() => n.calls().some((c) => c.action === 'announce'), PATIENCE_MS, 'announce');
    // Whether the node was SHEDDING at some point of the flood (the state is read every 100 ms).
    let shedding = false;
    const o = await underAttack(t, hostileNode(srv, 1), async () => {
      const flood = randomNames({ port: srv.port, from: '127.0.0.3', ms: ATTACK_MS, perTick: PER_TICK });
      const t0 = performance.now();
      while (performance.now() - t0 < ATTACK_MS && !shedding) {
        shedding = (await metric(admin, 'edgedns_health_state', { state: 'SHEDDING' })) === 1;
        await new Promise((r) => setTimeout(r, 100));
      }
      return flood;
    });
    const { sent, answered } = o.attack;
    const dropped = await metric(admin, 'edgedns_shed_total', { what: 'nxdomain', action: 'drop' });
    const truncated = await metric(admin, 'edgedns_shed_total', { what: 'nxdomain', action: 'truncate' });
    t.diagnostic(`flood sent ${sent}, answered ${answered}; shed: ${dropped} dropped, ${truncated} truncated`);
    assert.ok(shedding, 'SHEDDING during the flood');
    assert.ok(dropped > 0 && truncated > 0, 'the flood was shed');
    assert.ok(Math.abs(dropped - truncated) <= 1, 'half dropped, half truncated');
    assert.ok(!n.changes().some((c) => c.action === 'withdraw' && c.reason !== 'startup'), 'never withdrawn');
    // The flood over, the load falls under the limit: UP after `rise` normal rounds.
    await until(
      async () => (await metric(admin, 'edgedns_health_state', { state: 'UP' })) === 1,
      PATIENCE_MS,
      'UP again',
    );
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});
