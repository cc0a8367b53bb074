// Two small DNSSEC-signed zones made at test time from one source text, with BIND's signing tools
// (bind9-utils): `signed.test.` denied with NSEC, `signed3.test.` with NSEC3 (RFC 9276: no extra
// iterations, empty salt, no opt-out), plus each zone's trust anchor.
//
// What the source holds, per origin:
//
//   @            SOA NS(ns1, ns2) A MX(mail)   DNSKEY (KSK + ZSK, added before signing)
//   ns1 A · ns2 AAAA · mail A AAAA · www A AAAA TXT · txt TXT · big TXT (400 bytes: TC with DO)
//   sub ─ b ─ a  A                  sub and b.sub are empty non-terminals
//   *.wild       A TXT              wildcard (RFC 4592)
//   alias        CNAME www          in-zone target
//   insecure     NS ns.insecure     + glue, no DS: an insecure delegation
//   secure       NS ns.secure DS    + glue, DS of a child KSK made here: a secure delegation
//
// The signatures run from 2020-01-01 to 2036-12-31, so the tests do not rot with the clock.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './tmp.ts';

/** RRSIG inception and expiration (YYYYMMDDHHMMSS, UTC) of every signature made here. */
export const SIG_INCEPTION = '20200101000000';
export const SIG_EXPIRATION = '20361231000000';

export type Denial = 'nsec' | 'nsec3';

export interface SignedZone {
  /** The origin, absolute: `signed.test.` or `signed3.test.`. */
  origin: string;
  denial: Denial;
  /** The signed zone file (`<origin without its dot>.zone`, BIND's `-O full`: one record a line). */
  file: string;
  /** A folder holding only `file`, for edgedns's `zones: { dir }` (origin = file name less `.zone`). */
  dir: string;
  /** The KSK's DS (SHA-256) as one zone file line, as Unbound's `trust-anchor:` takes it. */
  trustAnchor: string;
  /** The unsigned source the zone was signed from. */
  source: string;
}

/** The signing tools, checked before use: `dnssec-keygen`, `dnssec-signzone`, `dnssec-dsfromkey`. */
export const SIGNING_TOOLS = ['dnssec-keygen', 'dnssec-signzone', 'dnssec-dsfromkey'] as const;

/** The tools missing on this machine (bind9-utils has them all). */
export function missingSigningTools(): string[] {
  return SIGNING_TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
}

/** The unsigned zone text for `origin` (absolute), names relative to it. */
export function signedZoneSource(origin: string): string {
  // Two character-strings of 200 bytes: 402 bytes of RDATA, an answer that fits 512 bytes alone
  // and does not with its RRSIG.
  const big = `"${'a'.repeat(200)}" "${'b'.repeat(200)}"`;
  return `$ORIGIN ${origin}
$TTL 3600
@            SOA   ns1 hostmaster 2026120101 7200 3600 1209600 300
@            NS    ns1
@            NS    ns2
@            A     192.0.2.1
@            MX    10 mail
ns1          A     192.0.2.53
ns2          AAAA  2001:db8::53
mail         A     192.0.2.25
mail         AAAA  2001:db8::25
www          A     192.0.2.80
www          AAAA  2001:db8::80
www          TXT   "v=web"
txt          TXT   "hello" "world"
big          TXT   ${big}
a.b.sub      A     192.0.2.90
*.wild       A     192.0.2.99
*.wild       TXT   "from the wildcard"
alias        CNAME www
insecure     NS    ns.insecure
ns.insecure  A     192.0.2.101
secure       NS    ns.secure
ns.secure    A     192.0.2.102
`;
}

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr ?? ''}${err.message}`, { cause: e });
  }
}

/** Make a KSK (or ZSK) for `origin` in `keys` with ECDSAP256SHA256; returns the key's base name. */
function keygen(origin: string, keys: string, ksk: boolean): string {
  return run(
    'dnssec-keygen',
    ['-q', '-a', 'ECDSAP256SHA256', '-L', '3600', ...(ksk ? ['-f', 'KSK'] : []), '-K', keys, origin],
    keys,
  ).trim();
}

/** The SHA-256 DS of a key file as one zone file line: "owner IN DS tag 13 2 HEX". */
function dsOf(keyFile: string, cwd: string): string {
  return run('dnssec-dsfromkey', ['-2', keyFile], cwd).trim();
}

/**
 * Sign `origin` in a new folder under `parent`:
 *
 *   dnssec-keygen -q -a ECDSAP256SHA256 -L 3600 -f KSK -K keys ORIGIN      (the KSK)
 *   dnssec-keygen -q -a ECDSAP256SHA256 -L 3600 -K keys ORIGIN             (the ZSK)
 *   dnssec-keygen … -f KSK -K keys secure.ORIGIN; dnssec-dsfromkey -2 …   (the child's DS)
 *   dnssec-signzone -K keys -o ORIGIN -s 20200101000000 -e 20361231000000 -x -O full
 *                   [-3 - -H 0] -f ORIGIN.zone unsigned                    (all keys in the zone)
 *   dnssec-dsfromkey -2 KSK.key                                              (the trust anchor)
 */
export function signZone(parent: string, origin: string, denial: Denial): SignedZone {
  if (!origin.endsWith('.')) throw new Error(`origin must be absolute: ${origin}`);
  const base = origin.slice(0, -1);
  const work = join(parent, `${base}-work`);
  const keys = join(work, 'keys');
  const dir = join(parent, `${base}-zones`);
  mkdirSync(keys, { recursive: true });
  mkdirSync(dir);
  const source = signedZoneSource(origin);
  const ksk = keygen(origin, keys, true);
  const zsk = keygen(origin, keys, false);
  const childKsk = keygen(`secure.${origin}`, keys, true);
  const childDs = dsOf(join(keys, `${childKsk}.key`), work);
  // The DNSKEY RRset goes into the zone; dnssec-signzone finds the private keys in -K.
  const dnskeys = [ksk, zsk].map((k) => readFileSync(join(keys, `${k}.key`), 'utf8')).join('\n');
  const unsigned = join(work, 'unsigned.zone');
  writeFileSync(unsigned, `${source}${childDs}\n${dnskeys}\n`);
  const file = join(dir, `${base}.zone`);
  run(
    'dnssec-signzone',
    [
      '-q',
      '-K',
      keys,
      '-o',
      origin,
      '-s',
      SIG_INCEPTION,
      '-e',
      SIG_EXPIRATION,
      // The KSK signs the DNSKEY RRset only, the ZSK everything else.
      '-x',
      '-O',
      'full',
      // RFC 9276 §3.1: NSEC3 with 0 extra iterations and an empty salt ("-"); no -A (opt-out).
      ...(denial === 'nsec3' ? ['-3', '-', '-H', '0'] : []),
      '-f',
      file,
      unsigned,
    ],
    work,
  );
  const trustAnchor = dsOf(join(keys, `${ksk}.key`), work);
  return { origin, denial, file, dir, trustAnchor, source };
}

/** Both zones, signed in one new temporary folder: `signed.test.` (NSEC) and `signed3.test.` (NSEC3). */
export function makeSignedZones(): { nsec: SignedZone; nsec3: SignedZone; dir: string } {
  const missing = missingSigningTools();
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(', ')}: apt-get install bind9-utils`);
  }
  const dir = tempDir('edgedns-signed-');
  return { nsec: signZone(dir, 'signed.test.', 'nsec'), nsec3: signZone(dir, 'signed3.test.', 'nsec3'), dir };
}
