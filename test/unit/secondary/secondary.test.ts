// The secondary zones' runtime against scripted primaries and a manual clock: the first transfer,
// SOA checks that find the zone current, IXFR steps applied (and AXFR when they do not apply),
// a failing primary and the next one, retry and expiry, a transferred zone that fails the policy,
// a restart from the kept file, and a NOTIFY during a check.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, utimesSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { Endpoint, IncrementalTransfer, ZoneDiff } from '../../../src/client/index.ts';
import { ManualClock, silentLogger } from '../../../src/core/index.ts';
import type { SecondaryZoneSpec, Transfers } from '../../../src/secondary/index.ts';
import { SecondaryZones, applyDiffs, storedFile } from '../../../src/secondary/index.ts';
import type { WireRecord } from '../../../src/wire/index.ts';
import { absoluteName } from '../../../src/wire/index.ts';
import { formatRecord, parseZoneText } from '../../../src/zone/index.ts';
import { tempDir } from '../../helpers/tmp.ts';

const ORIGIN = 'example.net.';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The zone at `serial` (refresh 10 s, retry 5 s, expire 60 s) with these extra lines. */
const zoneAt = (serial: number, extra = ''): WireRecord[] =>
  parseZoneText(
    `@ 300 IN SOA ns.example.net. h.example.net. ${serial} 10 5 60 300\n@ 300 IN NS ns\nns 300 IN A 192.0.2.1\n${extra}`,
    absoluteName(ORIGIN),
  );

/** A primary whose zone the test sets; it counts what it was asked, and can fail. */
class Primary implements Transfers {
  records: WireRecord[] = zoneAt(1);
  diffs: ZoneDiff[] | null = null;
  down = false;
  asked: string[] = [];
  /** Called during the next SOA check (once). */
  duringCheck: (() => void) | null = null;
  readonly #name: string;
  constructor(name = 'p1') {
    this.#name = name;
  }
  #serial(): number {
    const r = this.records[0]?.rdata as Uint8Array;
    return new DataView(r.buffer, r.byteOffset + r.length - 20).getUint32(0);
  }
  #ask(what: string): void {
    this.asked.push(`${this.#name}:${what}`);
    if (this.down) throw new Error('connection refused');
  }
  async soaSerialOf(): Promise<number> {
    this.#ask('soa');
    const f = this.duringCheck;
    this.duringCheck = null;
    f?.();
    return this.#serial();
  }
  async axfr(): Promise<{ serial: number; records: WireRecord[]; messages: number; bytes: number }> {
    this.#ask('axfr');
    return { serial: this.#serial(), records: this.records, messages: 1, bytes: 0 };
  }
  async ixfr(_to: Endpoint, _zone: string, have: WireRecord): Promise<IncrementalTransfer> {
    this.#ask('ixfr');
    const serial = this.#serial();
    if (this.diffs) return { kind: 'incremental', serial, diffs: this.diffs, messages: 1, bytes: 0 };
    if (new DataView(have.rdata.buffer, have.rdata.byteOffset + have.rdata.length - 20).getUint32(0) === serial)
      return { kind: 'current', serial, messages: 1, bytes: 0 };
    return { kind: 'full', serial, records: this.records, messages: 1, bytes: 0 };
  }
}

/** Transfers that go to the primary named by the endpoint's port. */
const route = (primaries: Primary[]): Transfers => ({
  soaSerialOf: (to) => (primaries[to.port] as Primary).soaSerialOf(),
  axfr: (to) => (primaries[to.port] as Primary).axfr(),
  ixfr: (to, z, have) => (primaries[to.port] as Primary).ixfr(to, z, have),
});

function setup(o: { primaries?: Primary[]; dir?: string; clock?: ManualClock; check?: (file: string) => void } = {}) {
  const dir = o.dir ?? tempDir('edgedns-secondary-unit-');
  dirs.push(dir);
  const primaries = o.primaries ?? [new Primary()];
  const clock = o.clock ?? new ManualClock(Date.now());
  const spec: SecondaryZoneSpec = {
    origin: ORIGIN,
    primaries: primaries.map((_, i) => ({ host: '127.0.0.1', port: i })),
    key: null,
    file: storedFile(dir, ORIGIN),
  };
  let applied = 0;
  const s = new SecondaryZones({
    zones: [spec],
    clock,
    log: silentLogger,
    transfers: route(primaries),
    apply: async () => {
      applied++;
      return { ok: true, message: 'ok' };
    },
    check: async (file) => o.check?.(file),
  });
  return { s, dir, clock, primaries, spec, applied: () => applied };
}

