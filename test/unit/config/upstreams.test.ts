// The forms of an upstream (plain, tls://ADDR#NAME, a mapping with a pin or a CA file), the
// resolver's DoT keys, and forward zones: what each parses to, and every problem named by its path.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EdgeError } from '../../../src/core/index.ts';
import { formatUpstream, forwardAllow, hostWarnings, validateConfig } from '../../../src/config/index.ts';
import { loadServeConfig } from '../../../src/process/index.ts';

const PIN = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';

function problemsOf(raw: unknown): readonly string[] {
  try {
    validateConfig(raw, 'c.yaml');
    return [];
  } catch (e) {
    assert.ok(e instanceof EdgeError);
    assert.equal(e.code, 'ERR_CONFIG_INVALID');
    return e.problems;
  }
}

describe('config: upstream forms', () => {
  const cases: [string, unknown, unknown][] = [
    ['an address', '198.51.100.11', { host: '198.51.100.11', port: 53, tls: null }],
    ['an address and port', '198.51.100.11:5300', { host: '198.51.100.11', port: 5300, tls: null }],
    ['IPv6 with a port', '[2001:db8::1]:53', { host: '2001:db8::1', port: 53, tls: null }],
    [
      'tls:// with a port and a name',
      'tls://198.51.100.10:853#resolver.example',
      { host: '198.51.100.10', port: 853, tls: { name: 'resolver.example', spki: null, caFile: null } },
    ],
    [
      'tls:// without a port: 853; the name lower-cased, its final dot dropped',
      'TLS://198.51.100.10#Resolver.Example.',
      { host: '198.51.100.10', port: 853, tls: { name: 'resolver.example', spki: null, caFile: null } },
    ],
    [
      'tls:// over IPv6',
      'tls://[2001:db8::53]:8853#dns.example',
      { host: '2001:db8::53', port: 8853, tls: { name: 'dns.example', spki: null, caFile: null } },
    ],
    [
      'a mapping with a pin alone: port 853',
      { address: '198.51.100.10', tls: { spki: PIN } },
      { host: '198.51.100.10', port: 853, tls: { name: null, spki: PIN, caFile: null } },
    ],
    [
      'a mapping with a name, a pin and a CA file',
      { address: '198.51.100.10:853', tls: { name: 'resolver.example', spki: PIN, caFile: '/etc/ca.pem' } },
      { host: '198.51.100.10', port: 853, tls: { name: 'resolver.example', spki: PIN, caFile: '/etc/ca.pem' } },
    ],
    [
      'a mapping without tls: plain, port 53',
      { address: '198.51.100.12' },
      { host: '198.51.100.12', port: 53, tls: null },
    ],
  ];
  for (const [what, given, want] of cases)
    it(what, () => {
      const c = validateConfig({ upstreams: [given], forward: [{ zone: 'corp.example.', upstreams: [given] }] });
      assert.deepEqual(c.upstreams?.[0], want);
      assert.deepEqual(c.forward[0]?.upstreams[0], want);
    });

  it('the issue example', () => {
    const c = validateConfig({
      upstreams: ['tls://198.51.100.10:853#resolver.example', '198.51.100.11:53'],
      forward: [{ zone: 'corp.example.', upstreams: ['10.1.1.1:53'] }],
    });
    assert.deepEqual(c.upstreams?.map(formatUpstream), [
      'tls://198.51.100.10:853#resolver.example',
      '198.51.100.11:53',
    ]);
    assert.deepEqual(c.forward, [
      { zone: 'corp.example.', upstreams: [{ host: '10.1.1.1', port: 53, tls: null }], recursionAllow: null },
    ]);
  });

  it('names the key and the problem of every bad form', () => {
    assert.deepEqual(
      problemsOf({
        upstreams: [
          'tls://198.51.100.10:853',
          'tls://198.51.100.10#',
          'tls://host.example#x',
          'tls://198.51.100.10#not a name',
          '198.51.100.10:53a',
          'https://198.51.100.10/dns-query',
          { address: '198.51.100.10', tls: {} },
          { address: '198.51.100.10', tls: { spki: 'short' } },
          { address: 'tls://198.51.100.10', tls: { name: 'a.example' } },
          { addr: '198.51.100.10' },
          7,
        ],
      }),
      [
        'c.yaml: upstreams[0]: tls:// needs a name after # or a tls.spki pin ({ address: "198.51.100.10:853", tls: { spki: … } }), got "tls://198.51.100.10:853"',
        'c.yaml: upstreams[1]: tls:// needs a name after # or a tls.spki pin ({ address: "198.51.100.10", tls: { spki: … } }), got "tls://198.51.100.10#"',
        'c.yaml: upstreams[2]: expected tls://ADDRESS[:PORT]#NAME (IPv6 as tls://[2001:db8::1]:853#NAME), got "tls://host.example#x"',
        'c.yaml: upstreams[3]: the name after # must be a host name such as resolver.example, got "not a name"',
        'c.yaml: upstreams[4]: expected ADDRESS[:PORT], [v6]:PORT, tls://ADDRESS[:PORT]#NAME or { address, tls: { name, spki, caFile } }, got "198.51.100.10:53a"',
        'c.yaml: upstreams[5]: expected ADDRESS[:PORT], [v6]:PORT, tls://ADDRESS[:PORT]#NAME or { address, tls: { name, spki, caFile } }, got "https://198.51.100.10/dns-query"',
        'c.yaml: upstreams[6].tls: needs a name (checked against the certificate) or an spki pin, or both',
        'c.yaml: upstreams[7].tls.spki: expected the base64 SHA-256 of the certificate\'s SubjectPublicKeyInfo (44 characters ending in =), got "short"',
        'c.yaml: upstreams[8].address: expected ADDRESS[:PORT] (IPv6 as [2001:db8::1]:853), got "tls://198.51.100.10"',
        'c.yaml: upstreams[9].addr: unknown key (expected one of address, tls)',
        'c.yaml: upstreams[9].address: expected a non-empty string, got undefined',
        'c.yaml: upstreams[10]: expected ADDRESS[:PORT], [v6]:PORT, tls://ADDRESS[:PORT]#NAME or { address, tls: { name, spki, caFile } }, got 7',
      ],
    );
  });

  it('resolver.tlsCaFile and tlsIdleTimeout: defaults null and 10 s', () => {
    const d = validateConfig({});
    assert.equal(d.resolver.tlsCaFile, null);
    assert.equal(d.resolver.tlsIdleTimeout, 10_000);
    assert.deepEqual(d.forward, []);
    const c = validateConfig({ resolver: { tlsCaFile: '/etc/ca.pem', tlsIdleTimeout: '30s' } });
    assert.equal(c.resolver.tlsCaFile, '/etc/ca.pem');
    assert.equal(c.resolver.tlsIdleTimeout, 30_000);
    assert.deepEqual(problemsOf({ resolver: { tlsIdleTimeout: 'soon' } }), [
      'c.yaml: resolver.tlsIdleTimeout: expected a duration like "250ms", "5s" or "1h", got "soon"',
    ]);
  });
});

