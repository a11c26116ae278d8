/**
 * Shared types of the library: transports, credentials, logging, and the normalised device model
 * of docs/architecture.md#normalised-output (camelCase, units in names, absent fields left out — never null or 0).
 */
import type { KeyObject } from 'node:crypto';

/** Wire transports. `klap` is KLAP v2 (Tapo/SMART); `klap-v1` is Kasa IOT over KLAP; `tpap` is the SPAKE2+ login of 2025+ firmware. */
export type TransportKind = 'xor' | 'klap-v1' | 'klap' | 'aes' | 'tpap';
export type TransportChoice = TransportKind | 'auto';

/** Application protocols. */
export type ProtocolKind = 'iot' | 'smart';

/** Normalised device families. */
export type Family = 'plug' | 'strip' | 'switch' | 'dimmer' | 'bulb' | 'lightstrip' | 'hub' | 'sensor' | 'unknown';

export interface Credentials {
  username: string;
  password: string;
}

/** A logger object; the library never calls console itself. Every method is optional. */
export interface Logger {
  debug?(msg: string): void;
  info?(msg: string): void;
  warn?(msg: string): void;
  error?(msg: string): void;
}

/** Observer of decrypted traffic (the CLI's --verbose). Never receives credentials. */
export type TraceFn = (direction: 'request' | 'response', text: string) => void;

export interface TransportStats {
  /** Completed handshakes (KLAP handshake1+2, AES handshake+login, XOR TCP connects). */
  handshakes: number;
  requests: number;
}

/**
 * One transport per device. Every transport is stateful (KLAP sequence, AES session, one TCP
 * socket): callers must serialise `send` calls (the Device and the Pool do).
 */
export interface Transport {
  readonly kind: TransportKind;
  readonly host: string;
  readonly port: number;
  readonly stats: TransportStats;
  /**
   * KLAP/AES: true when the last login succeeded with TP-Link's default or blank credentials rather
   * than the user's account (src/trust.ts). Absent or false otherwise.
   */
  readonly defaultCredentials?: boolean;
  /**
   * Send one plaintext JSON request; resolves with the device's parsed JSON answer.
   * Throws KasaTapoError: ETIMEDOUT, ECONNREFUSED, ECONNRESET, EAUTH, ESESSION, EPROTOCOL,
   * ETOOBIG, EDEVICE (AES handshake/envelope errors), ECLOSED.
   */
  send(request: string): Promise<unknown>;
  /** Drop the session (and socket); the next send connects and handshakes again. Never throws. */
  reset(): void;
  /** Close sockets and timers. Idempotent; never rejects. */
  close(): Promise<void>;
}

/** An RSA key pair for the AES handshake and the discovery probe (crypto/rsa.ts makes them). */
export interface RsaKeyPair {
  /** SPKI PEM with the base64 body on one line, the layout the devices are known to accept. */
  publicPem: string;
  privateKey: KeyObject;
}

export interface TransportOptions {
  host: string;
  /** Default: 9999 for xor, 80 for klap/klap-v1/aes. */
  port?: number;
  /** Per exchange (connect, and write+read). Default 5000. */
  timeoutMs?: number;
  credentials?: Credentials;
  logger?: Logger;
  /** Hard cap on an answer's size. Default 1 MiB. */
  maxResponseBytes?: number;
  /**
   * AES only: login_device version. Default 2; 1 only when the device's discovery answer says so or
   * the user chose it. Never a fallback from one to the other (src/trust.ts).
   */
  loginVersion?: 1 | 2;
  /**
   * The application protocol the device speaks, when known (discovery, or an earlier session).
   * KLAP only uses it to word a login failure: an IOT device on v2 hashes gets fix 'klap-v2-iot'.
   */
  protocol?: ProtocolKind;
  /** AES only: supplies the RSA key pair (a pool shares one). Default: one generated per transport. */
  keyPair?: () => Promise<RsaKeyPair>;
  trace?: TraceFn;
  /** TPAP only: AEAD ciphers to offer, the device picks one. Default all three: ['aes_128_ccm', 'aes_256_ccm', 'chacha20_poly1305']. */
  tpapCiphers?: ('aes_128_ccm' | 'aes_256_ccm' | 'chacha20_poly1305')[];
  /** TPAP only: log in again after this many ms even if the device has not ended the session. Default 3,600,000. */
  tpapRenewAfterMs?: number;
  /**
   * TPAP only: accept a credential transform that does not involve the password (`password_shadow`
   * 3: the e-mail and the MAC). Off by default: such a login proves nothing about the account, so a
   * device that knows the e-mail passes it. When on, the device is flagged like `defaultCredentials`.
   */
  tpapAllowNoPassword?: boolean;
  /** HTTP transports: a minimum gap between requests, shared with (and set by) the pool. Default none. */
  pacing?: Pacing;
}

/**
 * Pacing of one device (the pool's, after rate-limit answers or socket errors): no request starts
 * before `last + gapMs`. `gapMs` 0 = no pacing. Mutable; the pool owns it.
 */
