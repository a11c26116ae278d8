/**
 * Simulated KLAP device (v1 and v2) over HTTP.
 *
 * Handshake: /app/handshake1 takes the client's 16-byte seed and answers our random 16-byte seed
 * plus SHA-256 over the seeds and the bound account's auth hash, with
 * `Set-Cookie: TP_SESSIONID=…;TIMEOUT=<sessionTtlS>`; /app/handshake2 must carry the client's proof
 * hash, else 403. Encryption: /app/request?seq=N bodies are signature ‖ AES-128-CBC ciphertext with
 * the session key and ivPrefix ‖ N (crypto/klap.ts); the answer is encrypted with the same N. An
 * unknown cookie, an expired session (time or faults.expireSessionEvery), a sequence number not
 * above the last one, or a bad signature → HTTP 403. POST /app (an AES-style request) gets
 * `{"error_code":1003}` like real KLAP-only firmware. POST / answers a TPAP login `discover` only
 * with `tpapDiscover` (KLAP firmware that announces TPAP, e.g. KP125M 1.4.1), else 404.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { KlapCipher, klapAuthHash, klapClientHash, klapServerHash, type KlapVersion } from '../../crypto/klap';
import { isObject, parseJsonObject } from '../../json';
import { parseSessionCookie } from '../../wire/cookie';
import type { WireServer, WireServerOptions } from '../types';
import { jsonAnswer, startHttpWire, type HttpAnswer, type WireCore } from './common';

interface Session {
  /** The account hash this session was opened with (another one under faults.wrongCredentials). */
  auth: Buffer;
  local: Buffer;
  remote: Buffer;
  cipher?: KlapCipher;
  lastSeq: number;
  created: number;
  count: number;
}

const MAX_SESSIONS = 64;
const empty = (status: number): HttpAnswer => ({ status, body: Buffer.alloc(0) });

/** A TPAP login `discover` answered by KLAP firmware that announces TPAP (WireServerOptions.tpapDiscover); other calls -1008. */
function tpapDiscover(core: WireCore, body: Buffer, result: Record<string, unknown>): HttpAnswer {
  let req: Record<string, unknown> | undefined;
  try {
    req = parseJsonObject(body, 'request');
  } catch {
    return jsonAnswer({ error_code: -1003 });
  }
  const p = isObject(req.params) ? req.params : {};
  if (req.method !== 'login' || p.sub_method !== 'discover') return jsonAnswer({ error_code: -1008 }, { 'Content-Type': 'application/json' });
  core.stats.discovers++;
  return jsonAnswer({ error_code: 0, result }, { 'Content-Type': 'application/json' });
}

/** Start a KLAP device endpoint. Rejects with the listen error, or EBADINPUT for a non-loopback host. */
export function startKlapServer(version: KlapVersion, opts: WireServerOptions): Promise<WireServer> {
  const sessions = new Map<string, Session>();
  const ttlS = opts.sessionTtlS ?? 86400;
  const auth = klapAuthHash(version, opts.credentials.username, opts.credentials.password);
  const otherAuth = klapAuthHash(version, 'someone-else@example.com', 'another-account-password');

  const route = async (core: WireCore, url: URL, body: Buffer, cookie: string | undefined): Promise<HttpAnswer> => {
    const st = core.stats;
    const id = parseSessionCookie(cookie).id;
    const s = id === undefined ? undefined : sessions.get(id);
    switch (url.pathname) {
      case '/app/handshake1': {
        if (opts.faults.forbidHandshake) return empty(403);
        if (opts.faults.lockedUntil !== undefined && Date.now() < opts.faults.lockedUntil) return empty(403);
        if (body.length !== 16) return empty(400);
        const remote = randomBytes(16);
        const a = opts.faults.wrongCredentials ? otherAuth : auth;
        const sid = randomBytes(16).toString('hex').toUpperCase();
        if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
        sessions.set(sid, { auth: a, local: Buffer.from(body), remote, lastSeq: 0, created: Date.now(), count: 0 });
        return {
          status: 200,
          body: Buffer.concat([remote, klapServerHash(version, body, remote, a)]),
          headers: { 'Set-Cookie': `TP_SESSIONID=${sid};TIMEOUT=${ttlS}` },
        };
      }
      case '/app/handshake2': {
        if (!s || s.cipher) return empty(403);
        const expected = klapClientHash(version, s.local, s.remote, s.auth);
        if (core.loginAttempt() !== undefined) return empty(403);
        if (body.length !== 32 || !timingSafeEqual(body, expected)) {
          core.loginFailed();
          sessions.delete(id!);
          return empty(403);
        }
        core.loginOk();
        s.cipher = new KlapCipher(s.local, s.remote, s.auth);
        s.lastSeq = s.cipher.seq;
        s.created = Date.now();
        st.handshakes++;
        return empty(200);
      }
      case '/app/request': {
        const every = opts.faults.expireSessionEvery;
        const seqText = url.searchParams.get('seq') ?? '';
        const seq = /^-?\d{1,10}$/.test(seqText) ? Number(seqText) : NaN;
        const expired = !s?.cipher || Date.now() - s.created >= ttlS * 1000 || (every !== undefined && every > 0 && s.count >= every);
        if (expired || !(seq > s.lastSeq && seq <= 0x7fffffff) || body.length < 48) {
          st.expired++;
          if (expired && id !== undefined) sessions.delete(id);
          return empty(403);
        }
        const c = s.cipher!;
        if (!timingSafeEqual(body.subarray(0, 32), c.signature(seq, body.subarray(32)))) {
          st.expired++;
          return empty(403);
        }
        const text = c.decrypt(seq, body).toString('utf8');
        s.lastSeq = seq;
        s.count++;
        return { status: 200, body: c.encryptAt(seq, await core.answer(text)) };
      }
      case '/app':
        return jsonAnswer({ error_code: 1003 });
      case '/':
        return opts.tpapDiscover ? tpapDiscover(core, body, opts.tpapDiscover) : empty(404);
      default:
        return empty(404);
    }
  };

  return startHttpWire(opts, version === 2, route, () => sessions.clear());
}
