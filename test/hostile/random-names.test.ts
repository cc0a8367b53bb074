// Attack: a flood of random names under a hosted zone (NXDOMAIN, wildcard synthesis, below a cut),
// every name new, from 127.0.0.3 for 20 s while a legitimate client asks from 127.0.0.2. The node
// answers them from templates (not from its per-name LRU), keeps the client answered, stays UP.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomNames } from '../helpers/attacks.ts';
import { describe as describeResult, hostileNode, runUnderAttack, synthAnswers } from '../helpers/hostile.ts';
import { nodeSetup, until } from '../helpers/node.ts';
import { startServer } from '../helpers/server.ts';

const ATTACK_MS = 20_000;
/** Queries per 10 ms tick: 8,000 q/s, about half what the per-name path sustains on this host. */
const PER_TICK = 80;

test('random names under a hosted zone: answered from templates, the legitimate client unharmed', async (t) => {
  const n = nodeSetup();
  const srv = await startServer({ config: n.config, args: [] });
  try {
    const admin = srv.adminPort as number;
    await until(() => n.calls().some((c) => c.action === 'announce'), 10_000, 'announce');
    const before = await synthAnswers(admin);
    const o = await runUnderAttack(
      hostileNode(srv, 1),
      () => randomNames({ port: srv.port, from: '127.0.0.3', ms: ATTACK_MS, perTick: PER_TICK }),
      { maxMs: ATTACK_MS + 5000 },
    );
    const { sent, answered } = o.attack;
    const r = o.legit;
    t.diagnostic(`attacker sent ${sent}, answered ${answered}; legitimate client: ${describeResult(r)}`);
    const after = await synthAnswers(admin);
    const template = after.template - before.template;
    const perName = after.perName - before.perName;
    t.diagnostic(`answers for names that are not nodes: ${template} from templates, ${perName} per name`);
    assert.ok(r.rate >= 0.99, `legitimate client answered ${(r.rate * 100).toFixed(2)}% (< 99%)`);
    // The attack reached the node and its answers were made from templates; the rate limiter then
    // held most back (one NXDOMAIN account per zone for the attacker's /24): every 2nd limited
    // answer goes out truncated (slip 2), the others nowhere.
    assert.ok(template >= sent * 0.9, `${template} template answers for ${sent} sent`);
    assert.ok(answered <= sent * 0.6, `the rate limiter let ${answered} of ${sent} through`);
    assert.ok(perName <= sent * 0.001, `${perName} per-name answers (the LRU path) for ${sent} random names`);
    const h = o.health;
    assert.equal(h.ready, true, 'ready after the attack');
    assert.equal(h.up, true, 'UP after the attack');
    assert.equal(h.flaps, 0, 'no withdrawal for health');
    assert.ok(!n.changes().some((c) => c.action === 'withdraw' && c.reason !== 'startup'), 'never withdrawn');
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});
