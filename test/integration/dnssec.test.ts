// Signed answers: edgedns serving a DNSSEC-signed zone (NSEC, and NSEC3 per RFC 9276) must answer
// as Knot DNS does from the same file, section by section (the rules: test/helpers/dns-compare.ts),
// and a validating Unbound in front of it must find every answer secure (AD set, never bogus).
//
// Per zone:   dig ─┬─▶ Knot (reference) ◀── stub ── Unbound ─┐  the harness itself: BIND against
//                  ├─▶ BIND (second reference)                │  Knot, Unbound validating Knot
//                  └─▶ edgedns           ◀── stub ── Unbound  │  what is tested
//
// The harness half proves the signed zones, trust anchors and comparison rules right, so a failure
// in the edgedns half is edgedns's.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Endpoint, Query, Reply } from '../helpers/dns-compare.ts';
import {
  ask,
  compareReplies,
  compareServers,
  digLine,
  dnssecRecords,
  formatComparison,
} from '../helpers/dns-compare.ts';
import type { RunningKnot } from '../helpers/knot.ts';
import { startKnot } from '../helpers/knot.ts';
import type { RunningNamedFiles } from '../helpers/named-files.ts';
import { startNamedWithFiles } from '../helpers/named-files.ts';
import type { RunningServer } from '../helpers/server.ts';
import { startServer } from '../helpers/server.ts';
import type { SignedZone } from '../helpers/signed.ts';
import { makeSignedZones } from '../helpers/signed.ts';
import { tempDir } from '../helpers/tmp.ts';
import type { RunningValidator } from '../helpers/validator.ts';
import { startValidator } from '../helpers/validator.ts';

interface Case {
  what: string;
  /** Relative to the origin; '@' is the apex. */
  name: string;
  type: string;
  options: string[];
  /** Asked through the validating resolver too: not below a delegation (its servers are
   * documentation addresses, unreachable by design), not qtype RRSIG (no RRset to validate). */
  validate: boolean;
  /** Why BIND, the harness's second reference, is not compared with Knot on this one. */
  bindDiffers?: string;
}

const DO = ['+dnssec', '+norec'];
const NO_DO = ['+norec'];

