// The fleet's rules with fake peers: the withdraw budget (who may withdraw for a shared cause, and
// how many stay) and the data-plane verdict (a quorum of vouching peers, one broken peer is no
// witness, two sites cannot tell).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerView, SiteState } from '../../../src/fleet/index.ts';
import { dataPlaneFault, withdrawBudget } from '../../../src/fleet/index.ts';

const state = (site: string, o: Partial<SiteState> = {}): SiteState => ({
  site,
  version: '0',
  state: 'UP',
  verdict: 'ok',
  announced: true,
  budgeted: false,
  leaving: false,
  serials: {},
  configHash: 'h',
  load: { utilization: 0, lagMs: 0 },
  sees: {},
  // Every site has seen every wish, unless a test says otherwise.
  acks: ['a', 'b', 'c', 's1', 's2', 's3', 's4', 's5'],
  ...o,
});
const peer = (s: SiteState, o: Partial<PeerView> = {}): PeerView => ({
  site: s.site,
  state: s,
  fresh: true,
  reach: true,
  ...o,
});

const me = (site: string, announced = true, leaving = false) => ({ site, announced, leaving });

describe('withdraw budget', () => {
  it('without a fresh peer, decides alone (allows)', () => {
    assert.equal(withdrawBudget(me('a'), [], 2).allow, true);
    const stale = peer(state('b'), { fresh: false });
    const d = withdrawBudget(me('a'), [stale], 2);
    assert.equal(d.allow, true);
    assert.match(d.detail, /no fleet view/);
  });

  // [name, self, self announced, peers (site, announced, budgeted), min, allowed]
  const table: [string, string, boolean, [string, boolean, boolean][], number, boolean][] = [
    [
      '3 announced, min 2, only me failing: I go',
      'a',
      true,
      [
        ['b', true, false],
        ['c', true, false],
      ],
      2,
      true,
    ],
    [
      '2 announced, min 2: I stay',
      'a',
      true,
      [
        ['b', true, false],
        ['c', false, false],
      ],
      2,
      false,
    ],
    [
      'all 3 failing, min 2: the first by name goes',
      'a',
      true,
      [
        ['b', true, true],
        ['c', true, true],
      ],
      2,
      true,
    ],
    [
      'all 3 failing, min 2: the second stays',
      'b',
      true,
      [
        ['a', true, true],
        ['c', true, true],
      ],
      2,
      false,
    ],
    [
      'all 3 failing, min 1: the second goes too',
      'b',
      true,
      [
        ['a', true, true],
        ['c', true, true],
      ],
      1,
      true,
    ],
    [
      'all 3 failing, min 1: the third stays',
      'c',
      true,
      [
        ['a', true, true],
        ['b', true, true],
      ],
      1,
      false,
    ],
    [
      'only healthy others: their failing does not hold me back',
      'c',
      true,
      [
        ['a', true, false],
        ['b', true, false],
      ],
      2,
      true,
    ],
    ['min 0: anyone goes', 'a', true, [['b', false, false]], 0, true],
    [
      'withdrawn, 2 others announced, min 2: may stay withdrawn',
      'a',
      false,
      [
        ['b', true, true],
        ['c', true, false],
      ],
      2,
      true,
    ],
    [
      'withdrawn, 1 other announced, min 2: must come back',
      'a',
      false,
      [
        ['b', true, false],
        ['c', false, false],
      ],
      2,
      false,
    ],
  ];
  for (const [name, self, announced, peers, min, allow] of table) {
    it(name, () => {
      const view = peers.map(([site, ann, budgeted]) => peer(state(site, { announced: ann, budgeted })));
      assert.equal(withdrawBudget(me(self, announced), view, min).allow, allow);
    });
  }

  it('a site already leaving goes first: one that comes earlier by name but decides later stays', () => {
    // b was let go and is on its way out (still announced, FALLING); a now fails too.
    const view = [peer(state('b', { budgeted: true, leaving: true })), peer(state('c'))];
    const d = withdrawBudget(me('a'), view, 2);
    assert.equal(d.allow, false);
    assert.match(d.detail, /b withdraw first/);
    // And b, deciding again, keeps its place.
    assert.equal(
      withdrawBudget(me('b', true, true), [peer(state('a', { budgeted: true })), peer(state('c'))], 2).allow,
      true,
    );
  });

  it('goes only once every fresh peer has seen its wish: crossing wishes cannot both go', () => {
    // a and b fail at once; c has seen b's wish but not yet a's.
    const view = [peer(state('b', { budgeted: true })), peer(state('c', { acks: ['b'] }))];
    const d = withdrawBudget(me('a'), view, 2);
    assert.equal(d.allow, false);
    assert.match(d.detail, /waiting until c see\(s\) that this site wants to withdraw/);
    const seen = [peer(state('b', { budgeted: true })), peer(state('c', { acks: ['a', 'b'] }))];
    assert.equal(withdrawBudget(me('a'), seen, 2).allow, true);
  });

  it('from one shared view, exactly the surplus withdraws when all fail at once', () => {
    const sites = ['s1', 's2', 's3', 's4', 's5'];
    for (const min of [1, 2, 3, 5]) {
      const going = sites.filter(
        (self) =>
          withdrawBudget(
            me(self),
            sites.filter((s) => s !== self).map((s) => peer(state(s, { budgeted: true }))),
            min,
          ).allow,
      );
      assert.equal(going.length, sites.length - min, `min ${min}`);
    }
  });
});

