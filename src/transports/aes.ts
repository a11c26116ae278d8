/**
 * Tapo "AES" (securePassthrough) transport over HTTP, for older Tapo firmware.
 *
 * Handshake: POST /app `{"method":"handshake","params":{"key":<our RSA-1024 SPKI PEM>}}`; the device
 * answers a 16-byte AES key and 16-byte IV encrypted to our public key with RSA PKCS#1 v1.5, and a
 * `TP_SESSIONID`/`SESSIONID` cookie with TIMEOUT. Then `login_device` (v2: SHA-1-hex password2, or
 * v1: base64 password) inside the envelope returns a token; every later request goes to
 * /app?token=…. The login shows the device the password (v1) or a hash as good as it (v2), so it is
 * sent only where src/trust.ts allows, in the one version chosen (default 2): a -1501 answer is
 * EAUTH, never a retry with the other version. `probe()` does the RSA handshake alone (no login,
 * no secret) to tell whether a host speaks AES at all. Encryption: AES-128-CBC, PKCS#7, base64, with the same key and IV for every message
 * in both directions, wrapped as `{"method":"securePassthrough","params":{"request":…}}`; the
 * answer's outer error_code is checked before the inner one. The math lives in crypto/aes.ts and
 * crypto/rsa.ts.
 */
import type { KeyObject } from 'node:crypto';
import { HINTS, KasaTapoError } from '../errors';
import { AesCipher, aesLoginParams } from '../crypto/aes';
import { generateRsaKeyPair, rsaPkcs1Decrypt, type RsaKeyPair } from '../crypto/rsa';
import { isObject, parseJsonObject } from '../json';
import { warnDefaultCredentials } from '../trust';
import type { Credentials, TransportOptions } from '../types';
import {
  DEFAULT_CREDENTIALS,
  HttpSessionTransport,
  LOCKOUT_CODE,
  SMART_AUTH_CODES,
  lockedError,
  parseSessionCookie,
  renewalDeadline,
  type HttpSession,
} from './http';

interface AesSession extends HttpSession {
  cipher: AesCipher;
  /** Every request header of the session (built once: the HTTP client reuses its checked head). */
  headers: Record<string, string>;
  token?: string;
}

const JSON_HEADERS = Object.freeze({ 'Content-Type': 'application/json', Accept: 'application/json', requestByApp: 'true' });
const SESSION_TIMEOUT = 9999;
const LOGIN_ERROR = -1501;

/** A device code for a message: bounded, whatever its JSON type. Never throws. */
const codeText = (c: unknown): string => (Array.isArray(c) ? 'array' : typeof c === 'object' && c !== null ? 'object' : String(c).slice(0, 40));

const sessionGoneError = (host: string): KasaTapoError =>
  new KasaTapoError('ESESSION', `${host} ended the AES session (error ${SESSION_TIMEOUT})`, { host, deviceCode: SESSION_TIMEOUT });

/**
 * The session cipher from an AES handshake answer (`{"error_code":0,"result":{"key":<b64 RSA block>}}`).
 * Pure. Throws KasaTapoError: EUNSUPPORTED (1003: the device speaks KLAP), EDEVICE (other codes),
 * EPROTOCOL (malformed answer, no key, bad RSA block or key length).
 */
export function aesCipherFromHandshake(body: Buffer, privateKey: KeyObject, host: string): AesCipher {
  const answer = parseJsonObject(body, 'handshake answer');
  const code = answer.error_code;
  const d = { host, method: 'handshake' };
  if (code === 1003) {
    throw new KasaTapoError('EUNSUPPORTED', `${host} refused the AES handshake (error 1003): the device speaks KLAP`, {
      ...d,
      deviceCode: 1003,
      hint: 'Use transport "klap" or "auto"',
    });
  }
  if (code !== 0) {
    throw new KasaTapoError('EDEVICE', `${host} refused the AES handshake (error ${codeText(code)})`, {
      ...d,
      ...(typeof code === 'number' ? { deviceCode: code } : {}),
    });
  }
  const key = isObject(answer.result) ? answer.result.key : undefined;
  if (typeof key !== 'string') throw new KasaTapoError('EPROTOCOL', `${host}: the AES handshake answer has no key`, d);
  const keyIv = rsaPkcs1Decrypt(privateKey, Buffer.from(key, 'base64'), 32);
  return new AesCipher(keyIv.subarray(0, 16), keyIv.subarray(16, 32));
}

