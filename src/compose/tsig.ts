// TSIG keys from the config (`zones.secondary[].tsig`, `zones.transferTo[].tsig`): the secret read
// from its file, base64 alone as `tsig-keygen` and `keymgr` print it.

import { readFileSync } from 'node:fs';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { LoadedConfig, TsigConfig } from '../config/index.js';
import { EdgeError, ErrorCode, errorMessage } from '../core/index.js';
import type { TsigKey, TsigKeyText } from '../wire/index.js';
import { tsigKeyToText } from '../wire/index.js';
import { configBase } from './assemble.js';

/** A TSIG key from the config, its secret file relative to `base`; throws EdgeError naming the file. */
export function readTsigKey(t: TsigConfig, base: string): TsigKey {
  const file = isAbsolute(t.secretFile) ? t.secretFile : resolvePath(base, t.secretFile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new EdgeError(
      ErrorCode.CONFIG_READ,
      `${file}: cannot read the TSIG secret of ${t.name}: ${(e as Error).message}`,
    );
  }
  const secret = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]+=*$/.test(text) || secret.length < 16)
    throw new EdgeError(
      ErrorCode.CONFIG_INVALID,
      `${file}: the TSIG secret of ${t.name} must be base64 alone, at least 16 bytes (tsig-keygen -a ${t.algorithm} prints one)`,
    );
  return { name: t.name.toLowerCase(), algorithm: t.algorithm, secret };
}

/**
 * `zones.transferTo` with each key's secret read (as text: it crosses to worker processes). Throws
 * a config error listing every key whose file cannot be read or is not a secret, by file and path.
 */
export function transferRules(loaded: LoadedConfig): { address: string; key: TsigKeyText | null }[] {
  const base = configBase(loaded);
  const problems: string[] = [];
  const rules = loaded.config.zones.transferTo.map((t, i) => {
    if (!t.tsig) return { address: t.address, key: null };
    try {
      return { address: t.address, key: tsigKeyToText(readTsigKey(t.tsig, base)) };
    } catch (e) {
      problems.push(`${loaded.source}: zones.transferTo[${i}].tsig.secretFile: ${errorMessage(e)}`);
      return { address: t.address, key: null };
    }
  });
  if (problems.length > 0)
    throw new EdgeError(
      ErrorCode.CONFIG_INVALID,
      `${loaded.source}: invalid config:\n  ${problems.join('\n  ')}`,
      problems,
    );
  return rules;
}
