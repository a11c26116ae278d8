/**
 * Typed errors with stable codes. Every failure the library reports is a `KasaTapoError` whose
 * `code` never changes between releases, so flows (Catch nodes) and scripts can branch on it.
 * The message says what went wrong and, where a fix is known, how to fix it (`hint`).
 * Messages never contain credentials, hashes, tokens or keys.
 */
import type { FixId } from './fixes';
import type { TransportKind } from './types';

export type ErrorCode =
  | 'ETIMEDOUT' // the device did not answer in time
  | 'ECONNREFUSED' // nothing listens on that address/port, or the host is unreachable
  | 'ECONNRESET' // the connection dropped mid-exchange
  | 'EAUTH' // credentials rejected (or device refuses third-party access)
  | 'ESESSION' // session expired or invalidated; a new handshake is needed
  | 'EPROTOCOL' // the device's answer is malformed (bad frame, bad JSON, bad crypto)
  | 'ETOOBIG' // the answer claims or has a size above the cap
  | 'EDEVICE' // the device understood and refused (non-zero err_code / error_code)
  | 'EBUSY' // the device says it is busy or transiently unavailable; retryable
  | 'EUNSUPPORTED' // the device or its firmware cannot do what was asked
  | 'EBADINPUT' // the caller's request is malformed
  | 'EOFFLINE' // the pool marked the device offline; fails fast until it returns
  | 'EQUEUEFULL' // too many requests queued for this device
  | 'ECLOSED' // the device, transport or pool was closed
  | 'ENOTFOUND' // no such device / child / alias
  | 'ENOTTRUSTED' // a login the pool will not send: AES to a host not in its list, a transport below what the device proved (src/trust.ts)
  | 'ELOCKED'; // the device blocks logins until `until` (its lockout, or the pool's login budget); nothing is sent before

export interface ErrorDetails {
  hint?: string;
  /** The guided fix (src/fixes.ts) whose sentence `hint` is. */
  fix?: FixId;
  /** ELOCKED: epoch ms when logins are allowed again. */
  until?: number;
  /** EAUTH/ELOCKED from a login: the transport whose login failed. */
  login?: TransportKind;
  /**
   * The failed login reached the proof step (KLAP handshake1, TPAP after pake_register, an AES
   * login) or the session ended right after it: it counts against the pool's login budget whatever
   * the error code, since each such login lets the other side test one guess of the password.
   */
  spentLogin?: boolean;
  /** Numeric device code (IOT `err_code`, SMART `error_code`) or HTTP status. */
  deviceCode?: number;
  httpStatus?: number;
  host?: string;
  method?: string;
  /**
   * Where an ETIMEDOUT happened: 'connect' when the TCP connection itself was not established in
   * time (the device is off or out of range), 'exchange' when an open connection got no answer.
   */
  phase?: ErrorPhase;
  cause?: unknown;
}

export type ErrorPhase = 'connect' | 'exchange';

export class KasaTapoError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly fix?: FixId;
  readonly until?: number;
  readonly login?: TransportKind;
  readonly spentLogin?: boolean;
  readonly deviceCode?: number;
  readonly httpStatus?: number;
  readonly host?: string;
  readonly method?: string;
  readonly phase?: ErrorPhase;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    // Belt and braces: whatever a message quotes, it reaches logs and Catch nodes without control
    // characters and bounded in size (callers clip what they quote to 200 characters, see clip()).
    super(clip(details.hint ? `${message}. ${details.hint}` : message, MAX_MESSAGE));
    this.name = 'KasaTapoError';
    this.code = code;
    if (details.hint !== undefined) this.hint = details.hint;
    if (details.fix !== undefined) this.fix = details.fix;
    if (details.until !== undefined) this.until = details.until;
    if (details.login !== undefined) this.login = details.login;
    if (details.spentLogin) this.spentLogin = true;
    if (details.deviceCode !== undefined) this.deviceCode = details.deviceCode;
    if (details.httpStatus !== undefined) this.httpStatus = details.httpStatus;
    if (details.host !== undefined) this.host = clip(details.host, 256);
    if (details.method !== undefined) this.method = clip(details.method, 256);
    if (details.phase !== undefined) this.phase = details.phase;
    if (details.cause !== undefined) Object.defineProperty(this, 'cause', { value: details.cause, enumerable: false });
  }
}

/** Longest error message (the quoted parts are clipped to 200 characters each before). */
const MAX_MESSAGE = 1000;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text from a caller or a device made safe to quote in an error, a status or a log line: control
 * characters (C0, C1, DEL, line/paragraph separators, bidi overrides) escaped as `\n`, `\r`, `\t`
 * or `\uXXXX`, then cut to `max` characters (the last one `…` when cut). Anything that is not a
 * string is turned into one first (`String(v)`; a value whose conversion throws becomes
 * `[unprintable]`). Never throws.
 */