/** The questions, per zone: with DO, then a few without. */
const CASES: Case[] = [
  { what: 'apex SOA', name: '@', type: 'SOA', options: DO, validate: true },
  { what: 'apex NS', name: '@', type: 'NS', options: DO, validate: true },
  { what: 'apex DNSKEY', name: '@', type: 'DNSKEY', options: DO, validate: true },
  { what: 'apex A', name: '@', type: 'A', options: DO, validate: true },
  { what: 'apex MX (target addresses in additional)', name: '@', type: 'MX', options: DO, validate: true },
  { what: 'A of a name', name: 'www', type: 'A', options: DO, validate: true },
  { what: 'AAAA of a name', name: 'www', type: 'AAAA', options: DO, validate: true },
  { what: 'TXT of a name', name: 'txt', type: 'TXT', options: DO, validate: true },
  { what: 'NXDOMAIN, a name that does not exist', name: 'no-such-name-7f3a', type: 'A', options: DO, validate: true },
  { what: 'NXDOMAIN below an existing name', name: 'below.www', type: 'A', options: DO, validate: true },
  { what: 'NODATA, an existing name without the type', name: 'www', type: 'MX', options: DO, validate: true },
  { what: 'NODATA at an empty non-terminal', name: 'b.sub', type: 'A', options: DO, validate: true },
  { what: 'NODATA at the upper empty non-terminal', name: 'sub', type: 'TXT', options: DO, validate: true },
  { what: 'NXDOMAIN below an empty non-terminal', name: 'c.b.sub', type: 'A', options: DO, validate: true },
  { what: 'wildcard answer', name: 'x.wild', type: 'A', options: DO, validate: true },
  { what: 'wildcard answer, TXT', name: 'x.wild', type: 'TXT', options: DO, validate: true },
  { what: 'wildcard answer two labels down', name: 'y.x.wild', type: 'A', options: DO, validate: true },
  { what: 'wildcard NODATA', name: 'x.wild', type: 'MX', options: DO, validate: true },
  { what: 'CNAME to an in-zone name, A', name: 'alias', type: 'A', options: DO, validate: true },
  { what: 'CNAME asked for itself', name: 'alias', type: 'CNAME', options: DO, validate: true },
  { what: 'referral below the insecure delegation', name: 'host.insecure', type: 'A', options: DO, validate: false },
  { what: 'referral below the secure delegation', name: 'host.secure', type: 'A', options: DO, validate: false },
  { what: 'referral for the glue name itself', name: 'ns.secure', type: 'A', options: DO, validate: false },
  { what: 'NS at the insecure cut (a referral)', name: 'insecure', type: 'NS', options: DO, validate: false },
  { what: 'DS at the insecure delegation (NODATA)', name: 'insecure', type: 'DS', options: DO, validate: true },
  { what: 'DS at the secure delegation', name: 'secure', type: 'DS', options: DO, validate: true },
  { what: 'RRSIG query', name: 'www', type: 'RRSIG', options: DO, validate: false },
  { what: 'NSEC3PARAM at the apex', name: '@', type: 'NSEC3PARAM', options: DO, validate: true },
  { what: 'ANY over UDP', name: 'www', type: 'ANY', options: DO, validate: false },
  { what: 'ANY over TCP', name: 'www', type: 'ANY', options: [...DO, '+tcp'], validate: false },
  { what: 'ANY at the apex over TCP', name: '@', type: 'ANY', options: [...DO, '+tcp'], validate: false },
  { what: 'DNSKEY over TCP', name: '@', type: 'DNSKEY', options: [...DO, '+tcp'], validate: false },
  { what: 'no DO: A of a name', name: 'www', type: 'A', options: NO_DO, validate: false },
  { what: 'no DO: DNSKEY', name: '@', type: 'DNSKEY', options: NO_DO, validate: false },
  { what: 'no DO: NXDOMAIN', name: 'no-such-name-7f3a', type: 'A', options: NO_DO, validate: false },
  { what: 'no DO: NODATA at the empty non-terminal', name: 'b.sub', type: 'A', options: NO_DO, validate: false },
  { what: 'no DO: wildcard answer', name: 'x.wild', type: 'A', options: NO_DO, validate: false },
  {
    what: 'no DO: referral below the secure delegation',
    name: 'host.secure',
    type: 'A',
    options: NO_DO,
    validate: false,
  },
  { what: 'no DO: DS at the secure delegation', name: 'secure', type: 'DS', options: NO_DO, validate: false },
  {
    what: 'no DO: ANY over TCP',
    name: 'www',
    type: 'ANY',
    options: [...NO_DO, '+tcp'],
    validate: false,
    // RFC 3225 §3 allows DNSSEC records without DO when the question asks for them; BIND reads ANY
    // as asking, Knot (and edgedns) do not.
    bindDiffers: 'BIND answers ANY with RRSIGs and NSEC without DO',
  },
];

const ORIGINS: { origin: string; denial: SignedZone['denial'] }[] = [
  { origin: 'signed.test.', denial: 'nsec' },
  { origin: 'signed3.test.', denial: 'nsec3' },
];

const fqdn = (name: string, origin: string): string => (name === '@' ? origin : `${name}.${origin}`);
const query = (c: Case, origin: string): Query => ({ name: fqdn(c.name, origin), type: c.type, options: c.options });

let signed: { nsec: SignedZone; nsec3: SignedZone } | undefined;
before(() => {
  signed = makeSignedZones();
});

function zoneOf(denial: SignedZone['denial']): SignedZone {
  // Set by the file's before(), which runs before any suite's.
  if (!signed) throw new Error('the zones were not signed');
  return signed[denial];
}

/** Ask `reference` and `candidate` `c` and fail with the differences, readably. */
async function assertSame(
  reference: Endpoint,
  candidate: Endpoint,
  c: Case,
  origin: string,
  names: [string, string],
): Promise<void> {
  const q = query(c, origin);
  const cmp = await compareServers(reference, candidate, q, names);
  assert.deepEqual(cmp.problems, [], formatComparison(cmp, names));
  if (!c.options.includes('+dnssec')) {
    // Without DO, no DNSSEC records unless asked for by type (RFC 4035 §3.2.1).
    for (const [side, r] of [[names[0], cmp.reference] as const, [names[1], cmp.candidate] as const]) {
      assert.deepEqual(dnssecRecords(r), [], `${side} sent DNSSEC records without DO:\n${r.raw}`);
    }
  }
}

