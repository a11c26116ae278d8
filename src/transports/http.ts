/**
 * The HTTP side shared by the KLAP, AES and TPAP transports: session-renewal timing on a monotonic
 * clock, pacing, lockout answers, and the base class that runs "handshake when needed, then
 * exchange" for all three. The HTTP/1.1 client itself is http-client.ts; the session cookie parser
 * is wire/cookie.ts (shared with the simulator). Handshakes and encryption live in klap.ts
 * (seed/hash handshake, AES-128-CBC per sequence number), aes.ts (RSA-wrapped AES key, login
 * token, securePassthrough) and tpap.ts.
 */
import { performance } from 'node:perf_hooks';
import { KasaTapoError, markSpentLogin, toKasaTapoError } from '../errors';
import { fixFor } from '../fixes';
import { parseJson } from '../json';
import type { Credentials, Transport, TransportKind, TransportOptions, TransportStats } from '../types';

import { DEFAULT_LOCKOUT_MS, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_PORTS, DEFAULT_TIMEOUT_MS } from '../defaults';
import { isObject } from '../json';
import { parseSessionCookie } from '../wire/cookie';
import { HttpClient } from './http-client';
import { closedError } from './timing';
import { gapWait } from '../sleep';

export { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_SESSION_TIMEOUT_S, DEFAULT_TIMEOUT_MS } from '../defaults';
export { parseSessionCookie };
export { HttpClient, type HttpResponse } from './http-client';
export { HttpResponseReader } from './http-reader';
export { LOOP_STALL_MS, closedError, connectTimeoutError, stallExtension } from './timing';

/**
 * Built-in default accounts devices may accept (docs/protocols.md#klap-default-accounts; public knowledge). KLAP tries
 * all of them locally; AES tries only `TAPO`.
 */
export const DEFAULT_CREDENTIALS: Readonly<Record<'KASA' | 'KASACAMERA' | 'TAPO' | 'TAPOCAMERA' | 'TAPOCAMERA_LV3', Credentials>> = {
  KASA: { username: 'kasa@tp-link.net', password: 'kasaSetup' },
  KASACAMERA: { username: 'admin', password: '21232f297a57a5a743894a0e4a801fc3' },
  TAPO: { username: 'test@tp-link.net', password: 'test' },
  TAPOCAMERA: { username: 'admin', password: 'admin' },
  TAPOCAMERA_LV3: { username: 'admin', password: 'TPL075526460603' },
};

/** Monotonic milliseconds (immune to wall-clock changes). Never throws. */
export const monotonicMs = (): number => performance.now();

/**
 * When to renew a session that lives `timeoutS` seconds from now: 20 minutes early, or 10% early
 * when the lifetime is short (under 40 minutes). Returns a monotonicMs() deadline. Never throws.
 */
export function renewalDeadline(timeoutS: number): number {
  const margin = timeoutS >= 2400 ? 1200 : timeoutS * 0.1;
  return monotonicMs() + (timeoutS - margin) * 1000;
}

/**
 * SMART device codes meaning "wrong credentials" (EAUTH, docs/protocols.md#smart-error-codes): -1501
 * login error, 1111 login failed, 1100 handshake failed, -1005 AES decode failed, -40412 HomeKit
 * login. The one table for the SMART protocol's answers and the AES login; TPAP's pake_share has
 * its own (TPAP_AUTH_CODES in tpap.ts).
 */
export const SMART_AUTH_CODES: ReadonlySet<number> = new Set([-1501, 1111, 1100, -1005, -40412]);

/** SMART/TPAP "device blocked after repeated failed logins" (DEVICE_BLOCKED, with `sec_left`). */
export const LOCKOUT_CODE = -40404;

/**
 * ELOCKED for a lockout answer: `until` from its `sec_left` (in `result`, `data` or at the top; 30
 * minutes when absent), the guided fix 'locked' with that time. Never throws.
 */
export function lockedError(host: string, answer: unknown, step: string, now = Date.now()): KasaTapoError {
  const a = isObject(answer) ? answer : {};
  const inner = isObject(a.result) ? a.result : isObject(a.data) ? a.data : a;
  const left = typeof inner.sec_left === 'number' && Number.isFinite(inner.sec_left) ? Math.max(0, Math.min(inner.sec_left, 86400)) : undefined;
  const until = now + (left !== undefined ? Math.ceil(left * 1000) : DEFAULT_LOCKOUT_MS);
  return new KasaTapoError(
    'ELOCKED',
    `${host} blocks logins after repeated failures (error ${LOCKOUT_CODE} at ${step}${left !== undefined ? `, ${Math.round(left)} s left` : ''})`,
    {
      host,
      deviceCode: LOCKOUT_CODE,
      until,
      fix: 'locked',
      hint: fixFor('locked', { until }),
    },
  );
}

