// The secondary zones' runtime (RFC 1035 §4.3.5, RFC 1996, RFC 1995): for each zone, the SOA
// check every `refresh` seconds (every `retry` after a failure), at once on a NOTIFY or on
// `edgedns zone refresh`; a newer serial is transferred (IXFR from the serial held, AXFR when
// there is none or the steps do not apply), written beside the kept file, loaded in a thread as a
// file zone is (the same parser and policy: a zone that fails it is not served and the old one
// stays), renamed into place, and served by a zone reload. A zone no primary confirmed for
// `expire` seconds is no longer served: its names get SERVFAIL and the health check fails.
//
// Time: wall-clock, because the expire timer runs across restarts from the kept file's mtime. A
// one-second tick looks at what is due; tests call `tick()` with a manual clock.

import type { Endpoint, IncrementalTransfer, TransferOptions, ZoneTransfer } from '../client/index.js';
import { axfr, ixfr, soaSerialOf } from '../client/index.js';
import type { Clock, Logger } from '../core/index.js';
import { errorMessage, formatHostPort } from '../core/index.js';
import type { TsigKey, WireRecord } from '../wire/index.js';
import { tsigKeyToText } from '../wire/index.js';
import type { ZoneSpec } from '../zone/index.js';
import { serialGreater } from '../zone/index.js';
import type { StoredZone } from './files.js';
import {
  applyDiffs,
  readStored,
  readStoredRecords,
  replaceFile,
  soaTimers,
  touchStored,
  writeZoneFile,
} from './files.js';
import type { SecondaryServing } from './gate.js';

export interface SecondaryZoneSpec {
  /** Absolute, lower case. */
  origin: string;
  primaries: Endpoint[];
  key: TsigKey | null;
  /** Where the zone is kept (files.ts storedFile). */
  file: string;
}

/** The transfers, as client/ does them (tests give scripted ones). */
export interface Transfers {
  soaSerialOf(to: Endpoint, zone: string, o: TransferOptions): Promise<number>;
  axfr(to: Endpoint, zone: string, o: TransferOptions): Promise<ZoneTransfer>;
  ixfr(to: Endpoint, zone: string, have: WireRecord, o: TransferOptions): Promise<IncrementalTransfer>;
}

export type TransferKind = 'axfr' | 'ixfr';

/** What metrics/ counts. */
export interface SecondaryObserver {
  transferred(zone: string, kind: TransferKind): void;
  failed(zone: string): void;
}

export interface SecondaryOptions {
  zones: readonly SecondaryZoneSpec[];
  clock: Clock;
  log: Logger;
  /** Parse and check a zone file as a load would (in a thread); rejects with its problems. */
  check(file: string, origin: string): Promise<void>;
  /** Serve the zones as `serving()` says now (a zone reload); the message says why it failed. */
  apply(): Promise<{ ok: boolean; message: string }>;
  transfers?: Transfers;
  observer?: SecondaryObserver;
  /** One exchange's deadline (ms) and byte cap. */
  timeoutMs?: number;
  maxBytes?: number;
}

export interface SecondaryZoneStatus {
  zone: string;
  source: 'primary';
  primaries: string[];
  /** The serial served; null when the zone has not been transferred. */
  serial: number | null;
  served: boolean;
  expired: boolean;
  /** ISO time of the last transfer or SOA check that found the zone current. */
  lastRefresh: string | null;
  lastError: string | null;
  /** Seconds until the zone expires without news from a primary (null: not held). */
  expiresIn: number | null;
  /** Seconds until the next SOA check. */
  nextCheckIn: number;
  transfers: { axfr: number; ixfr: number; failed: number };
}

interface ZoneState {
  spec: SecondaryZoneSpec;
  stored: StoredZone | null;
  expired: boolean;
  lastRefresh: number | null;
  lastError: string | null;
  /** Wall-clock ms of the next SOA check. */
  nextAt: number;
  running: Promise<void> | null;
  /** A NOTIFY or refresh came during a check: check once more after it. */
  again: boolean;
  counts: { axfr: number; ixfr: number; failed: number };
}

/** Before a zone is held, and as the least interval: how soon to try again (seconds). */
const FIRST_RETRY_S = 10;
const MIN_INTERVAL_S = 1;
const TICK_MS = 1000;

const CLIENT: Transfers = { soaSerialOf, axfr, ixfr };

