/**
 * Health: each device's status (idle → connecting → online, error, offline, auth-error, locked),
 * the refusals that fail a request at once (offline, held after EAUTH, locked — the device's
 * lockout or the login budget — until a time, queue full), and the
 * offline probe — a light TCP connect with a doubling delay — that brings a device back.
 */
import * as net from 'node:net';
import { DEFAULT_PORTS, PROBE_TIMEOUT_MS } from '../defaults';
import { KasaTapoError, isConnectTimeout, type ErrorCode } from '../errors';
import { clockTime, fixFor } from '../fixes';
import type { Entry } from './entry';
import type { DeviceStatus, PoolEvents } from './types';

const CONNECTION_CODES = new Set<ErrorCode>(['ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND']);

export interface HealthOptions {
  timeoutMs: number;
  queueLimit: number;
  offlineAfter: number;
  probeMinMs: number;
  probeMaxMs: number;
  authRetryMs: number;
  loginBudget: number;
  loginLockMs: number;
}

export interface HealthHost {
  emit<K extends keyof PoolEvents>(event: K, ...args: PoolEvents[K]): boolean;
  isClosed(): boolean;
  /** Whether the pool still tracks `e` (a swept entry must not probe on). */
  isCurrent(e: Entry): boolean;
  /** Close the device's session (it went offline). Never rejects. */
  dropSession(e: Entry): Promise<void>;
}

/**
 * Whether a failed login counts against the login budget: every one that reached the proof step —
 * a rejected AES or TPAP login, a KLAP handshake1 whose server hash did not match (the other side
 * tested a guess of the password), and any failure the transport flagged `spentLogin` (a TPAP login
 * after pake_register, whatever the device answered; a session that ended right after its login).
 * A handshake refused with HTTP 403 (Third-Party Compatibility off) sent no proof. A device's own
 * lockout after the proof step counts too (a hostile device could answer every guess with a
 * zero-second lockout); the block then lasts until the later of its time and ours.
 */
const spendsLogin = (err: KasaTapoError): boolean => err.spentLogin === true || (err.code === 'EAUTH' && err.httpStatus !== 403);

export class Health {
  constructor(
    private readonly opts: HealthOptions,
    private readonly host: HealthHost,
  ) {}

  /**
   * The hold on `e` after a refused or blocked login, or undefined: checked when a request is
   * queued and again when a queued one is about to run (requests queued before the failure must
   * not log in again either).
   */
  held(e: Entry): KasaTapoError | undefined {
    if (e.status === 'locked' && e.lastError?.code === 'ELOCKED') {
      // Nothing is sent before the time the device (or the login budget) gave; then one login at once.
      if (Date.now() < e.lockedUntil) return e.lastError;
      // After the budget's own block the count starts afresh; a device's lockout (however short)
      // leaves it counting, or a device could reset it with a zero-second lockout per guess.
      if (e.loginFails >= this.opts.loginBudget) e.loginFails = 0;
    }
    const failedLogin = e.lastError?.code === 'EAUTH' || e.lastError?.spentLogin === true;
    // Not retried: the same answer until the hold has passed (no lock-out by repeated logins).
    if (failedLogin && e.status !== 'locked' && Date.now() < e.authUntil) return e.lastError;
    return undefined;
  }

  /** Whether the pool must keep `e` (not sweep it) to remember a hold or failed logins. Never throws. */
  remembers(e: Entry, now = Date.now()): boolean {
    return e.loginFails > 0 || now < e.lockedUntil || now < e.authUntil;
  }

  /** Why a new request for `e` fails at once (counted in its stats, never sent), or undefined. */
  refusal(e: Entry): KasaTapoError | undefined {
    const hold = this.held(e);
    if (hold) return hold;
    if (e.status === 'offline') {
      return new KasaTapoError('EOFFLINE', `Device ${e.key} is offline; waiting for it to come back`, {
        host: e.config.host,
        ...(e.lastError ? { cause: e.lastError } : {}),
      });
    }
    if (e.queue.length >= this.opts.queueLimit) {
      return new KasaTapoError('EQUEUEFULL', `Too many requests waiting for ${e.key} (limit ${this.opts.queueLimit})`, { host: e.config.host });
    }
    return undefined;
  }

  setStatus(e: Entry, status: DeviceStatus, err?: KasaTapoError): void {
    const was = e.status;
    e.status = status;
    e.stats.status = status;
    if (was === status) return;
    this.host.emit('status', e.key, status, err);
    if (status === 'online' || status === 'connecting') this.host.emit(status, e.key);
  }

  countError(e: Entry, code: ErrorCode): void {
    e.stats.errors++;
    e.stats.errorsByCode[code] = (e.stats.errorsByCode[code] ?? 0) + 1;
  }

  succeeded(e: Entry): void {
    e.failures = 0;
    e.loginFails = 0;
    e.lastError = undefined;
    this.setStatus(e, 'online');
  }

