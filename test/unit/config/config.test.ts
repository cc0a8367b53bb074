// Config validation: defaults, unknown keys, error paths, freezing, YAML errors with positions.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EdgeError } from '../../../src/core/index.ts';
import {
  hostWarnings,
  loadConfig,
  parseAdminHostPort,
  parseHostPort,
  validateConfig,
} from '../../../src/config/index.ts';
import { tempDir } from '../../helpers/tmp.ts';

const dir = tempDir('edgedns-cfg-');
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
      c.edns.udpPayload = 1;
    }, TypeError);
  });
  it('merges a file over the defaults and parses durations and addresses', () => {
    const c = loadConfig(file('ok.yaml', 'listen: ["[::1]:53", "192.0.2.53"]\ntcp:\n  idleTimeout: 1m30s\n')).config;
    assert.deepEqual(c.listen, [
      { host: '::1', port: 53 },
      { host: '192.0.2.53', port: 53 },
    ]);
    assert.equal(c.tcp.idleTimeout, 90_000);
    assert.equal(c.tcp.maxConnections, 1000);
  });
  it('lists every problem with its path and what was expected', () => {
    assert.throws(
      () =>
        validateConfig(
          {
            listen: ['127.0.0.1:53a'],
            edns: { udpPayload: 100 },
            tcp: { idleTimeout: 'soon' },
            bogus: 1,
            zones: { dirr: 'x' },
          },
          'x.yaml',
        ),
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
    assert.throws(
      () => loadConfig(file('bad.yaml', 'listen: [\n  "a",\n  b: c\n')),
      (e: unknown) => e instanceof EdgeError && /bad\.yaml:\d+:\d+: YAML syntax error/.test(e.message),
    );
  });
  it('command-line overrides are validated with the file', () => {
    const c = loadConfig(file('o.yaml', 'listen: ["127.0.0.1:1"]\n'), { listen: ['127.0.0.1:2'] }).config;
    assert.deepEqual(c.listen, [{ host: '127.0.0.1', port: 2 }]);
    assert.throws(() => loadConfig(undefined, { listen: ['nope'] }), /listen\[0\]/);
  });
  it('a missing file is a clear error', () => {
    assert.throws(
      () => loadConfig(join(dir, 'missing.yaml')),
      (e: unknown) => e instanceof EdgeError && e.code === 'ERR_CONFIG_READ',
    );
  });
  it('parses host:port forms', () => {
    assert.deepEqual(parseHostPort('[2001:db8::1]:5353', 53), { host: '2001:db8::1', port: 5353 });
    assert.deepEqual(parseHostPort('2001:db8::1', 53), { host: '2001:db8::1', port: 53 });
    assert.equal(parseHostPort('127.0.0.1:70000', 53), undefined);
    assert.equal(parseHostPort('example.test:53', 53), undefined);
  });
});

/** The problems of a config that fails validation (none when it passes). */
function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    validateConfig(raw, 'c.yaml');
    return [];
  } catch (e) {
    assert.ok(e instanceof EdgeError && e.code === 'ERR_CONFIG_INVALID');
    return [...e.problems];
  }
}

