// A 64 KB message sent in 1-byte segments (Nagle off, one write per byte): reassembly must be
// linear in bytes. The node answers its legitimate client throughout and does not spend its CPU on
// copying: we measure the CPU time it used and print it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { cpuSecondsFromStat } from '../../bench/dnsperf.ts';
import { tcpSegments } from '../helpers/attacks.ts';
import type { HostileNode } from '../helpers/hostile.ts';
import { startNode } from '../helpers/hostile.ts';
import { underAttack } from './harness.ts';

const cpuSeconds = (pid: number): number => cpuSecondsFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));

describe('64 KB in 1-byte segments, workers: 1', () => {
  let node: HostileNode;
  after(async () => {
    await node?.stop();
  });

  it('reassembles in linear time; the node keeps answering', async (t) => {
    node = await startNode({ workers: 1 });
    const pid = node.srv.proc.pid as number;
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    // Bounded: 4 × 65537 writes of one byte, or 20 s.
    const { attack } = await underAttack(
      t,
      node,
      () => tcpSegments({ port: node.srv.port, from: '127.0.0.3', connections: 4, maxMs: 20_000 }),
      6000,
    );
    const written = attack.bytesPerConnection;
    const cpu = cpuSeconds(pid) - cpu0;
    const secs = (performance.now() - t0) / 1000;
    t.diagnostic(`${written} bytes written per connection over ${secs.toFixed(1)} s; node CPU ${cpu.toFixed(2)} s`);
    assert.ok(written > 1000, 'the attack ran');
    // Quadratic reassembly spent 0.36 s per 64 KB message, in one burst of copying; linear is per byte.
    assert.ok(cpu < secs, `the node used ${cpu.toFixed(2)} s of CPU in ${secs.toFixed(1)} s`);
  });
});