describe('data-plane fault', () => {
  /** Three sites, whose DNS reach the test sets: seen[x] = who x reaches. */
  const fleet = (self: string, seen: Record<string, string[]>, selfReach: string[]): PeerView[] =>
    Object.keys(seen)
      .filter((s) => s !== self)
      .map((s) =>
        peer(
          state(s, {
            sees: Object.fromEntries(
              Object.keys(seen)
                .filter((o) => o !== s)
                .map((o) => [o, seen[s]!.includes(o)]),
            ),
          }),
          { reach: selfReach.includes(s) },
        ),
      );

  it('healthy fleet: no fault', () => {
    const seen = { a: ['b', 'c'], b: ['a', 'c'], c: ['a', 'b'] };
    for (const self of ['a', 'b', 'c'])
      assert.equal(dataPlaneFault(self, fleet(self, seen, seen[self as 'a'])).fault, false, self);
  });

  it('c blackholed both ways: c has the fault, a and b do not', () => {
    const seen = { a: ['b'], b: ['a'], c: [] as string[] };
    const c = dataPlaneFault('c', fleet('c', seen, []));
    assert.equal(c.fault, true);
    assert.match(c.detail, /2 of 2 peers cannot reach this site/);
    assert.equal(dataPlaneFault('a', fleet('a', seen, ['b'])).fault, false);
    assert.equal(dataPlaneFault('b', fleet('b', seen, ['a'])).fault, false);
  });

  it('c cannot send (its probes and answers are lost) but peers still say they reach it: c reaches none while they reach each other', () => {
    const seen = { a: ['b', 'c'], b: ['a', 'c'], c: [] as string[] };
    const c = dataPlaneFault('c', fleet('c', seen, []));
    assert.equal(c.fault, true);
    assert.match(c.detail, /reaches none of its 2 peer/);
  });

  it('one peer that cannot reach this one is not a quorum of three witnesses', () => {
    // d's link to a is broken; b, c and d reach each other.
    const seen = { a: ['b', 'c', 'd'], b: ['a', 'c', 'd'], c: ['a', 'b', 'd'], d: ['b', 'c'] };
    assert.equal(dataPlaneFault('a', fleet('a', seen, ['b', 'c'])).fault, false);
  });

  it('two sites cannot tell whose uplink broke: neither withdraws', () => {
    const seen = { a: [] as string[], b: [] as string[] };
    assert.equal(dataPlaneFault('a', fleet('a', seen, [])).fault, false);
    assert.equal(dataPlaneFault('b', fleet('b', seen, [])).fault, false);
  });

  it('stale peers count for nothing', () => {
    const seen = { a: ['b'], b: ['a'], c: [] as string[] };
    const view = fleet('c', seen, []).map((p) => ({ ...p, fresh: false }));
    assert.equal(dataPlaneFault('c', view).fault, false);
  });
});
