// deploy/monitoring/ checked with the tools that run it: promtool checks and unit-tests the alert
// rules, every metric name the rules and the dashboard use must be one the real node exports, and
// a real Prometheus scrapes two real nodes (one with workers) and runs every rule and every
// dashboard query against them.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { load } from 'js-yaml';
import { dig } from '../helpers/dig.ts';
import type { RunningServer } from '../helpers/server.ts';
import { ROOT, ZONES, startServer } from '../helpers/server.ts';
import { FakeUpstream } from '../helpers/upstream.ts';
import { tempDir } from '../helpers/tmp.ts';

const M = join(ROOT, 'deploy', 'monitoring');
const RULES = join(M, 'edgedns.rules.yml');
const RULE_TESTS = join(M, 'edgedns.rules.test.yml');
const tmp = tempDir('edgedns-monitoring-');
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface Target {
  expr: string;
  refId: string;
  datasource: { uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; definition?: string; query?: unknown }[] };
}

const rules = (load(readFileSync(RULES, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules);
const alerts = rules.map((r) => r.alert).filter((a): a is string => a !== undefined);
const dashboard = JSON.parse(readFileSync(join(M, 'edgedns.dashboard.json'), 'utf8')) as Dashboard;
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
/** The dashboard's Grafana variables, as a query can be run without Grafana. */
const plain = (expr: string, site = '.*', interval = '5m'): string =>
  expr.replaceAll('$__rate_interval', interval).replaceAll('$site', site);

const promtool = (...args: string[]) => spawnSync('promtool', args, { encoding: 'utf8', timeout: 60_000 });

// PromQL words that are not metric names where the extraction below can meet them.
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
  'Inf',
  'NaN',
]);

/**
 * The metric names a PromQL expression selects: with strings, label matchers, ranges and grouping
 * clauses removed, what is left is functions (followed by "("), keywords, numbers and names.
 */
function metricNames(expr: string): Set<string> {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.$])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = bare.slice((m.index ?? 0) + m[0].length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(m[0])) continue;
    out.add(m[0]);
  }
  return out;
}

/** Series names a scrape can hold: every TYPE line's metric, histograms and summaries with their suffixes. */
function exportedNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/gm)) {
    const n = name as string;
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(n + s);
    else if (type === 'summary') for (const s of ['', '_sum', '_count']) out.add(n + s);
    else out.add(n);
  }
  return out;
}

/** The scrape's own series that Prometheus adds to every target: only `up` is used (EdgednsNodeDown). */
const PROMETHEUS_OWN = new Set(['up']);

describe('metric name extraction (the check below depends on it)', () => {
  it('finds the selected names and nothing else', () => {
    const e =
      'histogram_quantile(0.99, sum by (source, le) (rate(edgedns_response_duration_seconds_bucket{site=~"$site"}[$__rate_interval]) * on(job, instance) group_left(site) max by (job, instance, site) (edgedns_build_info))) > 1e3 and up offset 5m unless bool_total';
    assert.deepEqual([...metricNames(e)].sort(), [
      'bool_total',
      'edgedns_build_info',
      'edgedns_response_duration_seconds_bucket',
      'up',
    ]);
  });
  it('names histogram series only with their suffixes', () => {
    const names = exportedNames(
      '# HELP a_seconds x\n# TYPE a_seconds histogram\n# TYPE b_total counter\n# TYPE c gauge\n',
    );
    assert.deepEqual([...names].sort(), ['a_seconds_bucket', 'a_seconds_count', 'a_seconds_sum', 'b_total', 'c']);
  });
});

