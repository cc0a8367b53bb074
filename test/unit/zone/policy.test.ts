// Zone policy: what a loading server rejects, and that a zone failing it is rejected whole.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nameFromText } from '../../../src/wire/index.ts';
import { ZonePolicyError, buildZone, parseZoneText } from '../../../src/zone/index.ts';

const origin = nameFromText('example.test.', null);
const HEAD = '$TTL 300\n@ SOA ns1 host 1 2 3 4 60\n@ NS ns1\nns1 A 192.0.2.1\n';
const build = (body: string) => buildZone(parseZoneText(HEAD + body, origin, 'p.zone'), origin, 'p.zone');

describe('zone policy', () => {
  it('accepts a good zone and reads its serial', () => {
    const z = build('www A 192.0.2.2\nsub NS ns.sub\nns.sub A 192.0.2.3\n');
    assert.equal(z.serial, 1);
    assert.ok(z.cuts.has(`\x03sub${z.key}`));
  });
  const bad: [string, string, RegExp][] = [
    ['no SOA', '$TTL 1\n@ NS ns1\n', /no SOA/],
    ['two SOAs', `${HEAD}@ SOA ns1 host 2 2 3 4 60\n`, /exactly one is allowed/],
    ['no NS at the apex', '$TTL 1\n@ SOA ns1 host 1 2 3 4 60\n', /no NS records at the apex/],
    ['SOA below the apex', `${HEAD}sub SOA ns1 host 1 2 3 4 60\n`, /not the apex/],
    ['CNAME beside other data', `${HEAD}www CNAME other\nwww A 192.0.2.9\n`, /CNAME and other data \(A\)/],
    ['two CNAMEs', `${HEAD}www CNAME a\nwww CNAME b\n`, /2 CNAME records/],
    ['data outside the zone', `${HEAD}www.example.org. A 192.0.2.9\n`, /outside the zone/],
    ['in-zone NS below a cut without glue', `${HEAD}sub NS ns.sub\n`, /no glue/],
    ['data below a DNAME', `${HEAD}old DNAME new.example.\nx.old A 192.0.2.9\n`, /below the DNAME/],
  ];
  for (const [name, text, re] of bad) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => buildZone(parseZoneText(text, origin, 'p.zone'), origin, 'p.zone'),
        (e: unknown) => e instanceof ZonePolicyError && re.test(e.message),
      );
    });
  }
  it('lists every problem at once', () => {
    assert.throws(
      () => build('a CNAME b\na TXT "x"\nz.example.org. A 192.0.2.1\n'),
      (e: unknown) => e instanceof ZonePolicyError && e.problems.length === 2,
    );
  });
  it('allows a CNAME beside DNSSEC records and a DNAME with nothing below', () => {
    assert.doesNotThrow(() => build('a CNAME b\na NSEC b A\nold DNAME new.example.\n'));
  });
});
