/**
 * TPAP transport (Tapo and Kasa firmware since late 2025, e.g. P110 1.4.x, L900 1.4.x, P125M 1.4.4),
 * over plain HTTP (the `tls:0` profile of docs/protocols.md#tpap).
 *
 * Login: three JSON calls `POST /` `{"method":"login","params":{"sub_method":…}}`. `discover` answers
 * the device's TPAP profile (tls, dac, noc, pake) and MAC; no profile at all means the device speaks
 * KLAP v2 (tpapSpeaksKlap: connect() switches), TLS profiles are refused with a reason, `noc` is
 * ignored. The `pake` list picks the passcode type: the account password (`userpw`, `shared_token`)
 * or the MAC-derived `default_userpw` (crypto/tpap-credentials.ts). `pake_register` sends 32 random
 * bytes, suite 1 and the three AEADs; the device answers its random, salt, PBKDF2 iteration count,
 * SPAKE2+ share R, the chosen cipher and an optional credential transform (`extra_crypt`).
 * `pake_share` sends our share L and our confirmation HMAC(KcA, R); the device answers its own
 * confirmation HMAC(KcB, L), a session token (`sessionId` or `stok`) and `start_seq`. We check the
 * device's confirmation (constant time) before sending anything on the session: a device that does
 * not know the password cannot produce it. A -2203/-1501 at pake_share (or a wrong confirmation) is
 * EAUTH after that one login — never retried, since devices lock out after repeated failures.
 *
 * Data: `POST /stok=<token>/ds`, body `uint32_BE(seq) ‖ AEAD(SMART JSON) ‖ tag` with AES-128-CCM (or
 * AES-256-CCM / ChaCha20-Poly1305, whichever the device chose), nonce = base_nonce[0:8] ‖ seq. `seq`
 * starts at start_seq and advances on every request, failed ones included (a nonce is never reused).
 * The device answers a frame with the same seq, or an unencrypted JSON error (`-2203`, `-40401`, …:
 * TPAP_SESSION_CODES), told apart by its content type before any decryption. Such a code, HTTP 401/403 or
 * an answer that fails authentication drops the session and throws ESESSION; the protocol layer
 * (protocols/retry.ts) then logs in again once and replays the request. Sessions are renewed
 * proactively after `tpapRenewAfterMs` (default 1 h). The maths lives in crypto/tpap.ts; the
 * client's elliptic-curve work runs on a worker thread (crypto/tpap-worker.ts), off the event loop.
 */
import { randomBytes } from 'node:crypto';
import { KasaTapoError, markSpentLogin } from '../errors';
import { fixFor } from '../fixes';
import { isObject, parseJsonObject } from '../json';
import {
  TPAP_CIPHERS,
  TpapCipher,
  isTpapCipher,
  tpapCredentialAsync,
  tpapCredentialWithoutPassword,
  tpapDefaultPasscode,
  tpapDeriveSecrets,
  tpapEqual,
  tpapPasscodeType,
  tpapRegisterUsername,
  tpapTransformName,
  type TpapCipherName,
  type TpapExtraCrypt,
} from '../crypto/tpap';
import { tpapClientKeys } from '../crypto/tpap-worker';
import type { TransportOptions } from '../types';
import { HttpSessionTransport, LOCKOUT_CODE, lockedError, monotonicMs, type HttpResponse, type HttpSession } from './http';

/** Proactive renewal of a TPAP session (docs/protocols.md#tpap-session-lifetime-and-errors recommends about an hour). */
export const TPAP_DEFAULT_RENEW_MS = 3_600_000;
/**
 * Highest PBKDF2 iteration count we accept from a device (a cost bound: each login costs the
 * client this many HMAC-SHA256 rounds on libuv's shared thread pool). Real devices use
 * 3,000-10,000 (docs/protocols.md); 20,000 leaves room and keeps a hostile device's login under ~60 ms.
 */
