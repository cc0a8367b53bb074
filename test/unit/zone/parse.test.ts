// The master-file parser: real syntax in tables, and errors with their line numbers.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nameFromText } from '../../../src/wire/index.ts';
import { ZoneSyntaxError, formatRecord, parseZoneFile, parseZoneText } from '../../../src/zone/index.ts';
import { tempDir } from '../../helpers/tmp.ts';

const origin = nameFromText('example.test.', null);
const lines = (text: string, generic = false): string[] =>
  parseZoneText(text, origin).map((r) => formatRecord(r, generic).replace(/\t/g, ' '));

describe('master file syntax', () => {
  const table: { name: string; zone: string; want: string[] }[] = [
    {
      name: '$TTL, @, relative and absolute names',
      zone: '$TTL 300\n@ IN A 192.0.2.1\nwww A 192.0.2.2\nabs.example.org. A 192.0.2.3',
      want: [
        'example.test. 300 IN A 192.0.2.1',
        'www.example.test. 300 IN A 192.0.2.2',
        'abs.example.org. 300 IN A 192.0.2.3',
      ],
    },
    {
      name: 'omitted owner inherits the previous one',
      zone: '$TTL 60\nhost A 192.0.2.1\n     AAAA 2001:db8::1',
      want: ['host.example.test. 60 IN A 192.0.2.1', 'host.example.test. 60 IN AAAA 2001:db8::1'],
    },
    {
      name: 'TTL and class in either order, lower case',
      zone: 'a 10 in a 192.0.2.1\nb IN 20 A 192.0.2.2',
      want: ['a.example.test. 10 IN A 192.0.2.1', 'b.example.test. 20 IN A 192.0.2.2'],
    },
    {
      name: 'TTL units',
      zone: 'a 1h30m A 192.0.2.1\nb 1w A 192.0.2.1\nc 2D A 192.0.2.1',
      want: [
        'a.example.test. 5400 IN A 192.0.2.1',
        'b.example.test. 604800 IN A 192.0.2.1',
        'c.example.test. 172800 IN A 192.0.2.1',
      ],
    },
    {
      name: '$ORIGIN changes relative names',
      zone: '$TTL 1\n$ORIGIN sub.example.test.\nx A 192.0.2.1\n$ORIGIN deeper\ny A 192.0.2.2',
      want: ['x.sub.example.test. 1 IN A 192.0.2.1', 'y.deeper.sub.example.test. 1 IN A 192.0.2.2'],
    },
    {
      name: 'parentheses over lines with comments',
      zone: '@ 300 SOA ns hostmaster ( 1 ; serial\n 2h ; refresh\n 30m 2w\n 300 )',
      want: ['example.test. 300 IN SOA ns.example.test. hostmaster.example.test. 1 7200 1800 1209600 300'],
    },
    {
      name: 'quoted strings with escapes',
      zone: 't 1 TXT "a \\"quoted\\" word" "semi;colon" \\065BC "\\255"',
      want: ['t.example.test. 1 IN TXT "a \\"quoted\\" word" "semi;colon" "ABC" "\\255"'],
    },
    {
      name: 'RFC 3597 generic form for unknown and known types',
      zone: 'u 1 TYPE65534 \\# 3 abcdef\nk 1 A \\# 4 C0000201\ne 1 TYPE65000 \\# 0',
      want: [
        'u.example.test. 1 IN TYPE65534 \\# 3 ABCDEF',
        'k.example.test. 1 IN A 192.0.2.1',
        'e.example.test. 1 IN TYPE65000 \\# 0',
      ],
    },
    {
      name: 'MX, SRV, CAA, NAPTR, HINFO',
      zone: '$TTL 1\n@ MX 10 mail\n_s._tcp SRV 1 2 3 t\n@ CAA 0 issue "ca.example"\nn NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp\nh HINFO "PC" "Linux"',
      want: [
        'example.test. 1 IN MX 10 mail.example.test.',
        '_s._tcp.example.test. 1 IN SRV 1 2 3 t.example.test.',
        'example.test. 1 IN CAA 0 issue "ca.example"',
        'n.example.test. 1 IN NAPTR 100 10 "S" "SIP+D2U" "" _sip._udp.example.test.',
        'h.example.test. 1 IN HINFO "PC" "Linux"',
      ],
    },
    {
      name: 'DS, DNSKEY, NSEC, NSEC3, TLSA, SSHFP',
      zone: '$TTL 1\nd DS 60485 RSASHA1 1 2BB183AF5F22588179A53B0A98631FAD1A292118\nk DNSKEY 256 3 8 AwEAAQ==\nn NSEC x A NS SOA TYPE1234\nh NSEC3 1 1 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG\nt TLSA 3 1 1 ABCDEF\ns SSHFP 1 1 ABCDEF01',
      want: [
        'd.example.test. 1 IN DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118',
        'k.example.test. 1 IN DNSKEY 256 3 8 AwEAAQ==',
        'n.example.test. 1 IN NSEC x.example.test. A NS SOA TYPE1234',
        'h.example.test. 1 IN NSEC3 1 1 12 AABBCCDD 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S A RRSIG',
        't.example.test. 1 IN TLSA 3 1 1 ABCDEF',
        's.example.test. 1 IN SSHFP 1 1 ABCDEF01',
      ],
    },
    {
      name: 'SVCB/HTTPS with every RFC 9460 key',
      zone: '$TTL 1\ns SVCB 1 svc mandatory=alpn,port alpn=h2,h3 no-default-alpn port=8443 ipv4hint=192.0.2.1,192.0.2.2 ech=AAEC ipv6hint=2001:db8::1 key65000="x"\nh HTTPS 0 alias.example.org.',
      want: [
        's.example.test. 1 IN SVCB 1 svc.example.test. mandatory=alpn,port alpn="h2,h3" no-default-alpn port=8443 ipv4hint=192.0.2.1,192.0.2.2 ech=AAEC ipv6hint=2001:db8::1 key65000="x"',
        'h.example.test. 1 IN HTTPS 0 alias.example.org.',
      ],
    },
    {
      name: 'LOC with defaults',
      zone: 'l 1 LOC 52 22 23.000 N 4 53 32.000 E -2.00m',
      want: ['l.example.test. 1 IN LOC 52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m'],
    },
    {
      name: 'no $TTL: the SOA MINIMUM is the default (BIND)',
      zone: '@ SOA ns h 1 2 3 4 60\na A 192.0.2.1\nb 5 A 192.0.2.2\nc A 192.0.2.3',
      want: [
        'example.test. 60 IN SOA ns.example.test. h.example.test. 1 2 3 4 60',
        'a.example.test. 60 IN A 192.0.2.1',
        'b.example.test. 5 IN A 192.0.2.2',
        'c.example.test. 60 IN A 192.0.2.3',
      ],
    },
    {
      name: 'no $TTL: the last explicit TTL carries on (RFC 1035 §5.1)',
      zone: '@ 7 SOA ns h 1 2 3 4 60\na A 192.0.2.1\nb 5 A 192.0.2.2\nc A 192.0.2.3',
      want: [
        'example.test. 7 IN SOA ns.example.test. h.example.test. 1 2 3 4 60',
        'a.example.test. 7 IN A 192.0.2.1',
        'b.example.test. 5 IN A 192.0.2.2',
        'c.example.test. 5 IN A 192.0.2.3',
      ],
    },
    {
      // The lexer reuses its tokens from entry to entry: a shorter entry after a longer one, and an
      // unquoted token where a quoted one was, read only their own.
      name: 'entries of fewer tokens after longer ones, quoted and unquoted in turn',
      zone: '$TTL 9\nt TXT "a b" "c" "d e f"\nt A 192.0.2.1\nu TXT plain "q"\nv TXT "x"\nw MX 10 mail',
      want: [
        't.example.test. 9 IN TXT "a b" "c" "d e f"',
        't.example.test. 9 IN A 192.0.2.1',
        'u.example.test. 9 IN TXT "plain" "q"',
        'v.example.test. 9 IN TXT "x"',
        'w.example.test. 9 IN MX 10 mail.example.test.',
      ],
    },
  ];
  for (const c of table) it(c.name, () => assert.deepEqual(lines(c.zone), c.want));

  it('prints RFC 3597 form with --generic', () => {
    assert.deepEqual(lines('a 1 A 192.0.2.1', true), ['a.example.test. 1 IN A \\# 4 C0000201']);
  });
});

