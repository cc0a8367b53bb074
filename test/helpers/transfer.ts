// What the unit tests of outgoing transfers share: a key, a fixed time, and the transferTo entries
// (192.0.2.0/28 with the key, 192.0.2.16/28 without one).

import type { TransferRule } from '../../src/server/index.ts';
import type { TsigKey } from '../../src/wire/index.ts';
import { tsigKeyToText } from '../../src/wire/index.ts';

export const NOW = 1_800_000_000;
export const KEY: TsigKey = {
  name: 'xfr-key.',
  algorithm: 'hmac-sha256',
  secret: Buffer.from('the transfer key, 32 bytes long.'),
};
export const RULES: TransferRule[] = [
  { address: '192.0.2.0/28', key: tsigKeyToText(KEY) },
  { address: '192.0.2.16/28', key: null },
];
