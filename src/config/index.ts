// Public API of config/: the schema, defaults, loading and validation.
export { DEFAULTS, loadConfig, validateConfig } from './config.js';
export type { Config, LoadedConfig, ZoneFileConfig } from './config.js';
export { minAnnouncedOf } from './fleet.js';
export type { FleetConfig, FleetPeer, MinAnnounced } from './fleet.js';
export type { SecondaryZoneConfig, TransferToConfig, TsigConfig } from './secondary.js';
export type { EncryptedConfig, TlsConfig } from './encrypted.js';
export { DOH_PORT, DOT_PORT } from './encrypted.js';
export { DOT_UPSTREAM_PORT, formatUpstream, forwardAllow } from './upstreams.js';
export type { ForwardZoneConfig, UpstreamConfig, UpstreamTlsConfig } from './upstreams.js';
export { hostWarnings } from './host.js';
export type { HostEnv } from './host.js';
export { parseAdminHostPort, parseHostPort } from './schema.js';
export { formatHostPort } from '../core/index.js';
export type { HostPort } from './schema.js';
