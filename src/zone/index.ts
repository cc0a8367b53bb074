// Public API of zone/: master-file parsing, zone policy, the zone store and lookups.
export { formatRecord } from './print.js';
export { ZoneSyntaxError, parseZoneFile, parseZoneFileEach, parseZoneText } from './parse.js';
export type { ParseOptions, ZoneRecord } from './parse.js';
export { decodeRdata, encodeRdata, rdataToText } from './rdata.js';
export { ZonePolicyError, buildZone, buildZoneFromFile } from './zone.js';
export type { BuiltZone, RRset, Zone, ZoneNode, ZoneNodes } from './zone.js';
export { resolve } from './lookup.js';
export type { Resolution } from './lookup.js';
export { ZoneStore, compile, loadZones, zoneSpecsFromDir } from './store.js';
export type { ZoneAnswer, ZoneInfo, ZoneSpec } from './store.js';
export { HotCache } from './answers.js';
export { openStore, loadInThread, readImageFile, writeImageFile } from './loader.js';
export type { ImageHeader, ZoneImage } from './image.js';
export { checkReload, serialGreater } from './reload.js';
export type { ReloadCheck, ReloadVerdict, SerialPolicy } from './reload.js';
export { synthCounts } from './synth.js';
export { dumpRecords, dumpZone } from './dump.js';
export type { DumpRequest, ZoneDump } from './dump.js';
