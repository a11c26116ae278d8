/**
 * Simulated TPAP device (docs/protocols.md#tpap, the plain-HTTP `tls:0` profile).
 *
 * Login: `POST /` with `{"method":"login","params":{"sub_method":…}}`. `discover` answers the MAC and
 * the `tpap` profile. `pake_register` checks the fixed username (MD5 of "admin"), the suite (1) and
 * the offered ciphers (the device picks the first of its own list the client offered; none → -1008),
 * then answers its random, salt, iteration count, SPAKE2+ share R = y·G + w·N and, when the profile
 * has one, the credential transform (`extra_crypt`). The device keeps w and h derived once from the
 * bound account with that transform (another account's under faults.wrongCredentials).
 * `pake_share` recomputes the transcript, checks the client's confirmation in constant time (a
 * mismatch answers the profile's auth code, -2203 by default, or -1501) and only then answers its
 * own confirmation, a session token (`sessionId`, or `stok` when the profile says so) and a random
 * `start_seq`. One registration is pending at a time; a share without one answers -1008.
 *
 * Data: `POST /stok=<token>/ds`, body uint32_BE(seq) ‖ AEAD ‖ tag (crypto/tpap.ts). An unknown or
 * expired token (time, faults.expireSessionEvery, expireSessions()), a seq not above the last one or
 * a frame that fails authentication answers an unencrypted `{"error_code":-2203}` with
 * Content-Type application/json, as real firmware does; a good request is answered with a frame
 * carrying the same seq. /app/handshake1 (a KLAP client) answers 403 under faults.forbidHandshake
 * (firmware that dropped KLAP), else 404.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { isObject, parseJsonObject } from '../../json';
import {
  TPAP_CIPHERS,
  TpapCipher,
  tpapCredential,
  tpapDeriveSecrets,
  tpapDeviceFinishAsync,
  tpapDeviceShare,
  tpapDefaultPasscode,
  tpapEqual,
  tpapPasscodeType,
  tpapRegisterUsername,
  type TpapCipherName,
  type TpapSecrets,
} from '../../crypto/tpap';
import type { WireServer, WireServerOptions } from '../types';
import { jsonAnswer, startHttpWire, type HttpAnswer, type WireCore } from './common';

/** How a simulated TPAP device logs in (a profile's `tpap` block). */
export interface TpapSimOptions {
  /** `extra_crypt` of the register answer, e.g. `{type:'password_shadow', params:{passwd_id:2}}`. */
  extraCrypt?: { type: string; params?: Record<string, unknown> };
  /** PBKDF2 iterations. Default 3000. */
  iterations?: number;
  /** The ciphers the device accepts, in its order of preference. Default all three, AES-128-CCM first. */
  ciphers?: TpapCipherName[];
  /** `tpap.dac` (the device would prove itself with a certificate; the simulator sends none). Default 0. */
  dac?: 0 | 1;
  /** `tpap.noc` (a cloud certificate the device could use; logins ignore it). Default 0. */
  noc?: 0 | 1;
  /** `tpap.pake`, the passcode types offered. Default [2]. */
  pake?: number[];
  /** Error code for a wrong password at pake_share. Default -2203. */
  authErrorCode?: number;
  /** Name of the token field in the pake_share answer. Default 'sessionId'. */
  tokenField?: 'sessionId' | 'stok';
  /** The MAC the device reports (SMART spelling `AA-BB-…`). */
  mac?: string;
}

interface Pending {
  userRandom: Buffer;
  devRandom: Buffer;
  y: bigint;
  R: Buffer;
  secrets: TpapSecrets;
  cipher: TpapCipherName;
}

interface Session {
  cipher: TpapCipher;
  lastSeq: number;
  created: number;
  count: number;
}

const MAX_SESSIONS = 64;
const UNKNOWN = -1008;
const EXPIRED = -2203;
const b64 = (v: unknown): Buffer | undefined => (typeof v === 'string' ? Buffer.from(v, 'base64') : undefined);
const err = (code: number): HttpAnswer => jsonAnswer({ error_code: code }, { 'Content-Type': 'application/json' });
const ok = (result: Record<string, unknown>): HttpAnswer => jsonAnswer({ error_code: 0, result }, { 'Content-Type': 'application/json' });

