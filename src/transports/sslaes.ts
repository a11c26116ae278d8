/**
 * The SSL-AES ("secure login") client of Tapo cameras, doorbells and the H200 hub, over HTTPS
 * (docs/protocols.md): handshake1 with a client nonce, the device's proof that it knows the
 * password checked before anything that depends on it is sent (SHA-256, then the MD5 of older
 * firmware), handshake2 with our digest, then `securePassthrough` requests signed with `Seq` and
 * `Tapo_tag`. One session at a time; an ended session (−40401, HTTP 500) logs in again once per
 * request. Not yet a `Transport` of connect(): the SmartCam protocol on top comes next.
 *
 * Trust: the login shows the device a digest of the password hash only after the device proved it
 * knows that hash; who may receive it still follows the AES rule (docs/security.md): the caller
 * decides, and a failed proof counts as a spent login (KasaTapoError.spentLogin).
 */
import { KasaTapoError, markSpentLogin } from '../errors';
import { isObject, parseJsonObject } from '../json';
import { sslAesCnonce, sslAesDigest, sslAesMatchConfirm, sslAesSessionCipher, sslAesTag } from '../crypto/sslaes';
import type { AesCipher } from '../crypto/aes';
import type { Credentials } from '../types';
import { HttpClient } from './http-client';
import { lockedError } from './http';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS } from '../defaults';

/** The device's "send the digest" answer to handshake1, and "wrong password" at handshake2. */
const NONCE_CODE = -40413;
/** The session ended (log in again); also the outer code of a blocked login. */
const SESSION_CODE = -40401;
/** The inner code of a blocked login (`data.code`), with `data.sec_left`. */
const BLOCKED_CODE = -40404;
/** The password of an unbound device (no account configured): login versions 2 and 4. */
export const SSLAES_DEFAULT_PASSWORD = 'admin';
/** The password of an unbound device whose discovery `encrypt_type` is at most 3 (login version 3). */
export const SSLAES_LV3_DEFAULT_PASSWORD = 'TPL075526460603';
/**
 * TLS as cameras need it: no certificate verification (self-signed, often RSA-1024), TLS 1.2 or 1.3,
 * and for TLS 1.2 the cipher list older cameras negotiate.
 */
const TLS_OPTIONS = Object.freeze({
  rejectUnauthorized: false,
  minVersion: 'TLSv1.2' as const,
  ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:AES256-GCM-SHA384:AES256-SHA256:AES128-GCM-SHA256:AES128-SHA256:AES256-SHA',
});

export interface SslAesOptions {
  host: string;
  /** Default 443. */
  port?: number;
  /** None: an unbound device's default password (`admin`, or the login-version-3 one). */
  credentials?: Credentials;
  /** The highest `encrypt_type` of the discovery answer; 3 selects the login-version-3 default password. */
  loginVersion?: number;
  timeoutMs?: number;
}

interface Session {
  stok: string;
  seq: number;
  cipher: AesCipher;
  hash: string;
  cnonce: string;
}

export class SslAesClient {
  readonly host: string;
  readonly port: number;
  /** Logins attempted (handshake1 sent). */
  logins = 0;
  private readonly http: HttpClient;
  private readonly headers: Readonly<Record<string, string>>;
  private session: Session | undefined;
  private closed = false;

  /** Never throws. */
  constructor(private readonly opts: SslAesOptions) {
    this.host = opts.host;
    this.port = opts.port ?? 443;
    this.http = new HttpClient(this.host, this.port, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, DEFAULT_MAX_RESPONSE_BYTES, TLS_OPTIONS);
    const site = this.port === 443 ? `https://${this.host}` : `https://${this.host}:${this.port}`;
    this.headers = Object.freeze({
      'Content-Type': 'application/json; charset=UTF-8',
      requestByApp: 'true',
      Accept: 'application/json',
      'User-Agent': 'Tapo CameraClient Android',
      Referer: site,
    });
  }

