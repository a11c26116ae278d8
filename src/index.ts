/**
 * node-red-contrib-kasa-tapo — the library (package `main`). Local control of TP-Link Kasa and Tapo
 * devices: discovery, a device facade with normalised state and energy, a connection pool, and the
 * raw transports. No Node-RED import anywhere under src/.
 */
export { discover, discoverSingle, buildTdpProbe, type DiscoverOptions } from './discovery';
export { connect, clearRouteCache, type ConnectOptions } from './connect';
export { Device } from './device';
export { findChild } from './device/children';
export { POOL_DEFAULTS } from './defaults';
export { validatePatch } from './device/patch';
export { countdownDelay } from './device/countdown';
export { KasaTapoError, isKasaTapoError, isConnectTimeout, HINTS, clip, type ErrorCode, type ErrorPhase } from './errors';
export { FIXES, fixFor, clockTime, type FixId, type FixFacts } from './fixes';
export {
  AesTrust,
  DEFAULT_CREDENTIALS_NOTICE,
  discoveredLoginVersion,
  isGroupAddress,
  isProvenRoute,
  isValidHost,
  transportRank,
  type ProvenRoute,
} from './trust';
export { Pool, PooledDevice } from './pool';
export { createTransport, DEFAULT_PORTS } from './transports';
export { b64Decode, b64Encode } from './protocols/smart';
export type * from './types';
export { tddp, tddpKey, TDDP_PORT, TDDP_REPLY_PORT, type TddpOptions, type TddpReply } from './tddp';
export { cloud, cloudLogin, CloudSession, DEFAULT_CLOUD_URL, type CloudDevice, type CloudLoginOptions } from './cloud';
export { wifiScan, wifiJoin, redactSecrets, type WifiNetwork, type WifiJoinResult } from './device/wifi';
export { decodeCapture, formatDecoded, type DecodeResult, type DecodedMessage, type SessionReport } from './decode';
export { eventName, type HubEvent, type HubEvents, type EventsOptions } from './device/events';
export type { PowerHistory, PowerHistoryOptions, HourlyEnergyHistory, HourlyEnergyOptions } from './device/history';
export type { Countdown, CountdownSpec } from './device/countdown';
