/**
 * KLAP transport over HTTP, with either hash version: v1 (MD5-based, the 2021 Kasa IOT firmware,
 * 'klap-v1') and v2 (SHA-based, Tapo/SMART and the 2025–26 Kasa IOT firmware, 'klap').
 *
 * Handshake: POST /app/handshake1 with a random 16-byte local seed; the device answers its remote
 * seed (16 B) and a 32-byte SHA-256 server hash over the seeds and its auth hash (MD5- or SHA-based
 * hash of the account), plus `Set-Cookie: TP_SESSIONID=…;TIMEOUT=…`. We check that hash locally
 * against the user's credentials, then the built-in defaults, then blank ones — in both hash
 * versions, the preferred one first (docs/protocols.md#klap-hash-versions-for-kasa-devices rule 3: handshake1 proves the version for
 * free, so a wrong guess costs no extra login) — and prove ours with POST /app/handshake2 in the
 * version that matched. `kind` follows the version the device proved. Neither message shows the
 * device the password or the auth hash, so KLAP may go to any host (src/trust.ts); a device that
 * matched a default or blank account is flagged (`defaultCredentials`) and logged once.
 * Encryption: AES-128-CBC with a key, IV prefix and signature key derived from both seeds and the
 * auth hash; every request uses the next signed 32-bit sequence number (in the IV and in
 * `/app/request?seq=`), body = SHA-256 signature ‖ ciphertext; the answer is decrypted with the
 * same key and IV. The math lives in crypto/klap.ts. The hash version says nothing about the
 * payload: IOT or SMART JSON is the device's family (device/detect.ts).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { HINTS, KasaTapoError, toKasaTapoError } from '../errors';
import { fixFor } from '../fixes';
import { KlapCipher, klapAuthHash, klapClientHash, klapServerHash, type KlapVersion } from '../crypto/klap';
import { warnDefaultCredentials } from '../trust';
import type { TransportOptions } from '../types';
import { DEFAULT_CREDENTIALS, HttpSessionTransport, closedError, parseSessionCookie, renewalDeadline, type HttpSession } from './http';

interface KlapSession extends HttpSession {
  cipher: KlapCipher;
  /** Every request header of the session (built once: the HTTP client reuses its checked head). */
  headers: Record<string, string>;
}

const OCTET = Object.freeze({ 'Content-Type': 'application/octet-stream' });

/**
 * Check a handshake1 answer body (remote seed 16 B ‖ server hash 32 B) against the candidate auth
 * hashes, in order. Pure. Returns the remote seed (a view of `body`) and the matching candidate.
 * Throws KasaTapoError EPROTOCOL (not 48 bytes) or EAUTH (no candidate matches).
 */
export function checkKlapHandshake1(
  version: KlapVersion,
  local: Buffer,
  body: Buffer,
  candidates: readonly Buffer[],
  host: string,
): { remote: Buffer; auth: Buffer } {
  const m = matchKlapHandshake1(version, local, body, { [version]: candidates }, host);
  return { remote: m.remote, auth: m.auth };
}

/**
 * As checkKlapHandshake1, over both hash versions: the `preferred` version's candidates first,
 * then the other's (docs/protocols.md#klap-hash-versions-for-kasa-devices rule 3). Pure. Returns the version that matched.
 * Throws KasaTapoError EPROTOCOL (not 48 bytes) or EAUTH (no candidate of either version matches).
 */
export function matchKlapHandshake1(
  preferred: KlapVersion,
  local: Buffer,
  body: Buffer,
  candidates: Partial<Record<KlapVersion, readonly Buffer[]>>,
  host: string,
): { remote: Buffer; auth: Buffer; version: KlapVersion } {
  if (body.length !== 48) {
    throw new KasaTapoError('EPROTOCOL', `${host} sent a ${body.length}-byte KLAP handshake answer, expected 48`, { host });
  }
  const remote = body.subarray(0, 16);
  const serverHash = body.subarray(16, 48);
  for (const version of preferred === 1 ? ([1, 2] as const) : ([2, 1] as const)) {
    const auth = candidates[version]?.find((a) => timingSafeEqual(klapServerHash(version, local, remote, a), serverHash));
    if (auth) return { remote, auth, version };
  }
  throw new KasaTapoError('EAUTH', `${host} rejected the credentials (KLAP)`, { host, hint: HINTS.auth, login: 'klap' });
}

export class KlapTransport extends HttpSessionTransport<KlapSession> {
  private authHashes: Partial<Record<KlapVersion, Buffer[]>> = {};
  private usedDefault = false;
  /** The hash version in use: the preferred one until a handshake proves the other. */
  private current: KlapVersion;

  /** 'klap' (v2 hashes) or 'klap-v1', as the last handshake proved (before one: as preferred). */
  get kind(): 'klap' | 'klap-v1' {
    return this.current === 1 ? 'klap-v1' : 'klap';
  }

  /** The hash version in use (see `kind`). */
  get version(): KlapVersion {
    return this.current;
  }

  /** True when the last handshake matched a default or blank account, not the user's credentials. */
  get defaultCredentials(): boolean {
    return this.usedDefault;
  }