/** Let the checks a tick started run to their end (the scripted primaries answer at once). */
const settled = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

const kept = (file: string): string[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split('\t').slice(3).join(' '));

describe('secondary zones: refresh', () => {
  it('not held: AXFR, kept on disk (SOA first), served; then the SOA check finds it current', async () => {
    const { s, spec, primaries, clock, applied } = setup();
    const p = primaries[0] as Primary;
    assert.deepEqual(s.unserved(), [ORIGIN]);
    assert.deepEqual(s.serving().serving.unavailable, [{ origin: ORIGIN, why: `zone ${ORIGIN} not transferred yet` }]);
    await s.refresh(ORIGIN);
    assert.deepEqual(p.asked, ['p1:soa', 'p1:axfr']);
    assert.equal(applied(), 1);
    assert.deepEqual(kept(spec.file)[0], 'SOA ns.example.net. h.example.net. 1 10 5 60 300');
    assert.deepEqual(s.serving().specs, [{ file: spec.file, origin: ORIGIN }]);
    assert.deepEqual(s.unserved(), []);
    const st = s.status()[0];
    assert.equal(st?.serial, 1);
    assert.equal(st?.nextCheckIn, 10, 'the SOA refresh');
    assert.equal(st?.expiresIn, 60);
    clock.advance(10_000);
    s.tick();
    await settled();
    assert.deepEqual(p.asked, ['p1:soa', 'p1:axfr', 'p1:soa'], 'no transfer: the same serial');
    assert.equal(applied(), 1);
    assert.equal(s.status()[0]?.expiresIn, 60, 'current as of now');
  });

  it('a newer serial: the IXFR steps applied to the kept zone; steps that do not apply: AXFR', async () => {
    const { s, spec, primaries } = setup();
    const p = primaries[0] as Primary;
    await s.refresh(ORIGIN);
    const add = zoneAt(2, 'www 300 IN A 192.0.2.80\n');
    p.records = add;
    p.diffs = [
      { from: 1, to: 2, deleted: [zoneAt(1)[0] as WireRecord], added: [add[0] as WireRecord, add[3] as WireRecord] },
    ];
    await s.refresh(ORIGIN);
    assert.deepEqual(p.asked.slice(2), ['p1:soa', 'p1:ixfr']);
    assert.ok(kept(spec.file).includes('A 192.0.2.80'));
    assert.equal(s.status()[0]?.transfers.ixfr, 1);
    // A step removing what the zone does not hold: the histories differ, the whole zone instead.
    p.records = zoneAt(3, 'mail 300 IN A 192.0.2.25\n');
    p.diffs = [
      {
        from: 2,
        to: 3,
        deleted: [add[0] as WireRecord, zoneAt(3, 'gone 300 IN A 192.0.2.9\n')[3] as WireRecord],
        added: [p.records[0] as WireRecord],
      },
    ];
    await s.refresh(ORIGIN);
    assert.deepEqual(p.asked.slice(4), ['p1:soa', 'p1:ixfr', 'p1:axfr']);
    assert.ok(kept(spec.file).includes('A 192.0.2.25'));
    assert.ok(!kept(spec.file).includes('A 192.0.2.80'));
    assert.deepEqual(s.status()[0]?.transfers, { axfr: 2, ixfr: 1, failed: 0 });
  });

  it('a primary down: the next one asked; all down: the error kept, retried after `retry`', async () => {
    const [a, b] = [new Primary('p1'), new Primary('p2')];
    a.down = true;
    const { s, clock } = setup({ primaries: [a, b] });
    await s.refresh(ORIGIN);
    assert.deepEqual([...a.asked, ...b.asked], ['p1:soa', 'p2:soa', 'p2:axfr']);
    b.down = true;
    clock.advance(10_000);
    await s.refresh(ORIGIN);
    const st = s.status()[0];
    assert.equal(st?.lastError, '127.0.0.1:0: connection refused; 127.0.0.1:1: connection refused');
    assert.equal(st?.nextCheckIn, 5, 'the SOA retry');
    assert.equal(st?.transfers.failed, 1);
    assert.equal(st?.served, true, 'still served until it expires');
  });

  it('no primary for `expire` seconds: not served (SERVFAIL, health), then current again when one answers', async () => {
    const { s, clock, primaries, applied } = setup();
    const p = primaries[0] as Primary;
    await s.refresh(ORIGIN);
    p.down = true;
    clock.advance(59_000);
    s.tick();
    await settled();
    assert.deepEqual(s.unserved(), []);
    clock.advance(1_000);
    s.tick();
    assert.deepEqual(s.unserved(), [ORIGIN]);
    assert.equal(s.serving().specs.length, 0);
    assert.match(s.serving().serving.unavailable[0]?.why ?? '', /expired: no primary confirmed it for 60 s/);
    await s.refresh(ORIGIN);
    assert.equal(applied(), 2, 'the expiry applied');
    p.down = false;
    await s.refresh(ORIGIN);
    assert.deepEqual(s.unserved(), []);
    assert.equal(applied(), 3, 'served again');
    assert.equal(s.status()[0]?.expired, false);
  });

  it('a transferred zone that fails the policy: the kept zone stays, the error says why', async () => {
    let refuse = false;
    const { s, spec, primaries } = setup({
      check: () => {
        if (refuse) throw new Error('zone.new:4: CNAME beside other data');
      },
    });
    await s.refresh(ORIGIN);
    refuse = true;
    (primaries[0] as Primary).records = zoneAt(2, 'ns 300 IN CNAME elsewhere.example.\n');
    await s.refresh(ORIGIN);
    assert.match(s.status()[0]?.lastError ?? '', /CNAME beside other data/);
    assert.equal(s.status()[0]?.serial, 1);
    assert.deepEqual(kept(spec.file)[0], 'SOA ns.example.net. h.example.net. 1 10 5 60 300');
  });

  it('a restart: the kept zone served at once; expired when the file is older than `expire`', async () => {
    const first = setup();
    await first.s.refresh(ORIGIN);
    const again = setup({ dir: first.dir, primaries: [new Primary()] });
    assert.deepEqual(again.s.serving().specs, [{ file: first.spec.file, origin: ORIGIN }]);
    assert.equal(again.s.status()[0]?.serial, 1);
    const old = (Date.now() - 61_000) / 1000;
    utimesSync(first.spec.file, old, old);
    const late = setup({ dir: first.dir, primaries: [new Primary()] });
    assert.deepEqual(late.s.unserved(), [ORIGIN]);
    assert.equal(late.s.status()[0]?.expired, true);
  });

  it('a NOTIFY during a check: checked once more after it', async () => {
    const { s, primaries } = setup();
    const p = primaries[0] as Primary;
    await s.refresh(ORIGIN);
    p.duringCheck = () => {
      p.records = zoneAt(2);
      s.notified(ORIGIN, '127.0.0.1');
    };
    await s.refresh(ORIGIN);
    assert.deepEqual(p.asked.slice(2), ['p1:soa', 'p1:ixfr', 'p1:soa']);
    assert.equal(s.status()[0]?.serial, 2);
    s.notified('other.example.', '127.0.0.1'); // not ours: nothing
    await assert.rejects(s.refresh('other.example.'), /not a secondary zone here/);
  });
});

