/**
 * Shared types of the library: transports, credentials, logging, and the normalised device model
 * of design.md §1 (camelCase, units in names, absent fields left out — never null or 0).
 */

/** Wire transports. `klap` is KLAP v2 (Tapo/SMART); `klap-v1` is Kasa IOT over KLAP. */
export type TransportKind = 'xor' | 'klap-v1' | 'klap' | 'aes';
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
  /** AES only: login_device version (from discovery `lv`); default 2, falls back to 1 once. */
  loginVersion?: 1 | 2;
  /** AES only: supplies the RSA key pair (a pool shares one). Default: one generated per transport. */
  keyPair?: () => Promise<import('./crypto/rsa').RsaKeyPair>;
  trace?: TraceFn;
}

// ---------------------------------------------------------------------------------------------
// Normalised output (design.md §1)

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
}

/** The facade returned by connect() and by pool.device(). Every method throws KasaTapoError. */
export interface DeviceApi {
  readonly host: string;
  readonly port: number;
  getState(): Promise<DeviceState>;
  setState(patch: StatePatch, child?: ChildRef): Promise<DeviceState>;
  getEnergy(child?: ChildRef): Promise<EnergyReading>;
  getEnergyHistory(period: 'day' | 'month', opts?: { year?: number; month?: number; child?: ChildRef }): Promise<EnergyHistory>;
  /** SMART meters (src/device/history.ts); absent on pooled handles until the pool forwards it (use withRaw). */
  getPowerHistory?(opts?: import('./device/history').PowerHistoryOptions & { child?: ChildRef }): Promise<import('./device/history').PowerHistory>;
  /** Countdown timers (src/device/countdown.ts); as getPowerHistory. */
  setCountdown?(spec: import('./device/countdown').CountdownSpec, child?: ChildRef): Promise<import('./device/countdown').Countdown>;
  getCountdown?(child?: ChildRef): Promise<import('./device/countdown').Countdown>;
  clearCountdown?(child?: ChildRef): Promise<import('./device/countdown').Countdown>;
  /** Child lock (src/device/childlock.ts); as getPowerHistory. */
  setChildLock?(on: boolean, child?: ChildRef): Promise<{ childLock: boolean }>;
  getChildLock?(child?: ChildRef): Promise<{ childLock: boolean }>;
  /** Hub children's trigger-log events (src/device/events.ts); as getPowerHistory. */
  getEvents?(child: ChildRef, opts?: import('./device/events').EventsOptions): Promise<import('./device/events').HubEvents>;
  /** IOT: a `{module:{method:params}}` object; SMART: `{method, params}`. Answers the device's own JSON. */
  raw(request: unknown, child?: ChildRef): Promise<unknown>;
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
  protocol: ProtocolKind;
  /** AES login version from discovery (`mgt_encrypt_schm.lv`). */
  loginVersion?: 1 | 2;
  supported: boolean;
  /** Why `supported` is false, with the fix where one is known. */
  reason?: string;
  deviceId?: string;
  /** The device's answer (parsed JSON). */
  raw: unknown;
}
