/**
 * The HTTP/1.1 client of the KLAP, AES and TPAP transports: POST only, one kept-alive TCP
 * connection per device, one request at a time (others wait their turn), explicit Content-Length,
 * a per-request timeout and a cap on the answer's body.
 *
 * Written on a bare socket instead of node:http: a poll is one small request and one small answer,
 * and node:http's request, response, agent and stream objects cost more than the exchange itself
 * (polling 1,000 devices). Answers are parsed by http-reader.ts.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS } from '../defaults';
import { KasaTapoError, toKasaTapoError } from '../errors';
import { HttpResponseReader, TOKEN, onlyLineEnds, type HttpResponse } from './http-reader';
import { Deadline, answerTimeoutError, closedError, connectTimeoutError } from './timing';

export type { HttpResponse } from './http-reader';

/** One request in flight or queued: its bytes, its promise, its deadline. */
class Exchange extends Deadline<HttpResponse> {
  /** Did it wait behind another request? Then a timeout is never a connect timeout: it had less time. */
  queued = false;
  conn: Conn | undefined;

  constructor(
    readonly client: HttpClient,
    readonly bytes: Buffer,
    ok: (r: HttpResponse) => void,
    ko: (e: unknown) => void,
  ) {
    super(client.timeoutMs, ok, ko);
  }

  override fail(e: unknown): void {
    super.fail(toKasaTapoError(e, this.client.host));
  }

  protected override onSettled(): void {
    this.client.next(this);
  }

  /** Still connecting when the time is up → a connect timeout (not retried; the pool goes offline). */
  protected expired(): void {
    const c = this.client;
    const conn = this.conn;
    const err = !conn
      ? new KasaTapoError('ETIMEDOUT', `A request to ${c.host} waited its whole time behind another one`, { host: c.host })
      : conn.sock.connecting && !this.queued
        ? connectTimeoutError(c.host, c.timeoutMs)
        : answerTimeoutError(c.host);
    // A late answer must not be taken for the next request's: the connection goes with the request.
    if (conn) conn.drop();
    this.fail(err);
  }
}

/**
 * One TCP connection and the reader of the answer in flight. The socket stays unref'd: an idle
 * kept-alive connection must not keep the process alive, and a request in flight keeps it alive by
 * its timeout timer.
 */
class Conn {
  readonly sock: net.Socket | tls.TLSSocket;
  alive = true;
  /** Requests answered on this connection. */
  served = 0;
  exchange: Exchange | undefined;
  reader: HttpResponseReader;

  constructor(readonly client: HttpClient) {
    this.reader = new HttpResponseReader(client.maxResponseBytes, client.host);
    const { host, port, secure } = client;
    // TLS: SNI only for a name (an IP address in SNI is not allowed).
    this.sock = secure ? tls.connect({ ...secure, host, port, ...(net.isIP(host) ? {} : { servername: host }) }) : net.connect({ host, port });
    this.sock.setNoDelay(true);
    this.sock.unref();
    this.sock.on('data', (c: Buffer) => this.onData(c));
    this.sock.on('end', () => this.onEnd());
    this.sock.on('close', () => this.onEnd());
    this.sock.on('error', (e) => this.fail(e));
  }

  send(x: Exchange): void {
    this.exchange = x;
    x.conn = this;
    this.reader = this.served === 0 ? this.reader : new HttpResponseReader(this.client.maxResponseBytes, this.client.host);
    this.sock.write(x.bytes);
  }

  private onData(c: Buffer): void {
    const x = this.exchange;
    if (!x) {
      // A stray line end after an answer (some firmware writes one late) is harmless; anything else ends the connection.
      if (onlyLineEnds(c)) return;
      return this.fail(new KasaTapoError('EPROTOCOL', `${this.client.host} sent data nobody asked for`, { host: this.client.host }));
    }
    let r: HttpResponse | undefined;
    try {
      r = this.reader.push(c);
    } catch (e) {
      return this.fail(e);
    }
    if (!r) return;
    this.exchange = undefined;
    this.served++;
    if (!this.reader.keepAlive) this.drop();
    x.resolve(r);
  }

  private onEnd(): void {
    const x = this.exchange;
    if (!x) return this.drop();
    let r: HttpResponse;
    try {
      r = this.reader.end();
    } catch (e) {
      return this.fail(e);
    }
    this.exchange = undefined;
    this.drop();
    x.resolve(r);
  }

  /** Close without blaming anyone. */
  drop(): void {
    this.alive = false;
    this.exchange = undefined;
    this.sock.destroy();
  }

  /** Any failure kills the connection (its framing can no longer be trusted). */
  fail(e: unknown): void {
    const x = this.exchange;
    this.drop();
    if (x) this.client.failed(x, e);
  }
}

/** What may go into a request head: a path of visible ASCII, token header names, values without control characters. */
const PATH = /^[\x21-\x7e]+$/;
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
/** Headers the client writes itself. */
const OWN = new Set(['content-length', 'host', 'connection', 'transfer-encoding']);

