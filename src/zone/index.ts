// Public API of zone/: master-file parsing, zone policy, the zone store and lookups.
export { formatRecord } from './print.js';
export { ZoneSyntaxError, parseZoneFile, parseZoneText, soaMinimum } from './parse.js';
export type { ParseOptions, ZoneRecord } from './parse.js';
export { decodeRdata, encodeRdata, rdataToText } from './rdata.js';
export { ZonePolicyError, buildZone } from './zone.js';
export type { RRset, Zone, ZoneNode } from './zone.js';
export { resolve } from './lookup.js';
export type { Resolution } from './lookup.js';
export { ZoneStore, compile, loadZones, zoneSpecsFromDir } from './store.js';
export { synthCounts } from './synth.js';
export type { ZoneAnswer, ZoneInfo, ZoneSpec } from './store.js';