export class SecondaryZones {
  readonly #o: SecondaryOptions;
  readonly #zones = new Map<string, ZoneState>();
  readonly #t: Transfers;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(o: SecondaryOptions) {
    this.#o = o;
    this.#t = o.transfers ?? CLIENT;
    const now = o.clock.wall();
    for (const spec of o.zones) {
      const stored = readStored(spec.file, spec.origin);
      const expired = stored !== null && now >= stored.currentAt + stored.expire * 1000;
      if (expired)
        o.log.error('secondary zone expired while the node was down: not served until a primary answers', {
          zone: spec.origin,
          serial: stored.serial,
        });
      this.#zones.set(spec.origin, {
        spec,
        stored,
        expired,
        lastRefresh: stored ? stored.currentAt : null,
        lastError: null,
        nextAt: now,
        running: null,
        again: false,
        counts: { axfr: 0, ixfr: 0, failed: 0 },
      });
    }
  }

  get size(): number {
    return this.#zones.size;
  }

  /** What a load needs: the zones served from their kept files, and the gate's data. */
  serving(): { specs: ZoneSpec[]; serving: SecondaryServing } {
    const specs: ZoneSpec[] = [];
    const unavailable: SecondaryServing['unavailable'] = [];
    for (const z of this.#zones.values()) {
      const origin = z.spec.origin;
      if (z.stored && !z.expired) specs.push({ file: z.spec.file, origin });
      else if (z.expired)
        unavailable.push({ origin, why: `zone ${origin} expired: no primary confirmed it for ${z.stored?.expire} s` });
      else unavailable.push({ origin, why: `zone ${origin} not transferred yet` });
    }
    const zones = [...this.#zones.values()].map(({ spec }) => ({
      origin: spec.origin,
      primaries: spec.primaries.map((p) => p.host),
      key: spec.key && tsigKeyToText(spec.key),
    }));
    return { specs, serving: { zones, unavailable } };
  }

  /** Zones that are not served (expired, or never transferred), for the health check. */
  unserved(): string[] {
    return [...this.#zones.values()].filter((z) => !z.stored || z.expired).map((z) => z.spec.origin);
  }

  /** Check every zone now, then keep the timers. */
  start(): void {
    this.tick();
    this.#timer = setInterval(() => this.tick(), TICK_MS);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Expire what is past its time, check what is due. */
  tick(): void {
    if (this.#stopped) return;
    const now = this.#o.clock.wall();
    let expired = false;
    for (const z of this.#zones.values()) {
      if (z.stored && !z.expired && now >= z.stored.currentAt + z.stored.expire * 1000) {
        z.expired = true;
        expired = true;
        this.#o.log.error('secondary zone expired: no longer served', {
          zone: z.spec.origin,
          serial: z.stored.serial,
          expireS: z.stored.expire,
          lastError: z.lastError,
        });
      }
      if (!z.running && now >= z.nextAt) void this.refresh(z.spec.origin);
    }
    if (expired) void this.#apply();
  }

  /** A NOTIFY from `from` was taken (the gate checked who sent it): check the zone now. */
  notified(origin: string, from: string): void {
    if (!this.#zones.has(origin) || this.#stopped) return;
    this.#o.log.info('NOTIFY received', { zone: origin, from });
    void this.refresh(origin);
  }

  /** Check the zone with its primaries now (once more after a running check); resolves when done. */
  refresh(origin: string): Promise<void> {
    const z = this.#zones.get(origin);
    if (!z) return Promise.reject(new Error(`${origin} is not a secondary zone here`));
    if (z.running) {
      z.again = true;
      return z.running;
    }
    const run = async (): Promise<void> => {
      do {
        z.again = false;
        await this.#check(z);
      } while (z.again && !this.#stopped);
    };
    // Started after `running` is set: a NOTIFY taken while the check begins joins it.
    z.running = Promise.resolve()
      .then(run)
      .finally(() => {
        z.running = null;
      });
    return z.running;
  }

  has(origin: string): boolean {
    return this.#zones.has(origin);
  }

  status(): SecondaryZoneStatus[] {
    const now = this.#o.clock.wall();
    const seconds = (ms: number): number => Math.max(0, Math.round(ms / 1000));
    return [...this.#zones.values()].map((z) => ({
      zone: z.spec.origin,
      source: 'primary',
      primaries: z.spec.primaries.map(formatHostPort),
      serial: z.stored?.serial ?? null,
      served: z.stored !== null && !z.expired,
      expired: z.expired,
      lastRefresh: z.lastRefresh === null ? null : new Date(z.lastRefresh).toISOString(),
      lastError: z.lastError,
      expiresIn: z.stored && !z.expired ? seconds(z.stored.currentAt + z.stored.expire * 1000 - now) : null,
      nextCheckIn: seconds(z.nextAt - now),
      transfers: { ...z.counts },
    }));
  }

  get #opts(): TransferOptions {
    return { timeoutMs: this.#o.timeoutMs ?? 60_000, maxBytes: this.#o.maxBytes ?? 512 << 20, key: null };
  }

  /** Ask each primary in turn until one gives an answer: current, or a newer zone. */
  async #check(z: ZoneState): Promise<void> {
    const { origin, primaries, key } = z.spec;
    const opts = { ...this.#opts, key };
    const errors: string[] = [];
    for (const p of primaries) {
      try {
        const serial = await this.#t.soaSerialOf(p, origin, opts);
        if (z.stored && !serialGreater(z.stored.serial, serial)) {
          await this.#current(z);
          return;
        }
        await this.#transfer(z, p, opts);
        return;
      } catch (e) {
        errors.push(`${formatHostPort(p)}: ${errorMessage(e)}`);
      }
    }
    z.counts.failed++;
    this.#o.observer?.failed(origin);
    z.lastError = errors.join('; ');
    const retry = Math.max(MIN_INTERVAL_S, z.stored?.retry ?? FIRST_RETRY_S);
    z.nextAt = this.#o.clock.wall() + retry * 1000;
    this.#o.log.warn('secondary zone: no primary answered', { zone: origin, errors, retryS: retry });
  }

  /** The primary has the serial we hold: the zone is current as of now. */
  async #current(z: ZoneState): Promise<void> {
    const now = this.#o.clock.wall();
    const stored = z.stored as StoredZone;
    stored.currentAt = now;
    touchStored(z.spec.file, now);
    z.lastRefresh = now;
    z.lastError = null;
    z.nextAt = now + Math.max(MIN_INTERVAL_S, stored.refresh) * 1000;
    if (z.expired) {
      z.expired = false;
      this.#o.log.info('secondary zone current again: served', { zone: z.spec.origin, serial: stored.serial });
      await this.#apply();
    }
  }

  /** Take the newer zone from `p` (IXFR when we hold one), check it, keep it, serve it. */
  async #transfer(z: ZoneState, p: Endpoint, opts: TransferOptions): Promise<void> {
    const { origin, file } = z.spec;
    const t0 = this.#o.clock.now();
    let records: WireRecord[] | null = null;
    let kind: TransferKind = 'axfr';
    if (z.stored) {
      try {
        const r = await this.#t.ixfr(p, origin, z.stored.soa, opts);
        if (r.kind === 'current') return this.#current(z);
        if (r.kind === 'full') records = r.records;
        else {
          records = applyDiffs(readStoredRecords(file, origin), r.diffs);
          kind = 'ixfr';
        }
      } catch (e) {
        this.#o.log.info('IXFR did not give the zone: AXFR instead', { zone: origin, error: errorMessage(e) });
      }
    }
    records ??= (await this.#t.axfr(p, origin, opts)).records;
    const soa = records[0] as WireRecord;
    const next = `${file}.new`;
    writeZoneFile(next, origin, records);
    await this.#o.check(next, origin);
    replaceFile(next, file);
    const now = this.#o.clock.wall();
    touchStored(file, now);
    z.stored = { ...soaTimers(soa.rdata), soa, currentAt: now };
    z.expired = false;
    z.lastRefresh = now;
    z.lastError = null;
    z.nextAt = now + Math.max(MIN_INTERVAL_S, z.stored.refresh) * 1000;
    z.counts[kind]++;
    this.#o.observer?.transferred(origin, kind);
    this.#o.log.info('zone transferred', {
      zone: origin,
      serial: z.stored.serial,
      kind,
      records: records.length,
      from: formatHostPort(p),
      ms: Math.round(this.#o.clock.now() - t0),
    });
    await this.#apply();
  }

  async #apply(): Promise<void> {
    const r = await this.#o.apply();
    if (!r.ok) this.#o.log.error('secondary zones: the reload that serves them failed', { message: r.message });
  }
}
