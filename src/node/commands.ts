// The file commands (`zone print`, `zone check`, `config check`): the files checked the way a
// node loads them, with nothing started.

import { configBase, zoneSpecs } from '../compose/index.js';
import { hostWarnings, loadConfig } from '../config/index.js';
import { absoluteName } from '../wire/index.js';
import { buildZoneFromFile, formatRecord, loadZones, parseZoneFile } from '../zone/index.js';

/** `edgedns zone print`: parse only, one record per line. */
export function printZone(file: string, origin: string, generic: boolean): string[] {
  return parseZoneFile(file, absoluteName(origin)).map((r) => formatRecord(r, generic));
}

/** `edgedns zone check`: parse plus zone policy; returns a one-line summary. */
export function checkZone(file: string, origin: string): string {
  const o = absoluteName(origin);
  const zone = buildZoneFromFile(file, o);
  return `${file}: zone ${origin} OK: serial ${zone.serial}, ${zone.recordCount} records, ${zone.nodeCount} names`;
}

/**
 * `edgedns config check`: load and validate (errors throw), load the zones, and list what the
 * config needs from this host that is missing here (warnings: it may be checked off its target).
 */
export function checkConfig(file: string): { summary: string; warnings: string[] } {
  const loaded = loadConfig(file);
  const { config } = loaded;
  const specs = zoneSpecs(config, configBase(loaded));
  loadZones(specs);
  const warnings = hostWarnings(config, { base: configBase(loaded), path: process.env.PATH });
  const w = warnings.length > 0 ? `, ${warnings.length} warning(s)` : '';
  return { summary: `${file}: OK (${config.listen.length} listen address(es), ${specs.length} zone(s)${w})`, warnings };
}