export interface Pacing {
  gapMs: number;
  /** Epoch ms when the last request ended (kept while gapMs > 0). */
  last: number;
  /** Epoch ms after which, with no new trouble, pacing ends. */
  calmAt: number;
}

// ---------------------------------------------------------------------------------------------
// Normalised output (docs/architecture.md#normalised-output)

export interface ChildState {
  /** Stable id to address the child (IOT full child id, SMART device_id). */
  id: string;
  /** 0-based position (strip outlets). */
  index?: number;
  alias?: string;
  model?: string;
  family?: Family;
  /** e.g. 'outlet', 'temperature-humidity', 'contact', 'motion', 'trv', 'button', 'water-leak'. */
  kind?: string;
  on?: boolean;
  brightness?: number;
  temperatureC?: number;
  humidityPercent?: number;
  open?: boolean;
  detected?: boolean;
  batteryLow?: boolean;
  targetTemperatureC?: number;
  rssi?: number;
  online?: boolean;
  onTimeS?: number;
}

export interface DeviceState {
  on?: boolean;
  brightness?: number;
  colorTemp?: number;
  hue?: number;
  saturation?: number;
  led?: boolean;
  alias?: string;
  model?: string;
  host: string;
  port?: number;
  family: Family;
  protocol: TransportKind;
  mac?: string;
  deviceId?: string;
  firmware?: string;
  hardware?: string;
  rssi?: number;
  onTimeS?: number;
  hasEnergyMeter?: boolean;
  colorTempRange?: [number, number];
  children?: ChildState[];
  /** Present (true) when the device accepted TP-Link's default or blank credentials, not the user's account. */
  defaultCredentials?: true;
}

export interface EnergyReading {
  powerW?: number;
  voltageV?: number;
  currentA?: number;
  todayKWh?: number;
  monthKWh?: number;
  totalKWh?: number;
}

export interface EnergyHistory {
  period: 'day' | 'month';
  /** date: 'YYYY-MM-DD' for days, 'YYYY-MM' for months. */
  entries: { date: string; kWh: number }[];
}

/** What `setState` accepts (the object form of tplink-action's payload). */
export interface StatePatch {
  on?: boolean;
  brightness?: number;
  colorTemp?: number;
  hue?: number;
  saturation?: number;
  /** '#rrggbb' or a CSS colour name. */
  color?: string;
  /** ms */
  transition?: number;
  led?: boolean;
  alias?: string;
}

/** A child reference: index (0-based), id, or alias. */
export type ChildRef = number | string;

export interface DeviceInfo {
  host: string;
  port: number;
  alias?: string;
  model?: string;
  family: Family;
  protocol: TransportKind;
  /** Present (true) when the device accepted TP-Link's default or blank credentials, not the user's account. */
  defaultCredentials?: true;
}

/** A result and the device's own answer(s) behind it (what the nodes put in msg.raw). */
export interface WithRaw<T> {
  value: T;
  raw: unknown;
}

/** Counters a device keeps (the pool adds them to its statistics). */
export interface DeviceCounters {
  /** Completed handshakes (transport). */
  handshakes: number;
  requests: number;
  /** Retries by the protocol layer. */
  retries: number;
}

/** The facade returned by connect() and by pool.device(). Every method throws KasaTapoError. */
export interface DeviceApi {
  readonly host: string;
  readonly port: number;
  /** Counters, where the device keeps them (connect()'s devices do). */
  readonly stats?: DeviceCounters;
  getState(): Promise<DeviceState>;
  setState(patch: StatePatch, child?: ChildRef): Promise<DeviceState>;
  /** Switch the device (or a child) to the opposite of what it reports now; `patch` may add e.g. a transition. */
  toggle(child?: ChildRef, patch?: StatePatch): Promise<DeviceState>;
  /** Ask the device to restart (after about a second). */
  reboot(): Promise<void>;
  getEnergy(child?: ChildRef): Promise<EnergyReading>;
  /** Day totals of a month or month totals of a year; 'hour': hourly energy (SMART meters, src/device/history.ts). */
  getEnergyHistory(period: 'hour', opts?: HourlyEnergyOptions & { child?: ChildRef }): Promise<HourlyEnergyHistory>;
  getEnergyHistory(period: 'day' | 'month', opts?: { year?: number; month?: number; child?: ChildRef }): Promise<EnergyHistory>;
  /** SMART meters (src/device/history.ts); absent on pooled handles until the pool forwards it (use withRaw). */
  getPowerHistory?(opts?: PowerHistoryOptions & { child?: ChildRef }): Promise<PowerHistory>;
  /** Countdown timers (src/device/countdown.ts); as getPower */
  setCountdown?(spec: CountdownSpec, child?: ChildRef): Promise<Countdown>;
  getCountdown?(child?: ChildRef): Promise<Countdown>;
  clearCountdown?(child?: ChildRef): Promise<Countdown>;
  /** Child lock (src/device/childlock.ts); as getPower */
  setChildLock?(on: boolean, child?: ChildRef): Promise<{ childLock: boolean }>;
  getChildLock?(child?: ChildRef): Promise<{ childLock: boolean }>;
  /** Automatic firmware updates (src/device/autoupdate.ts; SMART devices with the setting); as getPower */
  getAutoUpdate?(): Promise<AutoUpdate>;
  setAutoUpdate?(enable: boolean): Promise<AutoUpdate>;
  /** Hub children's trigger-log events (src/device/events.ts); as getPower */
  getEvents?(child: ChildRef, opts?: EventsOptions): Promise<HubEvents>;
  /** IOT: a `{module:{method:params}}` object; SMART: `{method, params}`. Answers the device's own JSON. */
  raw(request: unknown, child?: ChildRef): Promise<unknown>;
  /**
   * Run `fn` with this device and answer its value beside the device's own answer(s) to the last
   * call `fn` made. IOT: the answer JSON (for several exchanges, an array, or the answers merged
   * by module for bulbs); SMART: the results keyed by method name; after setState/toggle,
   * `{set, get}`.
   */
  withRaw<T>(fn: (dev: DeviceApi) => Promise<T>): Promise<WithRaw<T>>;
  info(): DeviceInfo | undefined;
  close(): Promise<void>;
}