describe('config cross-checks: announced prefixes', () => {
  const announce = (prefixes: string[]) => ({ prefixes, adapter: 'exec', exec: { command: '/bin/true' } });
  const table: { name: string; listen: string[]; prefixes: string[]; want: RegExp[] }[] = [
    {
      name: 'the listen address, /32 and /128',
      listen: ['192.0.2.53:53', '[2001:db8::53]:53'],
      prefixes: ['192.0.2.53/32', '2001:db8::53/128'],
      want: [],
    },
    {
      name: 'a covering prefix holding a listen address',
      listen: ['192.0.2.53:53'],
      prefixes: ['192.0.2.0/24'],
      want: [],
    },
    {
      name: 'a prefix no listen address is in',
      listen: ['192.0.2.53:53'],
      prefixes: ['203.0.113.53/32'],
      want: [
        /^c\.yaml: announce\.prefixes\[0\]: no listen address is in 203\.0\.113\.53\/32 \(listen: 192\.0\.2\.53:53\)/,
      ],
    },
    {
      name: 'an IPv6 prefix with IPv4 listeners only',
      listen: ['192.0.2.53:53'],
      prefixes: ['192.0.2.53/32', '2001:db8::53/128'],
      want: [/announce\.prefixes\[1\]: no listen address is in 2001:db8::53\/128/],
    },
    {
      name: 'a wildcard listener does not count',
      listen: ['0.0.0.0:53'],
      prefixes: ['192.0.2.53/32'],
      want: [
        /announce\.prefixes\[0\]: no listen address is in 192\.0\.2\.53\/32 .*a wildcard \(0\.0\.0\.0, ::\) does not count/,
      ],
    },
    {
      name: 'host bits',
      listen: ['192.0.2.53:53'],
      prefixes: ['192.0.2.53/24'],
      want: [
        /^c\.yaml: announce\.prefixes\[0\]: 192\.0\.2\.53\/24 has host bits set, which BIRD rejects: write 192\.0\.2\.0\/24, or 192\.0\.2\.53\/32 for the one address$/,
      ],
    },
    {
      name: 'IPv6 host bits',
      listen: ['[2001:db8::53]:53'],
      prefixes: ['2001:db8::53/64'],
      want: [/2001:db8::53\/64 has host bits set.*write 2001:db8::\/64, or 2001:db8::53\/128/],
    },
    {
      name: 'both, and every prefix reported',
      listen: ['192.0.2.53:53'],
      prefixes: ['198.51.100.7/24', '203.0.113.53/32'],
      want: [
        /prefixes\[0\]: 198\.51\.100\.7\/24 has host bits/,
        /prefixes\[0\]: no listen address is in 198\.51\.100\.7\/24/,
        /prefixes\[1\]: no listen address is in 203\.0\.113\.53\/32/,
      ],
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const problems = problemsOf({ listen: t.listen, announce: announce(t.prefixes) });
      assert.equal(problems.length, t.want.length, problems.join('\n'));
      t.want.forEach((re, i) => assert.match(problems[i] as string, re));
    });
  }
  it('the adapter none checks its prefixes too; no prefixes, nothing to check', () => {
    assert.equal(problemsOf({ listen: ['127.0.0.1:53'], announce: { prefixes: ['192.0.2.53/32'] } }).length, 1);
    assert.deepEqual(problemsOf({ listen: ['127.0.0.1:53'] }), []);
  });
  it("command-line listen addresses are checked against the file's prefixes", () => {
    const f = file(
      'p.yaml',
      'listen: ["192.0.2.53:53"]\nannounce: { prefixes: [192.0.2.53/32], adapter: exec, exec: { command: /bin/true } }\n',
    );
    assert.ok(loadConfig(f));
    assert.throws(
      () => loadConfig(f, { listen: ['127.0.0.1:0'] }),
      /no listen address is in 192\.0\.2\.53\/32 \(listen: 127\.0\.0\.1:0\)/,
    );
  });
});