export const TPAP_MAX_ITERATIONS = 20_000;
/** Device codes meaning "wrong credentials" at pake_share. */
export const TPAP_AUTH_CODES: ReadonlySet<number> = new Set([-2203, -1501, -2101]);
/** Device code for an expired or unknown session token on the data channel. */
export const TPAP_SESSION_EXPIRED = -2203;
/**
 * Unencrypted codes on the data channel that end the session (ESESSION: the protocol layer logs in
 * again once and replays the request): -2203 stat access error (the token expired), -40401 session
 * expired, -40413 invalid nonce, 9999 session timeout, 1002 transport not available. At pake_share
 * they are no reason to log in again: a failed proof is never retried.
 */
export const TPAP_SESSION_CODES: ReadonlySet<number> = new Set([TPAP_SESSION_EXPIRED, -40401, -40413, 9999, 1002]);
/** Device code for "locked after repeated failures" (with `sec_left`). */
export const TPAP_LOCKED = LOCKOUT_CODE;

const JSON_HEADERS = Object.freeze({ 'Content-Type': 'application/json', Accept: 'application/json' });
const OCTET = Object.freeze({ 'Content-Type': 'application/octet-stream' });

/** The `tpap` object of discovery and of the login `discover` call. */
export interface TpapProfile {
  tls?: unknown;
  dac?: unknown;
  noc?: unknown;
  pake?: unknown;
  port?: unknown;
  user_hash_type?: unknown;
}

/**
 * Why we cannot log in to a device with this TPAP profile, or undefined when we can (README.md,
 * TPAP dialects): `tls` 1 and 2 (TPAP over HTTPS) are not implemented; `noc` never blocks a login
 * (devices announcing `noc: 1`, e.g. a P125M with `dac: 1, noc: 1`, log in with the account
 * password); every `pake` list has a passcode type (crypto/tpap-credentials.ts tpapPasscodeType).
 * Pure; never throws.
 */
export function tpapProfileIssue(p: TpapProfile | undefined): string | undefined {
  if (!p || typeof p !== 'object') return undefined;
  const tls = typeof p.tls === 'number' ? p.tls : 0;
  if (tls >= 1) {
    return tls >= 2
      ? `This device offers TPAP only over HTTPS checked against the TP-Link device root certificate (tpap.tls ${tls}), which is not supported yet`
      : `This device offers TPAP only over HTTPS (tpap.tls ${tls}: cameras, robot vacuums), which is not supported yet`;
  }
  return undefined;
}

/**
 * Errors of a login `discover` that named no TPAP profile: the device speaks KLAP v2 (see tpapSpeaksKlap).
 * Process-wide cache: a weak mark on those error objects; each carries it to its own caller only.
 */
const speaksKlap = new WeakSet<object>();

/**
 * Whether `e` says the device announced TPAP but its login `discover` offered no `tpap` profile
 * (a KP125M on 1.4.1 answers `{tpap_preferred:false}` and speaks KLAP v2 on the same port): connect()
 * then uses KLAP v2 there, as for a `KLAP` discovery answer. Never throws.
 */
export function tpapSpeaksKlap(e: unknown): boolean {
  return typeof e === 'object' && e !== null && speaksKlap.has(e);
}

interface TpapSession extends HttpSession {
  cipher: TpapCipher;
  stok: string;
  /** The sequence number of the next request. */
  seq: number;
}

/**
 * Mark a failed login that reached the proof step (KasaTapoError.spentLogin). Not ECLOSED (ours, not
 * the device's) nor ENOTTRUSTED (our own refusal: no share was sent, and its reason must stay visible).
 */
function spent(e: unknown): unknown {
  if (e instanceof KasaTapoError && e.code !== 'ECLOSED' && e.code !== 'ENOTTRUSTED') markSpentLogin(e);
  return e;
}

const b64 = (v: unknown): Buffer | undefined => (typeof v === 'string' && /^[A-Za-z0-9+/=\s]*$/.test(v) ? Buffer.from(v, 'base64') : undefined);

/** Content type says JSON, or (no content type) the body is a JSON object. Never throws. */
function isJsonAnswer(r: HttpResponse): boolean {
  const ct = String(r.headers['content-type'] ?? '').toLowerCase();
  if (ct.includes('json')) return true;
  if (ct) return false;
  if (r.body[0] !== 0x7b) return false;
  try {
    parseJsonObject(r.body);
    return true;
  } catch {
    return false;
  }
}

