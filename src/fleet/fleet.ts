// The fleet at run time: every `interval`, read each peer's state (exchange.ts) and probe its
// unicast DNS addresses, expecting its NSID. Keeps the view the rules (rules.ts) read, the state
// this node shares, and the table of /fleet and `edgedns status --fleet`.

import type { Clock, Logger } from '../core/index.js';
import { errorMessage } from '../core/index.js';
import type { Decision, Fault, PeerView, SiteState } from './rules.js';
import { dataPlaneFault, withdrawBudget } from './rules.js';

export interface Peer {
  site: string;
  dns: readonly { host: string; port: number }[];
  admin: { host: string; port: number };
}

export interface FleetOptions {
  /** This site's id; the peers are the other sites. */
  self: string;
  peers: readonly Peer[];
  intervalMs: number;
  staleAfterMs: number;
  probeTimeoutMs: number;
  probeFall: number;
  /** Sites that must stay announced (fleet.minAnnounced, resolved). */
  minAnnounced: number;
  clock: Clock;
  log: Logger;
  /** This node's state, without what it sees of the peers (added here). */
  local(): Omit<SiteState, 'sees' | 'acks'>;
  /** Read a peer's state (fetchState with the key). */
  fetch(peer: Peer): Promise<SiteState>;
  /** Ask one DNS address of a peer for its NSID. */
  probe(target: { host: string; port: number }, timeoutMs: number): Promise<string>;
  /** Something the verdicts depend on changed: the health monitor should check now. */
  onChange?(): void;
}

/** One row of the fleet table. */
export interface FleetRow {
  site: string;
  self: boolean;
  /** Its state is recent enough to count (always so for this node). */
  fresh: boolean;
  state: string | null;
  verdict: string | null;
  announced: boolean | null;
  /** This node's DNS probes reach it (null for itself, or before the first results). */
  reach: boolean | null;
  /** How many fresh peers reach it over DNS, of how many that said. */
  reachedBy: string;
  /** Zones whose serial differs from this node's, e.g. "example.test. 5 < 7"; [] when in sync. */
  serialLag: string[];
  sameConfig: boolean | null;
  load: string | null;
  /** Milliseconds since its state was read (null: never; 0 for itself). */
  lastSeenMs: number | null;
  error: string | null;
}

interface Tracked {
  peer: Peer;
  state: SiteState | null;
  at: number;
  error: string | null;
  /** Probes lost in a row, and the verdict once `probeFall` results agree. */
  lost: number;
  reach: boolean | null;
  probeError: string | null;
}

export class Fleet {
  readonly #o: FleetOptions;
  readonly #tracked: Tracked[];
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #last = '';