/** One device found by discover()/discoverSingle() (src/discovery.ts). */
export interface DiscoveryResult {
  /** The address the answer came from. */
  host: string;
  /** The port to connect to with `transport` (9999 for XOR, the device's http_port for KLAP/AES). */
  port: number;
  /** Model without the region suffix, e.g. 'HS110'. */
  model?: string;
  /** Model as the device reports it, e.g. 'HS110(EU)'. */
  modelFull?: string;
  alias?: string;
  mac?: string;
  family: Family;
  /** The device's own type string, e.g. 'IOT.SMARTPLUGSWITCH', 'SMART.TAPOPLUG'. */
  deviceType?: string;
  /** Set when the library can talk to the device. */
  transport?: TransportKind;
  /** The application protocol (IOT or SMART JSON): the prefix of `deviceType`, never the KLAP hash version. */
  protocol: ProtocolKind;
  /** Login version from discovery (`mgt_encrypt_schm.lv`; AES login, KLAP hashes of IOT devices). */
  loginVersion?: 1 | 2;
  supported: boolean;
  /** Why `supported` is false, with the fix where one is known. */
  reason?: string;
  deviceId?: string;
  /** The device's answer (parsed JSON). */
  raw: unknown;
}

// Power history, hourly energy, hub events and countdowns (implemented in src/device/).

export interface Countdown {
  /** A countdown is running. */
  active: boolean;
  /** What the device will do when it ends: switch on (true) or off (false). */
  on?: boolean;
  delayS?: number;
  remainS?: number;
}

/** A device's automatic firmware update setting (src/device/autoupdate.ts). */
export interface AutoUpdate {
  /** The device installs new firmware by itself. */
  autoUpdate: boolean;
  /** Start of its nightly update window, local time "HH:MM". */
  time?: string;
  /** The device picks a moment up to this many minutes after `time`. */
  randomMinutes?: number;
}

export interface CountdownSpec {
  on: boolean;
  /** Seconds from now, 1-86400 (give this or `minutes`). */
  delayS?: number;
  minutes?: number;
}

export interface HubEvent {
  /** The child's log id (grows by one per event). */
  id: number;
  /** `single_click`, `double_click`, `rotation`, `motion`, `open`, `close`, `water_leak`, `water_dry`, … */
  event: string;
  /** Rotation only: degrees turned (negative = anticlockwise). */
  degrees?: number;
  /** The child's alias (or its id when it has none). */
  child: string;
  childId: string;
  model?: string;
  /** When it happened, ISO 8601 (UTC). */
  at: string;
}

export interface HubEvents {
  events: HubEvent[];
  /** The newest log id seen: pass it as `sinceId` next time (0 when the log is empty). */
  lastId: number;
}

export interface EventsOptions {
  /** Only events with a larger id. Omitted: nothing is returned, only `lastId` (a baseline). */
  sinceId?: number;
  /** Logs per request, 1-50. Default 10. */
  pageSize?: number;
  /** Requests per call, 1-20. Default 5. */
  maxPages?: number;
}

export interface PowerHistoryOptions {
  /** Minutes per entry: 5 or 60. Default 5. */
  intervalMin?: 5 | 60;
  /** Range start and end: a Date, epoch ms or an ISO text. Defaults: see the module comment. */
  start?: Date | number | string;
  end?: Date | number | string;
}

export interface PowerHistory {
  intervalMin: 5 | 60;
  /** `at`: start of the interval (ISO, UTC); `powerW`: mean power over it. */
  entries: { at: string; powerW: number }[];
}

export interface HourlyEnergyOptions {
  start?: Date | number | string;
  end?: Date | number | string;
}

export interface HourlyEnergyHistory {
  period: 'hour';
  /** `at`: start of the hour (ISO, UTC). */
  entries: { at: string; kWh: number }[];
}