export interface HttpSession {
  /** monotonicMs() after which a new handshake is made before sending. */
  renewAt: number;
}

/**
 * Common flow of the HTTP transports: handshake when there is no session or it is due for renewal,
 * then one encrypted exchange. ESESSION and EPROTOCOL drop the session (the next send handshakes);
 * ETIMEDOUT/ECONNRESET keep it (the protocol layer decides whether to reset()).
 */
export abstract class HttpSessionTransport<S extends HttpSession> implements Transport {
  abstract readonly kind: TransportKind;
  readonly host: string;
  readonly port: number;
  readonly stats: TransportStats = { handshakes: 0, requests: 0 };
  protected readonly http: HttpClient;
  protected session: S | undefined;
  protected closed = false;

  constructor(protected readonly opts: TransportOptions) {
    this.host = opts.host;
    this.port = opts.port ?? DEFAULT_PORTS.klap;
    this.http = new HttpClient(this.host, this.port, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
  }

  /** Build a fresh session. Throws KasaTapoError. */
  protected abstract handshake(): Promise<S>;
  /** Send one request on a session; resolves with the decrypted answer text. Throws KasaTapoError. */
  protected abstract exchange(session: S, request: string): Promise<string>;
  /** Whether a live session must be renewed before the next request. */
  protected due(session: S): boolean {
    return monotonicMs() >= session.renewAt;
  }
  /** Look at the parsed answer (AES: inner 9999). Throws KasaTapoError. */
  protected inspect(_answer: unknown): void {}

  protected debug(msg: string): void {
    this.opts.logger?.debug?.(`${this.kind} ${this.host}:${this.port}: ${msg}`);
  }

  /** Requests answered on the current session. */
  private onSession = 0;
  /** Sessions in a row that the device ended at their second request. */
  private shortSessions = 0;
  /** One request per session (old KLAP firmware): a handshake before every request. */
  oneRequestPerSession = false;

  /** See Transport.send. Throws KasaTapoError (ECLOSED after close()). */
  async send(request: string): Promise<unknown> {
    if (this.closed) throw closedError(this.host);
    const pacing = this.opts.pacing;
    if (pacing && pacing.gapMs > 0) await gapWait(pacing);
    try {
      let s = this.session;
      if (!s || this.due(s)) {
        this.session = undefined;
        if (s) this.debug('session due for renewal');
        s = await this.handshake();
        if (this.closed) throw closedError(this.host);
        this.session = s;
        this.onSession = 0;
        this.stats.handshakes++;
      }
      this.opts.trace?.('request', request);
      const text = await this.exchange(s, request);
      this.opts.trace?.('response', text);
      const answer = parseJson(text);
      this.inspect(answer);
      this.stats.requests++;
      this.onSession++;
      if (this.oneRequestPerSession) this.session = undefined;
      return answer;
    } catch (e) {
      if (this.closed) throw closedError(this.host);
      const err = toKasaTapoError(e, this.host);
      if (err.code === 'ESESSION' || err.code === 'EPROTOCOL') this.session = undefined;
      if (err.code === 'ESESSION') {
        // Ended at its first request, right after the login: each such login costs a handshake (for
        // TPAP, thousands of PBKDF2 rounds) and may test a guess, so the pool backs off as after a
        // failed login.
        if (this.onSession === 0) markSpentLogin(err);
        this.sessionEnded();
      }
      throw err;
    } finally {
      if (pacing && pacing.gapMs > 0) pacing.last = Date.now();
    }
  }

  /**
   * The device ended the session: when it did so at the second request twice in a row, it is
   * firmware that serves one request per session — from then on a handshake precedes every request.
   */
  private sessionEnded(): void {
    if (this.onSession !== 1) {
      this.shortSessions = 0;
      return;
    }
    if (++this.shortSessions >= 2 && !this.oneRequestPerSession) {
      this.oneRequestPerSession = true;
      this.debug('the device serves one request per session: a handshake before each request from now on');
    }
  }

  reset(): void {
    this.session = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.session = undefined;
    this.http.close();
  }

  /** Error for an unexpected HTTP status during a handshake (403 → EAUTH + fix 'third-party', 404 → EUNSUPPORTED). */
  protected statusError(status: number, step: string): KasaTapoError {
    const d = { host: this.host, httpStatus: status };
    if (status === 403)
      return new KasaTapoError('EAUTH', `${this.host} refused the ${step} (HTTP 403)`, { ...d, fix: 'third-party', hint: fixFor('third-party', d) });
    if (status === 404) return new KasaTapoError('EUNSUPPORTED', `${this.host} does not offer the ${this.kind} transport (HTTP 404 on ${step})`, d);
    return new KasaTapoError('EPROTOCOL', `${this.host} answered the ${step} with HTTP ${status}`, d);
  }
}