  failed(e: Entry, err: KasaTapoError): void {
    this.countError(e, err.code);
    e.lastError = err;
    const spent = spendsLogin(err);
    if (spent && ++e.loginFails >= this.opts.loginBudget) {
      // The login budget is spent: no login for loginLockMs (the device's own lockout is worse).
      const until = Math.max(Date.now() + this.opts.loginLockMs, err.code === 'ELOCKED' ? (err.until ?? 0) : 0);
      err = new KasaTapoError('ELOCKED', `${e.key}: ${e.loginFails} failed logins in a row; no login is sent before ${clockTime(until)}`, {
        host: e.config.host,
        until,
        fix: 'locked',
        hint: fixFor('locked', { until }),
        cause: err,
      });
      e.lastError = err;
    }
    if (err.code === 'ELOCKED') {
      e.lockedUntil = err.until ?? Date.now() + this.opts.loginLockMs;
      // Locked again (a new time): say so even though the status stays the same.
      if (e.status === 'locked') this.host.emit('status', e.key, 'locked', err);
      else this.setStatus(e, 'locked', err);
      return;
    }
    // Each failed login in a row doubles the hold before the next one (60 s, 120 s, … by default).
    const hold = Math.min(this.opts.authRetryMs * 2 ** Math.max(0, e.loginFails - 1), Math.max(this.opts.loginLockMs, this.opts.authRetryMs));
    if (err.code === 'EAUTH') {
      e.authUntil = Date.now() + hold;
      this.setStatus(e, 'auth-error', err);
      this.host.emit('auth-error', e.key, err);
      return;
    }
    if (err.code === 'ENOTTRUSTED') {
      // A login the pool will not send (a downgrade, an unlisted AES host): nothing was sent.
      this.setStatus(e, 'error', err);
      return;
    }
    if (spent) {
      // Not a rejected password, but a login that tested one guess of it: held like EAUTH.
      e.authUntil = Date.now() + hold;
      this.setStatus(e, 'error', err);
      return;
    }
    if (CONNECTION_CODES.has(err.code)) {
      e.failures++;
      // A connect timeout (nothing answered at the TCP level for timeoutMs: the device is off or out
      // of range) takes the device offline at once, whatever offlineAfter says: each further request
      // would hold the queue for a whole timeout, where a refusal costs a millisecond. The probe
      // brings it back as soon as it accepts connections again. Timeouts waiting for an answer on an
      // open connection (a slow device) still count one failure each.
      if (e.failures >= this.opts.offlineAfter || isConnectTimeout(err)) this.goOffline(e, err);
      else this.setStatus(e, 'error', err);
    }
  }

  private goOffline(e: Entry, err: KasaTapoError): void {
    if (e.status === 'offline') return;
    this.setStatus(e, 'offline', err);
    this.host.emit('offline', e.key, err);
    const queued = e.queue.splice(0);
    e.stats.queueDepth = 0;
    for (const j of queued) {
      this.countError(e, 'EOFFLINE');
      j.reject(new KasaTapoError('EOFFLINE', `Device ${e.key} went offline`, { host: e.config.host, cause: err }));
    }
    void this.host.dropSession(e);
    e.probeDelay = this.opts.probeMinMs;
    this.scheduleProbe(e);
  }

  private scheduleProbe(e: Entry): void {
    if (this.host.isClosed()) return;
    clearTimeout(e.probeTimer);
    e.probeTimer = setTimeout(() => {
      e.probeTimer = undefined;
      void this.probe(e).then((up) => {
        // Closed, back already, or swept while probing (a forgotten entry must not probe on).
        if (this.host.isClosed() || e.status !== 'offline' || !this.host.isCurrent(e)) return;
        if (up) {
          e.failures = 0;
          this.setStatus(e, 'online');
        } else {
          e.probeDelay = Math.min(e.probeDelay * 2, this.opts.probeMaxMs);
          this.scheduleProbe(e);
        }
      });
    }, e.probeDelay);
    e.probeTimer.unref?.();
  }

  /** A light probe: can a TCP connection be opened to the device's port? Never rejects. */
  private probe(e: Entry): Promise<boolean> {
    const port = e.port() ?? (e.transport ? DEFAULT_PORTS[e.transport] : DEFAULT_PORTS.xor);
    return new Promise((resolve) => {
      const sock = net.connect({ host: e.config.host, port });
      e.probeSocket = sock;
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        sock.destroy();
        if (e.probeSocket === sock) e.probeSocket = undefined;
        resolve(ok);
      };
      // close() destroys the socket: settle then (as "down"; the result is ignored once closed).
      sock.once('close', () => done(false));
      const timer = setTimeout(() => done(false), Math.min(this.opts.timeoutMs, PROBE_TIMEOUT_MS));
      sock.once('connect', () => done(true));
      sock.once('error', () => done(false));
    });
  }

  /** Stop probing `e` (sweep, close). */
  stop(e: Entry): void {
    clearTimeout(e.probeTimer);
    e.probeSocket?.destroy();
  }
}