/** A keep-alive HTTP/1.1 POST client bound to one device (one connection, one request at a time). */
export class HttpClient {
  private conn: Conn | undefined;
  private current: Exchange | undefined;
  private readonly queue: Exchange[] = [];
  private readonly hostHeader: string;
  private closed = false;
  /** The last frozen headers object posted, and its checked lines. */
  private lastHeaders: Readonly<Record<string, string>> | undefined;
  private lastLines = '';

  constructor(
    readonly host: string,
    readonly port: number,
    readonly timeoutMs = DEFAULT_TIMEOUT_MS,
    readonly maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES,
    /** HTTPS: the TLS options of each connection (the caller decides what is verified). */
    readonly secure?: tls.ConnectionOptions,
  ) {
    // As node:http writes it: no port when it is HTTP's own; over TLS the port always (as cameras expect).
    const name = net.isIPv6(host) ? `[${host}]` : host;
    this.hostHeader = port === 80 && !secure ? name : `${name}:${port}`;
  }

  /**
   * POST `body` to `path`. Resolves with any HTTP status (callers judge it).
   * Throws KasaTapoError: ETIMEDOUT (connect + answer took longer than timeoutMs; `phase` 'connect'
   * when no connection was made), ETOOBIG (declared or received body above maxResponseBytes),
   * ECONNREFUSED, ECONNRESET (the connection closed before the whole answer came), EPROTOCOL
   * (a malformed answer, anything else).
   */
  post(path: string, body: Buffer, headers: Readonly<Record<string, string>> = NO_HEADERS): Promise<HttpResponse> {
    const host = this.host;
    if (this.closed) return Promise.reject(closedError(host));
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535) {
      return Promise.reject(new KasaTapoError('EBADINPUT', `${this.port} is not a TCP port`, { host }));
    }
    // The order node:http used (devices were validated against it): the caller's headers, then
    // Content-Length, Host and Connection.
    const lines = this.headerLines(headers);
    if (lines === undefined || !PATH.test(path)) {
      return Promise.reject(new KasaTapoError('EPROTOCOL', `A request to ${host} would carry characters HTTP does not allow in its head`, { host }));
    }
    const head = `POST ${path} HTTP/1.1\r\n${lines}Content-Length: ${body.length}\r\nHost: ${this.hostHeader}\r\nConnection: keep-alive\r\n\r\n`;
    const bytes = Buffer.allocUnsafe(head.length + body.length);
    bytes.write(head, 0, 'latin1');
    body.copy(bytes, head.length);
    return new Promise<HttpResponse>((resolve, reject) => {
      const x = new Exchange(this, bytes, resolve, reject);
      if (this.current) {
        x.queued = true;
        this.queue.push(x);
      } else this.start(x);
    });
  }

  /**
   * The caller's header lines, checked; undefined when a name or value may not go into a request
   * head. A session passes one headers object to every request: its lines are checked once.
   */
  private headerLines(headers: Readonly<Record<string, string>>): string | undefined {
    if (headers === this.lastHeaders) return this.lastLines;
    let lines = '';
    for (const k of Object.keys(headers)) {
      const v = headers[k]!;
      if (OWN.has(k.toLowerCase())) continue;
      if (!TOKEN.test(k) || !VALUE.test(v)) return undefined;
      lines += `${k}: ${v}\r\n`;
    }
    // Frozen data properties cannot change; a getter could, so an object with one is never cached.
    if (Object.isFrozen(headers) && Object.values(Object.getOwnPropertyDescriptors(headers)).every((d) => 'value' in d)) {
      this.lastHeaders = headers;
      this.lastLines = lines;
    }
    return lines;
  }

  /** Send `x` on the kept-alive connection, or a new one. A failure to even start fails `x` only. */
  private start(x: Exchange): void {
    this.current = x;
    try {
      if (this.conn && !this.conn.alive) this.conn = undefined;
      const conn = (this.conn ??= new Conn(this));
      conn.send(x);
    } catch (e) {
      this.conn?.drop();
      this.conn = undefined;
      x.fail(e);
    }
  }

  /** @internal `x` settled: start the next queued request. */
  next(x: Exchange): void {
    if (this.current === x) this.current = undefined;
    else {
      const i = this.queue.indexOf(x);
      if (i >= 0) this.queue.splice(i, 1);
    }
    if (!this.current) {
      const n = this.queue.shift();
      if (n) this.start(n);
    }
  }

  /**
   * @internal The connection of `x` failed. Not resent here, even when a kept-alive connection
   * died before answering: the protocol layer retries with fresh encryption (a KLAP or TPAP
   * request must not reach the device twice with one sequence number).
   */
  failed(x: Exchange, e: unknown): void {
    if (x.conn === this.conn) this.conn = undefined;
    x.fail(e);
  }

  /** End the client: the connection is destroyed, a request in flight or queued fails with ECLOSED, later posts too. Never throws. */
  close(): void {
    this.closed = true;
    const c = this.conn;
    this.conn = undefined;
    const pending = [...(this.current ? [this.current] : []), ...this.queue];
    this.queue.length = 0;
    this.current = undefined;
    c?.drop();
    for (const x of pending) x.fail(closedError(this.host));
  }
}
