/**
 * A fake Tapo camera speaking the SSL-AES secure login over HTTPS on loopback (port 0), with a
 * self-signed RSA-1024 certificate made at start (as older cameras present). It checks everything
 * a real one checks — the digest, `Seq` and `Tapo_tag` — and answers SmartCam batches from
 * `answer`. Options make it store the MD5 hash, end the next session, or block logins.
 */
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as forge from 'node-forge';
import { sslAesDeviceConfirm, sslAesDigest, sslAesPasswordHash, sslAesSessionCipher, sslAesTag, type SslAesHashKind } from '../../src/crypto/sslaes';
import type { AesCipher } from '../../src/crypto/aes';

export interface FakeCamera {
  host: string;
  port: number;
  /** handshake1 calls, digests accepted, requests answered. */
  stats: { hellos: number; logins: number; requests: number; badTags: number };
  /** The decrypted SmartCam requests, in order. */
  requests: Record<string, unknown>[];
  /** Answer the next data request with −40401 (the session ended). */
  endNextSession(): void;
  close(): Promise<void>;
}

export interface FakeCameraOptions {
  host?: string;
  username?: string;
  password: string;
  hash?: SslAesHashKind;
  /** Blocks every login with −40404 and this many seconds left. */
  blockedFor?: number;
  answer?: (req: Record<string, unknown>) => unknown;
}

function selfSigned(): { key: string; cert: string } {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 1024, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const attrs = [{ name: 'commonName', value: 'TPRI-DEVICE' }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { key: forge.pki.privateKeyToPem(keys.privateKey), cert: forge.pki.certificateToPem(cert) };
}

export async function startFakeCamera(o: FakeCameraOptions): Promise<FakeCamera> {
  const host = o.host ?? '127.0.0.1';
  const user = o.username ?? 'admin';
  const H = sslAesPasswordHash(o.password, o.hash ?? 'sha256');
  const stats = { hellos: 0, logins: 0, requests: 0, badTags: 0 };
  const requests: Record<string, unknown>[] = [];
  const nonces = new Map<string, string>();
  const sessions = new Map<string, { cipher: AesCipher; cnonce: string; seq: number }>();
  let endNext = false;
  const server = https.createServer(selfSigned(), (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const send = (o2: unknown): void => {
        const text = JSON.stringify(o2);
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
        res.end(text);
      };
      let body: { method?: string; params?: Record<string, unknown> };
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        return send({ error_code: -40210 });
      }
      const p = body.params ?? {};
      if (req.url === '/' && body.method === 'login') {
        if (o.blockedFor !== undefined) return send({ error_code: -40401, data: { code: -40404, sec_left: o.blockedFor } });
        const cnonce = String(p.cnonce);
        if (p.username !== user) return send({ error_code: -40411 });
        if (p.digest_passwd === undefined) {
          stats.hellos++;
          const nonce = Buffer.from(Array.from({ length: 8 }, () => Math.floor(Math.random() * 256)))
            .toString('hex')
            .toUpperCase();
          nonces.set(cnonce, nonce);
          return send({
            error_code: -40413,
            result: { data: { code: -40401, encrypt_type: ['3'], nonce, device_confirm: sslAesDeviceConfirm(cnonce, H, nonce) } },
          });
        }
        const nonce = nonces.get(cnonce);
        if (!nonce || p.digest_passwd !== sslAesDigest(cnonce, H, nonce)) return send({ error_code: -40413 });
        stats.logins++;
        const stok = `STOK${stats.logins}`;
        sessions.set(stok, { cipher: sslAesSessionCipher(cnonce, H, nonce), cnonce, seq: 41 });
        return send({ error_code: 0, result: { stok, user_group: 'root', start_seq: 41 } });
      }
      const m = /^\/stok=([\w.~-]+)\/ds$/.exec(req.url ?? '');
      const s = m ? sessions.get(m[1]!) : undefined;
      if (!s || endNext) {
        endNext = false;
        if (m) sessions.delete(m[1]!);
        return send({ error_code: -40401 });
      }
      const seq = Number(req.headers.seq);
      if (seq !== s.seq || req.headers.tapo_tag !== sslAesTag(H, s.cnonce, raw, seq)) {
        stats.badTags++;
        return send({ error_code: -40401 });
      }
      s.seq++;
      const inner = JSON.parse(s.cipher.decrypt(String(p.request))) as Record<string, unknown>;
      requests.push(inner);
      stats.requests++;
      const answer = o.answer?.(inner) ?? { error_code: 0, result: { responses: [] } };
      send({ error_code: 0, result: { response: s.cipher.encrypt(JSON.stringify(answer)) } });
    });
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return {
    host,
    port: (server.address() as AddressInfo).port,
    stats,
    requests,
    endNextSession: () => void (endNext = true),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
