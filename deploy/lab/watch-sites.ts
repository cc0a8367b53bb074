// Polls each lab site's admin /status from the client's namespace (drill.ts starts it) and prints
// one JSON line per look: { t, site, state, desired }; state "unreachable" when /status did not
// answer within the interval. Bounded: stops after --duration or on SIGTERM.
//
//   node --import tsx deploy/lab/watch-sites.ts --interval 250 --duration 120000 site1=198.51.100.2:9153 …

const args = process.argv.slice(2);
const num = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number`);
  return v;
};
const interval = Math.max(num('interval', 250), 50);
const duration = Math.min(num('duration', 120_000), 600_000);
const sites = args.map((a) => {
  const [site, addr] = a.split('=');
  if (!site || !addr) throw new Error(`expected SITE=HOST:PORT, got "${a}"`);
  return { site, url: `http://${addr}/status` };
});

interface Status {
  health?: { state?: string };
  announce?: { desired?: string };
}

async function look(site: string, url: string): Promise<void> {
  const t = Date.now();
  let state = 'unreachable';
  let desired: string | null = null;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(Math.max(interval * 4, 1000)) });
    const s = (await r.json()) as Status;
    state = s.health?.state ?? 'unknown';
    desired = s.announce?.desired ?? null;
  } catch {
    // unreachable: a site that does not answer its admin port within the time is a figure too
  }
  process.stdout.write(`${JSON.stringify({ t, site, state, desired })}\n`);
}

let stopped = false;
process.once('SIGTERM', () => (stopped = true));
const end = Date.now() + duration;
// One loop per site, so a slow site does not delay the looks at the others.
await Promise.all(
  sites.map(async ({ site, url }) => {
    while (!stopped && Date.now() < end) {
      const next = Date.now() + interval;
      await look(site, url);
      await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    }
  }),
);
