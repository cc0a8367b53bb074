// The fleet drills' figures: birdc output parsed, session resets, RIB counts, state timelines, targets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RouterPoll, SitePoll } from '../../../src/drill/index.ts';
import {
  answeredPct,
  lostBySecond,
  leftRibAt,
  leftState,
  mergeTargets,
  minAnnounced,
  parseBfd,
  parseBgp,
  parseRib,
  sessionsStable,
  stateTimeline,
  target,
} from '../../../src/drill/index.ts';

const RIB = `BIRD 2.0.12 ready.
Table master4:
192.0.2.53/32        unicast [s1 04:04:20.732] * (100) [AS65001i]
\tvia 198.51.100.2 on i15cr1
                     unicast [s3 04:04:21.681] (100) [AS65003i]
\tvia 198.51.100.10 on i15cr3
`;
const PROTOCOLS = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
device1    Device     ---        up     04:04:15.577
s1         BGP        ---        up     04:04:19.719  Established
s2         BGP        ---        start  04:09:20.210  Connect
`;
const BFD = `BIRD 2.0.12 ready.
bfd1:
IP address                Interface  State      Since         Interval  Timeout
198.51.100.6              i15cr2     Up         04:04:16.339    0.100    0.300
198.51.100.2              i15cr1     Down       04:09:16.339    1.000    0.000
`;

describe('birdc output', () => {
  it('the RIB names the sites with a path, best or not; "Network not found" is none', () => {
    assert.deepEqual(parseRib(RIB), ['site1', 'site3']);
    assert.deepEqual(parseRib('BIRD 2.0.12 ready.\nNetwork not found\n'), []);
  });
  it('BGP protocols and BFD sessions with their state and since', () => {
    assert.deepEqual(parseBgp(PROTOCOLS), { s1: 'up Established 04:04:19.719', s2: 'start Connect 04:09:20.210' });
    assert.deepEqual(parseBfd(BFD), { '198.51.100.6': 'Up 04:04:16.339', '198.51.100.2': 'Down 04:09:16.339' });
    // A read that lists nothing is a failed read, not every session gone.
    assert.equal(parseBgp('BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\n'), null);
    assert.equal(parseBfd('BIRD 2.0.12 ready.\n'), null);
  });
});

const poll = (t: number, rib: string[] | null, bgpSince = '04:04:19.719', bfdState = 'Up'): RouterPoll => ({
  t,
  rib,
  bgp: { s1: `up Established ${bgpSince}` },
  bfd: { '198.51.100.2': `${bfdState} 04:04:16.339` },
});

describe('router figures', () => {
  it('sessions: stable when every read matches the first; a new since or a Down is a reset; failed reads counted', () => {
    assert.deepEqual(sessionsStable([poll(0, []), { t: 1, rib: null, bgp: null, bfd: null }, poll(2, [])]), {
      stable: true,
      resets: [],
      failedReads: 1,
    });
    assert.equal(sessionsStable([poll(0, []), poll(1, [], '04:05:00.000')]).stable, false);
    assert.equal(sessionsStable([poll(0, []), poll(1, [], '04:04:19.720')]).stable, true, 'BIRD moves since by 1 ms');
    assert.equal(sessionsStable([poll(0, []), poll(1, [], '04:04:20.019')]).stable, false, 'a flap of 300 ms');
    assert.equal(sessionsStable([poll(0, []), poll(1, [], undefined, 'Down')]).stable, false);
    assert.equal(sessionsStable([]).stable, false, 'no read at all proves nothing');
  });
  it('fewest announced and when a site left the RIB, within the window; failed reads skipped', () => {
    const polls = [poll(0, ['site1', 'site2']), poll(10, null), poll(20, ['site2']), poll(30, ['site1', 'site2'])];
    assert.equal(minAnnounced(polls, 0, 40), 1);
    assert.equal(minAnnounced(polls, 25, 40), 2);
    assert.equal(minAnnounced(polls, 50, 60), null);
    assert.equal(leftRibAt(polls, 'site1', 0), 20);
    assert.equal(leftRibAt(polls, 'site2', 0), null);
    assert.equal(leftRibAt(polls, 'site1', 0, 15), null);
  });
});

describe('site and stream figures', () => {
  const sp = (t: number, site: string, state: string): SitePoll => ({ t, site, state, desired: null });
  const polls = [sp(0, 'site1', 'UP'), sp(100, 'site1', 'UP'), sp(200, 'site1', 'SHEDDING'), sp(300, 'site1', 'UP')];
  it('a timeline of changes from the state before the window', () => {
    assert.equal(stateTimeline(polls, 'site1', 150, 400), 'UP@0 SHEDDING@50 UP@150');
    assert.equal(stateTimeline(polls, 'site2', 0, 400), '');
    assert.equal(leftState(polls, 'site1', 0, 400), true);
    assert.equal(leftState(polls, 'site1', 250, 400), false);
  });
  it('the share answered, in the window only', () => {
    const s = [
      { t: 0, rtt: 1, site: 'site1' },
      { t: 10, rtt: null, site: null },
      { t: 20, rtt: 2, site: 'site2' },
      { t: 99, rtt: null, site: null },
    ];
    assert.equal(answeredPct(s, 0, 30), 66.7);
    assert.equal(answeredPct(s, 100, 200), null);
  });
  it('the losses second by second, in the window only', () => {
    const s = [
      { t: 900, rtt: null, site: null },
      { t: 1000, rtt: null, site: null },
      { t: 1500, rtt: 3, site: 'site1' },
      { t: 2999, rtt: null, site: null },
      { t: 3000, rtt: null, site: null },
      { t: 3600, rtt: null, site: null },
    ];
    assert.deepEqual(lostBySecond(s, 1000, 3500), [1, 1, 1]);
  });
  it('targets over runs pass only when every run passed', () => {
    const a = [target('x', '≥ 2', 3, true), target('y', 'none', ['a'], false)];
    const b = [target('x', '≥ 2', 1, false), target('y', 'none', null, true)];
    assert.deepEqual(mergeTargets([a, b]), [
      { name: 'x', want: '≥ 2', got: '3, 1', pass: false },
      { name: 'y', want: 'none', got: '["a"], -', pass: false },
    ]);
  });
});