export class TpapTransport extends HttpSessionTransport<TpapSession> {
  readonly kind = 'tpap' as const;
  /** Logins attempted (each is discover + pake_register + pake_share); for tests and stats. */
  logins = 0;
  /** The last login used a credential transform without the password (allowed by tpapAllowNoPassword). */
  private noPassword = false;

  /** Flagged like a device on TP-Link's default account: the login proved nothing about the password. */
  get defaultCredentials(): boolean {
    return this.noPassword;
  }

  /** Never throws. */
  constructor(opts: TransportOptions) {
    super(opts);
  }

  protected override due(s: TpapSession): boolean {
    return s.seq >= 0xffffffff || super.due(s);
  }

  private codeError(code: unknown, step: string): KasaTapoError {
    const d = { host: this.host, method: `login ${step}`, ...(typeof code === 'number' ? { deviceCode: code } : {}) };
    return new KasaTapoError('EDEVICE', `${this.host} refused the TPAP ${step} (error ${String(code).slice(0, 20)})`, d);
  }

  /** One login call; resolves with `result`. Throws KasaTapoError (status, JSON, error_code ≠ 0 as EDEVICE unless `onCode` maps it). */
  private async call(
    step: string,
    params: Record<string, unknown>,
    onCode?: (code: unknown, answer: Record<string, unknown>) => KasaTapoError | undefined,
  ): Promise<Record<string, unknown>> {
    const r = await this.http.post('/', Buffer.from(JSON.stringify({ method: 'login', params: { sub_method: step, ...params } })), JSON_HEADERS);
    if (r.status !== 200) throw this.statusError(r.status, `TPAP ${step}`);
    const answer = parseJsonObject(r.body, `TPAP ${step} answer`);
    if (answer.error_code === TPAP_LOCKED) throw lockedError(this.host, answer, `TPAP ${step}`);
    if (answer.error_code !== 0) throw onCode?.(answer.error_code, answer) ?? this.codeError(answer.error_code, step);
    if (!isObject(answer.result)) throw new KasaTapoError('EPROTOCOL', `${this.host}: the TPAP ${step} answer has no result`, { host: this.host });
    return answer.result;
  }

  private unsupported(reason: string): KasaTapoError {
    return new KasaTapoError('EUNSUPPORTED', `${this.host}: ${reason}`, { host: this.host });
  }

  private bad(what: string): KasaTapoError {
    return new KasaTapoError('EPROTOCOL', `${this.host}: the TPAP ${what}`, { host: this.host });
  }

