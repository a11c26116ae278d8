/**
 * node-red-contrib-kasa-tapo — the library (package `main`). Local control of TP-Link Kasa and Tapo
 * devices: discovery, a device facade with normalised state and energy, a connection pool, and the
 * raw transports. No Node-RED import anywhere under src/.
 */
export { discover, discoverSingle, buildTdpProbe, type DiscoverOptions } from './discovery';
export { connect, clearRouteCache, Device, type ConnectOptions } from './device';
export { KasaTapoError, isKasaTapoError, HINTS, type ErrorCode } from './errors';
export { Pool } from './pool';
export { createTransport, DEFAULT_PORTS } from './transports';
export { b64Decode, b64Encode } from './protocols/smart';
export type * from './types';
export { eventName, type HubEvent, type HubEvents, type EventsOptions } from './device/events';
export type { PowerHistory, PowerHistoryOptions, HourlyEnergyHistory, HourlyEnergyOptions } from './device/history';
export type { Countdown, CountdownSpec } from './device/countdown';
