// The level-triggered announcer with a recording adapter: one call at a time, newer desired state
// replaces a pending one, retries after failures, re-assertion, and settling.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Action, Adapter, AnnounceObserver, AnnounceRequest, Deprefer } from '../../../src/announce/index.ts';
import { AdapterError, Announcer } from '../../../src/announce/index.ts';
import { silentLogger } from '../../../src/core/index.ts';
import { until } from '../../helpers/node.ts';

/** Records calls; each call waits for `release()` unless `auto`; can be told to fail. */
class RecordingAdapter implements Adapter {
  readonly name = 'recording';
  calls: AnnounceRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  failNext = 0;
  auto = true;
  #release: (() => void)[] = [];
  async apply(req: AnnounceRequest): Promise<string> {
    this.calls.push(req);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (!this.auto) await new Promise<void>((r) => this.#release.push(r));
      if (this.failNext > 0) {
        this.failNext--;
        throw new AdapterError('boom');
      }
      return 'ok';
    } finally {
      this.inFlight--;
    }
  }
  release(): void {
    for (const r of this.#release.splice(0)) r();
  }
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));
/** How long settled() may wait: it returns as soon as the state is confirmed, so only a failure waits this long. */
const SETTLE_MS = 30_000;
const DEPREFER: Deprefer = { asn: 65011, prepend: 3, med: null };
const make = (a: RecordingAdapter, reconcileMs = 0, deprefer: Deprefer | null = null, observer?: AnnounceObserver) =>
  new Announcer({
    adapter: a,
    prefixes: ['192.0.2.53/32'],
    siteId: 's1',
    reconcileMs,
    retryMs: 20,
    maxRetryMs: 80,
    log: silentLogger,
    deprefer,
    ...(observer && { observer }),
  });

describe('Announcer', () => {
  it('applies the desired state and confirms it', async () => {
    const a = new RecordingAdapter();
    const n = make(a);
    n.set('withdraw', 'startup');
    assert.equal(await n.settled(SETTLE_MS), true);
    assert.equal(n.confirmed, 'withdraw');
    assert.deepEqual(
      a.calls.map((c) => [c.action, c.reason, c.seq, c.prefixes]),
      [['withdraw', 'startup', 1, ['192.0.2.53/32']]],
    );
    n.stop();
  });

  it('runs one call at a time; a newer desired state replaces a pending one', async () => {
    const a = new RecordingAdapter();
    a.auto = false;
    const n = make(a);
    n.set('withdraw', 'startup');
    await tick();
    n.set('announce', 'healthy');
    n.set('withdraw', 'unhealthy');
    n.set('announce', 'healthy');
    await tick();
    assert.equal(a.calls.length, 1, 'the others wait');
    a.auto = true;
    a.release();
    assert.equal(await n.settled(SETTLE_MS), true);
    assert.equal(a.maxInFlight, 1);
    assert.deepEqual(
      a.calls.map((c) => c.action),
      ['withdraw', 'announce'],
      'intermediate states are skipped',
    );
    assert.equal(n.confirmed, 'announce');
    n.stop();
  });

  it('retries a failed call with back-off until it succeeds; confirmed stays as it was', async () => {
    const a = new RecordingAdapter();
    const n = make(a);
    n.set('announce', 'healthy');
    await n.settled(SETTLE_MS);
    a.failNext = 3;
    n.set('withdraw', 'unhealthy');
    await tick(10);
    assert.equal(n.confirmed, 'announce', 'not confirmed while failing');
    assert.equal(n.status().lastError, 'boom');
    assert.equal(await n.settled(SETTLE_MS), true);
    assert.equal(n.confirmed, 'withdraw');
    assert.equal(a.calls.filter((c) => c.action === 'withdraw').length, 4);
    assert.equal(n.status().failures, 3);
    n.stop();
  });

  it('re-asserts the desired state periodically even when confirmed', async () => {
    const a = new RecordingAdapter();
    const n = make(a, 30);
    n.set('announce', 'healthy');
    await n.settled(SETTLE_MS);
    await until(() => a.calls.length >= 3, SETTLE_MS, 'two re-assertions');
    assert.ok(a.calls.every((c) => c.action === 'announce'));
    n.stop();
    const after = a.calls.length;
    await tick(80);
    assert.equal(a.calls.length, after, 'stop ends re-assertion');
  });

  it('settled() times out while the adapter keeps failing', async () => {
    const a = new RecordingAdapter();
    a.failNext = 1000;
    const n = make(a);
    n.set('withdraw', 'stopping');
    assert.equal(await n.settled(100), false);
    n.stop();
  });

  it('deprefer: the configured values go to the adapter with that action only; announce ↔ deprefer directly', async () => {
    const a = new RecordingAdapter();
    const seen: string[] = [];
    const observer: AnnounceObserver = {
      desired: (x: Action) => seen.push(`desired ${x}`),
      confirmed: (x: Action | null) => seen.push(`confirmed ${x}`),
      transition: (x: Action, reason: string) => seen.push(`transition ${x} ${reason}`),
      call: () => {},
    };
    const n = make(a, 0, DEPREFER, observer);
    n.set('announce', 'healthy');
    assert.equal(await n.settled(SETTLE_MS), true);
    n.set('deprefer', 'overloaded');
    assert.equal(await n.settled(SETTLE_MS), true);
    assert.equal(n.confirmed, 'deprefer');
    assert.equal(n.status().desired, 'deprefer');
    n.set('deprefer', 'overloaded');
    n.set('announce', 'healthy');
    assert.equal(await n.settled(SETTLE_MS), true);
    assert.deepEqual(
      a.calls.map((c) => [c.action, c.deprefer]),
      [
        ['announce', null],
        ['deprefer', DEPREFER],
        ['announce', null],
      ],
      'no withdraw between, and deprefer values only with deprefer',
    );
    assert.deepEqual(seen, [
      'desired announce',
      'transition announce healthy',
      'confirmed announce',
      'desired deprefer',
      'transition deprefer overloaded',
      'confirmed deprefer',
      'desired announce',
      'transition announce healthy',
      'confirmed announce',
    ]);
    n.stop();
  });

  it("set('deprefer') without the deprefer option throws; bad values fail at construction", () => {
    const a = new RecordingAdapter();
    const n = make(a);
    assert.throws(
      () => n.set('deprefer', 'overloaded'),
      (e: unknown) =>
        e instanceof Error &&
        'code' in e &&
        e.code === 'ERR_CONFIG_INVALID' &&
        /needs the deprefer option/.test(e.message),
    );
    assert.equal(n.desired, null, 'nothing was asked');
    assert.equal(a.calls.length, 0);
    n.stop();
    assert.throws(
      () => make(a, 0, { asn: 65011, prepend: 1.5, med: null }),
      /announce\.deprefer\.prepend: expected an integer 0\.\.32, got 1\.5/,
    );
  });
});
