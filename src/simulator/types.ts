/**
 * Contracts inside the simulator: the wire servers (XOR, KLAP, AES) decrypt a request and hand its
 * text to a device model (`SimHandler`); faults are injected at the wire, where real devices fail.
 */
import type { Credentials } from '../types';
import type { TpapSimOptions } from './wire/tpap';

/** A simulated device's application logic (IOT or SMART JSON in, JSON out). */
export interface SimHandler {
  /** Handle one decrypted request text; return the answer text. */
  handle(request: string): string | Promise<string>;
}

/**
 * Faults, read by the wire servers on every request (a mutable object: tests change it at run time).
 * All optional; an empty object is a healthy device.
 */
export interface Faults {
  /** Delay every answer by this many ms. */
  latencyMs?: number;
  /** Close the connection instead of answering. */
  dropConnection?: boolean;
  /** Send only part of the answer, then close. */
  truncate?: boolean;
  /** XOR: a length prefix far larger than the body (e.g. 0x7fffffff), then close. */
  lyingLength?: boolean;
  /** Answer (correctly encrypted/framed) text that is not JSON. */
  invalidJson?: boolean;
  /** Answer random bytes instead of a frame / encrypted body. */
  garbage?: boolean;
  /** Refuse connections (the listening socket is closed until cleared). */
  refuse?: boolean;
  /** Accept only one connection at a time; others are closed at once. */
  singleConnection?: boolean;
  /** Offline until this epoch ms: connections are refused (and UDP ignored). */
  offlineUntil?: number;
  /** Invalidate the session after this many requests on it (KLAP 403, AES 9999). */
  expireSessionEvery?: number;
  /** Answer SMART requests with this error code (e.g. -1301 busy) / IOT with err_code -1. */
  busyCode?: number;
  /** KLAP: answer handshake1 with HTTP 403 (Third-Party Compatibility off). */
  forbidHandshake?: boolean;
  /**
   * Powered off / out of range while its address is still known: new connections time out (the
   * port is held by a listener that never accepts, wire/blackhole.ts), open ones get no answer and
   * no FIN (HTTP devices: idle keep-alive connections are closed with the listener, as Node's HTTP
   * server does), UDP is ignored. When cleared the device "reboots": open connections are reset and
   * the port listens again.
   */
  unreachable?: boolean;
  /**
   * KLAP/AES: the device is bound to another account, so every login fails (KLAP: handshake1's
   * server hash matches none of the client's credentials; AES: login_device → -1501). Sessions
   * already open keep working until they end. XOR has no login: no effect.
   */
  wrongCredentials?: boolean;
  /**
   * Lockout after this many failed logins in a row (AES login_device, TPAP pake_share): from then
   * on every login, right or wrong, answers `-40404` with `result.sec_left` until `lockedUntil`
   * (the device does not extend it). KLAP: a locked device answers handshake1 with HTTP 403 (the
   * client's wrong proof never reaches a KLAP device — it checks the device's hash locally — so
   * only handshake2 failures count there). Set by the device: `lockedUntil` (epoch ms).
   */
  lockAfter?: number;
  /** Length of that lockout in seconds (`sec_left` of the first -40404). Default 1800. */
  lockoutS?: number;
  /** Set by the device while locked (epoch ms); a test may clear or move it. */
  lockedUntil?: number;
  /**
   * SMART rate limit: an application request closer than this many ms to the previous one is
   * answered `{"error_code":-40109}` (ONE_SECOND_REPEAT_REQUEST) instead of being handled.
   */
  rateLimitMs?: number;
  /**
   * HTTP devices: the TCP port stays closed (connections refused) until a UDP 20002 discovery probe
   * reaches the device (needs `discovery: true`); it opens `wakeDelayMs` after the probe (default
   * 100) and stays open. Set by the device: `awakeAt` (epoch ms); clear it to close the port again.
   */
  sleepUntilProbed?: boolean;
  wakeDelayMs?: number;
  awakeAt?: number;
  // One request per session (old KLAP firmware): `expireSessionEvery: 1` — the second request on a
  // session answers 403 and ends it.
}

export interface WireStats {
  /** Completed handshakes (KLAP handshake2 OK, AES login OK, XOR TCP connections accepted). */
  handshakes: number;
  /** Application requests answered (not counting handshakes). */
  requests: number;
  /** TCP connections accepted. */
  connections: number;
  /** Highest number of requests being handled at the same time. */
  maxConcurrent: number;
  /** Requests rejected for an expired/invalid session. */
  expired: number;
  /** Failed logins (wrong credentials). */
  authFailures: number;
  /** Logins that reached the device (AES login_device, TPAP pake_share, KLAP handshake2), answered or refused, locked ones included. */
  logins: number;
  /** Requests answered -40109 (faults.rateLimitMs). */
  rateLimited: number;
  /** TPAP login `discover` calls answered (TPAP devices, and KLAP devices that answer one: `tpapDiscover`). */
  discovers: number;
}

export interface WireServerOptions {
  /** Loopback address to bind (127.0.0.0/8 or ::1). */
  host: string;
  /** 0 = an ephemeral port. */
  port: number;
  handler: SimHandler;
  /** The account the device is bound to. */
  credentials: Credentials;
  faults: Faults;
  /** KLAP/AES TIMEOUT cookie (s) and the session's real lifetime. Default 86400. */
  sessionTtlS?: number;
  /** AES: login version the device expects (1 or 2). Default 2. */
  loginVersion?: 1 | 2;
  /** TPAP: how the device logs in (credential transform, iterations, ciphers, codes). */
  tpap?: TpapSimOptions;
  /**
   * KLAP devices whose firmware announces TPAP (KP125M 1.4.1): the `result` answered to a TPAP login
   * `discover` posted to `/` (e.g. `{sub_method:'discover', tpap_preferred:false}`, no `tpap`). Default: none (404).
   */
  tpapDiscover?: Record<string, unknown>;
  /** Counters to keep (a device that switches transport keeps one set). Default: new ones. */
  stats?: WireStats;
}

export interface WireServer {
  readonly host: string;
  readonly port: number;
  readonly stats: WireStats;
  /** Invalidate every current session now. */
  expireSessions(): void;
  /** Close sockets and timers; idempotent. */
  close(): Promise<void>;
}