describe('applyDiffs', () => {
  it('steps in order: out, then in; the SOA the last step’s', () => {
    const z1 = zoneAt(1, 'a 300 IN A 192.0.2.1\n');
    const z2 = zoneAt(2, 'b 300 IN A 192.0.2.2\n');
    const z3 = zoneAt(3, 'c 300 IN A 192.0.2.3\n');
    const out = applyDiffs(z1, [
      { from: 1, to: 2, deleted: [z1[0], z1[3]] as WireRecord[], added: [z2[0], z2[3]] as WireRecord[] },
      { from: 2, to: 3, deleted: [z2[0], z2[3]] as WireRecord[], added: [z3[0], z3[3]] as WireRecord[] },
    ]);
    assert.deepEqual(
      out.map((r) => {
        const f = formatRecord(r).split('\t');
        return `${f[0]} ${f[3]} ${f[4]}`;
      }),
      [
        'example.net. SOA ns.example.net. h.example.net. 3 10 5 60 300',
        'example.net. NS ns.example.net.',
        'ns.example.net. A 192.0.2.1',
        'c.example.net. A 192.0.2.3',
      ],
    );
    assert.throws(
      () =>
        applyDiffs(z1, [{ from: 1, to: 2, deleted: [z1[0], z3[3]] as WireRecord[], added: [z2[0]] as WireRecord[] }]),
      /IXFR 1 → 2 removes a record the zone does not hold/,
    );
  });
});