describe('config: DoT upstreams on this host', () => {
  it('serve --upstream takes the tls:// form (the flags are validated with the file)', () => {
    const c = loadServeConfig({ upstreams: ['tls://198.51.100.10#resolver.example', '198.51.100.11'] }).config;
    assert.deepEqual(c.upstreams?.map(formatUpstream), [
      'tls://198.51.100.10:853#resolver.example',
      '198.51.100.11:53',
    ]);
    assert.throws(
      () => loadServeConfig({ upstreams: ['tls://198.51.100.10'] }),
      /upstreams\[0\]: tls:\/\/ needs a name after #/,
    );
  });
  it("config check warns of a CA file this host does not have (resolver.tlsCaFile, an upstream's caFile)", () => {
    const c = validateConfig({
      resolver: { tlsCaFile: 'missing-ca.pem' },
      upstreams: [{ address: '198.51.100.10', tls: { name: 'resolver.example', caFile: '/nonexistent/ca.pem' } }],
      forward: [
        {
          zone: 'corp.example.',
          upstreams: [{ address: '10.1.1.2', tls: { name: 'ns.corp.example', caFile: 'c.pem' } }],
        },
      ],
    });
    assert.deepEqual(hostWarnings(c, { base: '/nonexistent-base', path: undefined }), [
      'resolver.tlsCaFile: file /nonexistent-base/missing-ca.pem does not exist',
      'upstreams[0].tls.caFile: file /nonexistent/ca.pem does not exist',
      'forward[0].upstreams[0].tls.caFile: file /nonexistent-base/c.pem does not exist',
    ]);
  });
});

