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
import { KasaTapoError, toKasaTapoError } from '../errors';
import { xorDecrypt, xorEncrypt, xorFrame } from '../crypto/xor';
import { DEFAULT_PORTS } from '../defaults';
import { parseJson } from '../json';
import type { Transport, TransportOptions, TransportStats } from '../types';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS } from './http';
import { Deadline, answerTimeoutError, closedError, connectTimeoutError, droppedError } from './timing';

interface Waiter {
  resolve(frame: Buffer): void;
  reject(e: unknown): void;
}

/**
 * Reassembles one length-prefixed answer frame from TCP chunks. Pure (no I/O): the connection feeds
 * it, tests fuzz it. The announced length is checked against `max` as soon as the 4-byte prefix is
 * in, before any buffering beyond the chunks already received.
 */
export class XorFrameReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private expected = -1;

  constructor(
    readonly max: number,
    readonly host: string,
  ) {}

  /** Bytes buffered for the current frame (prefix included). */
  get received(): number {
    return this.size;
  }

  /**
   * Add a chunk. Returns the frame's encrypted body once complete (the reader is then empty again),
   * else undefined. Throws KasaTapoError ETOOBIG (announced length above max) or EPROTOCOL (bytes
   * beyond the announced frame); the reader must then be dropped.
   */
  push(c: Buffer): Buffer | undefined {
    const host = this.host;
    // The usual case, a whole frame in one chunk: no buffering, no copy.
    if (this.size === 0 && c.length >= 4) {
      const expected = c.readUInt32BE(0);
      if (expected > this.max) {
        throw new KasaTapoError('ETOOBIG', `${host} announced a ${expected}-byte answer, above the ${this.max}-byte limit`, { host });
      }
      if (c.length === 4 + expected) return c.subarray(4);
      if (c.length > 4 + expected) throw new KasaTapoError('EPROTOCOL', `${host} sent more than one frame`, { host });
    }
    this.chunks.push(c);
    this.size += c.length;
    if (this.expected < 0 && this.size >= 4) {
      const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
      this.expected = head.readUInt32BE(0);
      if (this.expected > this.max) {
        throw new KasaTapoError('ETOOBIG', `${host} announced a ${this.expected}-byte answer, above the ${this.max}-byte limit`, { host });
      }
    }
    if (this.expected < 0 || this.size < 4 + this.expected) return undefined;
    if (this.size > 4 + this.expected) throw new KasaTapoError('EPROTOCOL', `${host} sent more than one frame`, { host });
    const frame = Buffer.concat(this.chunks, this.size).subarray(4);
    this.reset();
    return frame;
  }

  reset(): void {
    this.chunks = [];
    this.size = 0;
    this.expected = -1;
  }
}

/**
 * One TCP connection and its frame reader. The socket stays unref'd: an idle kept-alive connection
 * must not keep the process alive, and a request in flight keeps it alive by its timeout timer.
 */
class Conn {
  readonly sock: net.Socket;
  alive = true;
  waiter: Waiter | undefined;
  private readonly reader: XorFrameReader;

  constructor(host: string, port: number, max: number, onConnect: () => void) {
    this.reader = new XorFrameReader(max, host);
    this.sock = net.connect({ host, port });
    this.sock.setNoDelay(true);
    this.sock.unref();
    this.sock.once('connect', onConnect);
    this.sock.on('data', (c: Buffer) => this.onData(c, host));
    this.sock.on('end', () => this.fail(droppedError(host, this.received)));
    this.sock.on('close', () => this.fail(droppedError(host, this.received)));
    this.sock.on('error', (e) => this.fail(e));
  }

  get received(): number {
    return this.reader.received;
  }

  private onData(c: Buffer, host: string): void {
    if (!this.waiter) return this.fail(new KasaTapoError('EPROTOCOL', `${host} sent data nobody asked for`, { host }));
    let frame: Buffer | undefined;
    try {
      frame = this.reader.push(c);
    } catch (e) {
      return this.fail(e);
    }
    if (!frame) return;
    const w = this.waiter;
    this.waiter = undefined;
    w.resolve(frame);
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

/** One request in flight: its frame, its promise, its deadline. */
class Exchange extends Deadline<Buffer> implements Waiter {
  /** May a dead reused connection be replaced (once)? */
  mayRetry = true;
  conn: Conn | undefined;

  constructor(
    readonly t: XorTransport,
    readonly frame: Buffer,
    ok: (b: Buffer) => void,
    ko: (e: unknown) => void,
    timeoutMs: number,
  ) {
    super(timeoutMs, ok, ko);
  }

  reject(e: unknown): void {
    this.t.failed(this, e);
  }

  /** Settle with an error. */
  override fail(e: unknown): void {
    super.fail(e instanceof Error ? e : toKasaTapoError(e, this.t.host));
  }

  /** Still connecting when the time is up → a connect timeout (not retried; the pool goes offline). */
  protected expired(): void {
    this.fail(this.conn?.sock.connecting ? connectTimeoutError(this.t.host, this.t.timeoutMs) : answerTimeoutError(this.t.host));
  }
}

export class XorTransport implements Transport {
  readonly kind = 'xor' as const;
  readonly host: string;
  readonly port: number;
  readonly stats: TransportStats = { handshakes: 0, requests: 0 };
  private conn: Conn | undefined;
  private closed = false;
  /** @internal */
  readonly timeoutMs: number;
  private readonly max: number;

  /** Never throws. */
  constructor(private readonly opts: TransportOptions) {
    this.host = opts.host;
    this.port = opts.port ?? DEFAULT_PORTS.xor;
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
    return new Promise<Buffer>((resolve, reject) => this.attempt(new Exchange(this, frame, resolve, reject, this.timeoutMs)));
  }

  private attempt(x: Exchange): void {
    if (this.conn && !this.conn.alive) this.dropConn();
    const reused = this.conn !== undefined;
    const conn = (this.conn ??= new Conn(this.host, this.port, this.max, this.onConnect));
    x.conn = conn;
    x.mayRetry &&= reused;
    conn.waiter = x;
    conn.sock.write(x.frame);
  }

  private readonly onConnect = (): void => {
    this.stats.handshakes++;
  };

  /** @internal The connection of `x` failed: retry once on a fresh one if it was a dead reused one, else fail. */
  failed(x: Exchange, e: unknown): void {
    const conn = x.conn;
    if (this.conn === conn) this.conn = undefined;
    if (!this.closed && x.mayRetry && conn && conn.received === 0 && !x.settled) {
      this.opts.logger?.debug?.(`xor ${this.host}: reused connection was dead, reconnecting`);
      x.mayRetry = false;
      this.attempt(x);
    } else x.fail(e);
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
    // A request in flight ends now with ECLOSED, not when its timeout fires.
    const c = this.conn;
    this.conn = undefined;
    c?.fail(closedError(this.host));
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
    const timer = setTimeout(() => done(answerTimeoutError(host)), timeoutMs);
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