  constructor(o: FleetOptions) {
    this.#o = o;
    this.#tracked = o.peers.map((peer) => ({
      peer,
      state: null,
      at: -Infinity,
      error: null,
      lost: 0,
      reach: null,
      probeError: null,
    }));
  }

  start(): void {
    this.#timer = setInterval(() => void this.round(), this.#o.intervalMs);
    this.#timer.unref();
    void this.round();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One round: every peer read and probed at once. A round still running skips the next. */
  async round(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      await Promise.all(this.#tracked.map((t) => Promise.all([this.#read(t), this.#probe(t)])));
    } finally {
      this.#running = false;
    }
    // Tell the monitor when what the rules read has changed.
    const key = JSON.stringify(this.view().map((p) => [p.fresh, p.reach, p.state?.sees, p.state?.announced]));
    if (key !== this.#last) {
      this.#last = key;
      this.#o.onChange?.();
    }
  }

  async #read(t: Tracked): Promise<void> {
    try {
      const s = await this.#o.fetch(t.peer);
      if (s.site !== t.peer.site) throw new Error(`answered as site ${s.site}`);
      t.state = s;
      t.at = this.#o.clock.now();
      if (t.error) this.#o.log.info('fleet: peer state readable again', { peer: t.peer.site });
      t.error = null;
    } catch (e) {
      if (!t.error) this.#o.log.warn('fleet: cannot read peer state', { peer: t.peer.site, error: errorMessage(e) });
      t.error = errorMessage(e);
    }
  }

  /** Every DNS address of the peer must answer with its NSID. */
  async #probe(t: Tracked): Promise<void> {
    try {
      for (const target of t.peer.dns) {
        const nsid = await this.#o.probe(target, this.#o.probeTimeoutMs);
        if (nsid !== t.peer.site) throw new Error(`${target.host}:${target.port} answered with NSID "${nsid}"`);
      }
      if (t.reach === false) this.#o.log.info('fleet: peer reachable over DNS again', { peer: t.peer.site });
      t.lost = 0;
      t.reach = true;
      t.probeError = null;
    } catch (e) {
      t.lost++;
      t.probeError = errorMessage(e);
      if (t.lost >= this.#o.probeFall && t.reach !== false) {
        this.#o.log.warn('fleet: peer unreachable over DNS', { peer: t.peer.site, lost: t.lost, error: t.probeError });
        t.reach = false;
      }
    }
  }

  view(): PeerView[] {
    const now = this.#o.clock.now();
    return this.#tracked.map((t) => ({
      site: t.peer.site,
      state: t.state,
      fresh: t.state !== null && now - t.at <= this.#o.staleAfterMs,
      reach: t.reach,
    }));
  }

  /** What this node shares with its peers. */
  state(): SiteState {
    const sees: Record<string, boolean> = {};
    for (const t of this.#tracked) if (t.reach !== null) sees[t.peer.site] = t.reach;
    const acks = this.view().flatMap((p) => (p.fresh && p.state?.budgeted ? [p.site] : []));
    return { ...this.#o.local(), sees, acks };
  }

  /** The withdraw budget, for the health monitor. */
  budget(announced: boolean): Decision {
    const self = { site: this.#o.self, announced, leaving: this.#o.local().leaving };
    return withdrawBudget(self, this.view(), this.#o.minAnnounced);
  }

  /** The data-plane check's outcome. */
  dataPlane(): { ok: boolean; detail: string } {
    const f: Fault = dataPlaneFault(this.#o.self, this.view());
    return { ok: !f.fault, detail: f.detail };
  }

  /** Every site, this one first. */
  table(): FleetRow[] {
    const now = this.#o.clock.now();
    const me = this.state();
    const view = this.view();
    const fresh = view.flatMap((p) => (p.fresh && p.state ? [p.state] : []));
    const reachedBy = (site: string): string => {
      const said = fresh.filter((s) => s.site !== site && site in s.sees);
      const yes = said.filter((s) => s.sees[site]).length + (site !== me.site && me.sees[site] ? 1 : 0);
      const of = said.length + (site !== me.site && site in me.sees ? 1 : 0);
      return `${yes}/${of}`;
    };
    const row = (s: SiteState, self: boolean, t: Tracked | null): FleetRow => ({
      site: s.site,
      self,
      fresh: t === null || now - t.at <= this.#o.staleAfterMs,
      state: s.state,
      verdict: s.verdict,
      announced: s.announced,
      reach: t ? t.reach : null,
      reachedBy: reachedBy(s.site),
      serialLag: self ? [] : serialLag(me.serials, s.serials),
      sameConfig: s.configHash === me.configHash,
      load: `${Math.round(100 * s.load.utilization)}% busy, delay ${Math.round(s.load.lagMs)} ms`,
      lastSeenMs: self ? 0 : t ? Math.round(now - t.at) : null,
      error: t ? (t.error ?? (t.reach === false ? t.probeError : null)) : null,
    });
    return [
      row(me, true, null),
      ...this.#tracked.map((t) =>
        t.state
          ? row(t.state, false, t)
          : {
              site: t.peer.site,
              self: false,
              fresh: false,
              state: null,
              verdict: null,
              announced: null,
              reach: t.reach,
              reachedBy: reachedBy(t.peer.site),
              serialLag: [],
              sameConfig: null,
              load: null,
              lastSeenMs: null,
              error: t.error ?? t.probeError,
            },
      ),
    ];
  }
}

/** Zones whose serials differ between this node (`mine`) and a peer, "zone mine < theirs". */
export function serialLag(mine: Record<string, number>, theirs: Record<string, number>): string[] {
  const out: string[] = [];
  for (const zone of new Set([...Object.keys(mine), ...Object.keys(theirs)]).values()) {
    const a = mine[zone];
    const b = theirs[zone];
    if (a === b) continue;
    out.push(
      `${zone} ${a ?? 'missing'} ${a === undefined || (b !== undefined && a < b) ? '<' : '>'} ${b ?? 'missing'}`,
    );
  }
  return out.sort();
}
