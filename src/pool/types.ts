/** The pool's public types: options, references, statuses, statistics, subscriptions, events. */
import type { ConnectOptions } from '../connect';
import type { ErrorCode, KasaTapoError } from '../errors';
import type { ProvenRoute } from '../trust';
import type { ChildRef, Credentials, DeviceApi, DeviceState, EnergyReading, Logger, TransportKind } from '../types';

/** A device the pool knows by alias (the config node's device list). */
export interface PoolDeviceConfig {
  alias?: string;
  host: string;
  port?: number;
  transport?: TransportKind | 'auto';
  /** AES login version for this device: 1 only for old firmware that needs it (sends the password itself). Default 2. */
  loginVersion?: 1 | 2;
  /**
   * TPAP: accept a login transform that does not involve the password (`password_shadow` 3). Only
   * for a device whose address you trust; it is then flagged like `defaultCredentials`. Default false.
   */
  tpapAllowNoPassword?: boolean;
}

/** What a caller names: an alias, a host, `host:port`, or an object. */
export type DeviceRef = string | PoolDeviceConfig;

export interface PoolOptions {
  /** The TP-Link account, shared by every KLAP/AES device. */
  credentials?: Credentials;
  devices?: PoolDeviceConfig[];
  /** Per exchange with a device. Default 5000 ms. */
  timeoutMs?: number;
  /** Waiting requests per device before EQUEUEFULL. Default 1000 (as the tplink-pool node). */
  queueLimit?: number;
  /** Requests in flight across all devices. Default 32. */
  concurrency?: number;
  /**
   * Session setups (handshakes) started at once. Handshake answers that arrive together are all
   * handled in one turn of the event loop; a few at a time keeps that turn short. A setup holds
   * its slot for at most 250 ms, so a device that does not answer never holds up the others.
   * Default 4.
   */
  connectConcurrency?: number;
  /** Protocol-layer retries for timeouts and busy answers. Default 2. */
  retries?: number;
  /** Backoff before such a retry. Default 1000 ms. */
  backoffMs?: number;
  /** Consecutive connection failures before a device is offline. Default 2. */
  offlineAfter?: number;
  /** First probe delay when offline; doubles up to probeMaxMs. Defaults 1000 / 30000 ms. */
  probeMinMs?: number;
  probeMaxMs?: number;
  /** Close the session of a device nobody uses after this long. Default 300000 ms. */
  idleCloseMs?: number;
  /**
   * After a failed login (EAUTH, or any failure after the proof step: KasaTapoError.spentLogin),
   * requests fail at once with that error for this long instead of logging in again (devices lock
   * accounts out after repeated failures, and each login to a hostile device tests a guess of the
   * password); the hold doubles with each failed login in a row. Default 60000 ms.
   */
  authRetryMs?: number;
  /**
   * Login budget: after this many failed logins in a row (no success between; every login that
   * reached the proof step — AES, KLAP handshake1, TPAP after pake_register — while a handshake
   * refused with 403 is no login), the pool itself
   * blocks logins to the device for `loginLockMs` — requests fail at once with ELOCKED (`until`,
   * guided fix 'locked') and status 'locked', and nothing is sent — so a wrong password never runs
   * into the device's own lockout (often 30 minutes). A device's lockout answer (-40404 with
   * sec_left) does the same until the time the device gave. When the time has passed the next
   * request logs in at once (a fixed password works immediately). Defaults 3 and 1800000 ms.
   */
  loginBudget?: number;
  loginLockMs?: number;
  /**
   * Pacing: after a rate-limit answer (SMART -40109, -40406) or a socket error (ECONNRESET, a
   * timeout on an open connection), requests to that device keep a minimum gap of `paceMs`,
   * doubling on each further rate limit up to `paceMaxMs`, back to none after `paceQuietMs`
   * without trouble. A rate-limited request is retried after the gap, up to `paceRetries` times.
   * Defaults 250, 4000, 60000 ms and 3.
   */
  paceMs?: number;
  paceMaxMs?: number;
  paceQuietMs?: number;
  paceRetries?: number;
  /**
   * What devices proved before (host → the strongest transport each completed a login with), as
   * saved from `provenRoutes()` on the 'proven' event. An `auto` device is never moved below its
   * entry by a discovery answer (src/trust.ts). Default none.
   */
  proven?: Record<string, ProvenRoute>;
  logger?: Logger;
  /** Replaces connect() (tests, custom transports). */
  connect?: (opts: ConnectOptions) => Promise<DeviceApi>;
}

/** 'locked': the device blocks logins until a time (ELOCKED, `error.until`); nothing is sent before it. */
export type DeviceStatus = 'idle' | 'connecting' | 'online' | 'offline' | 'auth-error' | 'locked' | 'error';

/** A device's transport or firmware changed (`protocol-changed`, `firmware-changed`). */
export interface DeviceChange {
  host: string;
  from: string;
  to: string;
  /**
   * Set when the pool did not follow the change (protocol-changed): the device announced a
   * transport off the one the user pinned, or below the one it proved. ENOTTRUSTED with the guided
   * fix 'protocol-changed'.
   */
  error?: KasaTapoError;
}

export interface DeviceStats {
  key: string;
  host: string;
  port?: number;
  alias?: string;
  status: DeviceStatus;
  transport?: TransportKind;
  requests: number;
  errors: number;
  errorsByCode: Partial<Record<ErrorCode, number>>;
  handshakes: number;
  retries: number;
  queueDepth: number;
  lastLatencyMs?: number;
  polls: number;
  pollsMissed: number;
}

export interface PoolStats {
  devices: number;
  requests: number;
  errors: number;
  handshakes: number;
  retries: number;
  queueDepth: number;
  inFlight: number;
  polls: number;
  pollsMissed: number;
}

export type PollKind = 'state' | 'energy';

export interface SubscribeOptions {
  intervalMs: number;
  kind?: PollKind;
  /** Deliver only readings that differ from the last one this subscriber got. */
  onlyChanges?: boolean;
  child?: ChildRef;
}

/** A poll result: `value` on success, `error` on failure. */
export type PollListener = (error: KasaTapoError | undefined, value?: DeviceState | EnergyReading) => void;

export interface Subscription {
  cancel(): void;
}

/**
 * The pool's events and their arguments (`pool.on('status', (key, status, error) => …)`): every
 * status change, and the four that matter most on their own. `protocol-changed` comes once per
 * change of a device's transport (re-detection after a failure that signals a change: KLAP
 * handshake 403, an auth failure after a good session, a refused port, an HTTP 404 from the other
 * protocol; the pool then runs unicast discovery once, switches with no redeploy and replays the
 * request). `firmware-changed` comes when a reading shows another firmware version than the last
 * one this pool saw for the device (not for the first reading).
 */
export interface PoolEvents {
  status: [key: string, status: DeviceStatus, error: KasaTapoError | undefined];
  connecting: [key: string];
  online: [key: string];
  offline: [key: string, error: KasaTapoError];
  'auth-error': [key: string, error: KasaTapoError];
  /**
   * The pool re-detected the device on another transport (a firmware update, Third-Party
   * Compatibility), or — with `change.error` — saw it announce one it will not follow.
   */
  'protocol-changed': [key: string, change: DeviceChange];
  /** A device completed a login over a stronger transport than before: persist `provenRoutes()` to keep it across restarts. */
  proven: [host: string, route: ProvenRoute];
  /** The device reports another firmware version than when last seen by this pool. */
  'firmware-changed': [key: string, change: DeviceChange];
  error: [error: unknown];
}