/** Through the validating resolver: NOERROR or NXDOMAIN with AD set. */
async function assertSecure(validator: Endpoint, c: Case, origin: string, log: () => string): Promise<void> {
  const q: Query = { name: fqdn(c.name, origin), type: c.type, options: ['+dnssec'] };
  const r: Reply = await ask(validator, q);
  const why = `${digLine(validator, q)}\n${r.raw}\nunbound's log:\n${log().slice(-4000)}`;
  assert.ok(['NOERROR', 'NXDOMAIN'].includes(r.rcode), `rcode ${r.rcode}: ${why}`);
  assert.ok(r.flags.includes('ad'), `AD not set: ${why}`);
}

/** TC: the signed answer does not fit 512 bytes over UDP, the unsigned one does; over TCP it is whole. */
function truncationCases(origin: string, server: () => Endpoint, reference: () => Endpoint, label: string): void {
  it(`${label}: big TXT with DO in 512 bytes over UDP comes back with TC=1`, async () => {
    const r = await ask(server(), { name: `big.${origin}`, type: 'TXT', options: [...DO, '+bufsize=512', '+ignore'] });
    assert.equal(r.transport, 'UDP');
    assert.ok(r.flags.includes('tc'), r.raw);
  });
  it(`${label}: the same without DO fits (no TC)`, async () => {
    const r = await ask(server(), {
      name: `big.${origin}`,
      type: 'TXT',
      options: [...NO_DO, '+bufsize=512', '+ignore'],
    });
    assert.ok(!r.flags.includes('tc'), r.raw);
    assert.equal(r.answer.length, 1, r.raw);
  });
  it(`${label}: over TCP the signed answer is whole, as the reference's`, async () => {
    const q: Query = { name: `big.${origin}`, type: 'TXT', options: [...DO, '+tcp'] };
    const cmp = await compareServers(reference(), server(), q, ['reference', label]);
    assert.deepEqual(cmp.problems, [], formatComparison(cmp, ['reference', label]));
    assert.equal(cmp.candidate.transport, 'TCP');
    assert.deepEqual(cmp.candidate.answer.map((r) => r.type).sort(), ['RRSIG', 'TXT'], cmp.candidate.raw);
  });
}

