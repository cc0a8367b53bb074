// Forward zones: the longest suffix wins (ForwardZones.find), and the pipeline sends a name to its
// zone's upstreams, under the zone's own recursion ACL when it has one; local zones still answer
// first; the cache is shared; a zone without upstreams, or a name under no zone without default
// upstreams, is REFUSED. Fake resolvers, no sockets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CidrSet, ManualClock, silentLogger } from '../../../src/core/index.ts';
import { buildIdentity } from '../../../src/identity/index.ts';
import type { ForwardZone } from '../../../src/server/index.ts';
import { Cookies, ForwardZones, Forwarder, Pipeline } from '../../../src/server/index.ts';
import { absoluteName, nameKey } from '../../../src/wire/index.ts';
import { ZoneStore, buildZone, parseZoneText } from '../../../src/zone/index.ts';
import { testCache } from '../../helpers/cache.ts';
import { FakeResolver, upstreamReply } from '../../helpers/fake-resolver.ts';
import { decode, query } from '../../helpers/wire.ts';

const key = (name: string): string => nameKey(absoluteName(name));
const zone = (name: string, o: Partial<ForwardZone> = {}): ForwardZone => ({
  key: key(name),
  zone: name,
  upstreams: null,
  allow: null,
  ...o,
});

describe('ForwardZones.find: the longest suffix wins', () => {
  const zones = new ForwardZones([
    zone('corp.example.'),
    zone('a.corp.example.'),
    zone('lab.'),
    zone('x.y.z.example.net.'),
  ]);
  const cases: [string, string | null][] = [
    ['corp.example.', 'corp.example.'],
    ['www.corp.example.', 'corp.example.'],
    ['a.corp.example.', 'a.corp.example.'],
    ['deep.er.a.corp.example.', 'a.corp.example.'],
    ['b.corp.example.', 'corp.example.'],
    ['xa.corp.example.', 'corp.example.'],
    ['acorp.example.', null],
    ['example.', null],
    ['corp.example.org.', null],
    ['host.lab.', 'lab.'],
    ['lab.', 'lab.'],
    ['slab.', null],
    ['y.z.example.net.', null],
    ['w.x.y.z.example.net.', 'x.y.z.example.net.'],
    ['.', null],
    // Name keys are lower case: the pipeline's key of "WWW.Corp.Example." is this one.
    ['WWW.CORP.EXAMPLE.', 'corp.example.'],
  ];
  for (const [name, want] of cases)
    it(`${name} → ${want ?? 'none'}`, () => assert.equal(zones.find(key(name.toLowerCase()))?.zone ?? null, want));
});

/** A pipeline with default upstreams (unless `noDefault`) and two forward zones, one with an ACL of its own. */
function setup(o: { noDefault?: boolean } = {}) {
  const clock = new ManualClock();
  const cache = testCache(clock, { prefetch: false });
  const dflt = new FakeResolver();
  const corp = new FakeResolver();
  const deep = new FakeResolver();
  const origin = absoluteName('local.corp.example.');
  const text = '$TTL 60\n@ SOA ns h 1 2 3 4 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.99\n';
  const forwarder = new Forwarder(cache, o.noDefault ? null : dflt, silentLogger, { clock });
  const pipeline = new Pipeline({
    zones: new ZoneStore([
      buildZone(parseZoneText(text, origin, 'local.corp.example.'), origin, 'local.corp.example.'),
    ]),
    identity: buildIdentity({ siteId: 's', hostname: 'h', version: 'v' }),
    udpPayload: 1232,
    forwarder,
    recursionAllow: new CidrSet(['0.0.0.0/0']),
    forwardZones: new ForwardZones([
      zone('corp.example.', { upstreams: corp, allow: new CidrSet(['10.0.0.0/8']) }),
      zone('a.corp.example.', { upstreams: deep }),
      zone('dead.example.', { upstreams: null }),
    ]),
    rateLimit: null,
    cookies: new Cookies({ current: new Uint8Array(16), previous: null }, () => 0),
  });
  return { pipeline, dflt, corp, deep };
}

/** Ask, answer every open resolution with an A record, and return the response. */
async function ask(s: ReturnType<typeof setup>, name: string, client: string): Promise<ReturnType<typeof decode>> {
  const out = s.pipeline.handle(query(name, 'A'), 'udp', client);
  for (const r of [s.dflt, s.corp, s.deep]) r.settleAll((n) => upstreamReply(n, { a: '192.0.2.7' }));
  const b = await out;
  assert.ok(b);
  return decode(b);
}

describe('Pipeline with forward zones', () => {
  const INSIDE = '10.1.2.3';
  const OUTSIDE = '192.0.2.55';

  it('each name goes to the upstreams of its longest zone, or to the default ones', async () => {
    const s = setup();
    for (const [name, by] of [
      ['www.corp.example', s.corp],
      ['x.a.corp.example', s.deep],
      ['a.corp.example', s.deep],
      ['www.example.org', s.dflt],
    ] as const) {
      const before = [s.dflt.total, s.corp.total, s.deep.total];
      const r = await ask(s, name, INSIDE);
      assert.equal(r.rcode, 'NOERROR', name);
      const after = [s.dflt.total, s.corp.total, s.deep.total];
      assert.deepEqual(
        after.map((n, i) => n - (before[i] as number)),
        [s.dflt, s.corp, s.deep].map((x) => (x === by ? 1 : 0)),
        name,
      );
    }
  });

  it("a zone's recursionAllow replaces recursion.allow for names under it (and only them)", async () => {
    const s = setup();
    const refused = await ask(s, 'www.corp.example', OUTSIDE);
    assert.equal(refused.rcode, 'REFUSED');
    assert.equal(s.corp.total, 0, 'not asked');
    // Under a longer zone whose ACL is null: recursion.allow (everyone here). The node gives each
    // zone the ACL it inherits (forwardAllow, config tests): null only where nothing encloses it.
    assert.equal((await ask(s, 'x.a.corp.example', OUTSIDE)).rcode, 'NOERROR');
    assert.equal((await ask(s, 'www.example.org', OUTSIDE)).rcode, 'NOERROR');
    // Cached by an inside client: still REFUSED to the outside one.
    assert.equal((await ask(s, 'www.corp.example', INSIDE)).rcode, 'NOERROR');
    assert.equal((await ask(s, 'www.corp.example', OUTSIDE)).rcode, 'REFUSED');
  });

  it('a local zone under a forward zone answers first', async () => {
    const s = setup();
    const r = await ask(s, 'www.local.corp.example', OUTSIDE);
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.flag_aa, true);
    assert.equal(r.answers[0]?.data, '192.0.2.99');
    assert.equal(s.corp.total, 0);
  });

  it('one cache for every zone: a second client is answered without asking', async () => {
    const s = setup();
    await ask(s, 'cached.corp.example', INSIDE);
    await ask(s, 'cached.corp.example', '10.9.9.9');
    assert.equal(s.corp.total, 1);
  });

  it('a zone without upstreams, and names under no zone without default upstreams: REFUSED', async () => {
    const s = setup({ noDefault: true });
    assert.equal((await ask(s, 'www.dead.example', INSIDE)).rcode, 'REFUSED');
    assert.equal((await ask(s, 'www.example.org', INSIDE)).rcode, 'REFUSED');
    assert.equal((await ask(s, 'www.corp.example', INSIDE)).rcode, 'NOERROR');
    assert.equal(s.dflt.total, 0);
  });
});
