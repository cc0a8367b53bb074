// Every error class the modules throw carries a stable code (callers match on it, not on text)
// and its own name.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdapterError } from '../../../src/announce/index.ts';
import { ExchangeError } from '../../../src/client/index.ts';
import { EdgeError, ErrorCode } from '../../../src/core/index.ts';
import { ResolveError } from '../../../src/resolver/index.ts';
import { NameError, nameFromText } from '../../../src/wire/index.ts';
import { ZonePolicyError, ZoneSyntaxError, parseZoneText } from '../../../src/zone/index.ts';

describe('error codes', () => {
  const cases: [Error, string][] = [
    [new AdapterError('birdc: no socket'), ErrorCode.ANNOUNCE_FAILED],
    [new ExchangeError('timeout', 'UDP', 700, 'no reply within 700 ms'), ErrorCode.EXCHANGE],
    [new ResolveError('servfail', 'every upstream failed'), ErrorCode.RESOLVE],
    [new NameError('label too long'), ErrorCode.NAME_INVALID],
  ];
  for (const [e, code] of cases) {
    it(`${e.constructor.name}: code ${code}, its own name, an EdgeError`, () => {
      assert.ok(e instanceof EdgeError);
      assert.equal(e.code, code);
      assert.equal(e.name, e.constructor.name);
    });
  }
  it('errors thrown from deep inside keep theirs: a bad name, a bad zone file', () => {
    assert.throws(
      () => nameFromText(`${'a'.repeat(64)}.test.`, null),
      (e: unknown) => e instanceof NameError && e.code === ErrorCode.NAME_INVALID,
    );
    assert.throws(
      () => parseZoneText('@ 3600 IN A 192.0.2.1 (\n', nameFromText('example.test.', null), 'z.zone'),
      (e: unknown) => e instanceof ZoneSyntaxError && e.code === ErrorCode.ZONE_PARSE && /z\.zone:\d+/.test(e.message),
    );
    assert.equal(new ZonePolicyError(['x']).code, ErrorCode.ZONE_POLICY);
  });
  it('every code is distinct and reads ERR_<AREA>_<WHAT>', () => {
    const codes = Object.values(ErrorCode);
    assert.equal(new Set(codes).size, codes.length);
    for (const c of codes) assert.match(c, /^ERR_[A-Z]+_[A-Z_]+$/); // STYLE.md: ERR_<AREA>_<WHAT>
  });
});