for (const { origin, denial } of ORIGINS) {
  describe(`${origin} signed with ${denial.toUpperCase()}`, () => {
    let knot: RunningKnot | undefined;
    const knotEnd = (): Endpoint => {
      if (!knot) throw new Error('knot did not start');
      return knot;
    };
    before(async () => {
      const z = zoneOf(denial);
      knot = await startKnot([{ origin: z.origin, file: z.file }]);
    });
    after(async () => {
      await knot?.stop();
    });

    describe('the harness: BIND against Knot, Unbound validating Knot', () => {
      let named: RunningNamedFiles | undefined;
      let validator: RunningValidator | undefined;
      before(async () => {
        const z = zoneOf(denial);
        named = await startNamedWithFiles([{ origin: z.origin, file: z.file }]);
        validator = await startValidator([{ origin: z.origin, trustAnchor: z.trustAnchor, server: knotEnd() }]);
      });
      after(async () => {
        await named?.stop();
        await validator?.stop();
      });
      for (const c of CASES.filter((x) => x.bindDiffers === undefined)) {
        it(`BIND = Knot: ${c.what} (${c.name} ${c.type} ${c.options.join(' ')})`, async () => {
          assert.ok(named);
          await assertSame(knotEnd(), named, c, origin, ['knot', 'named']);
        });
      }
      for (const c of CASES.filter((x) => x.validate)) {
        it(`Unbound finds Knot's answer secure: ${c.what} (${c.name} ${c.type})`, async () => {
          assert.ok(validator);
          const v = validator;
          await assertSecure(v, c, origin, () => v.log());
        });
      }
      truncationCases(origin, knotEnd, knotEnd, 'knot');

      // The checks can fail: the comparison on doctored copies of a real referral, the validator
      // with a wrong trust anchor.
      it('the comparison finds a missing RRSIG, a TTL, AA, missing glue; allows an extra address', async () => {
        const ref = await ask(knotEnd(), { name: `host.secure.${origin}`, type: 'A', options: DO });
        assert.ok(ref.authority.some((r) => r.type === 'RRSIG') && ref.additional.length > 0, ref.raw);
        assert.deepEqual(compareReplies(ref, ref), { problems: [], notes: [] });
        const noSig = { ...ref, authority: ref.authority.filter((r) => r.type !== 'RRSIG') };
        assert.ok(compareReplies(ref, noSig).problems.some((p) => p.includes('RRSIG')));
        const ttl = { ...ref, authority: ref.authority.map((r) => (r.type === 'NS' ? { ...r, ttl: r.ttl - 1 } : r)) };
        assert.equal(compareReplies(ref, ttl).problems.length, 2);
        const aa = { ...ref, flags: [...ref.flags, 'aa'] };
        assert.deepEqual(compareReplies(ref, aa).problems, ['flag AA: reference 0, candidate 1']);
        const noGlue = { ...ref, additional: [] };
        assert.ok(compareReplies(ref, noGlue).problems.some((p) => p.includes('in-domain glue missing')));
        const www = { owner: `www.${origin}`, ttl: 3600, class: 'IN', type: 'A', data: '192.0.2.80' };
        const extra = compareReplies(ref, { ...ref, additional: [...ref.additional, www] });
        assert.deepEqual(extra.problems, []);
        assert.equal(extra.notes.length, 1);
        const extraNs = { ...www, type: 'NS', data: `ns1.${origin}` };
        assert.equal(compareReplies(ref, { ...ref, additional: [...ref.additional, extraNs] }).problems.length, 1);
      });
      it('Unbound with a wrong trust anchor finds the same answers bogus', async () => {
        const z = zoneOf(denial);
        // The DS digest's last hex digit changed: no DNSKEY matches it.
        const wrong = z.trustAnchor.replace(/[0-9A-F]$/i, (h) => (h.toUpperCase() === '0' ? '1' : '0'));
        assert.notEqual(wrong, z.trustAnchor);
        const v = await startValidator([{ origin, trustAnchor: wrong, server: knotEnd() }]);
        try {
          const r = await ask(v, { name: `www.${origin}`, type: 'A', options: ['+dnssec'] });
          assert.equal(r.rcode, 'SERVFAIL', r.raw);
          assert.ok(!r.flags.includes('ad'), r.raw);
        } finally {
          await v.stop();
        }
      });
    });

    describe('edgedns against Knot', () => {
      let srv: RunningServer | undefined;
      let validator: RunningValidator | undefined;
      const edge = (): Endpoint => {
        if (!srv) throw new Error('edgedns did not start');
        return srv;
      };
      before(async () => {
        const z = zoneOf(denial);
        const dir = tempDir('edgedns-dnssec-');
        const config = join(dir, 'edgedns.yaml');
        writeFileSync(
          config,
          `listen: ["127.0.0.1:0"]
upstreams: []
site: { id: dnssec-site }
zones: { dir: ${JSON.stringify(z.dir)} }
`,
        );
        srv = await startServer({ config, args: [] });
        validator = await startValidator([{ origin: z.origin, trustAnchor: z.trustAnchor, server: srv }]);
      });
      after(async () => {
        await validator?.stop();
        if (srv) assert.equal(await srv.stop(), 0, srv.logs().slice(-3000));
      });
      for (const c of CASES) {
        it(`edgedns = Knot: ${c.what} (${c.name} ${c.type} ${c.options.join(' ')})`, async () => {
          await assertSame(knotEnd(), edge(), c, origin, ['knot', 'edgedns']);
        });
      }
      for (const c of CASES.filter((x) => x.validate)) {
        it(`Unbound finds edgedns's answer secure: ${c.what} (${c.name} ${c.type})`, async () => {
          assert.ok(validator);
          const v = validator;
          await assertSecure(v, c, origin, () => v.log());
        });
      }
      truncationCases(origin, edge, knotEnd, 'edgedns');
    });
  });
}
