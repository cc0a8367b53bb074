// Reload rules: serial arithmetic (RFC 1982), changed content needs a higher serial, and a zone
// gone from the files is only dropped on purpose.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ZoneInfo } from '../../../src/zone/index.ts';
import { checkReload, serialGreater } from '../../../src/zone/index.ts';

const info = (origin: string, serial: number, digest: string, file = `/z/${origin}zone`): ZoneInfo => ({
  origin,
  file,
  serial,
  records: 3,
  loadedAt: 0,
  digest,
});

describe('serialGreater (RFC 1982 §3.2)', () => {
  const cases: [number, number, boolean][] = [
    [1, 2, true],
    [2, 1, false],
    [5, 5, false],
    [0xffffffff, 0, true], // wraps
    [0xffffffff, 5, true],
    [0, 0x7fffffff, true],
    [0, 0x80000000, false], // undefined in the RFC: not greater
    [2026113001, 2026113002, true],
  ];
  for (const [a, b, want] of cases) it(`${b} > ${a}: ${want}`, () => assert.equal(serialGreater(a, b), want));
});

describe('checkReload', () => {
  const running = [info('a.test.', 10, 'aa'), info('b.test.', 7, 'bb')];
  const keep = { policy: 'increase' as const, removable: () => false };

  it('the same zones: unchanged, no problem', () => {
    assert.deepEqual(checkReload(running, [info('a.test.', 10, 'aa'), info('b.test.', 7, 'bb')], keep), {
      problems: [],
      serialRefused: 0,
      unchanged: true,
    });
  });

  it('changed content with a higher serial is accepted', () => {
    const v = checkReload(running, [info('a.test.', 11, 'a2'), info('b.test.', 7, 'bb')], keep);
    assert.deepEqual(v, { problems: [], serialRefused: 0, unchanged: false });
  });

  it('changed content with the same or a lower serial is refused, naming the file and both serials', () => {
    const v = checkReload(running, [info('a.test.', 10, 'a2'), info('b.test.', 6, 'b2')], keep);
    assert.equal(v.serialRefused, 2);
    assert.match(
      v.problems[0] ?? '',
      /^\/z\/a\.test\.zone: zone a\.test\. changed but its SOA serial did not increase \(running 10, file 10\)/,
    );
    assert.match(v.problems[1] ?? '', /running 7, file 6/);
  });

  it('policy any accepts changed content whatever the serial (BIND)', () => {
    assert.deepEqual(
      checkReload(running, [info('a.test.', 10, 'a2'), info('b.test.', 1, 'b2')], { ...keep, policy: 'any' }).problems,
      [],
    );
  });

  it('a zone gone from the files is refused unless removable', () => {
    const v = checkReload(running, [info('a.test.', 10, 'aa')], keep);
    assert.match(v.problems[0] ?? '', /zone b\.test\. is gone from the zone files; it is still served/);
    assert.deepEqual(
      checkReload(running, [info('a.test.', 10, 'aa')], { ...keep, removable: (z) => z.origin === 'b.test.' }).problems,
      [],
    );
  });

  it('a new zone is a change, not a problem', () => {
    assert.deepEqual(checkReload(running, [...running, info('c.test.', 1, 'cc')], keep), {
      problems: [],
      serialRefused: 0,
      unchanged: false,
    });
  });
});
