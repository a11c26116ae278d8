/**
 * Simulated Tapo AES (securePassthrough) device over HTTP, all on POST /app.
 *
 * Handshake: `{"method":"handshake","params":{"key":<client PEM>}}` → a fresh 16-byte AES key and
 * 16-byte IV, RSA PKCS#1 v1.5-encrypted to that key, base64, with
 * `Set-Cookie: TP_SESSIONID=…;TIMEOUT=<sessionTtlS>`. Encryption: every later body is
 * `{"method":"securePassthrough","params":{"request":b64(AES-128-CBC(key, iv, json))}}` and every
 * answer `{"error_code":0,"result":{"response":…}}` with the same key and IV. `login_device` must
 * carry the bound account in the device's login version (else inner -1501, and that handshake is
 * dead); it returns the token that /app?token=… must then carry. An unknown cookie, a dead or
 * expired session (time or faults.expireSessionEvery), or a wrong token → outer `{"error_code":9999}`.
 */
import { randomBytes } from 'node:crypto';
import { AesCipher, aesLoginParams } from '../../crypto/aes';
import { rsaPkcs1Encrypt } from '../../crypto/rsa';
import { isObject, parseJsonObject } from '../../json';
import { parseSessionCookie } from '../../wire/cookie';
import type { WireServer, WireServerOptions } from '../types';
import { jsonAnswer, startHttpWire, type HttpAnswer, type WireCore } from './common';

interface Session {
  cipher: AesCipher;
  created: number;
  count: number;
  token?: string;
  dead?: boolean;
}

const MAX_SESSIONS = 64;

function sameParams(got: unknown, want: Record<string, string>): boolean {
  if (!isObject(got)) return false;
  const keys = Object.keys(want);
  return Object.keys(got).length === keys.length && keys.every((k) => got[k] === want[k]);
}

/** Start an AES device endpoint. Rejects with the listen error, or EBADINPUT for a non-loopback host. */
export function startAesServer(opts: WireServerOptions): Promise<WireServer> {
  const sessions = new Map<string, Session>();
  const ttlS = opts.sessionTtlS ?? 86400;
  const login = aesLoginParams(opts.loginVersion ?? 2, opts.credentials.username, opts.credentials.password);

  const route = async (core: WireCore, url: URL, body: Buffer, cookie: string | undefined): Promise<HttpAnswer> => {
    if (url.pathname !== '/app') return { status: 404, body: Buffer.alloc(0) };
    let outer: Record<string, unknown>;
    try {
      outer = parseJsonObject(body);
    } catch {
      return jsonAnswer({ error_code: -1003 });
    }
    const params = isObject(outer.params) ? outer.params : {};
    if (outer.method === 'handshake') {
      if (core.faults.forbidHandshake) return { status: 403, body: Buffer.alloc(0) };
      if (typeof params.key !== 'string') return jsonAnswer({ error_code: -1010 });
      const keyIv = randomBytes(32);
      let wrapped: Buffer;
      try {
        wrapped = rsaPkcs1Encrypt(params.key, keyIv);
      } catch {
        return jsonAnswer({ error_code: -1010 });
      }
      const sid = randomBytes(16).toString('hex').toUpperCase();
      if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
      sessions.set(sid, { cipher: new AesCipher(keyIv.subarray(0, 16), keyIv.subarray(16)), created: Date.now(), count: 0 });
      return jsonAnswer({ error_code: 0, result: { key: wrapped.toString('base64') } }, { 'Set-Cookie': `TP_SESSIONID=${sid};TIMEOUT=${ttlS}` });
    }
    if (outer.method !== 'securePassthrough') return jsonAnswer({ error_code: -1002 });

    const id = parseSessionCookie(cookie).id;
    const s = id === undefined ? undefined : sessions.get(id);
    const every = core.faults.expireSessionEvery;
    if (!s || s.dead || Date.now() - s.created >= ttlS * 1000 || (every !== undefined && every > 0 && s.count >= every)) {
      core.stats.expired++;
      if (s) s.dead = true;
      return jsonAnswer({ error_code: 9999 });
    }
    let text: string;
    let inner: Record<string, unknown>;
    try {
      text = s.cipher.decrypt(typeof params.request === 'string' ? params.request : '');
      inner = parseJsonObject(text);
    } catch {
      return jsonAnswer({ error_code: -1005 });
    }
    const reply = (answerText: string): HttpAnswer => jsonAnswer({ error_code: 0, result: { response: s.cipher.encrypt(answerText) } });

    if (inner.method === 'login_device') {
      const left = core.loginAttempt();
      if (left !== undefined) {
        s.dead = true;
        return reply(JSON.stringify({ error_code: -40404, result: { sec_left: left } }));
      }
      if (core.faults.wrongCredentials || !sameParams(inner.params, login)) {
        core.loginFailed();
        s.dead = true;
        return reply(JSON.stringify({ error_code: -1501 }));
      }
      core.loginOk();
      s.token = randomBytes(16).toString('hex').toUpperCase();
      core.stats.handshakes++;
      return reply(JSON.stringify({ error_code: 0, result: { token: s.token } }));
    }
    if (!s.token || url.searchParams.get('token') !== s.token) {
      core.stats.expired++;
      return jsonAnswer({ error_code: 9999 });
    }
    s.count++;
    return reply(await core.answer(text));
  };

  return startHttpWire(opts, true, route, () => sessions.clear());
}
