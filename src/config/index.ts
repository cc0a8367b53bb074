// Public API of config/: the schema, defaults, loading and validation.
export { DEFAULTS, loadConfig, validateConfig } from './config.js';
export type { Config, LoadedConfig, ZoneFileConfig } from './config.js';
export { formatHostPort, parseHostPort } from './schema.js';
export type { HostPort } from './schema.js';
