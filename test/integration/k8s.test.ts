// The Kubernetes manifests (deploy/k8s/): every document against the strict Kubernetes 1.30 schema
// of its kind, what they refer to, and then the DaemonSet's containers run as the container runtime
// runs them (uid, capability sets, the Dockerfile's setcap, no_new_privs) in a network namespace:
// dig answers on port 53, the prefixes go through a real gobgpd, probes and metrics on the node
// address; and the alternatives fail (EACCES, EPERM).
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadAll } from 'js-yaml';
import { loadConfig } from '../../src/config/index.ts';
import { parseDig } from '../helpers/dig.ts';
import { addNetns, delNetns, netnsUnavailable } from '../helpers/netns.ts';
import type { Container, Privileges, SecurityContext } from '../helpers/pod.ts';
import { capshArgv, envOf, expandVars, privilegesOf, underRoot, writeConfigMapVolume } from '../helpers/pod.ts';
import { MAIN, ROOT } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';

const D = join(ROOT, 'deploy');
const tmp = tempDir('edgedns-k8s-');
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: unknown;
}
interface Probe {
  httpGet: { path: string; port: number | string; host?: string };
}
interface PodContainer extends Container {
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}
interface DaemonSetSpec {
  selector: { matchLabels: Record<string, string> };
  template: {
    metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    spec: {
      hostNetwork: boolean;
      priorityClassName: string;
      containers: PodContainer[];
      volumes: { name: string; configMap?: { name: string }; hostPath?: { path: string; type: string } }[];
    };
  };
}

const K8S = join(D, 'k8s');
const docs = loadAll(readFileSync(join(K8S, 'edgedns.yaml'), 'utf8')) as Doc[];
const doc = (kind: string, name?: string): Doc => {
  const d = docs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  assert.ok(d, `deploy/k8s/edgedns.yaml defines ${kind}${name ? ` ${name}` : ''}`);
  return d;
};
const ds = doc('DaemonSet').spec as DaemonSetSpec;
const pod = ds.template.spec;
const container = (name: string): PodContainer => {
  const c = pod.containers.find((x) => x.name === name);
  assert.ok(c, `container ${name}`);
  return c;
};
const nodeConfig = (doc('ConfigMap', 'edgedns').data ?? {})['edgedns.yaml'] ?? '';
const zoneFiles = doc('ConfigMap', 'edgedns-zones').data ?? {};
/** A probe's port, by name or number, as the kubelet resolves it. */
const probePort = (c: PodContainer, p: Probe): number =>
  typeof p.httpGet.port === 'number'
    ? p.httpGet.port
    : (c.ports?.find((x) => x.name === p.httpGet.port)?.containerPort ?? NaN);
const dockerfile = readFileSync(join(D, 'docker', 'Dockerfile'), 'utf8');

