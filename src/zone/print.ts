// One record per line, `OWNER TTL CLASS TYPE RDATA`, as `edgedns zone print` shows it.

import { className, nameToText, typeName } from '../wire/index.js';
import type { ZoneRecord } from './parse.js';
import { genericRdata, rdataToText } from './rdata.js';

export function formatRecord(
  rr: Pick<ZoneRecord, 'owner' | 'ttl' | 'class' | 'type' | 'rdata'>,
  generic = false,
): string {
  const rdata = generic ? genericRdata(rr.rdata) : rdataToText(rr.type, rr.rdata);
  return `${nameToText(rr.owner)}\t${rr.ttl}\t${className(rr.class)}\t${typeName(rr.type)}\t${rdata}`;
}
