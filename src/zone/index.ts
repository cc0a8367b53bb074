// Public API of zone/: master-file parsing, zone policy, the zone store and lookups.
export { formatRecord } from './print.js';
export { ZoneSyntaxError, parseZoneFile, parseZoneText, soaMinimum } from './parse.js';
export type { ParseOptions, ZoneRecord } from './parse.js';
export { decodeRdata, encodeRdata, rdataToText } from './rdata.js';