const SCHEMAS = join(K8S, 'schemas', 'v1.30');
/** deploy/k8s/schemas/validate.py with Debian's python3-jsonschema (scripts/install-deps.sh test). */
function validate(...files: string[]): { status: number | null; out: string } {
  const r = spawnSync('/usr/bin/python3', [join(K8S, 'schemas', 'validate.py'), SCHEMAS, ...files], {
    encoding: 'utf8',
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('Kubernetes manifests', () => {
  it("every document of deploy/k8s/*.yaml is valid against its kind's strict Kubernetes 1.30 schema", () => {
    const files = readdirSync(K8S)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => join(K8S, f));
    const r = validate(...files);
    assert.equal(r.status, 0, r.out);
    const ok = r.out.split('\n').filter((l) => l.startsWith('ok '));
    assert.equal(
      ok.length,
      files.reduce((n, f) => n + loadAll(readFileSync(f, 'utf8')).filter((d) => d !== null).length, 0),
      r.out,
    );
    for (const k of [
      'Namespace/dns',
      'PriorityClass/edgedns',
      'ConfigMap/edgedns',
      'ConfigMap/edgedns-zones',
      'PodDisruptionBudget/edgedns',
      'DaemonSet/edgedns',
    ])
      assert.ok(
        ok.some((l) => l.endsWith(` ${k}`)),
        k,
      );
  });

  it('the validator refuses a misspelt field, a wrong type, a missing required field and a kind it has no schema for', () => {
    const text = readFileSync(join(K8S, 'edgedns.yaml'), 'utf8');
    const broken: [string, string, string, RegExp][] = [
      [
        'misspelt',
        'allowPrivilegeEscalation: true',
        'allowPrivilegeEscalaton: true',
        /securityContext: Additional properties are not allowed \('allowPrivilegeEscalaton' was unexpected\)/,
      ],
      [
        'type',
        'terminationGracePeriodSeconds: 30',
        'terminationGracePeriodSeconds: 30s',
        /terminationGracePeriodSeconds: '30s' is not of type 'integer'/,
      ],
      [
        'required',
        'spec:\n  selector:\n    matchLabels: { app: edgedns }\n  # One site',
        'spec:\n  # One site',
        /DaemonSet\/edgedns: \/spec: 'selector' is a required property/,
      ],
      [
        'kind',
        'apiVersion: policy/v1\n',
        'apiVersion: policy/v1beta1\n',
        /PodDisruptionBudget\/edgedns: no schema .*poddisruptionbudget-policy-v1beta1\.json/,
      ],
    ];
    for (const [name, from, to, error] of broken) {
      assert.ok(text.includes(from), `${name}: the manifest still has ${JSON.stringify(from)}`);
      const f = join(tmp, `k8s-broken-${name}.yaml`);
      writeFileSync(f, text.replace(from, to));
      const r = validate(f);
      assert.equal(r.status, 1, `${name}: ${r.out}`);
      assert.match(r.out, error);
      assert.equal(
        r.out.split('\n').filter((l) => l.startsWith('invalid ')).length,
        1,
        `${name}: only the broken document fails: ${r.out}`,
      );
    }
  });

  it('defines what it refers to: namespace, config and zones ConfigMaps, priority class; the budget selects the pods', () => {
    const ns = doc('Namespace').metadata.name;
    for (const d of docs.filter((x) => !['Namespace', 'PriorityClass'].includes(x.kind)))
      assert.equal(d.metadata.namespace, ns, `${d.kind}/${d.metadata.name}`);
    // hostNetwork is outside the baseline Pod Security level: the namespace must admit it.
    assert.equal(doc('Namespace').metadata.labels?.['pod-security.kubernetes.io/enforce'], 'privileged');
    assert.equal(pod.priorityClassName, doc('PriorityClass').metadata.name);
    for (const v of pod.volumes) if (v.configMap) doc('ConfigMap', v.configMap.name);
    const pdb = doc('PodDisruptionBudget').spec as {
      maxUnavailable: number;
      selector: { matchLabels: Record<string, string> };
    };
    assert.deepEqual(pdb.selector.matchLabels, ds.template.metadata.labels);
    assert.deepEqual(ds.selector.matchLabels, ds.template.metadata.labels);
    assert.equal(pdb.maxUnavailable, 1);
  });

  it('the DaemonSet: host network, site id from the node name, admin on the pod address where probes and Prometheus go', () => {
    assert.equal(pod.hostNetwork, true);
    const c = container('edgedns');
    assert.deepEqual(c.args.slice(-2), ['--site-id', '$(NODE_NAME)']);
    assert.deepEqual(c.args.slice(-4, -2), ['--admin', '$(POD_IP)']);
    assert.deepEqual(envOf(c, { 'spec.nodeName': 'n1', 'status.podIP': '192.0.2.9' }), {
      NODE_NAME: 'n1',
      POD_IP: '192.0.2.9',
    });
    for (const x of pod.containers) assert.equal(x.securityContext.runAsNonRoot, true, x.name);
    const port = Number(ds.template.metadata.annotations['prometheus.io/port']);
    assert.equal(ds.template.metadata.annotations['prometheus.io/scrape'], 'true');
    for (const p of [c.readinessProbe, c.livenessProbe]) {
      assert.ok(p);
      // No host: the kubelet probes the pod's address, which on the host network is the node's.
      assert.equal(p.httpGet.host, undefined);
      assert.equal(probePort(c, p), port);
    }
    assert.equal(c.readinessProbe?.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe?.httpGet.path, '/healthz');
    // --admin ADDRESS without a port listens on the default port: the one they name.
    assert.equal(
      loadConfig(writeTmp('k8s-admin.yaml', 'admin: { listen: "192.0.2.9" }\n')).config.admin.listen?.port,
      port,
    );
  });

  it('the node config is valid; its zones pass the zone check the node applies at load', () => {
    const { config } = loadConfig(writeTmp('k8s.yaml', nodeConfig));
    assert.equal(config.announce.adapter, 'gobgp');
    assert.equal(config.zones.dir, '/etc/edgedns/zones');
    assert.ok(container('edgedns').volumeMounts?.some((m) => m.mountPath === config.zones.dir));
    assert.ok(Object.keys(zoneFiles).length > 0);
    for (const [file, text] of Object.entries(zoneFiles)) {
      assert.match(file, /\.zone$/);
      const out = execFileSync(
        process.execPath,
        [MAIN, 'zone', 'check', writeTmp(file, text), file.replace(/zone$/, '')],
        { encoding: 'utf8' },
      );
      assert.match(out, /OK: serial \d+/);
    }
  });

  it('the image: the gobgp the adapter runs (Debian gobgpd ships it), setcap on node, the uid and gid the pod runs as', () => {
    const { config } = loadConfig(writeTmp('k8s.yaml', nodeConfig));
    assert.match(dockerfile, /apt-get install [^\n]*\bgobgpd\b/);
    assert.ok(
      execFileSync('dpkg', ['-L', 'gobgpd'], { encoding: 'utf8' })
        .split('\n')
        .includes(`/usr/bin/${config.announce.gobgp.command}`),
    );
    assert.match(dockerfile, /apt-get install [^\n]*\blibcap2-bin\b/);
    assert.match(dockerfile, /setcap cap_net_bind_service=\+ep "\$\(readlink -f "\$\(command -v node\)"\)"/);
    assert.match(dockerfile, /find \/ -xdev -type f -perm \/6000 -exec chmod ug-s/);
    for (const name of ['edgedns', 'guard']) {
      const sc = container(name).securityContext;
      assert.equal(sc.runAsUser, 10053);
      assert.match(dockerfile, new RegExp(`useradd [^\\n]*--uid ${sc.runAsUser} --gid ${sc.runAsGroup} `));
    }
  });
});

function writeTmp(name: string, text: string): string {
  const f = join(tmp, name);
  writeFileSync(f, text);
  return f;
}

// The containers as written, run the way containerd + runc run them (test/helpers/pod.ts).
describe('the DaemonSet run as the container runtime runs it (root: network namespace, setcap, capsh)', () => {
  const NS = `edgedns-k8s-${process.pid}`;
  const NODE_IP = '198.51.100.11'; // the node's address: status.podIP on the host network
  const fields = { 'spec.nodeName': 'k8s-node-1', 'status.podIP': NODE_IP };
  const root = tempDir('edgedns-k8s-pod-');
  const capNode = join(root, 'image', 'node'); // the image's node, with the Dockerfile's setcap
  const plainNode = join(root, 'image', 'node-without-setcap'); // the image the issue reproduced
  const mounts = pod.containers.flatMap((c) => (c.volumeMounts ?? []).map((m) => m.mountPath));
  const running = new Set<ChildProcess>();
  let gobgpd: ChildProcess | undefined;
  let gobgpApi: string[] = [];

  const gobgp = (...args: string[]): string =>
    spawnSync('ip', ['netns', 'exec', NS, 'gobgp', ...gobgpApi, ...args], { encoding: 'utf8' }).stdout ?? '';
  const inNs = (...argv: string[]): string => execFileSync('ip', ['netns', 'exec', NS, ...argv], { encoding: 'utf8' });
  const digIn = (server: string, ...args: string[]) =>
    parseDig(inNs('dig', `@${server}`, '-p', '53', '+tries=1', '+time=3', ...args));
  /** An HTTP request from inside the namespace (Prometheus, the kubelet): status 0 when refused. */
  const http = (method: string, url: string): { status: number; body: string } => {
    const init =
      method === 'POST' ? { method, headers: { 'content-type': 'application/json' }, body: '{}' } : { method };
    const js = `fetch(${JSON.stringify(url)}, ${JSON.stringify(init)}).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })), (e) => console.log(JSON.stringify({ status: 0, body: String(e.cause?.code ?? e) })))`;
    return JSON.parse(inNs(process.execPath, '-e', js)) as { status: number; body: string };
  };
  /** Poll `check` every 100 ms, at most `times` times (generous: a busy machine is slow). */
  const eventually = async (what: string, check: () => boolean, times = 300): Promise<void> => {
    for (let i = 0; i < times; i++) {
      if (check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`never: ${what}`);
  };

  /** Start container `c` as the runtime would, with `node` as the image's node and privileges `p`. */
  const start = (c: Container, node: string, p: Privileges): { proc: ChildProcess; log: () => string } => {
    const env = envOf(c, fields);
    const args = expandVars(c.args, env).map((a) => underRoot(a, mounts, root));
    const proc = spawn('ip', ['netns', 'exec', NS, 'capsh', ...capshArgv(p, node, [MAIN, ...args])], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent', ...env },
    });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    let err = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => (err += d));
    return { proc, log: () => err };
  };
  /** Until the log matches `ready` (true) or the process exits (false). */
  const outcome = (r: { proc: ChildProcess; log: () => string }, ready: RegExp): Promise<boolean> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (ready.test(r.log())) resolve(true);
      };
      r.proc.stderr?.on('data', check);
      r.proc.once('exit', () => resolve(ready.test(r.log())));
      check();
    });
  const stop = async (proc: ChildProcess): Promise<number | null> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    return code;
  };
  const status = (pid: number | undefined): string => readFileSync(`/proc/${pid}/status`, 'utf8');

  before(async () => {
    const why = netnsUnavailable();
    assert.equal(why, null, `this test ${why}`);
    for (const [tool, pkg] of [
      ['setcap', 'libcap2-bin'],
      ['capsh', 'libcap2-bin'],
      ['setpriv', 'util-linux'],
      ['gobgpd', 'gobgpd'],
      ['dig', 'bind9-dnsutils'],
    ]) {
      assert.equal(
        spawnSync('sh', ['-c', `command -v ${tool}`]).status,
        0,
        `needs ${tool} (Debian: apt-get install ${pkg}; scripts/install-deps.sh test)`,
      );
    }
    addNetns(NS);
    // The node as prepared (the top of the manifest): the service addresses on lo, and its own.
    for (const a of ['192.0.2.53/32', '2001:db8::53/128', `${NODE_IP}/32`])
      execFileSync('ip', ['-n', NS, 'addr', 'add', a, 'dev', 'lo']);
    // gobgpd on the node, its API where the node config's gobgp arguments point.
    const { config } = loadConfig(writeTmp('k8s.yaml', nodeConfig));
    gobgpApi = config.announce.gobgp.args;
    const u = gobgpApi[gobgpApi.indexOf('-u') + 1];
    const port = gobgpApi[gobgpApi.indexOf('-p') + 1];
    assert.ok(u && port, `gobgp args name the API address: ${gobgpApi.join(' ')}`);
    const log = openSync(join(root, 'gobgpd.log'), 'a');
    gobgpd = spawn(
      'ip',
      ['netns', 'exec', NS, 'gobgpd', '-f', join(D, 'gobgp', 'gobgpd.toml'), '--api-hosts', `${u}:${port}`],
      { stdio: ['ignore', log, log] },
    );
    await eventually('gobgpd answers on its API', () => /198\.51\.100\.11/.test(gobgp('global')));

    // The pod's files: the image's node, the config (subPath), the zones (configMap volume), the
    // drain folder (hostPath, prepared for uid 10053), the admin emptyDir (world-writable).
    chmodSync(root, 0o755);
    mkdirSync(dirname(capNode), { recursive: true, mode: 0o755 });
    copyFileSync(process.execPath, capNode);
    copyFileSync(process.execPath, plainNode);
    chmodSync(capNode, 0o755);
    chmodSync(plainNode, 0o755);
    const setcap = /setcap (\S+) "\$\(readlink -f "\$\(command -v node\)"\)"/.exec(dockerfile)?.[1];
    assert.ok(setcap, 'the Dockerfile runs setcap on node');
    execFileSync('setcap', [setcap, capNode]);
    const at = (p: string): string => underRoot(p, mounts, root);
    mkdirSync(dirname(at('/etc/edgedns/edgedns.yaml')), { recursive: true, mode: 0o755 });
    writeFileSync(at('/etc/edgedns/edgedns.yaml'), underRoot(nodeConfig, mounts, root), { mode: 0o644 });
    writeConfigMapVolume(at('/etc/edgedns/zones'), zoneFiles);
    const sc = container('edgedns').securityContext;
    mkdirSync(at('/run/edgedns'), { recursive: true });
    chmodSync(at('/run/edgedns'), 0o750);
    chownSync(at('/run/edgedns'), sc.runAsUser ?? -1, sc.runAsGroup ?? -1);
    mkdirSync(at('/run/edgedns-admin'), { recursive: true });
    chmodSync(at('/run/edgedns-admin'), 0o777);
  });

  after(async () => {
    for (const p of [...running]) await stop(p);
    if (gobgpd && gobgpd.exitCode === null && gobgpd.signalCode === null) {
      const gone = once(gobgpd, 'exit');
      gobgpd.kill('SIGTERM');
      await gone;
    }
    delNetns(NS);
    rmSync(root, { recursive: true, force: true });
  });

  it('edgedns as written: uid 10053 with only NET_BIND_SERVICE binds :53, answers dig, announces through gobgpd, serves probes and metrics on the node address', async () => {
    const c = container('edgedns');
    const node = start(c, capNode, privilegesOf(c.securityContext));
    assert.ok(await outcome(node, /"msg":"started"/), node.log());
    const st = status(node.proc.pid);
    assert.match(
      readFileSync(`/proc/${node.proc.pid}/cmdline`, 'utf8'),
      /dist\/main\.js\0serve\0/,
      'the pid is the node itself',
    );
    assert.match(st, /^Uid:\s+10053\s+10053\s+10053\s+10053$/m);
    assert.match(st, /^Gid:\s+10053\s+10053\s+10053\s+10053$/m);
    assert.match(st, /^CapEff:\s+0+400$/m); // bit 10: CAP_NET_BIND_SERVICE, and nothing else
    assert.match(st, /^CapBnd:\s+0+400$/m);
    assert.match(st, /^NoNewPrivs:\s+0$/m);

    const a = digIn('192.0.2.53', 'www.example.test', 'A', '+nsid');
    assert.equal(a.status, 'NOERROR', a.raw);
    assert.deepEqual(
      a.answer.map((r) => r.data),
      ['192.0.2.80'],
    );
    assert.equal(a.nsid, 'k8s-node-1', 'the site id is the node name');
    const aaaa = digIn('2001:db8::53', 'www.example.test', 'AAAA', '+tcp');
    assert.deepEqual(
      aaaa.answer.map((r) => r.data),
      ['2001:db8::80'],
      aaaa.raw,
    );

    await eventually(
      '192.0.2.53/32 and 2001:db8::53/128 in GoBGP',
      () =>
        /192\.0\.2\.53\/32/.test(gobgp('global', 'rib', '-a', 'ipv4')) &&
        /2001:db8::53\/128/.test(gobgp('global', 'rib', '-a', 'ipv6')),
    );
    const port = ds.template.metadata.annotations['prometheus.io/port'];
    const m = http('GET', `http://${NODE_IP}:${port}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.body, /^edgedns_build_info\{[^}]*site="k8s-node-1"/m);
    await eventually(
      '/readyz is 200',
      () => http('GET', `http://${NODE_IP}:${probePort(c, c.readinessProbe as Probe)}/readyz`).status === 200,
    );
    assert.equal(http('GET', `http://${NODE_IP}:${probePort(c, c.livenessProbe as Probe)}/healthz`).status, 200);
    assert.equal(http('POST', `http://${NODE_IP}:${port}/drain`).status, 403, 'no change over TCP');
    assert.equal(
      http('GET', `http://127.0.0.1:${port}/healthz`).status,
      0,
      'the admin listens on the node address only',
    );

    // kubectl exec … -- edgedns drain --admin-socket …, as the ConfigMap says, as the same user.
    const cmd = /kubectl -n dns exec POD -c edgedns -- edgedns (drain .+)$/m.exec(nodeConfig)?.[1];
    assert.ok(cmd, 'the config names the drain command');
    inNs(
      'capsh',
      ...capshArgv(privilegesOf(c.securityContext), capNode, [
        MAIN,
        ...cmd.split(' ').map((x) => underRoot(x, mounts, root)),
      ]),
    );
    const drainFile = underRoot('/run/edgedns/drain', mounts, root);
    assert.equal(statSync(drainFile).uid, 10053, 'the drain file, written by the node in the prepared hostPath');
    await eventually('withdrawn from GoBGP', () => !/192\.0\.2\.53\/32/.test(gobgp('global', 'rib', '-a', 'ipv4')));
    await eventually('/readyz is 503', () => http('GET', `http://${NODE_IP}:${port}/readyz`).status === 503);
    assert.equal(
      digIn('192.0.2.53', 'www.example.test', 'A').answer[0]?.data,
      '192.0.2.80',
      'drained: still answering',
    );
    assert.equal(await stop(node.proc), 0, node.log());
    rmSync(drainFile);
  });

  it('the guard as written runs under no_new_privs and withdraws through gobgpd when the node does not answer', async () => {
    execFileSync('ip', [
      'netns',
      'exec',
      NS,
      'gobgp',
      ...gobgpApi,
      'global',
      'rib',
      '-a',
      'ipv4',
      'add',
      '192.0.2.53/32',
    ]);
    const c = container('guard');
    const guard = start(c, capNode, privilegesOf(c.securityContext));
    assert.ok(await outcome(guard, /guard watching/), guard.log());
    const st = status(guard.proc.pid);
    assert.match(st, /^Uid:\s+10053\s/m);
    assert.match(st, /^NoNewPrivs:\s+1$/m);
    assert.ok(await outcome(guard, /guard withdrew the address/), guard.log());
    assert.doesNotMatch(gobgp('global', 'rib', '-a', 'ipv4'), /192\.0\.2\.53\/32/);
    await stop(guard.proc);
  });

  // Each row could fail: the sets differ in one thing from the manifest, the kernel decides.
  const edge = (): SecurityContext => container('edgedns').securityContext;
  const cases: { what: string; node: () => string; sc: () => SecurityContext; handOver: boolean; binds: boolean }[] = [
    {
      what: "the issue's image: node without the file capability",
      node: () => plainNode,
      sc: edge,
      handOver: true,
      binds: false,
    },
    {
      what: 'allowPrivilegeEscalation: false, runtime hands nothing over before exec: no_new_privs refuses the file capability',
      node: () => capNode,
      sc: () => ({ ...edge(), allowPrivilegeEscalation: false }),
      handOver: false,
      binds: false,
    },
    {
      what: 'as written, runtime hands nothing over before exec: exec grants the file capability',
      node: () => capNode,
      sc: edge,
      handOver: false,
      binds: true,
    },
    {
      what: 'allowPrivilegeEscalation: false under runc, which hands NET_BIND_SERVICE over before exec',
      node: () => capNode,
      sc: () => ({ ...edge(), allowPrivilegeEscalation: false }),
      handOver: true,
      binds: true,
    },
  ];
  for (const k of cases) {
    it(`${k.binds ? 'binds' : 'EACCES'}: ${k.what}`, async () => {
      const node = start(
        { ...container('edgedns'), securityContext: k.sc() },
        k.node(),
        privilegesOf(k.sc(), k.handOver),
      );
      const started = await outcome(node, /"msg":"started"/);
      if (k.binds) {
        assert.ok(started, node.log());
        assert.match(status(node.proc.pid), /^CapEff:\s+0+400$/m);
        assert.equal(await stop(node.proc), 0, node.log());
      } else {
        assert.equal(started, false, node.log());
        assert.notEqual(node.proc.exitCode, 0);
        assert.match(node.log(), /cannot listen on udp 192\.0\.2\.53:53: bind EACCES/);
      }
    });
  }

  it('EPERM: with NET_BIND_SERVICE outside the bounding set the setcap node does not exec at all (why the guard keeps it)', () => {
    const run = (node: string) =>
      spawnSync(
        'ip',
        [
          'netns',
          'exec',
          NS,
          'setpriv',
          '--reuid=10053',
          '--regid=10053',
          '--clear-groups',
          '--inh-caps=-all',
          '--bounding-set=-all',
          '--no-new-privs',
          node,
          MAIN,
          '--version',
        ],
        { encoding: 'utf8' },
      );
    const refused = run(capNode);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /Operation not permitted/);
    assert.equal(run(plainNode).status, 0, 'the same without setcap runs');
  });
});