  /**
   * Send one SmartCam request (a JSON object) and resolve with the device's answer object. Logs in
   * first when there is no session, and once more when the device ended it. Throws KasaTapoError:
   * EAUTH (the device could not prove it knows the password; a wrong password at handshake2),
   * ELOCKED (the device blocks logins), EDEVICE (another error code), EPROTOCOL, ETIMEDOUT and the
   * other network errors, ECLOSED.
   */
  async request(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const text = JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new KasaTapoError('ECLOSED', `The connection to ${this.host} is closed`, { host: this.host });
      const s = (this.session ??= await this.login());
      try {
        return await this.exchange(s, text);
      } catch (e) {
        if (!(e instanceof KasaTapoError) || e.code !== 'ESESSION' || attempt > 0) throw e;
        this.session = undefined;
      }
    }
  }

  /** Close the connection; a request in flight fails with ECLOSED. Never throws. */
  close(): void {
    this.closed = true;
    this.session = undefined;
    this.http.close();
  }

  private async post(path: string, body: string, headers = this.headers): Promise<Record<string, unknown>> {
    const r = await this.http.post(path, Buffer.from(body, 'utf8'), headers);
    if (r.status === 500)
      throw new KasaTapoError('ESESSION', `${this.host} ended the session (HTTP 500: another one was opened)`, { host: this.host, httpStatus: 500 });
    if (r.status !== 200) throw new KasaTapoError('EPROTOCOL', `${this.host} answered HTTP ${r.status}`, { host: this.host, httpStatus: r.status });
    return parseJsonObject(r.body, 'SSL-AES answer');
  }

  /** handshake1 as `username`: the device nonce and confirmation, or undefined when it does not offer them. */
  private async hello(username: string, cnonce: string): Promise<{ nonce: string; confirm: unknown } | undefined> {
    const a = await this.post('/', JSON.stringify({ method: 'login', params: { cnonce, encrypt_type: '3', username } }));
    if (a.error_code === SESSION_CODE && isObject(a.data) && a.data.code === BLOCKED_CODE) throw lockedError(this.host, a, 'login');
    const data = isObject(a.result) && isObject(a.result.data) ? a.result.data : undefined;
    if (a.error_code !== NONCE_CODE || typeof data?.nonce !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(data.nonce)) return undefined;
    return { nonce: data.nonce, confirm: data.device_confirm };
  }

  private async login(): Promise<Session> {
    this.logins++;
    const creds = this.opts.credentials;
    const password = creds?.password || (this.opts.loginVersion === 3 ? SSLAES_LV3_DEFAULT_PASSWORD : SSLAES_DEFAULT_PASSWORD);
    let username = creds?.username || 'admin';
    let cnonce = sslAesCnonce();
    let hello = await this.hello(username, cnonce);
    if (!hello && username !== 'admin') {
      // Cameras know their own account as "admin": ask once more so.
      username = 'admin';
      cnonce = sslAesCnonce();
      hello = await this.hello(username, cnonce);
    }
    if (!hello) throw new KasaTapoError('EPROTOCOL', `${this.host} did not offer the secure login (no nonce in its answer)`, { host: this.host });
    const matched = sslAesMatchConfirm(cnonce, hello.nonce, password, hello.confirm);
    if (!matched) {
      // Nothing depending on the password was sent, but the other side could test one guess.
      throw markSpentLogin(
        new KasaTapoError('EAUTH', `${this.host} could not prove it knows the password (secure login)`, { host: this.host, method: 'login' }),
      );
    }
    const digest = sslAesDigest(cnonce, matched.hash, hello.nonce);
    const a = await this.post('/', JSON.stringify({ method: 'login', params: { cnonce, encrypt_type: '3', digest_passwd: digest, username } }));
    if (a.error_code === NONCE_CODE) {
      throw markSpentLogin(new KasaTapoError('EAUTH', `${this.host} rejected the credentials (secure login)`, { host: this.host, method: 'login' }));
    }
    if (a.error_code === SESSION_CODE && isObject(a.data) && a.data.code === BLOCKED_CODE) throw lockedError(this.host, a, 'login');
    const result = isObject(a.result) ? a.result : {};
    const stok = result.stok;
    const seq = result.start_seq;
    if (a.error_code !== 0 || typeof stok !== 'string' || !/^[\w.~-]{1,256}$/.test(stok)) {
      throw markSpentLogin(
        new KasaTapoError('EDEVICE', `${this.host} refused the secure login (error ${String(a.error_code).slice(0, 20)})`, {
          host: this.host,
          method: 'login',
        }),
      );
    }
    return {
      stok,
      seq: typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 ? seq : 1,
      cipher: sslAesSessionCipher(cnonce, matched.hash, hello.nonce),
      hash: matched.hash,
      cnonce,
    };
  }

  private async exchange(s: Session, request: string): Promise<Record<string, unknown>> {
    const body = JSON.stringify({ method: 'securePassthrough', params: { request: s.cipher.encrypt(request) } });
    const seq = s.seq++; // before sending: a failed request used its number too
    const headers = { ...this.headers, Seq: String(seq), Tapo_tag: sslAesTag(s.hash, s.cnonce, body, seq) };
    const a = await this.post(`/stok=${s.stok}/ds`, body, headers);
    if (a.error_code === SESSION_CODE)
      throw new KasaTapoError('ESESSION', `${this.host} ended the session (error ${SESSION_CODE})`, { host: this.host, deviceCode: SESSION_CODE });
    if (a.error_code !== 0) {
      const code = a.error_code;
      throw new KasaTapoError('EDEVICE', `${this.host} refused the request (error ${String(code).slice(0, 20)})`, {
        host: this.host,
        ...(typeof code === 'number' ? { deviceCode: code } : {}),
      });
    }
    const response = isObject(a.result) ? a.result.response : undefined;
    // Cameras answer some single requests in plain JSON, without `response`.
    if (typeof response !== 'string') return a;
    let plain: string;
    try {
      plain = s.cipher.decrypt(response);
    } catch {
      plain = response; // an unencrypted answer in `response` is used as is when it is JSON
    }
    return parseJsonObject(Buffer.from(plain, 'utf8'), 'SSL-AES answer');
  }
}