/** Start a TPAP device endpoint. Rejects with the listen error, or EBADINPUT for a non-loopback host. */
export function startTpapServer(opts: WireServerOptions): Promise<WireServer> {
  const t: TpapSimOptions = opts.tpap ?? {};
  const sessions = new Map<string, Session>();
  const ttlS = opts.sessionTtlS ?? 86400;
  const iterations = t.iterations ?? 3000;
  const deviceCiphers = t.ciphers?.length ? t.ciphers : [...TPAP_CIPHERS];
  const salt = randomBytes(16);
  const mac = t.mac ?? '00-00-00-00-00-00';
  // pake [0] (or a list without 2, 3, 5): the MAC-derived default passcode, whatever account is bound.
  const passcodeType = tpapPasscodeType(t.pake ?? [2]);
  const secretsFor = (u: string, p: string): Promise<TpapSecrets> =>
    tpapDeriveSecrets(passcodeType === 'default_userpw' ? tpapDefaultPasscode(mac) : tpapCredential(t.extraCrypt, u, p, mac), salt, iterations);
  // The stored verifier of the bound account (and of "another account" for faults.wrongCredentials).
  let own: Promise<TpapSecrets> | undefined;
  let other: Promise<TpapSecrets> | undefined;
  let pending: Pending | undefined;
  let core: WireCore | undefined;

  const profile = (): Record<string, unknown> => ({ tls: 0, dac: t.dac ?? 0, noc: t.noc ?? 0, pake: t.pake ?? [2], port: core?.port ?? opts.port });

  async function login(c: WireCore, body: Buffer): Promise<HttpAnswer> {
    let req: Record<string, unknown>;
    try {
      req = parseJsonObject(body, 'request');
    } catch {
      return err(-1003);
    }
    const p = isObject(req.params) ? req.params : {};
    if (req.method !== 'login') return err(-1);
    switch (p.sub_method) {
      case 'discover':
        c.stats.discovers++;
        return ok({ mac, tpap_preferred: true, tpap: profile() });
      case 'pake_register': {
        const userRandom = b64(p.user_random);
        const suites = Array.isArray(p.cipher_suites) ? p.cipher_suites : [];
        const offered = Array.isArray(p.encryption) ? p.encryption : [];
        const cipher = deviceCiphers.find((x) => offered.includes(x));
        if (p.username !== tpapRegisterUsername() || !userRandom || userRandom.length < 16) return err(-1501);
        if (!suites.includes(1) || !cipher || (p.passcode_type ?? 'userpw') !== passcodeType) return err(UNKNOWN);
        const creds = opts.faults.wrongCredentials ? { username: 'someone-else@example.com', password: 'another-account-password' } : opts.credentials;
        const secretsP = opts.faults.wrongCredentials
          ? (other ??= secretsFor(creds.username, creds.password))
          : (own ??= secretsFor(creds.username, creds.password));
        const secrets = await secretsP;
        const devRandom = randomBytes(32);
        const { y, R } = tpapDeviceShare(secrets.w);
        pending = { userRandom, devRandom, y, R, secrets, cipher };
        return ok({
          dev_random: devRandom.toString('base64'),
          dev_salt: salt.toString('base64'),
          dev_share: R.toString('base64'),
          cipher_suites: 1,
          iterations,
          encryption: cipher,
          ...(t.extraCrypt ? { extra_crypt: t.extraCrypt } : {}),
        });
      }
      case 'pake_share': {
        const reg = pending;
        pending = undefined;
        const L = b64(p.user_share);
        const confirm = b64(p.user_confirm);
        if (!reg || !L || !confirm) return err(UNKNOWN);
        const left = c.loginAttempt();
        if (left !== undefined) return jsonAnswer({ error_code: -40404, result: { sec_left: left } }, { 'Content-Type': 'application/json' });
        let keys;
        try {
          keys = await tpapDeviceFinishAsync({
            y: reg.y,
            w: reg.secrets.w,
            h: reg.secrets.h,
            R: reg.R,
            L,
            userRandom: reg.userRandom,
            devRandom: reg.devRandom,
          });
        } catch {
          return err(UNKNOWN);
        }
        if (!tpapEqual(confirm, keys.userConfirm)) {
          c.loginFailed();
          return err(t.authErrorCode ?? EXPIRED);
        }
        c.loginOk();
        const stok = randomBytes(16).toString('hex');
        const startSeq = randomInt(1, 0x7fffffff);
        if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
        sessions.set(stok, { cipher: new TpapCipher(reg.cipher, keys.sharedKey), lastSeq: startSeq - 1, created: Date.now(), count: 0 });
        c.stats.handshakes++;
        return ok({ dev_confirm: keys.devConfirm.toString('base64'), [t.tokenField ?? 'sessionId']: stok, start_seq: startSeq, sessionExpired: ttlS });
      }
      default:
        return err(UNKNOWN);
    }
  }

  async function data(c: WireCore, stok: string, body: Buffer): Promise<HttpAnswer> {
    const s = sessions.get(stok);
    const every = opts.faults.expireSessionEvery;
    const expired = !s || Date.now() - s.created >= ttlS * 1000 || (every !== undefined && every > 0 && s.count >= every);
    if (expired) {
      c.stats.expired++;
      sessions.delete(stok);
      return err(EXPIRED);
    }
    let seq: number;
    let text: string;
    try {
      const f = s.cipher.open(body);
      seq = f.seq;
      text = f.plain.toString('utf8');
    } catch {
      c.stats.expired++;
      return err(EXPIRED);
    }
    if (seq <= s.lastSeq) {
      c.stats.expired++;
      return err(EXPIRED);
    }
    s.lastSeq = seq;
    s.count++;
    const answer = await c.answer(text);
    return { status: 200, body: s.cipher.seal(seq, answer), headers: { 'Content-Type': 'application/octet-stream' } };
  }

  return startHttpWire(
    opts,
    true,
    async (c, url, body) => {
      core = c;
      if (url.pathname === '/') return login(c, body);
      const m = /^\/stok=([0-9a-f]{1,64})\/ds$/.exec(url.pathname);
      if (m) return data(c, m[1]!, body);
      if (url.pathname === '/app/handshake1') return { status: opts.faults.forbidHandshake ? 403 : 404, body: Buffer.alloc(0) };
      return { status: 404, body: Buffer.alloc(0) };
    },
    () => {
      sessions.clear();
      pending = undefined;
    },
  );
}
