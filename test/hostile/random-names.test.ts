// Attack: a flood of random names under a hosted zone (NXDOMAIN, wildcard synthesis, below a cut),
// every name new, from 127.0.0.3 for 20 s while a legitimate client asks from 127.0.0.2. The node
// answers them from templates (not from its per-name LRU), keeps the client answered, stays UP.
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { describe as describeResult, legitClient, nodeHealth } from '../helpers/hostile.ts';
import { nodeSetup, until } from '../helpers/node.ts';
import { parseProm, value } from '../helpers/prom.ts';
import { startServer } from '../helpers/server.ts';
import { query } from '../helpers/wire.ts';

const ATTACK_MS = 20_000;
/** Queries per 10 ms tick: 8,000 q/s, about half what the per-name path sustains on this host. */
const PER_TICK = 80;
const SUFFIXES = ['example.test', 'wild.example.test', 'sub.example.test', 'a.b.dc1.example.test'];

async function synthAnswers(adminPort: number): Promise<{ template: number; perName: number }> {
  const samples = parseProm(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text());
  return {
    template: value(samples, 'edgedns_zone_synth_answers_total', { path: 'template' }),
    perName: value(samples, 'edgedns_zone_synth_answers_total', { path: 'per_name' }),
  };
}

test('random names under a hosted zone: answered from templates, the legitimate client unharmed', async (t) => {
  const n = nodeSetup();
  const srv = await startServer({ config: n.config, args: [] });
  const attacker = dgram.createSocket('udp4');
  try {
    const admin = srv.adminPort as number;
    await until(() => n.calls().some((c) => c.action === 'announce'), 10_000, 'announce');
    const before = await synthAnswers(admin);
    await new Promise<void>((resolve, reject) => {
      attacker.once('error', reject);
      attacker.bind(0, '127.0.0.3', () => resolve());
    });
    let answered = 0;
    attacker.on('message', () => answered++);
    const legit = await legitClient({ port: srv.port, from: '127.0.0.2', rate: 100, maxMs: ATTACK_MS + 5000 });
    let sent = 0;
    const started = performance.now();
    for (let tick = 0; performance.now() - started < ATTACK_MS && tick < ATTACK_MS / 5; tick++) {
      for (let i = 0; i < PER_TICK; i++) {
        const label = `${Math.random().toString(36).slice(2, 12)}${sent.toString(36)}`;
        attacker.send(query(`${label}.${SUFFIXES[sent % SUFFIXES.length]}`, sent % 3 === 0 ? 'TXT' : 'A', { id: sent & 0xffff }), srv.port, '127.0.0.1');
        sent++;
      }
      await sleep(10);
    }
    const r = await legit.stop();
    t.diagnostic(`attacker sent ${sent}, answered ${answered}; legitimate client: ${describeResult(r)}`);
    const after = await synthAnswers(admin);
    const template = after.template - before.template;
    const perName = after.perName - before.perName;
    t.diagnostic(`answers for names that are not nodes: ${template} from templates, ${perName} per name`);
    assert.ok(r.rate >= 0.99, `legitimate client answered ${(r.rate * 100).toFixed(2)}% (< 99%)`);
    // The attack reached the node: most of it was answered, and from templates.
    assert.ok(answered >= sent * 0.9, `attacker answered ${answered} of ${sent}`);
    assert.ok(template >= answered * 0.99, `${template} template answers for ${answered} answered`);
    assert.ok(perName <= sent * 0.001, `${perName} per-name answers (the LRU path) for ${sent} random names`);
    const h = await nodeHealth(admin);
    assert.equal(h.ready, true, 'ready after the attack');
    assert.equal(h.up, true, 'UP after the attack');
    assert.equal(h.flaps, 0, 'no withdrawal for health');
    assert.ok(!n.changes().some((c) => c.action === 'withdraw' && c.reason !== 'startup'), 'never withdrawn');
  } finally {
    attacker.close();
    assert.equal(await srv.stop(), 0);
  }
});
