/**
 * Typed errors with stable codes. Every failure the library reports is a `KasaTapoError` whose
 * `code` never changes between releases, so flows (Catch nodes) and scripts can branch on it.
 * The message says what went wrong and, where a fix is known, how to fix it (`hint`).
 * Messages never contain credentials, hashes, tokens or keys.
 */

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
  | 'ENOTFOUND'; // no such device / child / alias

export interface ErrorDetails {
  hint?: string;
  /** Numeric device code (IOT `err_code`, SMART `error_code`) or HTTP status. */
  deviceCode?: number;
  httpStatus?: number;
  host?: string;
  method?: string;
  cause?: unknown;
}

export class KasaTapoError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly deviceCode?: number;
  readonly httpStatus?: number;
  readonly host?: string;
  readonly method?: string;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(details.hint ? `${message}. ${details.hint}` : message);
    this.name = 'KasaTapoError';
    this.code = code;
    if (details.hint !== undefined) this.hint = details.hint;
    if (details.deviceCode !== undefined) this.deviceCode = details.deviceCode;
    if (details.httpStatus !== undefined) this.httpStatus = details.httpStatus;
    if (details.host !== undefined) this.host = details.host;
    if (details.method !== undefined) this.method = details.method;
    if (details.cause !== undefined) Object.defineProperty(this, 'cause', { value: details.cause, enumerable: false });
  }
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

/** Error classes used by the retry policy. */
export type ErrorClass = 'retry' | 'retry-after-reset' | 'fatal';

/** How the protocol layer should treat an error: retry at once, reset the session then retry, or give up. */
export function classify(e: unknown): ErrorClass {
  if (!isKasaTapoError(e)) return 'fatal';
  switch (e.code) {
    case 'ECONNRESET':
      return 'retry';
    case 'ETIMEDOUT':
    case 'ESESSION':
    case 'EBUSY':
      return 'retry-after-reset';
    default:
      return 'fatal';
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
      const msg = err && typeof err === 'object' && typeof err.message === 'string' ? err.message : String(e);
      return new KasaTapoError('EPROTOCOL', `Unexpected failure talking to ${host ?? 'device'}: ${msg}`, base);
    }
  }
}
