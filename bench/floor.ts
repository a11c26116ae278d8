/**
 * The raw floor: the least a client can do per request on a kept-alive connection, built on
 * src/crypto directly with no pool, queue, retry, protocol layer or normalisation. XOR: frames over
 * one TCP socket. KLAP v2: handshake1/2, then signed AES-CBC requests on a keep-alive http.Agent.
 * AES: RSA handshake (its own key pair, or the one given) and login_device, then securePassthrough
 * requests with the token. Every answer is decrypted and JSON-parsed, as any client must. Loopback
 * only; errors simply throw.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { AesCipher, aesLoginParams } from '../src/crypto/aes';
import { KlapCipher, klapAuthHash, klapClientHash, klapServerHash } from '../src/crypto/klap';
import { generateRsaKeyPair, rsaPkcs1Decrypt, type RsaKeyPair } from '../src/crypto/rsa';
import { xorDecrypt, xorFrame } from '../src/crypto/xor';
import type { Credentials, TransportKind } from '../src/types';

export interface FloorClient {
  /** Send one request text; resolves with the parsed answer. */
  send(text: string): Promise<unknown>;
  /** KLAP/AES: make a new session on the same kept-alive connection (the handshake alone). */
  renew?(): Promise<void>;
  close(): void;
}

const TIMEOUT_MS = 5000;

/** XOR: one TCP socket, one frame out, one length-prefixed frame back. */
async function openXor(host: string, port: number): Promise<FloorClient> {
  const sock = net.connect({ host, port });
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  let buf: Buffer = Buffer.alloc(0);
  let waiter: ((frame: Buffer) => void) | undefined;
  sock.on('data', (c: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, c]) : c;
    if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const frame = buf.subarray(4, 4 + buf.readUInt32BE(0));
      buf = Buffer.alloc(0);
      const w = waiter;
      waiter = undefined;
      w?.(frame);
    }
  });
  return {
    send: (text) =>
      new Promise<unknown>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('xor floor timeout')), TIMEOUT_MS);
        waiter = (frame) => {
          clearTimeout(t);
          resolve(JSON.parse(xorDecrypt(frame).toString('utf8')));
        };
        sock.write(xorFrame(text));
      }),
    close: () => sock.destroy(),
  };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A bare keep-alive POST client on one socket. */
export function poster(host: string, port: number): { post(path: string, body: Buffer, headers: Record<string, string>): Promise<Answer>; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    post: (path, body, headers) =>
      new Promise<Answer>((resolve, reject) => {
        const req = http.request({
          host,
          port,
          path,
          method: 'POST',
          agent,
          timeout: TIMEOUT_MS,
          headers: { ...headers, 'Content-Length': String(body.length) },
        });
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('floor timeout')));
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        });
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

function cookieOf(a: Answer): Record<string, string> {
  const line = ([] as string[]).concat(a.headers['set-cookie'] ?? []).join(';');
  const id = /TP_SESSIONID=([^;]+)/.exec(line)?.[1];
  return id ? { Cookie: `TP_SESSIONID=${id}` } : {};
}

/** KLAP v2: two handshake posts, then one signed, encrypted post per request. */
async function openKlap(host: string, port: number, creds: Credentials): Promise<FloorClient> {
  const h = poster(host, port);
  const octet = { 'Content-Type': 'application/octet-stream' };
  const auth = klapAuthHash(2, creds.username, creds.password);
  const handshake = async (): Promise<{ cipher: KlapCipher; headers: Record<string, string> }> => {
    const local = randomBytes(16);
    const r1 = await h.post('/app/handshake1', local, octet);
    const remote = r1.body.subarray(0, 16);
    if (r1.status !== 200 || !klapServerHash(2, local, remote, auth).equals(r1.body.subarray(16, 48))) throw new Error('klap floor: handshake1 failed');
    const cookie = cookieOf(r1);
    const r2 = await h.post('/app/handshake2', klapClientHash(2, local, remote, auth), { ...octet, ...cookie });
    if (r2.status !== 200) throw new Error('klap floor: handshake2 failed');
    return { cipher: new KlapCipher(local, Buffer.from(remote), auth), headers: { ...octet, ...cookie } };
  };
  let s = await handshake();
  return {
    send: async (text) => {
      const { cipher, headers } = s;
      const { body, seq } = cipher.encrypt(text);
      const r = await h.post(`/app/request?seq=${seq}`, body, headers);
      if (r.status !== 200) throw new Error(`klap floor: HTTP ${r.status}`);
      return JSON.parse(cipher.decrypt(seq, r.body).toString('utf8'));
    },
    renew: async () => void (s = await handshake()),
    close: () => h.close(),
  };
}

/** AES: RSA handshake, login_device (v2), then securePassthrough with the token. */
async function openAes(host: string, port: number, creds: Credentials, keyPair?: RsaKeyPair): Promise<FloorClient> {
  const h = poster(host, port);
  const json = { 'Content-Type': 'application/json' };
  const kp = keyPair ?? (await generateRsaKeyPair(1024));
  interface Session {
    cipher: AesCipher;
    headers: Record<string, string>;
    token?: string;
  }
  const pass = async (s: Session, path: string, text: string): Promise<unknown> => {
    const body = Buffer.from(JSON.stringify({ method: 'securePassthrough', params: { request: s.cipher.encrypt(text) } }));
    const a = await h.post(path, body, s.headers);
    const outer = JSON.parse(a.body.toString('utf8')) as { error_code?: number; result?: { response?: string } };
    if (outer.error_code !== 0 || typeof outer.result?.response !== 'string') throw new Error(`aes floor: error ${String(outer.error_code)}`);
    return JSON.parse(s.cipher.decrypt(outer.result.response));
  };
  const handshake = async (): Promise<Session> => {
    const r = await h.post('/app', Buffer.from(JSON.stringify({ method: 'handshake', params: { key: kp.publicPem } })), json);
    const key = (JSON.parse(r.body.toString('utf8')) as { result?: { key?: string } }).result?.key;
    if (!key) throw new Error('aes floor: handshake failed');
    const keyIv = rsaPkcs1Decrypt(kp.privateKey, Buffer.from(key, 'base64'), 32);
    const s: Session = { cipher: new AesCipher(keyIv.subarray(0, 16), keyIv.subarray(16, 32)), headers: { ...json, ...cookieOf(r) } };
    const login = (await pass(s, '/app', JSON.stringify({ method: 'login_device', params: aesLoginParams(2, creds.username, creds.password) }))) as {
      result?: { token?: string };
    };
    s.token = login.result?.token;
    if (!s.token) throw new Error('aes floor: login failed');
    return s;
  };
  let s = await handshake();
  return {
    send: (text) => pass(s, `/app?token=${s.token!}`, text),
    renew: async () => void (s = await handshake()),
    close: () => h.close(),
  };
}

/**
 * Open a floor client of `kind` (klap-v1 is not part of the floor). AES makes its own RSA key pair
 * unless one is given. Rejects when the handshake fails.
 */
export function openFloor(
  kind: Exclude<TransportKind, 'klap-v1' | 'tpap'>,
  host: string,
  port: number,
  creds: Credentials,
  keyPair?: RsaKeyPair,
): Promise<FloorClient> {
  switch (kind) {
    case 'xor':
      return openXor(host, port);
    case 'klap':
      return openKlap(host, port, creds);
    case 'aes':
      return openAes(host, port, creds, keyPair);
  }
}
