// Config validation: defaults, unknown keys, error paths, freezing, YAML errors with positions.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EdgeError } from '../../../src/core/index.ts';
import { loadConfig, parseHostPort, validateConfig } from '../../../src/config/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgedns-cfg-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('config', () => {
  it('defaults: 127.0.0.1:5353, ./zones, 1232', () => {
    const c = validateConfig({});
    assert.deepEqual(c.listen, [{ host: '127.0.0.1', port: 5353 }]);
    assert.equal(c.zones.dir, './zones');
    assert.equal(c.edns.udpPayload, 1232);
    assert.equal(c.tcp.idleTimeout, 10_000);
  });
  it('is frozen', () => {
    const c = validateConfig({});
    assert.throws(() => {
      (c.edns as { udpPayload: number }).udpPayload = 1;
    }, TypeError);
  });
  it('merges a file over the defaults and parses durations and addresses', () => {
    const c = loadConfig(file('ok.yaml', 'listen: ["[::1]:53", "192.0.2.53"]\ntcp:\n  idleTimeout: 1m30s\n')).config;
    assert.deepEqual(c.listen, [{ host: '::1', port: 53 }, { host: '192.0.2.53', port: 53 }]);
    assert.equal(c.tcp.idleTimeout, 90_000);
    assert.equal(c.tcp.maxConnections, 1000);
  });
  it('lists every problem with its path and what was expected', () => {
    assert.throws(
      () => validateConfig({ listen: ['127.0.0.1:53a'], edns: { udpPayload: 100 }, tcp: { idleTimeout: 'soon' }, bogus: 1, zones: { dirr: 'x' } }, 'x.yaml'),
      (e: unknown) => {
        assert.ok(e instanceof EdgeError);
        assert.equal(e.code, 'ERR_CONFIG_INVALID');
        const text = e.problems.join('\n');
        assert.match(text, /x\.yaml: listen\[0\]: expected ADDRESS\[:PORT\].*got "127\.0\.0\.1:53a"/);
        assert.match(text, /edns\.udpPayload: expected an integer 512\.\.4096, got 100/);
        assert.match(text, /tcp\.idleTimeout: expected a duration/);
        assert.match(text, /bogus: unknown key/);
        assert.match(text, /zones\.dirr: unknown key/);
        assert.equal(e.problems.length, 5);
        return true;
      },
    );
  });
  it('reports YAML syntax errors with line and column', () => {
    assert.throws(() => loadConfig(file('bad.yaml', 'listen: [\n  "a",\n  b: c\n')), (e: unknown) => e instanceof EdgeError && /bad\.yaml:\d+:\d+: YAML syntax error/.test(e.message));
  });
  it('command-line overrides are validated with the file', () => {
    const c = loadConfig(file('o.yaml', 'listen: ["127.0.0.1:1"]\n'), { listen: ['127.0.0.1:2'] }).config;
    assert.deepEqual(c.listen, [{ host: '127.0.0.1', port: 2 }]);
    assert.throws(() => loadConfig(undefined, { listen: ['nope'] }), /listen\[0\]/);
  });
  it('a missing file is a clear error', () => {
    assert.throws(() => loadConfig(join(dir, 'missing.yaml')), (e: unknown) => e instanceof EdgeError && e.code === 'ERR_CONFIG_READ');
  });
  it('parses host:port forms', () => {
    assert.deepEqual(parseHostPort('[2001:db8::1]:5353', 53), { host: '2001:db8::1', port: 5353 });
    assert.deepEqual(parseHostPort('2001:db8::1', 53), { host: '2001:db8::1', port: 53 });
    assert.equal(parseHostPort('127.0.0.1:70000', 53), undefined);
    assert.equal(parseHostPort('example.test:53', 53), undefined);
  });
});
