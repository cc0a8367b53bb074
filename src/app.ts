// The composition root: builds every module from the config and wires them together. The CLI
// reaches the rest of the program only through here.

import { nameFromText } from './wire/index.js';
import { formatRecord, parseZoneFile } from './zone/index.js';

export { EdgeError, isEdgeError } from './core/index.js';
export { ZoneSyntaxError } from './zone/index.js';

/** `edgedns zone print`: parse only, one record per line. */
export function printZone(file: string, origin: string, generic: boolean): string[] {
  const records = parseZoneFile(file, nameFromText(origin.endsWith('.') ? origin : `${origin}.`, null));
  return records.map((r) => formatRecord(r, generic));
}