describe('config: forward zones', () => {
  it('a zone, its upstreams and an optional recursion ACL; the zone lower-cased', () => {
    const c = validateConfig({
      forward: [
        { zone: 'Corp.Example.', upstreams: ['10.1.1.1:53'], recursionAllow: ['10.0.0.0/8'] },
        { zone: 'a.corp.example.', upstreams: ['tls://10.1.1.2#ns.corp.example'] },
      ],
    });
    assert.equal(c.forward[0]?.zone, 'corp.example.');
    assert.deepEqual(c.forward[0]?.recursionAllow, ['10.0.0.0/8']);
    assert.equal(c.forward[1]?.recursionAllow, null);
    assert.equal(c.forward[1]?.upstreams[0]?.port, 853);
  });

  it("recursionAllow: a zone's own, else that of the nearest zone it is under, else recursion.allow", () => {
    const c = validateConfig({
      recursion: { allow: ['192.0.2.0/24'] },
      forward: [
        { zone: 'corp.example.', upstreams: ['10.1.1.1'], recursionAllow: ['10.0.0.0/8'] },
        { zone: 'a.corp.example.', upstreams: ['10.1.1.2'] },
        { zone: 'open.a.corp.example.', upstreams: ['10.1.1.3'], recursionAllow: ['0.0.0.0/0'] },
        { zone: 'b.open.a.corp.example.', upstreams: ['10.1.1.4'] },
        { zone: 'xcorp.example.', upstreams: ['10.1.1.5'] },
      ],
    });
    assert.deepEqual(forwardAllow(c.forward, c.recursion.allow), [
      ['10.0.0.0/8'],
      ['10.0.0.0/8'],
      ['0.0.0.0/0'],
      ['0.0.0.0/0'],
      ['192.0.2.0/24'],
    ]);
  });

  it('names the key and the problem', () => {
    assert.deepEqual(
      problemsOf({
        forward: [
          { zone: 'corp.example', upstreams: ['10.1.1.1'] },
          { zone: '.', upstreams: ['10.1.1.1'] },
          { zone: 'a..b.', upstreams: ['10.1.1.1'] },
          { zone: 'x.example.', upstreams: ['10.1.1.1:99999'], recursionAllow: ['10.0.0.0/33'] },
          { zone: 'y.example.', upstream: ['10.1.1.1'] },
        ],
      }),
      [
        'c.yaml: forward[0].zone: write the zone as an absolute name ("corp.example.")',
        'c.yaml: forward[1].zone: "." is every name: the top-level upstreams serve what no forward zone does',
        'c.yaml: forward[2].zone: expected an absolute domain name such as "corp.example.", got "a..b."',
        'c.yaml: forward[3].upstreams[0]: expected ADDRESS[:PORT], [v6]:PORT, tls://ADDRESS[:PORT]#NAME or { address, tls: { name, spki, caFile } }, got "10.1.1.1:99999"',
        'c.yaml: forward[3].recursionAllow[0]: expected an address prefix like "192.0.2.0/24" or "2001:db8::/32", got "10.0.0.0/33"',
        'c.yaml: forward[4].upstream: unknown key (expected one of zone, upstreams, recursionAllow)',
        'c.yaml: forward[4].upstreams: expected a list, got undefined',
      ],
    );
    assert.deepEqual(
      problemsOf({
        forward: [
          { zone: 'corp.example.', upstreams: ['10.1.1.1'] },
          { zone: 'CORP.example.', upstreams: [] },
        ],
      }),
      [
        'c.yaml: forward[1].zone: corp.example. is also forward[0]; one entry per zone',
        'c.yaml: forward[1].upstreams: at least one upstream',
      ],
    );
  });
});