describe('alert rules', () => {
  it('pass promtool check rules', () => {
    const r = promtool('check', 'rules', RULES);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('pass their unit tests (promtool test rules)', () => {
    const r = promtool('test', 'rules', RULE_TESTS);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS/);
  });

  it('are each tested firing and not firing', () => {
    const t = load(readFileSync(RULE_TESTS, 'utf8')) as {
      tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
    };
    const cases = t.tests.flatMap((x) => x.alert_rule_test ?? []);
    for (const a of alerts) {
      assert.ok(
        cases.some((c) => c.alertname === a && (c.exp_alerts ?? []).length > 0),
        `${a}: no case where it fires`,
      );
      assert.ok(
        cases.some((c) => c.alertname === a && (c.exp_alerts ?? []).length === 0),
        `${a}: no case where it does not fire`,
      );
    }
    assert.deepEqual(
      cases.map((c) => c.alertname).filter((n) => !alerts.includes(n)),
      [],
      'tests of alerts that do not exist',
    );
  });

  it('unit tests fail when a rule is wrong (a drained site alerting as withdrawn)', () => {
    const dir = mkdtempSync(join(tmp, 'broken-'));
    const text = readFileSync(RULES, 'utf8');
    const broken = text.replace('state=~"DISABLED|STOPPING"', 'state=~"STOPPING"');
    assert.notEqual(broken, text);
    writeFileSync(join(dir, 'edgedns.rules.yml'), broken);
    copyFileSync(RULE_TESTS, join(dir, 'edgedns.rules.test.yml'));
    const r = promtool('test', 'rules', join(dir, 'edgedns.rules.test.yml'));
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /EdgednsSiteWithdrawn[\s\S]*site="lon"/);
  });

  it('carry a severity, a summary, and the site where they are about one', () => {
    for (const r of rules.filter((x) => x.alert)) {
      assert.match(r.labels?.severity ?? '', /^(critical|warning|info)$/, `${r.alert}: severity`);
      const perSite = r.expr.includes('group_left(site)');
      assert.equal(perSite, r.alert !== 'EdgednsNoSiteAnnounces', `${r.alert}: joins the site from edgedns_build_info`);
    }
  });

  it('the example Prometheus config loads them (promtool check config)', () => {
    const r = promtool('check', 'config', join(M, 'prometheus.example.yml'));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: 1 rule files found/);
  });
});

