// Comparing prefixes as the routing daemons print them back.

import { parseCidr } from '../core/index.js';

export const isV6 = (prefix: string): boolean => prefix.includes(':');

/** "2001:DB8:0::53/128" and "2001:db8::53/128" are the same network. */
export function sameNet(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x !== undefined && y !== undefined && x.bits === y.bits && Buffer.from(x.bytes).equals(Buffer.from(y.bytes));
}
