/**
 * A fake Tapo AES device that records every decrypted `login_device` it receives and refuses them
 * all with -1501. It answers the RSA handshake like a real
 * device, so a client can tell that it speaks AES. Loopback only, port 0.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AesCipher } from '../../src/crypto/aes';
import { rsaPkcs1Encrypt } from '../../src/crypto/rsa';

export interface FakeAes {
  readonly host: string;
  readonly port: number;
  /** The params of every login_device, decrypted, in order. */
  readonly logins: Record<string, unknown>[];
  /** RSA handshakes answered (no secret in them). */
  handshakes: number;
  close(): Promise<void>;
}

/** Start the fake on `host` (a 127.x address). Rejects with the listen error. */
export async function startFakeAes(host = '127.0.0.1'): Promise<FakeAes> {
  const sessions = new Map<string, AesCipher>();
  const logins: Record<string, unknown>[] = [];
  const fake = { host, port: 0, logins, handshakes: 0, close: async () => undefined } as FakeAes & { port: number };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size < 1 << 16) chunks.push(c);
    });
    req.on('end', () => {
      const json = (o: unknown, headers: Record<string, string> = {}): void => {
        res.writeHead(200, { 'Content-Type': 'application/json', ...headers });
        res.end(JSON.stringify(o));
      };
      if (req.url?.split('?')[0] !== '/app') {
        res.writeHead(404);
        res.end();
        return;
      }
      let outer: { method?: string; params?: { key?: string; request?: string } };
      try {
        outer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof outer;
      } catch {
        json({ error_code: -1003 });
        return;
      }
      if (outer.method === 'handshake' && typeof outer.params?.key === 'string') {
        const keyIv = randomBytes(32);
        const sid = randomBytes(8).toString('hex');
        sessions.set(sid, new AesCipher(keyIv.subarray(0, 16), keyIv.subarray(16)));
        fake.handshakes++;
        json(
          { error_code: 0, result: { key: rsaPkcs1Encrypt(outer.params.key, keyIv).toString('base64') } },
          { 'Set-Cookie': `TP_SESSIONID=${sid};TIMEOUT=86400` },
        );
        return;
      }
      const sid = /TP_SESSIONID=([0-9a-f]+)/.exec(req.headers.cookie ?? '')?.[1];
      const cipher = sid ? sessions.get(sid) : undefined;
      if (outer.method !== 'securePassthrough' || !cipher || typeof outer.params?.request !== 'string') {
        json({ error_code: 9999 });
        return;
      }
      let inner: { method?: string; params?: Record<string, unknown> };
      try {
        inner = JSON.parse(cipher.decrypt(outer.params.request)) as typeof inner;
      } catch {
        json({ error_code: -1005 });
        return;
      }
      if (inner.method === 'login_device') logins.push(inner.params ?? {});
      json({ error_code: 0, result: { response: cipher.encrypt(JSON.stringify({ error_code: -1501 })) } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  fake.port = (server.address() as AddressInfo).port;
  fake.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return fake;
}
