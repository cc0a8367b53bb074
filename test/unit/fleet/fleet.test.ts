// The Fleet at run time with fake peers and a manual clock: a peer counts as unreachable over DNS
// only after `probeFall` lost probes in a row, an answer with another site's NSID is no answer, a
// state goes stale, what this node shares says what it sees, and the table and the change hook.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/core/index.ts';
import type { LogFields, Logger } from '../../../src/core/index.ts';
import type { SiteState } from '../../../src/fleet/index.ts';
import { Fleet, serialLag } from '../../../src/fleet/index.ts';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };

function setup() {
  const clock = new ManualClock();
  const logs: { msg: string; fields: LogFields | undefined }[] = [];
  const log: Logger = { ...quiet, warn: (msg, fields) => void logs.push({ msg, fields }), child: () => log };
  /** What each peer answers: its state (or an error), and the NSID its DNS gives (or an error). */
  const peers: Record<string, { state: SiteState | Error; nsid: string | Error }> = {};
  const state = (site: string, o: Partial<SiteState> = {}): SiteState => ({
    site,
    version: '0',
    state: 'UP',
    verdict: 'ok',
    announced: true,
    budgeted: false,
    leaving: false,
    serials: { 'example.test.': 5 },
    configHash: 'same',
    load: { utilization: 0.2, lagMs: 4 },
    sees: {},
    acks: [],
    ...o,
  });
  for (const s of ['b', 'c']) peers[s] = { state: state(s), nsid: s };
  let changes = 0;
  const fleet = new Fleet({
    self: 'a',
    peers: ['b', 'c'].map((site, i) => ({
      site,
      dns: [{ host: `192.0.2.${i + 2}`, port: 53 }],
      admin: { host: `192.0.2.${i + 2}`, port: 9153 },
    })),
    intervalMs: 1000,
    staleAfterMs: 3000,
    probeTimeoutMs: 500,
    probeFall: 3,
    minAnnounced: 2,
    clock,
    log,
    local: () => ({ ...state('a', { serials: { 'example.test.': 5 } }) }),
    fetch: async (p) => {
      const s = peers[p.site]?.state;
      if (s instanceof Error) throw s;
      return s as SiteState;
    },
    probe: async (t) => {
      const site = t.host === '192.0.2.2' ? 'b' : 'c';
      const n = peers[site]?.nsid;
      if (n instanceof Error) throw n;
      return n as string;
    },
    onChange: () => void changes++,
  });
  return { clock, fleet, peers, state, logs, changes: () => changes };
}

describe('Fleet', () => {
  it('a peer is unreachable over DNS only after probeFall lost probes in a row; reachable again at once', async () => {
    const s = setup();
    await s.fleet.round();
    assert.deepEqual(s.fleet.state().sees, { b: true, c: true });
    (s.peers.c as { nsid: string | Error }).nsid = new Error('UDP 192.0.2.3:53: no answer within 500 ms');
    await s.fleet.round();
    await s.fleet.round();
    assert.equal(s.fleet.state().sees.c, true, 'two lost probes: still reachable');
    await s.fleet.round();
    assert.equal(s.fleet.state().sees.c, false, 'the third in a row');
    assert.ok(s.logs.some((l) => l.msg === 'fleet: peer unreachable over DNS'));
    (s.peers.c as { nsid: string | Error }).nsid = 'c';
    await s.fleet.round();
    assert.equal(s.fleet.state().sees.c, true);
  });

  it("an answer with another site's NSID counts as lost", async () => {
    const s = setup();
    (s.peers.b as { nsid: string | Error }).nsid = 'c';
    for (let i = 0; i < 3; i++) await s.fleet.round();
    assert.equal(s.fleet.state().sees.b, false);
    const row = s.fleet.table().find((r) => r.site === 'b');
    assert.match(String(row?.error), /answered with NSID "c"/);
  });

  it('a state not read again within staleAfter is not fresh; a state naming another site is refused', async () => {
    const s = setup();
    await s.fleet.round();
    assert.deepEqual(
      s.fleet.view().map((p) => p.fresh),
      [true, true],
    );
    (s.peers.b as { state: SiteState | Error }).state = new Error('connect ECONNREFUSED');
    (s.peers.c as { state: SiteState | Error }).state = s.state('b');
    s.clock.advance(3001);
    await s.fleet.round();
    assert.deepEqual(
      s.fleet.view().map((p) => p.fresh),
      [false, false],
    );
    assert.match(String(s.fleet.table().find((r) => r.site === 'c')?.error), /answered as site b/);
    assert.match(s.fleet.budget(true).detail, /no fleet view/);
  });

  it('shares what it sees and whose wish to withdraw it has seen; the table compares serials and configs', async () => {
    const s = setup();
    (s.peers.b as { state: SiteState | Error }).state = s.state('b', {
      budgeted: true,
      serials: { 'example.test.': 7 },
      configHash: 'other',
    });
    await s.fleet.round();
    const me = s.fleet.state();
    assert.deepEqual(me.acks, ['b']);
    const b = s.fleet.table().find((r) => r.site === 'b');
    assert.deepEqual(b?.serialLag, ['example.test. 5 < 7']);
    assert.equal(b?.sameConfig, false);
    assert.equal(b?.reachedBy, '1/1', 'this node reaches it; c has not said');
    assert.equal(s.fleet.table()[0]?.self, true);
  });

  it('tells the monitor when what the rules read changes, not on every round', async () => {
    const s = setup();
    await s.fleet.round();
    const first = s.changes();
    await s.fleet.round();
    assert.equal(s.changes(), first, 'nothing changed');
    (s.peers.b as { state: SiteState | Error }).state = s.state('b', { announced: false });
    await s.fleet.round();
    assert.equal(s.changes(), first + 1);
  });

  it('serialLag: zones that differ or are missing on either side', () => {
    assert.deepEqual(serialLag({ 'a.': 1, 'b.': 2 }, { 'a.': 1, 'b.': 1, 'c.': 3 }), ['b. 2 > 1', 'c. missing < 3']);
  });
});