describe('the Grafana dashboard', () => {
  it('is importable: a uid, a title, panels with unique ids inside a 24-column grid, without overlaps', () => {
    assert.equal(dashboard.uid, 'edgedns-fleet');
    assert.ok(dashboard.title && dashboard.schemaVersion >= 30);
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const g = p.gridPos;
      assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${p.title}: gridPos ${JSON.stringify(g)}`);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          assert.ok(!cells.has(`${x},${y}`), `${p.title} overlaps another panel at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
    }
  });

  it('has a data source variable and a site variable from edgedns_build_info, and every query uses both', () => {
    const vars = dashboard.templating.list;
    assert.ok(vars.some((v) => v.name === 'datasource' && v.type === 'datasource'));
    const site = vars.find((v) => v.name === 'site');
    assert.equal(site?.definition, 'label_values(edgedns_build_info, site)');
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      assert.equal(p.datasource?.uid, '${datasource}', p.title);
      assert.ok((p.targets ?? []).length > 0, `${p.title}: no query`);
      for (const t of p.targets ?? []) {
        assert.equal(t.datasource.uid, '${datasource}', p.title);
        assert.ok(t.expr.includes('edgedns_build_info{site=~"$site"}'), `${p.title}: ${t.expr} ignores $site`);
      }
    }
  });

  it('has the panels asked for', () => {
    const uses = (re: RegExp): boolean => queries.some((q) => re.test(q.expr));
    for (const re of [
      /sum by \(source\) \(rate\(edgedns_responses_total/,
      /sum by \(rcode\) \(rate\(edgedns_responses_total/,
      /histogram_quantile\(0\.99, .*edgedns_response_duration_seconds_bucket/,
      /edgedns_cache_hits_total.*edgedns_cache_misses_total/,
      /edgedns_health_state/,
      /edgedns_announce_confirmed/,
      /edgedns_health_flaps_total/,
      /edgedns_upstream_up/,
      /edgedns_upstream_srtt_seconds/,
      /edgedns_upstream_rtt_seconds_bucket/,
      /edgedns_workers_listening/,
      /edgedns_worker_restarts_total/,
      /sum by \(action, mode\) \(rate\(edgedns_rate_limited_total/,
      /edgedns_fetch_limited_total/,
      /sum by \(verdict\) \(rate\(edgedns_cookies_total/,
      /edgedns_zone_serial/,
    ])
      assert.ok(uses(re), `no query matches ${re}`);
  });

  it('queries are valid PromQL (promtool parses them as recording rules)', () => {
    const file = join(tmp, 'dashboard-queries.yml');
    writeFileSync(
      file,
      JSON.stringify({
        groups: [
          {
            name: 'dashboard',
            rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: plain(q.expr) })),
          },
        ],
      }),
    );
    const r = promtool('check', 'rules', file);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${queries.length} rules found`));
  });
});

// Two real nodes, as two sites of a fleet: ams answers in its own process, fra with two workers.
// Both forward to a fake upstream so that the upstream, cache and SERVFAIL series exist.
let upstream: FakeUpstream;
const nodes: { site: string; srv: RunningServer; scrape: string }[] = [];

async function startSite(site: string, workers: number): Promise<void> {
  const cfg = join(tmp, `${site}.yaml`);
  writeFileSync(
    cfg,
    [
      'listen: ["127.0.0.1:0", "[::1]:0"]',
      `zones: { dir: ${JSON.stringify(ZONES)} }`,
      `upstreams: ["127.0.0.1:${upstream.port}"]`,
      'resolver: { timeout: 200ms, deadline: 500ms }',
      `site: { id: ${site} }`,
      `workers: ${workers}`,
      // The prefixes hold the listen addresses (config check refuses a prefix nothing here answers).
      'announce: { adapter: none, prefixes: ["127.0.0.1/32", "::1/128"] }',
    ].join('\n'),
  );
  const srv = await startServer({ config: cfg, args: [] });
  nodes.push({ site, srv, scrape: '' });
}

before(async () => {
  upstream = await FakeUpstream.start();
  upstream.set('www.example.org', 'A', 300, '192.0.2.1');
  // Glue out of bailiwick: dropped before caching (edgedns_cache_records_dropped_total).
  upstream.inject('www.example.org', 'A', {
    additional: [{ name: 'www.example.net', type: 'A', ttl: 300, data: '192.0.2.66' }],
  });
  await Promise.all([startSite('ams', 1), startSite('fra', 2)]);
  for (const n of nodes) {
    for (const q of ['www.example.test', 'www.example.org', 'www.example.org', 'nx.example.test'])
      await dig(n.srv, ['+cookie', q]);
    upstream.mode = 'servfail';
    await dig(n.srv, ['fail.example.org']);
    upstream.mode = 'answer';
    n.scrape = await (await fetch(`http://127.0.0.1:${n.srv.adminPort}/metrics`)).text();
  }
});
after(async () => {
  await Promise.all(nodes.map((n) => n.srv.stop()));
  await upstream.close();
});

describe('metric names against the real node', () => {
  it('every series the node exports is declared by a TYPE line (prom-client prints one per metric)', () => {
    for (const n of nodes) {
      const exported = exportedNames(n.scrape);
      const samples = new Set(
        n.scrape
          .split('\n')
          .filter((l) => l && !l.startsWith('#'))
          .map((l) => /^[^{ ]+/.exec(l)?.[0] ?? ''),
      );
      assert.deepEqual(
        [...samples].filter((s) => !exported.has(s)),
        [],
        n.site,
      );
      // Counters with a fixed set of labels are there at 0 before they first fire.
      assert.ok(
        exported.has('edgedns_upstream_mismatched_replies_total') &&
          samples.has('edgedns_upstream_mismatched_replies_total'),
        n.site,
      );
    }
  });

  for (const [what, exprs] of [
    ['the alert rules', rules.map((r) => ({ where: r.alert ?? r.record ?? '', expr: r.expr }))],
    [
      'the dashboard',
      [...queries.map((q) => ({ where: q.panel, expr: q.expr })), { where: '$site', expr: 'edgedns_build_info' }],
    ],
  ] as const) {
    it(`every metric name in ${what} is one the node exports (single process and workers)`, () => {
      let used = 0;
      for (const n of nodes) {
        const exported = exportedNames(n.scrape);
        for (const { where, expr } of exprs) {
          for (const name of metricNames(expr)) {
            used++;
            assert.ok(
              exported.has(name) || PROMETHEUS_OWN.has(name),
              `${what}, ${where}: ${name} is not exported by the node (${n.site})`,
            );
          }
        }
      }
      assert.ok(used > exprs.length, 'no names found: the extraction is broken');
    });
  }

  it('the node has no cookie-secret age metric (so there is no alert on it; add one when it has)', () => {
    for (const n of nodes)
      assert.deepEqual(
        [...exportedNames(n.scrape)].filter((x) => /cookie.*(secret|age)|secret/.test(x)),
        [],
      );
    assert.ok(!alerts.some((a) => /secret/i.test(a)));
  });
});

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('a real Prometheus scraping the two sites', () => {
  let prom: ChildProcess;
  let base = '';
  let log = '';
  interface Answer {
    status: string;
    error?: string;
    data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
  }
  const query = async (q: string): Promise<Answer> =>
    (await (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as Answer;

  before(async () => {
    // The example config, with this test's targets, a fast scrape and the rules by absolute path.
    const cfg = load(readFileSync(join(M, 'prometheus.example.yml'), 'utf8')) as {
      global: Record<string, string>;
      rule_files: string[];
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    cfg.global = { scrape_interval: '1s', evaluation_interval: '1s' };
    cfg.rule_files = [RULES];
    const job = cfg.scrape_configs[0];
    assert.ok(job);
    job.static_configs = [{ targets: nodes.map((n) => `127.0.0.1:${n.srv.adminPort}`) }];
    writeFileSync(join(tmp, 'prometheus.yml'), JSON.stringify(cfg));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    prom = spawn(
      'prometheus',
      [
        '--config.file',
        join(tmp, 'prometheus.yml'),
        '--storage.tsdb.path',
        join(tmp, 'tsdb'),
        '--web.listen-address',
        `127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prom.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
    // Ready when both targets have been scraped at least 5 times (rates need two samples).
    const deadline = Date.now() + 60_000;
    for (;;) {
      assert.equal(prom.exitCode, null, `prometheus exited:\n${log}`);
      assert.ok(Date.now() < deadline, `prometheus did not scrape both nodes within 60 s:\n${log}`);
      const r = await query('count_over_time(edgedns_build_info[1m]) >= 5').catch(() => null);
      if (r?.data.result.length === nodes.length) break;
      await new Promise((res) => setTimeout(res, 250));
    }
  });
  after(async () => {
    if (prom.exitCode !== null || prom.signalCode !== null) return;
    const exited = once(prom, 'exit');
    prom.kill('SIGTERM');
    const timer = setTimeout(() => prom.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  });

  it('evaluates every rule without an error, and none fires on two healthy sites', async () => {
    // Rule groups are evaluated on their own schedule: wait for each rule's first evaluation.
    type Rules = {
      data: { groups: { rules: { name: string; health: string; lastError?: string; state?: string }[] }[] };
    };
    let got: Rules['data']['groups'][number]['rules'] = [];
    for (let i = 0; i < 40; i++) {
      got = ((await (await fetch(`${base}/api/v1/rules`)).json()) as Rules).data.groups.flatMap((g) => g.rules);
      if (got.length === rules.length && got.every((r) => r.health !== 'unknown')) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    assert.deepEqual(got.map((r) => r.name).sort(), [...alerts].sort());
    for (const r of got) {
      assert.equal(r.health, 'ok', `${r.name}: ${r.lastError ?? ''}`);
      assert.equal(r.state, 'inactive', r.name);
    }
  });

  it('the site variable lists both sites', async () => {
    const r = (await (await fetch(`${base}/api/v1/label/site/values?match[]=edgedns_build_info`)).json()) as {
      data: string[];
    };
    assert.deepEqual(r.data.sort(), ['ams', 'fra']);
  });

  // Panels without a series here: nothing failed, no spoofed replies.
  // Failing checks: none failed. (Mismatched replies are exported at 0, so that panel has series.)
  const QUIET = new Set(['Failing checks']);
  it('runs every dashboard query; each panel shows data unless nothing it counts happened', async () => {
    const panels = new Map<string, number>();
    for (const q of queries) {
      const r = await query(plain(q.expr, '.*', '10s'));
      assert.equal(r.status, 'success', `${q.panel}: ${r.error ?? ''}`);
      panels.set(q.panel, (panels.get(q.panel) ?? 0) + r.data.result.length);
    }
    for (const [panel, n] of panels) {
      if (QUIET.has(panel)) assert.equal(n, 0, `${panel}: expected nothing here`);
      else assert.ok(n > 0, `${panel}: no series`);
    }
  });

  it('per-site panels show each site, and only the sites selected', async () => {
    const sites = async (title: string, site: string): Promise<string[]> => {
      const expr = queries.find((q) => q.panel === title)?.expr ?? '';
      const r = await query(plain(expr, site, '10s'));
      return r.data.result.map((s) => s.metric.site ?? '').sort();
    };
    assert.deepEqual(await sites('Queries by site', '.*'), ['ams', 'fra']);
    assert.deepEqual(await sites('Queries by site', 'fra'), ['fra']);
    assert.deepEqual(await sites('Health state per site', 'ams|fra'), ['ams', 'fra']);
    assert.deepEqual(await sites('Cache hit ratio by site', 'ams'), ['ams']);
  });

  it('shows each site in its health state and the prefixes as announced', async () => {
    const state = await query(plain(queries.find((q) => q.panel === 'Health state per site')?.expr ?? ''));
    // The index of UP in the panel's value mappings.
    for (const s of state.data.result) assert.equal(s.value[1], '2', `${s.metric.site} is not UP`);
    const ann = await query(plain(queries.find((q) => q.panel === 'Announcement per site')?.expr ?? ''));
    assert.equal(ann.data.result.length, 4);
    for (const s of ann.data.result) assert.equal(s.value[1], '1', `${s.metric.site} ${s.metric.prefix}`);
    const serials = await query(plain(queries.find((q) => q.panel === 'Zone serials')?.expr ?? ''));
    assert.deepEqual(serials.data.result.map((s) => `${s.metric.site} ${s.metric.zone}`).sort(), [
      'ams example.test.',
      'fra example.test.',
    ]);
  });
});
