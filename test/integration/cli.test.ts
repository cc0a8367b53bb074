// The CLI as users run it: zone print/check, config check, help and version, exit codes. (The
// zone-file conformance suite: conformance.test.ts.)
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ZONES, runCli, startFailure, startServer } from '../helpers/server.ts';
import { tempDir } from '../helpers/tmp.ts';

const EXAMPLE = join(ZONES, 'example.test.zone');

describe('edgedns CLI', () => {
  it('zone print: one record per line, exit 0', async () => {
    const r = await runCli(['zone', 'print', EXAMPLE, 'example.test.']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^www\.example\.test\.\t3600\tIN\tA\t192\.0\.2\.80$/m);
    assert.match(
      r.stdout,
      /^example\.test\.\t3600\tIN\tHTTPS\t1 \. alpn="h3,h2" ipv4hint=192\.0\.2\.80 ipv6hint=2001:db8::80$/m,
    );
  });
  it('zone print --generic: RFC 3597 form', async () => {
    const r = await runCli(['zone', 'print', '--generic', EXAMPLE, 'example.test']);
    assert.match(r.stdout, /^www\.example\.test\.\t3600\tIN\tA\t\\# 4 C0000250$/m);
  });
  it('zone print: a rejected file exits 1 with file, line and reason', async () => {
    const dir = tempDir('edgedns-cli-');
    const f = join(dir, 'bad.zone');
    writeFileSync(f, '$TTL 1\nok A 192.0.2.1\nbad AAAA 192.0.2.1\n');
    const r = await runCli(['zone', 'print', f, 'bad.test.']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.zone:3: expected an IPv6 address, got "192\.0\.2\.1"/);
  });
  it('zone check: policy on top of parsing', async () => {
    const ok = await runCli(['zone', 'check', EXAMPLE, 'example.test.']);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /OK: serial 2026112101/);
    const dir = tempDir('edgedns-cli-');
    const f = join(dir, 'nons.zone');
    writeFileSync(f, '$TTL 1\n@ SOA ns h 1 1 1 1 1\nwww CNAME x\nwww A 192.0.2.1\n');
    const bad = await runCli(['zone', 'check', f, 'nons.test.']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no NS records at the apex/);
    assert.match(bad.stderr, /has a CNAME and other data/);
  });
  it('config check: exit 0 for a good file, 2 for a bad one', async () => {
    const dir = tempDir('edgedns-cli-');
    const good = join(dir, 'good.yaml');
    writeFileSync(good, `zones: { dir: ${JSON.stringify(ZONES)} }\n`);
    assert.equal((await runCli(['config', 'check', good])).code, 0);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'listen: 5\n');
    const r = await runCli(['config', 'check', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /listen: expected a list, got 5/);
  });
  it('usage errors exit 2; --help shows examples; --version prints the version', async () => {
    assert.equal((await runCli(['serve', '--no-such-flag'])).code, 2);
    assert.equal((await runCli(['zone', 'print'])).code, 2);
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Examples:/);
    const v = await runCli(['--version']);
    assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  });
});

