// The load check and its inputs: limits with hysteresis (once overloaded, the figures must fall
// to RELEASE × the limits), the drop rate on the test's clock, and the drops and receive queues of
// our ports read from /proc/net/udp text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/index.ts';
import type { LoadSample } from '../../../src/health/index.ts';
import { loadCheck, udpBacklog } from '../../../src/health/index.ts';

const LIMITS = { maxUtilization: 0.9, maxLagMs: 500, maxDropRate: 100, maxQueued: 512 * 1024 };

function setup() {
  const clock = new ManualClock();
  const now: LoadSample = { utilization: 0.1, lagMs: 5, drops: 0, queued: 0, shed: 0 };
  const check = loadCheck(async () => ({ ...now }), LIMITS, clock);
  const run = async (o: Partial<LoadSample>, ms = 1000) => {
    Object.assign(now, o);
    clock.advance(ms);
    return check.run();
  };
  return { run };
}

describe('loadCheck', () => {
  it('overloaded over any limit; the detail names what is over', async () => {
    const s = setup();
    assert.equal((await s.run({})).ok, true);
    const busy = await s.run({ utilization: 0.95 });
    assert.equal(busy.ok, false);
    assert.match(busy.detail, /^overloaded: utilization 95% > 90%/);
    const s2 = setup();
    await s2.run({});
    assert.match((await s2.run({ lagMs: 800 })).detail, /event-loop delay 800 ms > 500 ms/);
    const s3 = setup();
    await s3.run({ drops: 1000 });
    const dropping = await s3.run({ drops: 1500 }, 1000);
    assert.match(dropping.detail, /UDP drops 500\/s > 100\/s/);
    assert.equal((await s3.run({ drops: 1550 }, 1000)).ok, true, '50/s: under the limit');
    const s4 = setup();
    const behind = await s4.run({ queued: 5_000_000 });
    assert.match(behind.detail, /UDP queue 4883 KiB > 512 KiB/);
    assert.equal((await s4.run({ queued: 300 * 1024 })).ok, true, 'under 0.75 × the limit: normal again');
  });

  it('hysteresis: once overloaded, normal only under RELEASE × the limits', async () => {
    const s = setup();
    await s.run({ utilization: 0.95 });
    const relieved = await s.run({ utilization: 0.8 });
    assert.equal(relieved.ok, false, '80% is under the limit but not under 75% of it');
    assert.match(relieved.detail, /still/);
    assert.equal((await s.run({ utilization: 0.6 })).ok, true);
    assert.equal((await s.run({ utilization: 0.8 })).ok, true, 'not overloaded before: 80% is fine');
  });

  it('while it sheds more than maxDropRate queries a second, the node is still being hit', async () => {
    const s = setup();
    await s.run({ utilization: 0.95 });
    // Shedding relieved the loop, but 3,000 queries a second are being refused.
    const relieved = await s.run({ utilization: 0.3, shed: 3000 });
    assert.equal(relieved.ok, false);
    assert.match(relieved.detail, /shedding 3000 queries\/s > 75\/s/);
    assert.equal((await s.run({ shed: 3010 })).ok, true, 'the flood over: 10 a second');
  });

  it('a drop counter that went back (sockets reopened) starts a new baseline', async () => {
    const s = setup();
    await s.run({ drops: 5000 });
    assert.equal((await s.run({ drops: 10 })).ok, true);
  });
});

describe('udpBacklog', () => {
  const proc = (rows: string[]): string =>
    [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      ...rows,
    ].join('\n');
  it('sums the drops and receive queues of the sockets on our ports, in /proc/net/udp and udp6', () => {
    const v4 = proc([
      '  1: 3500000A:0035 00000000:0000 07 00000000:00000340 00:00000000 00000000   101        0 1 2 0000000000000000 17',
      '  2: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 3 2 0000000000000000 3',
      '  3: 0100007F:1F90 00000000:0000 07 00000000:0004D800 00:00000000 00000000   101        0 4 2 0000000000000000 999',
    ]);
    const v6 = proc([
      '  1: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 00000000:00000680 00:00000000 00000000 101 0 5 2 0000000000000000 5',
    ]);
    const read = (p: string): string => (p.endsWith('udp6') ? v6 : v4);
    assert.deepEqual(udpBacklog(new Set([53]), read), { drops: 25, queued: 0x340 + 0x680 });
    assert.deepEqual(udpBacklog(new Set([8080]), read), { drops: 999, queued: 0x4d800 });
    assert.deepEqual(udpBacklog(new Set([5353]), read), { drops: 0, queued: 0 });
    assert.deepEqual(
      udpBacklog(new Set([53]), () => ''),
      { drops: 0, queued: 0 },
      'nothing to read',
    );
  });
});
