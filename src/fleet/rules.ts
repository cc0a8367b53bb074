// The fleet's rules, pure: the withdraw budget (no shared cause takes the last sites out) and the
// data-plane verdict (a site whose DNS packets are dropped on the way in or out, while BGP and BFD
// stay up, withdraws). Both read the peers' last shared states and this node's own probes.

/** What a site tells its peers every interval (GET /fleet/state). */
export interface SiteState {
  site: string;
  version: string;
  /** Health state (UP, SHEDDING, DOWN…) and the last round's verdict. */
  state: string;
  verdict: 'ok' | 'overloaded' | 'broken';
  /** Whether it wants the address announced (de-preferred counts). */
  announced: boolean;
  /** Shared checks fail with sharedWithdraw on: it wants a budgeted withdrawal. */
  budgeted: boolean;
  /** The budget let it go at its last round: it is on its way out (FALLING, then withdrawn). */
  leaving: boolean;
  /** Zone origin → SOA serial. */
  serials: Record<string, number>;
  /** sha256 of its config without what is per site (site, listen, admin): the same everywhere unless a config drifted. */
  configHash: string;
  load: { utilization: number; lagMs: number };
  /** Peer site → whether its DNS probes reach it (absent until it knows). */
  sees: Record<string, boolean>;
  /** Peers whose wish to withdraw (`budgeted`) this site has seen. */
  acks: string[];
}

/** This node's view of one peer. */
export interface PeerView {
  site: string;
  /** Its last state, or null when none has come yet. */
  state: SiteState | null;
  /** Whether that state is recent enough to count (fleet.staleAfter). */
  fresh: boolean;
  /** Whether this node's DNS probes reach it: null until probeFall results are in. */
  reach: boolean | null;
}

export interface Decision {
  allow: boolean;
  detail: string;
}

export interface Fault {
  fault: boolean;
  detail: string;
}

const freshStates = (peers: readonly PeerView[]): SiteState[] =>
  peers.flatMap((p) => (p.fresh && p.state ? [p.state] : []));

/**
 * May this node withdraw (or stay withdrawn) for a shared cause? Only if at least `min` sites stay
 * announced. Several sites that want to withdraw at once go in order: those already leaving first,
 * then by name, so that all of them, deciding from the same view, let exactly the surplus go. A node goes only once every
 * fresh peer has seen its wish (`acks`): two sites whose wishes crossed each other's last reads
 * would otherwise both go, each unaware of the other. Without a fresh peer the fleet view is
 * unavailable and the node decides alone, as a single node does.
 */
export function withdrawBudget(
  self: { site: string; announced: boolean; leaving: boolean },
  peers: readonly PeerView[],
  min: number,
): Decision {
  const fresh = freshStates(peers);
  if (fresh.length === 0) return { allow: true, detail: 'no fleet view (no peer state is fresh): deciding alone' };
  const others = fresh.filter((s) => s.announced);
  if (!self.announced) {
    const n = others.length;
    return n >= min
      ? { allow: true, detail: `${n} other site(s) announced, ${min} needed` }
      : { allow: false, detail: `only ${n} other site(s) announced, at least ${min} must be` };
  }
  const unaware = fresh.filter((s) => !s.acks.includes(self.site)).map((s) => s.site);
  if (unaware.length > 0)
    return { allow: false, detail: `waiting until ${unaware.join(', ')} see(s) that this site wants to withdraw` };
  const total = others.length + 1;
  const surplus = total - min;
  const queue = [self, ...others.filter((s) => s.budgeted)]
    .sort((a, b) => Number(b.leaving) - Number(a.leaving) || (a.site < b.site ? -1 : a.site > b.site ? 1 : 0))
    .map((s) => s.site);
  const rank = queue.indexOf(self.site);
  if (rank < surplus) return { allow: true, detail: `${total} sites announced, ${min} must stay` };
  const first = queue.slice(0, Math.max(0, surplus));
  return {
    allow: false,
    detail: `${total} site(s) announced and at least ${min} must stay${first.length > 0 ? `; ${first.join(', ')} withdraw first` : ''}`,
  };
}

/**
 * A data-plane fault of this node: more than half of the peers that can vouch for the network
 * (they reach some third site over DNS) cannot reach this one, or this node reaches none of its
 * peers while they reach each other. One peer with a broken uplink is no witness (it reaches no
 * one), so it cannot make healthy sites withdraw. Two sites alone cannot tell whose uplink broke:
 * it takes three.
 */
export function dataPlaneFault(self: string, peers: readonly PeerView[]): Fault {
  const fresh = freshStates(peers);
  const witnesses = fresh.filter((s) =>
    Object.entries(s.sees).some(([site, ok]) => ok && site !== self && site !== s.site),
  );
  const against = witnesses.filter((s) => s.sees[self] === false);
  if (witnesses.length > 0 && 2 * against.length > witnesses.length)
    return {
      fault: true,
      detail: `${against.length} of ${witnesses.length} peers cannot reach this site over DNS (${against.map((s) => s.site).join(', ')})`,
    };
  const probed = peers.filter((p) => p.fresh && p.reach !== null);
  const linked = fresh.some((a) => fresh.some((b) => a !== b && a.sees[b.site] === true));
  if (probed.length > 0 && probed.every((p) => p.reach === false) && linked)
    return {
      fault: true,
      detail: `this site reaches none of its ${probed.length} peer(s) over DNS while they reach each other`,
    };
  return {
    fault: false,
    detail: `${witnesses.length - against.length} of ${witnesses.length} vouching peers reach this site`,
  };
}
