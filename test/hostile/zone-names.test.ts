// Attack: a flood of names that exist in a large hosted zone (200k names), every name new, from
// 127.0.0.3 for 20 s while a legitimate client asks from 127.0.0.2. Each name's answer is compiled
// on first use (zone/answers.ts) and kept in a bounded cache: the flood churns that cache without
// growing it past its bound (edgedns_zone_compiled_nodes), the names asked are answered right, the
// legitimate client stays answered and the node stays UP.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeBigZone, zoneNames } from '../helpers/attacks.ts';
import { dig } from '../helpers/dig.ts';
import { describe as describeResult, metric, runUnderAttack, startNode } from '../helpers/hostile.ts';
import { ZONES } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';

const RECORDS = 200_000;
const ATTACK_MS = 20_000;
/** Queries per 10 ms tick: 6,000 q/s, 120k distinct names in 20 s (none asked twice). */
const PER_TICK = 60;
/** Nodes kept compiled per process: two generations of 16,384 (zone/store.ts COMPILED_NODES). */
const COMPILED_MAX = 2 * 16_384;

test(`distinct names of a ${RECORDS}-name zone: the compiled answers stay bounded, the legitimate client unharmed`, async (t) => {
  const dir = tempDir('edgedns-zone-names-');
  copyFileSync(join(ZONES, 'example.test.zone'), join(dir, 'example.test.zone'));
  writeBigZone(dir, RECORDS);
  const node = await startNode({ workers: 1, zonesDir: dir, startMs: 150_000 });
  try {
    const { srv, adminPort } = node;
    const compiled = () => metric(adminPort, 'edgedns_zone_compiled_nodes');
    let peakCompiled = await compiled();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        peakCompiled = Math.max(peakCompiled, await compiled());
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    let o;
    try {
      o = await runUnderAttack(
        node,
        () => zoneNames({ port: srv.port, from: '127.0.0.3', ms: ATTACK_MS, perTick: PER_TICK, records: RECORDS }),
        { maxMs: ATTACK_MS + 5000 },
      );
    } finally {
      polling = false;
      await poller;
    }
    const { sent, answered } = o.attack;
    t.diagnostic(`attacker sent ${sent}, answered ${answered}; legitimate client: ${describeResult(o.legit)}`);
    t.diagnostic(
      `compiled nodes at most ${peakCompiled}; RSS ${o.rss.before} → peak ${o.rss.peak} → ${o.rss.after} MiB`,
    );
    assert.ok(sent >= (ATTACK_MS / 10) * PER_TICK * 0.9, `the attack sent ${sent}`);
    // Distinct names, one answer each: no rate-limiter account sees more than one response.
    assert.ok(answered >= sent * 0.9, `${answered} of ${sent} distinct existing names answered`);
    assert.ok(peakCompiled > 16_384, `the flood filled the compiled answers (${peakCompiled})`);
    assert.ok(peakCompiled <= COMPILED_MAX, `${peakCompiled} nodes compiled (bound ${COMPILED_MAX})`);
    assert.ok(o.legit.rate >= 0.99, `legitimate client answered ${(o.legit.rate * 100).toFixed(2)}% (< 99%)`);
    assert.equal(o.alive, true, 'the node is alive');
    assert.equal(o.health.ready, true, 'ready after the attack');
    assert.equal(o.health.up, true, 'UP after the attack');
    assert.equal(o.health.flaps, 0, 'no withdrawal for health');
    // Names dropped from the compiled cache are compiled again when asked: right, not stale.
    for (const i of [0, 7919, RECORDS - 1]) {
      const r = await dig(srv, ['+norec', `h${i}.big.test`, 'A']);
      assert.equal(r.status, 'NOERROR', r.raw);
      assert.deepEqual(
        r.answer.map((a) => a.data),
        [`198.51.100.${i % 250}`],
        r.raw,
      );
    }
  } finally {
    await node.stop();
  }
});