  /**
   * discover → pake_register → pake_share, and the check of the device's confirmation.
   * Throws KasaTapoError: EAUTH (-2203/-1501/-2101 at pake_share, a wrong device confirmation; 403),
   * ELOCKED (-40404 at any login step: the device blocks logins, `until` from its sec_left),
   * EUNSUPPORTED (no TPAP profile: tpapSpeaksKlap; a TLS profile, an unknown credential transform, a
   * suite or cipher we did not offer; 404), ENOTTRUSTED (a transform without the password, not
   * allowed), EDEVICE (other device codes), EPROTOCOL (malformed answers, no MAC for the default
   * passcode, too many crypt rounds), network errors.
   */
  protected async handshake(): Promise<TpapSession> {
    this.logins++;
    const disc = await this.call('discover', {});
    if (!isObject(disc.tpap)) {
      // No profile: this firmware announces TPAP over UDP but logs in with KLAP v2 (README.md, TPAP).
      const e = new KasaTapoError('EUNSUPPORTED', `${this.host} offers no TPAP profile in its login discover (it speaks KLAP)`, {
        host: this.host,
        method: 'login discover',
        hint: 'Use the klap transport for this device',
      });
      speaksKlap.add(e);
      throw e;
    }
    const profile = disc.tpap as TpapProfile;
    const issue = tpapProfileIssue(profile);
    if (issue) throw this.unsupported(issue);
    const mac = typeof disc.mac === 'string' ? disc.mac : '';
    // The passcode type follows the profile's pake list; default_userpw is derived from the MAC alone
    // (it needs no account, and proves nothing about one: flagged like default credentials).
    const passcodeType = tpapPasscodeType(profile.pake);
    let defaultPasscode: string | undefined;
    if (passcodeType === 'default_userpw') {
      try {
        defaultPasscode = tpapDefaultPasscode(mac);
      } catch (e) {
        throw this.bad(`discover answer has no usable MAC for the default passcode (${e instanceof Error ? e.message : String(e)})`);
      }
    }

    // All three AEADs, AES-128-CCM first: firmware that accepts only ChaCha20-Poly1305 or AES-256-CCM picks its own.
    const offered: TpapCipherName[] = (this.opts.tpapCiphers?.length ? this.opts.tpapCiphers : TPAP_CIPHERS).filter(isTpapCipher);
    const userRandom = randomBytes(32);
    const reg = await this.call('pake_register', {
      username: tpapRegisterUsername(profile.user_hash_type),
      user_random: userRandom.toString('base64'),
      cipher_suites: [1],
      encryption: offered,
      passcode_type: passcodeType,
      stok: null,
    });
    // From here on the login has reached the proof step: a share of ours would let the other side
    // test one guess of the password. Whatever fails now counts against the pool's login budget.
    try {
      if (reg.cipher_suites !== 1 && !(Array.isArray(reg.cipher_suites) && reg.cipher_suites.length === 1 && reg.cipher_suites[0] === 1)) {
        throw this.unsupported(`the device chose TPAP cipher suite ${JSON.stringify(reg.cipher_suites ?? null).slice(0, 20)}, but only suite 1 was offered`);
      }
      const cipher: unknown = Array.isArray(reg.encryption) ? reg.encryption[0] : reg.encryption;
      if (!isTpapCipher(cipher) || !offered.includes(cipher)) {
        throw this.unsupported(`the device chose the TPAP cipher "${String(cipher).slice(0, 30)}", which was not offered (${offered.join(', ')})`);
      }
      const iterations = reg.iterations;
      if (typeof iterations !== 'number' || !Number.isInteger(iterations) || iterations < 1 || iterations > TPAP_MAX_ITERATIONS) {
        throw this.bad(`register answer has an invalid iteration count (${String(iterations).slice(0, 20)})`);
      }
      const devRandom = b64(reg.dev_random);
      const salt = b64(reg.dev_salt);
      const devShare = b64(reg.dev_share);
      if (!devRandom?.length || !salt?.length || devShare?.length !== 65) throw this.bad('register answer lacks dev_random, dev_salt or a 65-byte dev_share');
      const extra = isObject(reg.extra_crypt) && Object.keys(reg.extra_crypt).length ? (reg.extra_crypt as TpapExtraCrypt) : undefined;
      const creds = this.opts.credentials ?? { username: '', password: '' };
      // The default passcode takes no transform; the password's form is the device's extra_crypt.
      const transform = defaultPasscode !== undefined ? 'default passcode' : tpapTransformName(extra);
      const withoutPassword = defaultPasscode !== undefined || tpapCredentialWithoutPassword(extra, creds.username, mac);
      if (defaultPasscode === undefined && withoutPassword && !this.opts.tpapAllowNoPassword) {
        throw new KasaTapoError('ENOTTRUSTED', `${this.host} asks for a TPAP login without the password (transform ${transform}); refused`, {
          host: this.host,
          fix: 'no-password',
          hint: fixFor('no-password', { transform }),
        });
      }
      let cred: string;
      try {
        cred = defaultPasscode ?? (await tpapCredentialAsync(extra, creds.username, creds.password, mac));
      } catch (e) {
        if (e instanceof KasaTapoError) throw new KasaTapoError(e.code, `${this.host}: ${e.message}`, { host: this.host });
        throw this.unsupported(e instanceof Error ? e.message : String(e));
      }
      if (this.closed) throw new KasaTapoError('ECLOSED', `The transport to ${this.host} is closed`, { host: this.host });
      this.noPassword = withoutPassword;

      const { w, h } = await tpapDeriveSecrets(cred, salt, iterations);
      if (this.closed) throw new KasaTapoError('ECLOSED', `The transport to ${this.host} is closed`, { host: this.host });
      // The four scalar multiplications run on a worker thread (crypto/tpap-worker.ts).
      const keys = await tpapClientKeys({ w, h, R: devShare, userRandom, devRandom });
      const L = keys.L;
      const authError = (why: string, code?: number): KasaTapoError =>
        new KasaTapoError('EAUTH', `${this.host} rejected the TPAP login (${why}; credential transform tried: ${transform})`, {
          host: this.host,
          fix: 'tpap-credentials',
          hint: fixFor('tpap-credentials', { transform }),
          method: 'login pake_share',
          ...(code !== undefined ? { deviceCode: code } : {}),
        });
      const share = await this.call(
        'pake_share',
        {
          user_share: L.toString('base64'),
          user_confirm: keys.userConfirm.toString('base64'),
          // DAC attestation (tls 0 only): a 32-byte nonce the device signs with its certificate's key.
          ...((profile.dac === 1 || profile.dac === true) && !profile.tls ? { dac_nonce: randomBytes(32).toString('base64') } : {}),
        },
        (code) => (typeof code === 'number' && TPAP_AUTH_CODES.has(code) ? authError(`error ${code}`, code) : undefined),
      );
      const devConfirm = b64(share.dev_confirm);
      if (!devConfirm || !tpapEqual(devConfirm, keys.devConfirm)) throw authError('the device could not prove it knows the password');
      const stok = typeof share.sessionId === 'string' && share.sessionId ? share.sessionId : typeof share.stok === 'string' ? share.stok : '';
      if (!stok || !/^[\w.~-]{1,256}$/.test(stok)) throw this.bad('share answer has no usable session token');
      const startSeq = share.start_seq;
      if (typeof startSeq !== 'number' || !Number.isInteger(startSeq) || startSeq < 0 || startSeq > 0xffffffff)
        throw this.bad('share answer has no valid start_seq');
      this.debug(`login done (${cipher}, ${iterations} iterations, transform ${transform})`);
      return {
        cipher: new TpapCipher(cipher, keys.sharedKey),
        stok,
        seq: startSeq,
        renewAt: monotonicMs() + (this.opts.tpapRenewAfterMs ?? TPAP_DEFAULT_RENEW_MS),
      };
    } catch (e) {
      throw spent(e);
    }
  }