describe('config check: announced prefixes, and what the host must have', () => {
  const dir = tempDir('edgedns-cli-check-');
  const config = (name: string, announce: string, listen = '["192.0.2.53:53"]'): string => {
    const f = join(dir, name);
    writeFileSync(
      f,
      `listen: ${listen}\nzones: { dir: ${JSON.stringify(ZONES)} }\nupstreams: []\nannounce:\n${announce}`,
    );
    return f;
  };
  const exec = '  adapter: exec\n  exec: { command: /bin/true }\n';
  const noStack = (stderr: string): void => assert.doesNotMatch(stderr, /\n\s+at |internal error/, stderr);

  for (const [name, prefixes, message] of [
    [
      'a prefix no listener is in',
      '[203.0.113.53/32]',
      /announce\.prefixes\[0\]: no listen address is in 203\.0\.113\.53\/32 \(listen: 192\.0\.2\.53:53\): the route would draw queries that nothing here answers/,
    ],
    [
      'a prefix with host bits',
      '[192.0.2.53/24]',
      /announce\.prefixes\[0\]: 192\.0\.2\.53\/24 has host bits set, which BIRD rejects: write 192\.0\.2\.0\/24, or 192\.0\.2\.53\/32 for the one address/,
    ],
  ] as const) {
    it(`${name}: config check exits 2, and serve refuses to start with the same message`, async () => {
      const f = config(`${name.replaceAll(' ', '-')}.yaml`, `  prefixes: ${prefixes}\n${exec}`);
      const check = await runCli(['config', 'check', f]);
      assert.equal(check.code, 2);
      assert.match(check.stderr, message);
      noStack(check.stderr);
      // serve with the same file, on a port of its own (the flag is checked with the file).
      const serve = await runCli(['serve', '--config', f, '--admin', 'off', '--admin-socket', 'off']);
      assert.equal(serve.code, 2);
      // The same problem, as serve's one log line (JSON: the default log format).
      assert.match(startFailure(serve.stderr), message);
    });
  }
  it('the same prefix on a matching listener passes', async () => {
    const r = await runCli([
      'config',
      'check',
      config('good-prefix.yaml', `  prefixes: [192.0.2.53/32, 192.0.2.0/24]\n${exec}`),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });
  it('missing BIRD include folders, control socket, birdc and exec commands are warnings: exit 0', async () => {
    const bird = config(
      'bird.yaml',
      `  prefixes: [192.0.2.53/32]\n  adapter: bird\n  bird: { includeFile: /nonexistent/bird/routes4.conf, includeFile6: /nonexistent/bird6/routes6.conf, socket: ${join(dir, 'bird.ctl')}, birdc: no-such-birdc }\n`,
    );
    const r = await runCli(['config', 'check', bird]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /bird\.yaml: OK \(1 listen address\(es\), 1 zone\(s\), 4 warning\(s\)\)/);
    assert.match(
      r.stderr,
      /^edgedns: warning: announce\.bird\.includeFile: folder \/nonexistent\/bird does not exist$/m,
    );
    assert.match(
      r.stderr,
      /^edgedns: warning: announce\.bird\.includeFile6: folder \/nonexistent\/bird6 does not exist$/m,
    );
    assert.match(r.stderr, /^edgedns: warning: announce\.bird\.socket: socket .*bird\.ctl does not exist$/m);
    assert.match(r.stderr, /^edgedns: warning: announce\.bird\.birdc: command "no-such-birdc" is not on PATH/m);
    assert.match(r.stderr, /may exist on the target host alone/);
    const hook = config(
      'exec.yaml',
      '  prefixes: [192.0.2.53/32]\n  adapter: exec\n  exec: { command: /usr/local/lib/edgedns/no-such-hook }\n',
    );
    const e = await runCli(['config', 'check', hook]);
    assert.equal(e.code, 0, e.stderr);
    assert.match(
      e.stderr,
      /^edgedns: warning: announce\.exec\.command: command \/usr\/local\/lib\/edgedns\/no-such-hook does not exist$/m,
    );
  });
  it('serve logs the same warnings at start, and runs', async () => {
    const f = config(
      'bird-dry.yaml',
      '  prefixes: [127.0.0.1/32]\n  adapter: bird\n  dryRun: true\n  bird: { includeFile: /nonexistent/bird/routes4.conf, birdc: no-such-birdc }\n',
      '["127.0.0.1:0"]',
    );
    const srv = await startServer({ config: f, args: [] });
    try {
      const warnings = srv
        .logs()
        .split('\n')
        .filter((l) => l.includes('"msg":"config: missing on this host"'));
      assert.equal(warnings.length, 3, srv.logs());
      assert.match(
        warnings[0] as string,
        /"level":"warn".*"problem":"announce\.bird\.includeFile: folder \/nonexistent\/bird does not exist"/,
      );
    } finally {
      await srv.stop();
    }
  });
});

describe('serve flags', () => {
  it('--authoritative-only and --upstream exclude each other', async () => {
    const r = await runCli(['serve', '--authoritative-only', '--upstream', '127.0.0.1:53']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exclude each other/);
  });
});
