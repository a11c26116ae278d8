/**
 * The raw floor: the least a client can do per request on a kept-alive connection, built on
 * src/crypto directly with no pool, queue, retry, protocol layer or normalisation. XOR: frames over
 * one TCP socket. KLAP v2: handshake1/2, then signed AES-CBC requests on one kept-alive socket.
 * AES: RSA handshake (its own key pair, or the one given) and login_device, then securePassthrough
 * requests with the token. Every answer is decrypted and JSON-parsed, as any client must. Loopback
 * only; errors simply throw.
 */
import type * as http from 'node:http';
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

/**
 * A bare keep-alive POST client on one socket: the request head written by hand in one write, the
 * answer read by Content-Length (what the simulator sends). No parser, agent or stream objects:
 * the least an HTTP client can do, so that the pool's own HTTP client is measured against it.
 */
export function poster(host: string, port: number): { post(path: string, body: Buffer, headers: Record<string, string>): Promise<Answer>; close(): void } {
  let sock: net.Socket | undefined;
  let buf: Buffer = Buffer.alloc(0);
  let waiter: { resolve(a: Answer): void; reject(e: Error): void } | undefined;
  const fail = (e: Error): void => {
    const w = waiter;
    waiter = undefined;
    buf = Buffer.alloc(0); // the next answer comes on a new connection
    sock?.destroy();
    sock = undefined;
    w?.reject(e);
  };
  const onData = (c: Buffer): void => {
    buf = buf.length ? Buffer.concat([buf, c]) : c;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = buf.toString('latin1', 0, end).split('\r\n');
    const headers: http.IncomingHttpHeaders = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'set-cookie') (headers['set-cookie'] ??= []).push(value);
      else headers[name] = value;
    }
    const length = Number(headers['content-length']);
    if (!Number.isInteger(length)) return fail(new Error('floor: an answer without Content-Length'));
    if (buf.length < end + 4 + length) return;
    const answer = { status: Number(head[0]!.split(' ')[1]), headers, body: buf.subarray(end + 4, end + 4 + length) };
    buf = Buffer.alloc(0);
    const w = waiter;
    waiter = undefined;
    w?.resolve(answer);
  };
  const connect = (): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      s.setNoDelay(true);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
      s.on('data', onData);
      s.on('error', (e) => fail(e));
      s.on('close', () => {
        if (sock === s) sock = undefined;
        fail(new Error('floor: connection closed'));
      });
    });
  return {
    post: async (path, body, headers) => {
      if (waiter) throw new Error('floor: one request at a time');
      sock ??= await connect();
      const s = sock;
      return new Promise<Answer>((resolve, reject) => {
        const t = setTimeout(() => fail(new Error('floor timeout')), TIMEOUT_MS);
        waiter = {
          resolve: (a) => (clearTimeout(t), resolve(a)),
          reject: (e) => (clearTimeout(t), reject(e)),
        };
        let head = `POST ${path} HTTP/1.1\r\n`;
        for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
        head += `Content-Length: ${body.length}\r\nHost: ${host}:${port}\r\nConnection: keep-alive\r\n\r\n`;
        const h = Buffer.from(head, 'latin1');
        s.write(body.length ? Buffer.concat([h, body]) : h);
      });
    },
    close: () => {
      const s = sock;
      sock = undefined;
      s?.destroy();
    },
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