  private sessionGone(why: string, d: { httpStatus?: number; deviceCode?: number } = {}): KasaTapoError {
    this.session = undefined;
    return new KasaTapoError('ESESSION', `${this.host} ended the TPAP session (${why})`, { host: this.host, ...d });
  }

  /**
   * One request on the data channel. Throws KasaTapoError: ESESSION (TPAP_SESSION_CODES, HTTP
   * 401/403, an answer that fails authentication or carries another seq — the session is dropped),
   * EDEVICE (another unencrypted error code), EPROTOCOL (other HTTP status), network errors.
   */
  protected async exchange(s: TpapSession, request: string): Promise<string> {
    const seq = s.seq;
    s.seq++; // before sending: a failed request still used this nonce
    const r = await this.http.post(`/stok=${s.stok}/ds`, s.cipher.seal(seq, request), OCTET);
    if (r.status === 401 || r.status === 403) throw this.sessionGone(`HTTP ${r.status}`, { httpStatus: r.status });
    if (r.status !== 200) {
      throw new KasaTapoError('EPROTOCOL', `${this.host} answered a TPAP request with HTTP ${r.status}`, { host: this.host, httpStatus: r.status });
    }
    if (isJsonAnswer(r)) {
      const answer = parseJsonObject(r.body, 'TPAP error answer');
      const code = answer.error_code;
      if (typeof code === 'number' && TPAP_SESSION_CODES.has(code)) throw this.sessionGone(`session ended, error ${code}`, { deviceCode: code });
      throw new KasaTapoError('EDEVICE', `${this.host} refused a TPAP request (error ${String(code).slice(0, 20)})`, {
        host: this.host,
        ...(typeof code === 'number' ? { deviceCode: code } : {}),
      });
    }
    try {
      return s.cipher.open(r.body, seq).plain.toString('utf8');
    } catch (e) {
      throw this.sessionGone(e instanceof Error ? e.message : 'undecryptable answer');
    }
  }
}