/**
 * The inner answer text of a securePassthrough answer body. Pure. Checks the outer error_code
 * first; accepts an unencrypted inner JSON some firmware sends. Throws KasaTapoError: ESESSION
 * (outer 9999), EDEVICE (other outer codes), EPROTOCOL (malformed envelope, no response, bad
 * ciphertext or padding).
 */
export function openAesEnvelope(cipher: AesCipher, body: Buffer, host: string, httpStatus = 200): string {
  const d = { host, httpStatus };
  const outer = parseJsonObject(body);
  const code = outer.error_code;
  if (code === SESSION_TIMEOUT) throw sessionGoneError(host);
  if (code !== 0) {
    throw new KasaTapoError('EDEVICE', `${host} refused the AES envelope (error ${codeText(code)})`, {
      ...d,
      ...(typeof code === 'number' ? { deviceCode: code } : {}),
    });
  }
  const response = isObject(outer.result) ? outer.result.response : undefined;
  if (typeof response !== 'string') throw new KasaTapoError('EPROTOCOL', `${host}: the AES answer has no response`, d);
  try {
    return cipher.decrypt(response);
  } catch (e) {
    // Some firmware answers unencrypted JSON inside the envelope.
    if (/^\s*[{[]/.test(response)) return response;
    throw e;
  }
}

export class AesTransport extends HttpSessionTransport<AesSession> {
  readonly kind = 'aes' as const;
  private keyPairPromise?: Promise<RsaKeyPair>;
  private usedDefault = false;

  /** True when the last login used TP-Link's default account (only tried without user credentials). */
  get defaultCredentials(): boolean {
    return this.usedDefault;
  }

  /** Never throws. */
  constructor(opts: TransportOptions) {
    super(opts);
  }

  /** The RSA key pair, made (or fetched from opts.keyPair) once per transport. */
  private keyPair(): Promise<RsaKeyPair> {
    this.keyPairPromise ??= (this.opts.keyPair ? this.opts.keyPair() : generateRsaKeyPair()).catch((e: unknown) => {
      this.keyPairPromise = undefined;
      throw e;
    });
    return this.keyPairPromise;
  }

  /**
   * Handshake and log in, once: the user's credentials in the configured login version (default 2),
   * or TP-Link's default account when there are none. No second login after a -1501: that is
   * EAUTH (no downgrade to login v1, no other account after the user's).
   * Throws KasaTapoError: EAUTH (login refused, or 403 on the handshake), ELOCKED (-40404: the
   * device blocks logins; `until` from its sec_left), EUNSUPPORTED (1003: the
   * device wants KLAP; 404), EDEVICE (other device codes), EPROTOCOL, network errors.
   */
  protected async handshake(): Promise<AesSession> {
    const version = this.opts.loginVersion ?? 2;
    const user = this.opts.credentials;
    const creds: Credentials = user ?? DEFAULT_CREDENTIALS.TAPO;
    const s = await this.rsaHandshake();
    const code = await this.login(s, creds, version);
    if (code === 0) {
      const tapo = DEFAULT_CREDENTIALS.TAPO;
      this.usedDefault = creds.username === tapo.username && creds.password === tapo.password;
      if (this.usedDefault) warnDefaultCredentials(this.opts.logger, this.host, this.port);
      return s;
    }
    if (code !== LOGIN_ERROR) throw this.loginError(code);
    this.debug(`login v${version} refused (${LOGIN_ERROR})`);
    const v1 =
      version === 2
        ? '. Firmware older than login v2 (Scan shows "login v1" for it) needs transport "aes-v1", which only you can choose for this device in the pool\'s list (login v1 sends the password itself)'
        : '';
    throw new KasaTapoError('EAUTH', `${this.host} rejected the credentials (AES login v${version})${v1}`, {
      host: this.host,
      hint: HINTS.auth,
      deviceCode: LOGIN_ERROR,
    });
  }

  /**
   * The RSA handshake alone, no login: resolves when the host answers it like an AES device (then
   * forgets the session). Sends no credentials. Throws like handshake() minus EAUTH's login case.
   */
  async probe(): Promise<void> {
    await this.rsaHandshake();
  }

  private loginError(code: number): KasaTapoError {
    const d = { host: this.host, deviceCode: code, method: 'login_device' };
    if (code === SESSION_TIMEOUT) return new KasaTapoError('ESESSION', `${this.host} dropped the AES session during login`, d);
    if (SMART_AUTH_CODES.has(code)) return new KasaTapoError('EAUTH', `${this.host} refused the login (error ${code})`, { ...d, hint: HINTS.auth });
    return new KasaTapoError('EDEVICE', `${this.host} refused the login (error ${code})`, d);
  }

  private async rsaHandshake(): Promise<AesSession> {
    const kp = await this.keyPair();
    const body = Buffer.from(JSON.stringify({ method: 'handshake', params: { key: kp.publicPem } }));
    const r = await this.http.post('/app', body, JSON_HEADERS);
    if (r.status !== 200) throw this.statusError(r.status, 'AES handshake');
    const cipher = aesCipherFromHandshake(r.body, kp.privateKey, this.host);
    const cookie = parseSessionCookie(r.headers['set-cookie']);
    return {
      cipher,
      headers: cookie.id ? Object.freeze({ ...JSON_HEADERS, Cookie: `TP_SESSIONID=${cookie.id}` }) : JSON_HEADERS,
      renewAt: renewalDeadline(cookie.timeoutS),
    };
  }

  /** Resolves with the inner error_code (0 = logged in; the token is stored on the session). */
  private async login(s: AesSession, creds: Credentials, version: 1 | 2): Promise<number> {
    const inner = JSON.stringify({
      method: 'login_device',
      params: aesLoginParams(version, creds.username, creds.password),
      request_time_milis: Date.now(),
    });
    const answer = parseJsonObject(await this.passthrough(s, '/app', inner), 'login answer');
    const code = typeof answer.error_code === 'number' ? answer.error_code : -100000;
    if (code === LOCKOUT_CODE) throw lockedError(this.host, answer, 'login_device');
    if (code !== 0) return code;
    const token = isObject(answer.result) ? answer.result.token : undefined;
    // The token goes into the request path: only characters a URL query carries as they are.
    if (typeof token !== 'string' || !/^[\w.~-]{1,512}$/.test(token))
      throw new KasaTapoError('EPROTOCOL', `${this.host}: the login answer has no usable token`, { host: this.host });
    s.token = token;
    return 0;
  }

  /** One securePassthrough round trip; resolves with the inner answer text. */
  private async passthrough(s: AesSession, path: string, inner: string): Promise<string> {
    const body = Buffer.from(JSON.stringify({ method: 'securePassthrough', params: { request: s.cipher.encrypt(inner) } }));
    const r = await this.http.post(path, body, s.headers);
    if (r.status !== 200)
      throw new KasaTapoError('EPROTOCOL', `${this.host} answered an AES request with HTTP ${r.status}`, { host: this.host, httpStatus: r.status });
    try {
      return openAesEnvelope(s.cipher, r.body, this.host, r.status);
    } catch (e) {
      // ESESSION (outer 9999) and EDEVICE (other outer code) end the session.
      if (e instanceof KasaTapoError && (e.code === 'ESESSION' || e.code === 'EDEVICE')) this.session = undefined;
      throw e;
    }
  }

  private sessionGone(): KasaTapoError {
    this.session = undefined;
    return sessionGoneError(this.host);
  }

  /** Throws KasaTapoError: ESESSION (9999 outer or inner, or no token), EDEVICE (outer error), EPROTOCOL, network errors. */
  protected async exchange(s: AesSession, request: string): Promise<string> {
    if (!s.token) throw this.sessionGone();
    return this.passthrough(s, `/app?token=${s.token}`, request);
  }

  protected override inspect(answer: unknown): void {
    if (isObject(answer) && answer.error_code === SESSION_TIMEOUT) throw this.sessionGone();
  }
}