describe('config: the admin address', () => {
  const table: [string, { host: string; port: number } | undefined][] = [
    ['127.0.0.1:9153', { host: '127.0.0.1', port: 9153 }],
    ['[::1]:9154', { host: '::1', port: 9154 }],
    ['127.0.0.1', { host: '127.0.0.1', port: 9153 }],
    ['http://127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['http://127.0.0.1:8080/', { host: '127.0.0.1', port: 8080 }],
    ['http://[::1]:0', { host: '::1', port: 0 }],
    ['HTTP://127.0.0.1', { host: '127.0.0.1', port: 9153 }],
    ['https://127.0.0.1:9153', undefined],
    ['http://127.0.0.1:9153/admin', undefined],
    ['http://localhost:9153', undefined],
    ['127.0.0.1:99999', undefined],
  ];
  for (const [text, want] of table)
    it(`${text} → ${JSON.stringify(want)}`, () => assert.deepEqual(parseAdminHostPort(text, 9153, true), want));
  it('admin.listen takes every form, and says so when none fits', () => {
    assert.deepEqual(validateConfig({ admin: { listen: 'http://127.0.0.1:9999' } }).admin.listen, {
      host: '127.0.0.1',
      port: 9999,
    });
    assert.deepEqual(problemsOf({ admin: { listen: 'https://127.0.0.1:9153' } }), [
      'c.yaml: admin.listen: expected ADDRESS[:PORT], [v6]:PORT or http://ADDRESS:PORT, got "https://127.0.0.1:9153"',
    ]);
  });
});

describe('hostWarnings: what the config needs from this host', () => {
  const h = tempDir('edgedns-host-');
  const bin = join(h, 'bin');
  mkdirSync(bin);
  const exe = (name: string, mode = 0o755): string => {
    const p = join(bin, name);
    writeFileSync(p, '#!/bin/sh\n');
    chmodSync(p, mode);
    return p;
  };
  exe('birdc');
  exe('gobgp');
  const hook = exe('hook');
  const notExe = exe('plain', 0o644);
  const env = { base: h, path: `/nonexistent:${bin}` };
  const warn = (raw: Record<string, unknown>): string[] =>
    hostWarnings(validateConfig({ listen: ['192.0.2.53:53'], ...raw }), env);
  const bird = (b: Record<string, unknown>) => ({
    announce: { prefixes: ['192.0.2.53/32'], adapter: 'bird', bird: b },
  });

  it('a bird setup that is all here: no warning', async () => {
    const sock = join(h, 'bird.ctl');
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      assert.deepEqual(
        warn(bird({ includeFile: join(h, 'routes4.conf'), includeFile6: join(h, 'routes6.conf'), socket: sock })),
        [],
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
  it('bird: a missing include folder, control socket and birdc', () => {
    const w = warn(
      bird({ includeFile: '/nonexistent/edgedns/routes4.conf', socket: join(h, 'no.ctl'), birdc: 'no-such-birdc' }),
    );
    assert.deepEqual(w, [
      'announce.bird.includeFile: folder /nonexistent/edgedns does not exist',
      `announce.bird.socket: socket ${join(h, 'no.ctl')} does not exist`,
      `announce.bird.birdc: command "no-such-birdc" is not on PATH (/nonexistent:${bin})`,
    ]);
  });
  it('bird: a socket path that is a plain file', () => {
    const w = warn(bird({ includeFile: join(h, 'r.conf'), socket: hook }));
    assert.deepEqual(w, [`announce.bird.socket: ${hook} is not a socket`]);
  });
  it('exec: a command missing, or not executable; found on PATH', () => {
    const exec = (command: string) => ({
      announce: { prefixes: ['192.0.2.53/32'], adapter: 'exec', exec: { command } },
    });
    assert.deepEqual(warn(exec('/nonexistent/route-hook')), [
      'announce.exec.command: command /nonexistent/route-hook does not exist',
    ]);
    assert.deepEqual(warn(exec(notExe)), [`announce.exec.command: command ${notExe} is not executable by this user`]);
    assert.deepEqual(warn(exec('hook')), []);
    assert.deepEqual(warn(exec(hook)), []);
  });
  it('exabgp: the pipe must be a FIFO; gobgp: its command', () => {
    assert.deepEqual(warn({ announce: { prefixes: ['192.0.2.53/32'], adapter: 'exabgp', exabgp: { pipe: hook } } }), [
      `announce.exabgp.pipe: ${hook} is not a fifo`,
    ]);
    assert.deepEqual(warn({ announce: { prefixes: ['192.0.2.53/32'], adapter: 'gobgp' } }), []);
    assert.deepEqual(
      warn({ announce: { prefixes: ['192.0.2.53/32'], adapter: 'gobgp', gobgp: { command: 'nogobgp' } } }).length,
      1,
    );
  });
  it('health command and drain folder, cookie secrets (from the config folder) and the admin token', () => {
    writeFileSync(join(h, 'secret'), '0123456789abcdef0123456789abcdef\n');
    assert.deepEqual(
      warn({
        health: { command: { command: 'hook', args: [], timeout: '1s' }, drainFile: join(h, 'drain') },
        cookies: { secretFile: 'secret' },
        admin: { tokenFile: hook },
      }),
      [],
    );
    assert.deepEqual(
      warn({
        health: { command: { command: 'nocheck', args: [], timeout: '1s' }, drainFile: '/nonexistent/drain' },
        cookies: { secretFile: 'nosecret' },
        admin: { tokenFile: '/nonexistent/token' },
      }),
      [
        `health.command.command: command "nocheck" is not on PATH (/nonexistent:${bin})`,
        'health.drainFile: folder /nonexistent does not exist',
        `cookies.secretFile: file ${join(h, 'nosecret')} does not exist`,
        'admin.tokenFile: file /nonexistent/token does not exist',
      ],
    );
  });
  it('the defaults need nothing from the host', () => {
    assert.deepEqual(hostWarnings(validateConfig({}), env), []);
  });
});

describe('config: the fleet and overload keys', () => {
  const peers = [
    { site: 'a', dns: ['198.51.100.2:53'], admin: '198.51.100.2:9153' },
    { site: 'b', dns: ['198.51.100.6'], admin: '198.51.100.6' },
  ];
  it('defaults: no peers (a single node), minAnnounced 1; no deprefer; overload limits', () => {
    const c = validateConfig({});
    assert.deepEqual(c.fleet.peers, []);
    assert.deepEqual(c.fleet.minAnnounced, { sites: 1 });
    assert.equal(c.announce.deprefer, null);
    assert.deepEqual(c.health.overload, { maxUtilization: 0.9, maxDropRate: 100, maxUdpQueue: 512 * 1024 });
    assert.equal(
      validateConfig({ health: { overload: { maxUdpQueue: '2MiB' } } }).health.overload.maxUdpQueue,
      2 << 20,
    );
  });
  it('parses peers with default ports, and minAnnounced as a count or a percentage', () => {
    const c = validateConfig({ fleet: { peers, keyFile: '/k', minAnnounced: '50%' } });
    assert.deepEqual(c.fleet.peers[1], {
      site: 'b',
      dns: [{ host: '198.51.100.6', port: 53 }],
      admin: { host: '198.51.100.6', port: 9153 },
    });
    assert.deepEqual(c.fleet.minAnnounced, { percent: 50 });
    assert.equal(c.fleet.interval, 1000);
  });
  it('peers need a key, unique sites and a DNS address; the timers must fit', () => {
    const p = problemsOf({
      fleet: {
        peers: [...peers, { site: 'a', dns: [], admin: '198.51.100.10:9153' }],
        minAnnounced: 5,
        probeTimeout: '2s',
        staleAfter: '500ms',
      },
    });
    assert.deepEqual(p, [
      'c.yaml: fleet.keyFile: required when fleet.peers is set (the state exchange is authenticated)',
      'c.yaml: fleet.peers[2].site: a is listed twice',
      'c.yaml: fleet.peers[2].dns: at least one address, for the data-plane probes',
      'c.yaml: fleet.staleAfter: must not be shorter than fleet.interval',
      'c.yaml: fleet.probeTimeout: must be shorter than fleet.interval',
      'c.yaml: fleet.minAnnounced: 5 is more than the 3 sites of fleet.peers',
    ]);
    assert.match(
      problemsOf({ fleet: { minAnnounced: '150%' } }).join('\n'),
      /fleet.minAnnounced: expected a number of sites or a percentage/,
    );
  });
  it('deprefer: missing keys take their defaults; a prepend needs the AS; something must change', () => {
    assert.deepEqual(validateConfig({ announce: { deprefer: { med: 200 } } }).announce.deprefer, {
      asn: 0,
      prepend: 0,
      med: 200,
    });
    assert.deepEqual(problemsOf({ announce: { deprefer: { prepend: 3 } } }), [
      'c.yaml: announce.deprefer.asn: required to prepend (the AS number to repeat)',
    ]);
    assert.deepEqual(problemsOf({ announce: { deprefer: {} } }), [
      'c.yaml: announce.deprefer: set prepend (with asn) or med, or write null for no de-preference',
    ]);
    assert.match(
      problemsOf({ announce: { deprefer: { asn: 65001, prepend: 40 } } }).join(),
      /announce.deprefer.prepend: expected an integer 0..16/,
    );
  });
});

describe('config: secondary zones and outgoing transfers', () => {
  const zone = {
    origin: 'example.net.',
    primaries: ['192.0.2.1'],
    tsig: { name: 'xfr-key.', algorithm: 'hmac-sha256', secretFile: '/k' },
  };
  it('defaults: none; the store folder defaults, primaries take port 53', () => {
    const c = validateConfig({});
    assert.deepEqual(c.zones.secondary, []);
    assert.deepEqual(c.zones.transferTo, []);
  });
  it('each problem named; a well-formed zone is taken', () => {
    assert.deepEqual(problemsOf({ zones: { secondary: [zone] } }), []);
    assert.deepEqual(problemsOf({ zones: { dir: 'zones', secondary: [{ ...zone, storeDir: './zones/' }] } }), [
      'c.yaml: zones.secondary[0].storeDir: not zones.dir (every file there is loaded as a zone of its own); use a folder of its own',
    ]);
    const bad = problemsOf({
      zones: {
        files: [{ file: 'a.zone', origin: 'example.net' }],
        secondary: [
          { ...zone, origin: 'Example.NET.' },
          { origin: 'relative.example', primaries: [] },
          { ...zone, origin: 'c.example.', tsig: { name: 'k', algorithm: 'hmac-md5', secretFile: '/k' }, store: '/x' },
        ],
      },
    });
    assert.deepEqual(bad, [
      'c.yaml: zones.secondary[2].store: unknown key (expected one of origin, primaries, tsig, storeDir)',
      'c.yaml: zones.secondary[2].tsig.algorithm: expected one of hmac-sha256, hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, got "hmac-md5"',
    ]);
    assert.deepEqual(
      problemsOf({
        zones: {
          files: [{ file: 'a.zone', origin: 'example.net' }],
          secondary: [
            { ...zone, origin: 'Example.NET.' },
            { origin: 'relative.example', primaries: [] },
            { ...zone, origin: 'c.example.', tsig: { ...zone.tsig, name: 'k' } },
          ],
        },
      }),
      [
        'c.yaml: zones.secondary[0].origin: Example.NET. is configured twice (a zone is a file or a secondary, once)',
        'c.yaml: zones.secondary[1].origin: write the zone as an absolute name ("relative.example.")',
        'c.yaml: zones.secondary[1].primaries: at least one primary',
        'c.yaml: zones.secondary[2].tsig.name: write the key\'s name as an absolute name ("k.")',
      ],
    );
  });
  it('transferTo: a CIDR each, an optional key; one key name stands for one key', () => {
    const key = zone.tsig;
    const c = validateConfig({
      zones: { transferTo: [{ address: '192.0.2.0/24' }, { address: '2001:db8::1', tsig: key }] },
    });
    assert.deepEqual(c.zones.transferTo, [
      { address: '192.0.2.0/24', tsig: null },
      { address: '2001:db8::1', tsig: key },
    ]);
    assert.deepEqual(
      problemsOf({
        zones: {
          transferTo: [
            { address: '192.0.2.0/33' },
            { address: '192.0.2.1', tsig: { ...key, name: 'k' } },
            { address: '192.0.2.2', tsig: key },
            { address: '192.0.2.3', tsig: { ...key, secretFile: '/other' } },
            { address: '192.0.2.4', tsig: { ...key, algorithm: 'hmac-sha512' } },
            { address: '192.0.2.5', tsig: key, port: 53 },
          ],
        },
      }),
      [
        'c.yaml: zones.transferTo[0].address: expected an address prefix like "192.0.2.0/24" or "2001:db8::/32", got "192.0.2.0/33"',
        'c.yaml: zones.transferTo[5].port: unknown key (expected one of address, tsig)',
      ],
    );
    assert.deepEqual(
      problemsOf({
        zones: {
          transferTo: [
            { address: '192.0.2.1', tsig: { ...key, name: 'k' } },
            { address: '192.0.2.2', tsig: key },
            { address: '192.0.2.3', tsig: { ...key, secretFile: '/other' } },
            { address: '192.0.2.4', tsig: { ...key, name: 'XFR-key.', algorithm: 'hmac-sha512' } },
            { address: '192.0.2.5', tsig: key },
          ],
        },
      }),
      [
        'c.yaml: zones.transferTo[0].tsig.name: write the key\'s name as an absolute name ("k.")',
        'c.yaml: zones.transferTo[2].tsig: the key xfr-key. is also named in zones.transferTo[1].tsig with another algorithm or secret file; one name, one key',
        'c.yaml: zones.transferTo[3].tsig: the key XFR-key. is also named in zones.transferTo[1].tsig with another algorithm or secret file; one name, one key',
      ],
    );
  });
});
