/**
 * Kasa legacy XOR transport (IOT JSON), TCP and UDP port 9999.
 *
 * No handshake and no secret: the JSON text is obfuscated with autokey XOR (initial key 171, each
 * byte XORed with the previous ciphertext byte; crypto/xor.ts). TCP frames carry a 4-byte big-endian
 * length prefix; we keep one TCP connection per device (TCP_NODELAY), reopen it when the device
 * closed it, and read exactly the announced length (capped). UDP: one datagram each way, no prefix.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { HINTS, KasaTapoError, toKasaTapoError } from '../errors';
import { xorDecrypt, xorEncrypt, xorFrame } from '../crypto/xor';
import { parseJson } from '../json';
import type { Transport, TransportOptions, TransportStats } from '../types';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS, closedError } from './http';

const timeoutError = (host: string): KasaTapoError =>
  new KasaTapoError('ETIMEDOUT', `${host} did not answer in time`, { host, hint: HINTS.timeout });
const droppedError = (host: string, got: number): KasaTapoError =>
  new KasaTapoError('ECONNRESET', `${host} closed the connection ${got ? 'in the middle of an answer' : 'without answering'}`, { host });

interface Waiter {
  resolve(frame: Buffer): void;
  reject(e: unknown): void;
}

/** One TCP connection and its frame reader. */
class Conn {
  readonly sock: net.Socket;
  alive = true;
  waiter: Waiter | undefined;
  private chunks: Buffer[] = [];
  private size = 0;
  private expected = -1;

  constructor(host: string, port: number, max: number, onConnect: () => void) {
    this.sock = net.connect({ host, port });
    this.sock.setNoDelay(true);
    this.sock.once('connect', onConnect);
    this.sock.on('data', (c: Buffer) => this.onData(c, host, max));
    this.sock.on('end', () => this.fail(droppedError(host, this.size)));
    this.sock.on('close', () => this.fail(droppedError(host, this.size)));
    this.sock.on('error', (e) => this.fail(e));
  }

  get received(): number {
    return this.size;
  }

  private onData(c: Buffer, host: string, max: number): void {
    if (!this.waiter) return this.fail(new KasaTapoError('EPROTOCOL', `${host} sent data nobody asked for`, { host }));
    this.chunks.push(c);
    this.size += c.length;
    if (this.expected < 0 && this.size >= 4) {
      const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
      this.expected = head.readUInt32BE(0);
      if (this.expected > max) {
        return this.fail(new KasaTapoError('ETOOBIG', `${host} announced a ${this.expected}-byte answer, above the ${max}-byte limit`, { host }));
      }
    }
    if (this.expected < 0 || this.size < 4 + this.expected) return;
    if (this.size > 4 + this.expected) return this.fail(new KasaTapoError('EPROTOCOL', `${host} sent more than one frame`, { host }));
    const frame = Buffer.concat(this.chunks, this.size).subarray(4);
    const w = this.waiter;
    this.reset();
    w.resolve(frame);
  }

  private reset(): void {
    this.waiter = undefined;
    this.chunks = [];
    this.size = 0;
    this.expected = -1;
  }

  /** Any failure kills the connection (its framing can no longer be trusted). */
  fail(e: unknown): void {
    this.alive = false;
    const w = this.waiter;
    this.waiter = undefined;
    this.sock.destroy();
    w?.reject(e);
  }
}

export class XorTransport implements Transport {
  readonly kind = 'xor' as const;
  readonly host: string;
  readonly port: number;
  readonly stats: TransportStats = { handshakes: 0, requests: 0 };
  private conn: Conn | undefined;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly max: number;

  /** Never throws. */
  constructor(private readonly opts: TransportOptions) {
    this.host = opts.host;
    this.port = opts.port ?? 9999;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.max = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /**
   * Send one IOT request; resolves with the parsed answer. Throws KasaTapoError: ETIMEDOUT,
   * ECONNREFUSED, ECONNRESET (closed mid-exchange), ETOOBIG (announced length above the cap),
   * EPROTOCOL (not JSON), ECLOSED.
   */
  async send(request: string): Promise<unknown> {
    if (this.closed) throw closedError(this.host);
    this.opts.trace?.('request', request);
    let frame: Buffer;
    try {
      frame = await this.exchange(xorFrame(request));
    } catch (e) {
      this.dropConn();
      throw this.closed ? closedError(this.host) : toKasaTapoError(e, this.host);
    }
    const text = xorDecrypt(frame).toString('utf8');
    this.opts.trace?.('response', text);
    const answer = parseJson(text);
    this.stats.requests++;
    return answer;
  }

  /**
   * One write + read within timeoutMs (connect included). A reused connection that dies before a
   * single answer byte arrives (the device had closed it while idle and our request crossed its FIN)
   * is replaced once by a fresh one and the request resent.
   */
  private exchange(frame: Buffer): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      let settled = false;
      const done = (e: unknown, b?: Buffer): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (b) {
          this.conn?.sock.unref();
          resolve(b);
        } else reject(e);
      };
      const timer = setTimeout(() => done(timeoutError(this.host)), this.timeoutMs);
      const attempt = (mayRetry: boolean): void => {
        if (this.conn && !this.conn.alive) this.dropConn();
        const reused = this.conn !== undefined;
        const conn = (this.conn ??= new Conn(this.host, this.port, this.max, () => this.stats.handshakes++));
        conn.sock.ref();
        conn.waiter = {
          resolve: (b) => done(undefined, b),
          reject: (e) => {
            if (this.conn === conn) this.conn = undefined;
            if (reused && mayRetry && conn.received === 0 && !settled) {
              this.opts.logger?.debug?.(`xor ${this.host}: reused connection was dead, reconnecting`);
              attempt(false);
            } else done(e);
          },
        };
        conn.sock.write(frame);
      };
      attempt(true);
    });
  }

  private dropConn(): void {
    const c = this.conn;
    this.conn = undefined;
    if (c) {
      c.waiter = undefined;
      c.fail(undefined);
    }
  }

  reset(): void {
    this.dropConn();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.dropConn();
  }
}

/**
 * One UDP request/answer (no length prefix, one datagram). Resolves with the parsed answer.
 * Throws KasaTapoError: ETIMEDOUT, ECONNREFUSED (ICMP unreachable), EPROTOCOL (not JSON).
 */
export function xorUdpRequest(host: string, port: number, text: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    let settled = false;
    const done = (e: unknown, v?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.close();
      if (e) reject(toKasaTapoError(e, host));
      else resolve(v);
    };
    const timer = setTimeout(() => done(timeoutError(host)), timeoutMs);
    sock.on('error', (e) => done(e));
    sock.on('message', (msg, rinfo) => {
      if (net.isIP(host) && rinfo.address !== host) return;
      try {
        done(undefined, parseJson(xorDecrypt(msg)));
      } catch (e) {
        done(e);
      }
    });
    sock.send(xorEncrypt(text), port, host, (err) => {
      if (err) done(err);
    });
  });
}
