// Secondary zones (`zones.secondary`) and outgoing transfers (`zones.transferTo`): their shape,
// defaults and rules. A zone's primaries, the TSIG key that signs its transfers and NOTIFY (the
// secret in a file of its own, base64 as `tsig-keygen` and `keymgr` print it), and the folder where
// transferred zones are kept so that a restart serves them before any primary answers.

import { normalize } from 'node:path';
import { parseCidr } from '../core/index.js';
import type { Check, HostPort } from './schema.js';
import { cidr, hostPort, list, obj, oneOf, optional, str, withDefaults } from './schema.js';

/** The TSIG algorithms a key may name (RFC 8945 §6; wire/tsig.ts signs with them). */
export const TSIG_ALGORITHM_NAMES = ['hmac-sha256', 'hmac-sha384', 'hmac-sha512', 'hmac-sha224', 'hmac-sha1'] as const;

export interface TsigConfig {
  /** The key's name, as the primary knows it ("xfr-key."). */
  name: string;
  algorithm: (typeof TSIG_ALGORITHM_NAMES)[number];
  /** A file holding the base64 secret alone. */
  secretFile: string;
}

export interface SecondaryZoneConfig {
  origin: string;
  /** Where transfers come from and NOTIFY is accepted from (port 53 unless given). */
  primaries: HostPort[];
  tsig: TsigConfig | null;
  /** Where the transferred zone is written (one file per zone). */
  storeDir: string;
}

export interface TransferToConfig {
  /** Who may transfer the zones out (a CIDR prefix). */
  address: string;
  tsig: TsigConfig | null;
}

export const SECONDARY_DEFAULT_STORE = '/var/lib/edgedns/zones';

const tsigSchema: Check<TsigConfig> = obj<TsigConfig>({
  name: str(),
  algorithm: oneOf(TSIG_ALGORITHM_NAMES),
  secretFile: str(),
});

export const secondarySchema: Check<SecondaryZoneConfig[]> = list(
  withDefaults(
    { origin: '', primaries: [], tsig: null, storeDir: SECONDARY_DEFAULT_STORE },
    obj<SecondaryZoneConfig>({
      origin: str(),
      primaries: list(hostPort(53)),
      tsig: optional(tsigSchema),
      storeDir: str(),
    }),
  ),
);

export const transferToSchema: Check<TransferToConfig[]> = list(
  withDefaults(
    { address: '', tsig: null },
    obj<TransferToConfig>({ address: cidr((s) => parseCidr(s) !== undefined), tsig: optional(tsigSchema) }),
  ),
);

const absolute = (origin: string): string => origin.toLowerCase().replace(/\.?$/, '.');

/**
 * Rules between keys: origins absolute and each zone once (a file zone or a secondary, not both),
 * at least one primary, key names absolute, the store folder not the zone folder (whose every
 * file is a zone of its own). A `transferTo` key name stands for one key: the same algorithm and
 * secret file wherever it is named (a request names its key, not the entry it was meant for).
 */
export function secondaryProblems(
  secondary: readonly SecondaryZoneConfig[],
  transferTo: readonly TransferToConfig[],
  fileOrigins: readonly string[],
  zoneDir: string | null,
): string[] {
  const p: string[] = [];
  const seen = new Set(fileOrigins.map(absolute));
  secondary.forEach((z, i) => {
    const at = `zones.secondary[${i}]`;
    if (!z.origin.endsWith('.')) p.push(`${at}.origin: write the zone as an absolute name ("${z.origin}.")`);
    if (seen.has(absolute(z.origin)))
      p.push(`${at}.origin: ${z.origin} is configured twice (a zone is a file or a secondary, once)`);
    seen.add(absolute(z.origin));
    if (z.primaries.length === 0) p.push(`${at}.primaries: at least one primary`);
    if (z.tsig && !z.tsig.name.endsWith('.'))
      p.push(`${at}.tsig.name: write the key's name as an absolute name ("${z.tsig.name}.")`);
    if (zoneDir !== null && normalize(`${z.storeDir}/`) === normalize(`${zoneDir}/`))
      p.push(
        `${at}.storeDir: not zones.dir (every file there is loaded as a zone of its own); use a folder of its own`,
      );
  });
  const keys = new Map<string, { at: string; tsig: TsigConfig }>();
  transferTo.forEach((t, i) => {
    const at = `zones.transferTo[${i}].tsig`;
    if (!t.tsig) return;
    if (!t.tsig.name.endsWith('.')) p.push(`${at}.name: write the key's name as an absolute name ("${t.tsig.name}.")`);
    const name = absolute(t.tsig.name);
    const first = keys.get(name);
    if (!first) keys.set(name, { at, tsig: t.tsig });
    else if (first.tsig.algorithm !== t.tsig.algorithm || first.tsig.secretFile !== t.tsig.secretFile)
      p.push(
        `${at}: the key ${t.tsig.name} is also named in ${first.at} with another algorithm or secret file; one name, one key`,
      );
  });
  return p;
}
