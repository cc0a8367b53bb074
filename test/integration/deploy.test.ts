// The deployment kit, checked with the tools that can check it here: systemd-analyze for the
// units, BIRD's parser for the router configs, the config schema for the example config, and the
// YAML of the compose example. The Kubernetes manifests: k8s.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { load } from 'js-yaml';
import { loadConfig } from '../../src/config/index.ts';
import { ROOT } from '../helpers/server.ts';
import { verifyUnits } from '../helpers/systemd.ts';
import { tempDir } from '../helpers/tmp.ts';

const D = join(ROOT, 'deploy');
const tmp = tempDir('edgedns-deploy-');
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('systemd units', () => {
  // Documentation=man:edgedns(1) is looked up: give man the page as it installs.
  const manpath = join(tmp, 'man');
  mkdirSync(join(manpath, 'man1'), { recursive: true });
  copyFileSync(join(D, 'man', 'edgedns.1'), join(manpath, 'man1', 'edgedns.1'));
  for (const unit of ['edgedns.service', 'edgedns-guard.service']) {
    it(`${unit} passes systemd-analyze verify`, () => {
      // verify needs the executables to exist: point them at this checkout's build.
      const text = readFileSync(join(D, 'systemd', unit), 'utf8').replaceAll(
        '/usr/bin/edgedns',
        join(ROOT, 'dist', 'main.js'),
      );
      const f = join(tmp, unit);
      writeFileSync(f, text);
      assert.deepEqual(verifyUnits([f], manpath), ['exit 0']);
    });
  }
  it('verify speaks up: a bad value, a missing executable, a missing man page', () => {
    const good = readFileSync(join(D, 'systemd', 'edgedns.service'), 'utf8').replaceAll(
      '/usr/bin/edgedns',
      join(ROOT, 'dist', 'main.js'),
    );
    const cases: [string, string, RegExp][] = [
      ['type.service', good.replace('Type=notify', 'Type=notfy'), /Failed to parse service type/],
      [
        'exec.service',
        good.replaceAll(join(ROOT, 'dist', 'main.js'), join(tmp, 'no-such-edgedns')),
        /no-such-edgedns is not executable/,
      ],
    ];
    for (const [name, text, want] of cases) {
      writeFileSync(join(tmp, name), text);
      assert.match(verifyUnits([join(tmp, name)], manpath).join('\n'), want, name);
    }
    writeFileSync(join(tmp, 'man.service'), good);
    assert.match(
      verifyUnits([join(tmp, 'man.service')], join(tmp, 'empty-man')).join('\n'),
      /man edgedns\(1\)' failed/,
    );
  });
  it('edgedns.service is Type=notify (NotifyAccess=all: systemd-notify is a child); the guard starts after it', () => {
    const u = readFileSync(join(D, 'systemd', 'edgedns.service'), 'utf8');
    assert.match(u, /^Type=notify$/m);
    assert.match(u, /^NotifyAccess=all$/m);
    const g = readFileSync(join(D, 'systemd', 'edgedns-guard.service'), 'utf8');
    assert.match(g, /^After=edgedns\.service$/m);
    assert.match(g, /^BindsTo=edgedns\.service$/m);
  });
  it('edgedns.service withdraws after any exit, binds port 53 without root, and is hardened', () => {
    const u = readFileSync(join(D, 'systemd', 'edgedns.service'), 'utf8');
    assert.match(u, /^ExecStopPost=\/usr\/bin\/edgedns announce withdraw --config /m);
    assert.match(u, /^User=edgedns$/m);
    assert.match(u, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    assert.match(u, /^Restart=on-failure$/m);
    assert.match(u, /^ProtectSystem=strict$/m);
    assert.match(u, /^NoNewPrivileges=yes$/m);
  });
});

describe('routing daemon configs', () => {
  it('the site BIRD config parses (with its include files)', () => {
    const conf = readFileSync(join(D, 'bird', 'bird.conf'), 'utf8').replaceAll('/etc/bird/edgedns/', `${tmp}/`);
    writeFileSync(join(tmp, 'routes4.conf'), 'route 192.0.2.53/32 blackhole;\n');
    writeFileSync(join(tmp, 'routes6.conf'), '');
    writeFileSync(join(tmp, 'bird.conf'), conf);
    execFileSync('bird', ['-p', '-c', join(tmp, 'bird.conf')]);
  });
  it('the compose example BIRD configs parse', () => {
    execFileSync('bird', ['-p', '-c', join(D, 'docker', 'router-bird.conf')]);
    const site = readFileSync(join(D, 'docker', 'site-bird.conf.in'), 'utf8')
      .replaceAll('@AS@', '65011')
      .replaceAll('@IP@', '198.51.100.11')
      .replaceAll('@ROUTER@', '198.51.100.1')
      .replaceAll('/run/bird/', `${tmp}/`);
    writeFileSync(join(tmp, 'site.conf'), site);
    execFileSync('bird', ['-p', '-c', join(tmp, 'site.conf')]);
  });
});

describe('configs and manifests', () => {
  it('the example production config is valid and names every top-level key', () => {
    const { config } = loadConfig(join(D, 'edgedns.example.yaml'));
    assert.equal(config.announce.adapter, 'bird');
    const raw = load(readFileSync(join(D, 'edgedns.example.yaml'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(raw).sort(), Object.keys(config).sort());
  });
  it('the compose and lab site configs are valid', () => {
    assert.equal(loadConfig(join(D, 'docker', 'site.yaml')).config.announce.adapter, 'bird');
  });
  it('the compose file: three sites and a router, every mounted file present', () => {
    const c = load(readFileSync(join(D, 'docker', 'compose.yaml'), 'utf8')) as {
      services: Record<string, { volumes?: string[] }>;
    };
    assert.deepEqual(Object.keys(c.services).sort(), ['client', 'router', 'site1', 'site2', 'site3']);
    for (const s of Object.values(c.services))
      for (const v of s.volumes ?? []) assert.ok(existsSync(join(D, 'docker', v.split(':')[0] as string)), v);
  });
  it('the Dockerfile: multi-stage, non-root, a health check on /healthz, files it copies exist', () => {
    const f = readFileSync(join(D, 'docker', 'Dockerfile'), 'utf8');
    assert.equal(f.match(/^FROM /gm)?.length, 2);
    assert.match(f, /^USER edgedns$/m);
    assert.match(f, /^HEALTHCHECK .*\n.*\/healthz/m);
    for (const m of f.matchAll(/^COPY (?!--from)(.+) \S+$/gm))
      for (const src of (m[1] as string).split(' ')) assert.ok(existsSync(join(ROOT, src)), src);
  });
});