  /** `preferred`: the hash version tried first (discovery's, or the caller's choice). Never throws. */
  constructor(
    opts: TransportOptions,
    readonly preferred: KlapVersion = 2,
  ) {
    super(opts);
    this.current = preferred;
  }

  /** Candidate auth hashes of one version in order: user (or blank), every default, blank; without duplicates. */
  private candidates(version: KlapVersion): Buffer[] {
    let list = this.authHashes[version];
    if (!list) {
      const user = this.opts.credentials ?? { username: '', password: '' };
      const all = [user, ...Object.values(DEFAULT_CREDENTIALS), { username: '', password: '' }];
      const seen = new Set<string>();
      list = this.authHashes[version] = [];
      for (const c of all) {
        const h = klapAuthHash(version, c.username, c.password);
        if (!seen.has(h.toString('hex'))) {
          seen.add(h.toString('hex'));
          list.push(h);
        }
      }
    }
    return list;
  }

  /**
   * Log in now when there is no live session, so `kind` tells the hash version the device proved
   * before the first request (device/detect.ts orders the request styles by it). Throws what the
   * handshake throws (EAUTH, EPROTOCOL, network errors), ECLOSED after close().
   */
  async login(): Promise<void> {
    if (this.closed) throw closedError(this.host);
    if (this.session && !this.due(this.session)) return;
    this.session = undefined;
    try {
      const s = await this.handshake();
      if (this.closed) throw closedError(this.host);
      this.session = s;
      this.stats.handshakes++;
    } catch (e) {
      throw this.closed ? closedError(this.host) : toKasaTapoError(e, this.host);
    }
  }

  protected override due(s: KlapSession): boolean {
    // Re-handshake instead of letting the signed 32-bit sequence wrap.
    return s.cipher.seq >= 0x7fffffff || super.due(s);
  }

  /**
   * Throws KasaTapoError: EAUTH (403 → fix 'third-party'; no candidate of either version matches →
   * the auth hint, or fix 'klap-v2-iot' for a Kasa IOT device on login version 2), EUNSUPPORTED
   * (404), EPROTOCOL, network errors.
   */
  protected async handshake(): Promise<KlapSession> {
    const local = randomBytes(16);
    const r1 = await this.http.post('/app/handshake1', local, OCTET);
    if (r1.status !== 200) throw this.statusError(r1.status, 'KLAP handshake');
    let m: { remote: Buffer; auth: Buffer; version: KlapVersion };
    try {
      m = matchKlapHandshake1(this.preferred, local, r1.body, { 1: this.candidates(1), 2: this.candidates(2) }, this.host);
    } catch (e) {
      if (e instanceof KasaTapoError && e.code === 'EAUTH' && this.opts.protocol === 'iot' && this.preferred === 2) {
        const facts = { host: this.host, port: this.port };
        throw new KasaTapoError('EAUTH', `${this.host} rejected the credentials (KLAP, both hash versions)`, {
          host: this.host,
          fix: 'klap-v2-iot',
          hint: fixFor('klap-v2-iot', facts),
          login: 'klap',
        });
      }
      throw e;
    }
    const { remote, auth, version } = m;
    if (version !== this.current) this.debug(`the device proved KLAP v${version} hashes`);
    this.current = version;
    // Without user credentials the first candidate is the blank account: any match is a default one.
    this.usedDefault = !this.opts.credentials || auth !== this.candidates(version)[0];
    if (this.usedDefault) {
      this.debug('device accepted a default/blank account');
      warnDefaultCredentials(this.opts.logger, this.host, this.port);
    }
    const cookie = parseSessionCookie(r1.headers['set-cookie']);
    const headers: Record<string, string> = cookie.id ? Object.freeze({ ...OCTET, Cookie: `TP_SESSIONID=${cookie.id}` }) : OCTET;
    const renewAt = renewalDeadline(cookie.timeoutS);
    const r2 = await this.http.post('/app/handshake2', klapClientHash(version, local, remote, auth), headers);
    if (r2.status !== 200) throw this.statusError(r2.status, 'KLAP handshake2');
    this.debug(`handshake done, session ${cookie.timeoutS} s`);
    return { cipher: new KlapCipher(local, Buffer.from(remote), auth), headers, renewAt };
  }

  /** Throws KasaTapoError: ESESSION (403/401: session gone), EPROTOCOL (other status, bad body), network errors. */
  protected async exchange(s: KlapSession, request: string): Promise<string> {
    const { body, seq } = s.cipher.encrypt(request);
    const r = await this.http.post(`/app/request?seq=${seq}`, body, s.headers);
    if (r.status === 403 || r.status === 401) {
      this.session = undefined;
      throw new KasaTapoError('ESESSION', `${this.host} ended the KLAP session (HTTP ${r.status})`, { host: this.host, httpStatus: r.status });
    }
    if (r.status !== 200) {
      throw new KasaTapoError('EPROTOCOL', `${this.host} answered a KLAP request with HTTP ${r.status}`, { host: this.host, httpStatus: r.status });
    }
    return s.cipher.decrypt(seq, r.body).toString('utf8');
  }
}