export function clip(value: unknown, max = 200): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : String(value);
  } catch {
    text = '[unprintable]';
  }
  // Escaping at most multiplies the length by 6: cut the input first, so 10 MB cost nothing.
  const long = text.length > max;
  if (long) text = text.slice(0, max);
  let out = HAS_CONTROL.test(text) ? text.replace(CONTROL, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : text;
  if (long || out.length > max) {
    out = out.slice(0, Math.max(0, max - 1));
    if (/[\ud800-\udbff]$/.test(out)) out = out.slice(0, -1); // no half of a surrogate pair
    out += '…';
  }
  return out;
}

/** Flag `e` as a failed login that reached the proof step (ErrorDetails.spentLogin); returns it. Never throws. */
export function markSpentLogin(e: KasaTapoError): KasaTapoError {
  (e as { spentLogin?: boolean }).spentLogin = true;
  return e;
}

export function isKasaTapoError(e: unknown): e is KasaTapoError {
  return e instanceof KasaTapoError;
}

export const HINTS = {
  auth:
    'Check the TP-Link account e-mail and password (both are case-sensitive; use the e-mail exactly as ' +
    'registered in the Kasa/Tapo app). If you changed the password recently, power-cycle the device so it ' +
    'syncs the new one from the cloud',
  thirdParty:
    'The device refused the login handshake (HTTP 403). Enable "Third-Party Compatibility" in the Tapo app ' +
    '(Me > Third-Party Services), or switch it off and on again, then retry',
  tpap:
    'This device offers TPAP in a form that is not supported (only the SMART protocol over plain-HTTP ' +
    'TPAP is). Enabling "Third-Party Compatibility" in the Tapo app may make the device offer KLAP again',
  https: 'This device only speaks HTTPS (cameras, doorbells, robot vacuums, H200 hub), which is not supported yet',
  timeout: 'Check that the device is powered, on the same network, and that its address has not changed',
  refused: 'Check the address and port; the device may use another protocol (try transport "auto")',
} as const;

/**
 * Whether `e` is a connect timeout: ETIMEDOUT before the TCP connection was established (the
 * device is off or out of range). Not retried by the protocol layer; takes a pooled device offline
 * at once. Never throws.
 */
export function isConnectTimeout(e: unknown): boolean {
  return e instanceof KasaTapoError && e.code === 'ETIMEDOUT' && e.phase === 'connect';
}

/**
 * Whether a failure of a device that worked may mean it now speaks another protocol: a KLAP
 * handshake 403 (EAUTH with httpStatus 403) or any auth failure after a good session, a refused
 * connection on its known port, "not this transport" (EUNSUPPORTED: HTTP 404, AES 1003), or an
 * HTTP 4xx where the other protocol's paths do not exist. Never throws.
 */
export function signalsChange(err: KasaTapoError): boolean {
  switch (err.code) {
    case 'EAUTH':
    case 'ECONNREFUSED':
      return true;
    case 'EUNSUPPORTED':
      // Only "not this transport" (HTTP 404 on a handshake, AES 1003), never "no energy meter".
      return err.httpStatus === 404 || err.deviceCode === 1003;
    case 'EPROTOCOL':
      return err.httpStatus !== undefined && err.httpStatus >= 400 && err.httpStatus < 500;
    default:
      return false;
  }
}

/** Wrap any thrown value into a KasaTapoError (socket errors mapped by errno). */
export function toKasaTapoError(e: unknown, host?: string): KasaTapoError {
  if (isKasaTapoError(e)) return e;
  const err = e as NodeJS.ErrnoException | undefined;
  const errno = err && typeof err === 'object' ? err.code : undefined;
  const base = host ? { host, cause: e } : { cause: e };
  switch (errno) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'EADDRNOTAVAIL':
      return new KasaTapoError('ECONNREFUSED', `Connection to ${host ?? 'device'} refused (${errno})`, {
        ...base,
        hint: HINTS.refused,
      });
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return new KasaTapoError('ECONNRESET', `Connection to ${host ?? 'device'} dropped (${errno})`, base);
    case 'ETIMEDOUT':
      return new KasaTapoError('ETIMEDOUT', `${host ?? 'Device'} did not answer in time`, { ...base, hint: HINTS.timeout });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new KasaTapoError('ENOTFOUND', `Host ${host ?? ''} not found (${errno})`, base);
    default: {
      let msg: string;
      try {
        msg = err && typeof err === 'object' && typeof err.message === 'string' ? err.message : String(e);
      } catch {
        msg = '[unprintable]';
      }
      return new KasaTapoError('EPROTOCOL', `Unexpected failure talking to ${host ?? 'device'}: ${clip(msg)}`, base);
    }
  }
}