describe('errors name the line', () => {
  const bad: { zone: string; line: number; reason: RegExp }[] = [
    { zone: '$TTL 1\na A 192.0.2.1\nb A 300.1.1.1', line: 3, reason: /IPv4/ },
    { zone: '$TTL 1\n\n\n  A 192.0.2.1', line: 4, reason: /no owner/ },
    { zone: '$TTL 1\na NOPE 1', line: 2, reason: /unknown type "NOPE"/ },
    { zone: '$TTL 1\na MX 10', line: 2, reason: /missing exchange/ },
    { zone: '$TTL 1\na A 192.0.2.1 extra', line: 2, reason: /unexpected data/ },
    { zone: '$TTL 1\na TXT "unterminated', line: 2, reason: /quoted string/ },
    { zone: '$TTL 1\na SOA ( ns h 1 2\n 3 4 5', line: 2, reason: /never closed/ },
    { zone: '$TTL 1\na TYPE1 \\# 3 abcd', line: 2, reason: /length is 3 but 2/ },
    { zone: '$TTL 1\na ANY A 192.0.2.1', line: 2, reason: /class ANY/ },
    { zone: '$TTL 1\na OPT \\# 0', line: 2, reason: /meta type/ },
    { zone: 'a A 192.0.2.1', line: 1, reason: /no TTL/ },
    { zone: '$TTL 1\n$FOO bar', line: 2, reason: /unknown directive/ },
    { zone: '$TTL 1\na 4294967296 A 192.0.2.1', line: 2, reason: /invalid TTL|larger/ },
    { zone: '$TTL 1\ns SVCB 1 . mandatory=port', line: 2, reason: /missing/ },
    { zone: '$TTL 1\ns SVCB 1 . port=1 port=2', line: 2, reason: /twice/ },
    { zone: '$TTL 1\ns SVCB 1 . no-default-alpn', line: 2, reason: /requires "alpn"/ },
    { zone: '$TTL 1\ns SVCB 1 . key65535=x', line: 2, reason: /out of range/ },
    { zone: `$TTL 1\n${'a'.repeat(64)} A 192.0.2.1`, line: 2, reason: /longer than 63/ },
    // \DDD is an octet (RFC 1035 §5.1): above 255 it is an error, in every kind of string.
    { zone: '$TTL 1\na TXT "x\\300"', line: 2, reason: /escape \\300 out of range/ },
    { zone: '$TTL 1\na CAA 0 issue "ca\\256.example"', line: 2, reason: /escape \\256 out of range/ },
    { zone: '$TTL 1\ns SVCB 1 . alpn=h\\999', line: 2, reason: /escape \\999 out of range/ },
    { zone: '$TTL 1\na CAA 0 issue "ca\\25"', line: 2, reason: /bad escape \\25"? \(expected/ },
  ];
  for (const c of bad) {
    it(`line ${c.line}: ${c.reason.source}`, () => {
      assert.throws(
        () => parseZoneText(c.zone, origin, 'bad.zone'),
        (e: unknown) => {
          assert.ok(e instanceof ZoneSyntaxError, String(e));
          assert.equal(e.line, c.line);
          assert.match(e.reason, c.reason);
          assert.match(e.message, new RegExp(`^bad\\.zone:${c.line}: `));
          return true;
        },
      );
    });
  }
});

describe('$INCLUDE', () => {
  const dir = tempDir('edgedns-inc-');
  writeFileSync(join(dir, 'sub.db'), 'a A 10.0.1.1\n');
  writeFileSync(
    join(dir, 'main.zone'),
    '$TTL 300\nhost A 10.0.0.1\n$INCLUDE sub.db inc.example.test.\n  A 10.0.0.99\n$INCLUDE sub.db\n',
  );
  writeFileSync(join(dir, 'broken.zone'), '$TTL 300\n$INCLUDE missing.db\n');
  it('reads relative to the including file, with an optional origin, and restores owner and origin', () => {
    const out = parseZoneFile(join(dir, 'main.zone'), origin).map((r) => formatRecord(r).replace(/\t/g, ' '));
    assert.deepEqual(out, [
      'host.example.test. 300 IN A 10.0.0.1',
      'a.inc.example.test. 300 IN A 10.0.1.1',
      'host.example.test. 300 IN A 10.0.0.99',
      'a.example.test. 300 IN A 10.0.1.1',
    ]);
  });
  it('names the including file and line when the included file is missing', () => {
    assert.throws(
      () => parseZoneFile(join(dir, 'broken.zone'), origin),
      /broken\.zone:2: cannot read .*missing\.db: no such file/,
    );
  });
});
