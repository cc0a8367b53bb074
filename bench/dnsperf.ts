// Running dnsperf and reading what it prints: the harness's parts that can break are here, and
// tested (test/unit/bench/).

export interface DnsperfSummary {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  avgMs: number;
}

/** Read dnsperf's summary ("Queries sent: …", "Queries per second: …", "Average Latency (s): …"). */
export function parseDnsperf(out: string): DnsperfSummary {
  const num = (re: RegExp, what: string): number => {
    const m = re.exec(out);
    if (!m) throw new Error(`dnsperf output has no ${what}`);
    return Number(m[1]);
  };
  return {
    sent: num(/Queries sent:\s+(\d+)/, 'queries sent'),
    completed: num(/Queries completed:\s+(\d+)/, 'queries completed'),
    lost: num(/Queries lost:\s+(\d+)/, 'queries lost'),
    qps: num(/Queries per second:\s+([\d.]+)/, 'queries per second'),
    avgMs: num(/Average Latency \(s\):\s+([\d.]+)/, 'average latency') * 1000,
  };
}

/** Per-query latencies (ms) from `dnsperf -v` lines such as "> NOERROR www.example.test A 0.000123". */
export function latenciesFromVerbose(out: string): number[] {
  const xs: number[] = [];
  for (const m of out.matchAll(/^> \S+ .* ([\d.]+)$/gm)) xs.push(Number(m[1]) * 1000);
  return xs;
}

/**
 * Read h2load's summary (the doh workload: dnsperf 2.10's DoH client completes 1% of its queries
 * against Node's HTTP/2): "finished in 3.01s, 24100.00 req/s, …" and "requests: N total, … S succeeded, …".
 * `completed` counts the 2xx answers only.
 */
export function parseH2load(out: string): { qps: number; completed: number; requests: number } {
  const finished = /finished in \S+, ([\d.]+) req\/s/.exec(out);
  const requests = /requests: (\d+) total,.* (\d+) succeeded/.exec(out);
  const ok = /status codes: (\d+) 2xx/.exec(out);
  if (!finished || !requests || !ok) throw new Error(`h2load output has no summary: ${out.slice(0, 200)}`);
  return { qps: Number(finished[1]), completed: Number(ok[1]), requests: Number(requests[1]) };
}

/** Per-request latencies (ms) from h2load's --log-file: "start µs<TAB>status<TAB>duration µs" lines. */
export function latenciesFromH2loadLog(text: string): number[] {
  const xs: number[] = [];
  for (const m of text.matchAll(/^\d+\t(\d+)\t(\d+)$/gm)) if (m[1]?.startsWith('2')) xs.push(Number(m[2]) / 1000);
  return xs;
}

export function percentile(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)] as number;
}

/** CPU seconds (user + system) of a process from /proc/PID/stat, given the clock ticks per second. */
export function cpuSecondsFromStat(stat: string, ticks = 100): number {
  // Fields after the command (which may hold spaces) start after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / ticks;
}

export function rssMbFromStatus(status: string): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : 0;
}

/**
 * A process and its descendants (a node with `workers: N` is a primary and N workers), from the
 * children lists of /proc/PID/task/PID/children; `read` returns that file's text, "" when gone.
 */
export function processTree(pid: number, read: (pid: number) => string): number[] {
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0 && out.length < 1000) {
    const p = todo.shift() as number;
    out.push(p);
    for (const c of read(p).split(/\s+/)) if (/^\d+$/.test(c)) todo.push(Number(c));
  }
  return out;
}
