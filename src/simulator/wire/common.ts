/**
 * What the three simulated wire servers share: the listening socket's life (including "refuse" and
 * "offline", which really close the listener and reopen the same port when the fault clears, and
 * "unreachable", which hands the port to a never-accepting blackhole meanwhile — blackhole.ts),
 * connection tracking (singleConnection), tracked latency timers, exact WireStats, the application
 * answer with invalidJson/busyCode faults, and — for KLAP and AES — an HTTP front end that applies
 * latency, drop, garbage, truncate and lying-length faults around each protocol's own routing.
 * Handshakes and encryption are in xor.ts, klap.ts and aes.ts beside this file.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { KasaTapoError } from '../../errors';
import type { Faults, WireServer, WireServerOptions, WireStats } from '../types';
import { startBlackhole, type Blackhole } from './blackhole';

/** Largest request a simulated device reads. */
export const MAX_REQUEST_BYTES = 1 << 20;
const WATCH_MS = 20;

/** Throws KasaTapoError('EBADINPUT') unless host is a loopback address (127.0.0.0/8, ::1, localhost). */
export function assertLoopback(host: string): void {
  const ok = host === 'localhost' || host === '::1' || (net.isIPv4(host) && host.startsWith('127.'));
  if (!ok) throw new KasaTapoError('EBADINPUT', `The simulator binds loopback addresses only, not ${host}`);
}

type ListenState = 'idle' | 'listening' | 'closing' | 'closed';

/** A device's counters, all zero. Never throws. */
export const newWireStats = (): WireStats => ({
  handshakes: 0,
  requests: 0,
  connections: 0,
  maxConcurrent: 0,
  expired: 0,
  authFailures: 0,
  logins: 0,
  rateLimited: 0,
  discovers: 0,
});

/** Listener, sockets, timers, stats and faults of one simulated device endpoint. */
export class WireCore {
  readonly stats: WireStats;
  port = 0;
  shut = false;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private state: ListenState = 'idle';
  private watch: NodeJS.Timeout | undefined;
  private active = 0;
  private closing: Promise<void> | undefined;
  /** While `unreachable`: the port held by a listener that never accepts. */
  private hole: Blackhole | undefined;
  /** A blackhole being started or stopped (check() waits for it). */
  private switching = false;

  constructor(
    readonly server: net.Server,
    readonly opts: WireServerOptions,
    /** SMART devices answer busy with error_code, IOT ones with err_code -1. */
    private readonly smart: boolean,
  ) {
    assertLoopback(opts.host);
    this.stats = opts.stats ?? newWireStats();
    server.on('error', () => {
      // A failed reopen: try again on the next watch tick.
      if (this.state === 'listening') this.state = 'closed';
    });
  }

  get faults(): Faults {
    return this.opts.faults;
  }

  refused(): boolean {
    const f = this.faults;
    return (
      !!f.refuse ||
      (f.offlineUntil !== undefined && Date.now() < f.offlineUntil) ||
      (!!f.sleepUntilProbed && !(f.awakeAt !== undefined && Date.now() >= f.awakeAt))
    );
  }

  /** Failed logins in a row (faults.lockAfter). */
  private loginFailures = 0;
  private lastAnswerAt = 0;

  /** A login reached the device: undefined to go on, or the seconds left of a lockout (answer -40404). */
  loginAttempt(): number | undefined {
    this.stats.logins++;
    const until = this.faults.lockedUntil;
    if (until !== undefined && Date.now() < until) return Math.max(1, Math.ceil((until - Date.now()) / 1000));
    return undefined;
  }

  /** Count a failed login (and start the lockout when faults.lockAfter is reached). */
  loginFailed(): void {
    this.stats.authFailures++;
    const f = this.faults;
    if (f.lockedUntil !== undefined && Date.now() >= f.lockedUntil) {
      f.lockedUntil = undefined;
      this.loginFailures = 0;
    }
    this.loginFailures++;
    if (f.lockAfter !== undefined && f.lockAfter > 0 && this.loginFailures >= f.lockAfter && f.lockedUntil === undefined) {
      f.lockedUntil = Date.now() + (f.lockoutS ?? 1800) * 1000;
    }
  }

  /** A login succeeded: the failure count starts again. */
  loginOk(): void {
    this.loginFailures = 0;
  }

  /** `unreachable`: new connections time out, open ones get no answer (and no FIN). */
  silent(): boolean {
    return !!this.faults.unreachable;
  }

  /** Listen on opts.host:opts.port. Rejects with the listen error. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.state = 'listening';
    this.port = (this.server.address() as AddressInfo).port;
    this.watch = setInterval(() => this.check(), WATCH_MS);
    this.watch.unref();
    this.check();
  }

  /**
   * Close the listener while refused/offline, reopen it on the same port when cleared. While
   * unreachable the port is held by a blackhole (connects hang) and open sockets stay silent; when
   * that clears they are destroyed (the device "rebooted") and the listener reopens.
   */
  check(): void {
    if (this.shut || this.switching) return;
    if (this.silent()) {
      if (this.state === 'listening') {
        this.state = 'closing';
        // Open sockets stay (silent): the listening handle closes now, 'close' waits for them.
        this.server.close(() => {
          this.state = 'closed';
        });
      }
      if (!this.hole) this.switchHole(true);
    } else if (this.hole) {
      this.switchHole(false);
    } else if (this.refused()) {
      for (const s of this.sockets) s.destroy();
      if (this.state === 'listening') {
        this.state = 'closing';
        this.server.close(() => {
          this.state = 'closed';
        });
      }
    } else if (this.state === 'closed') {
      this.state = 'listening';
      this.server.listen(this.port, this.opts.host);
    }
  }

  /** Start (or stop) the blackhole on our port; a failed start is retried on the next check. */
  private switchHole(on: boolean): void {
    this.switching = true;
    const step = on
      ? startBlackhole(this.opts.host, this.port).then((h) => {
          if (this.shut || !this.silent()) return h.close();
          this.hole = h;
        })
      : this.hole!.close().then(() => {
          this.hole = undefined;
          for (const s of this.sockets) s.destroy();
        });
    void step.then(
      () => {
        this.switching = false;
        if (!this.shut) this.check();
      },
      () => {
        this.switching = false; // e.g. the port not free yet: the next watch tick tries again
      },
    );
  }

  /** Register an accepted socket; false when a fault (refuse, offline, singleConnection) closes it at once. Never throws. */
  accept(sock: net.Socket): boolean {
    if (this.shut || this.refused() || (this.faults.singleConnection && this.sockets.size > 0)) {
      sock.destroy();
      this.check();
      return false;
    }
    this.sockets.add(sock);
    this.stats.connections++;
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    return true;
  }

  /** Destroy every open connection (XOR "session" expiry). */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Resolve after ms (a timer cleared by close(); then the promise simply never resolves). */
  delay(ms: number | undefined): Promise<void> {
    if (!ms || ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  enter(): void {
    this.active++;
    if (this.active > this.stats.maxConcurrent) this.stats.maxConcurrent = this.active;
  }

  leave(): void {
    this.active--;
  }

  /** The application answer text for a decrypted request: busy, invalidJson, or the handler's. */
  async answer(request: string): Promise<string> {
    const f = this.faults;
    this.stats.requests++;
    if (f.rateLimitMs !== undefined && f.rateLimitMs > 0) {
      const now = Date.now();
      const close = now - this.lastAnswerAt < f.rateLimitMs;
      this.lastAnswerAt = now;
      if (close) {
        this.stats.rateLimited++;
        return this.smart ? '{"error_code":-40109}' : '{"err_code":-40109,"err_msg":"one second repeat request"}';
      }
    }
    if (f.invalidJson) return 'not json{';
    if (f.busyCode) return this.smart ? JSON.stringify({ error_code: f.busyCode }) : '{"err_code":-1,"err_msg":"busy"}';
    return this.opts.handler.handle(request);
  }

  /** Close listener, sockets, timers and a blackhole. Idempotent. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.shut = true;
    clearInterval(this.watch);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    const state = this.state;
    this.state = 'closed';
    const listener = new Promise<void>((resolve) => {
      if (state === 'idle' || state === 'closed') return resolve();
      if (state === 'closing') return void this.server.once('close', () => resolve());
      if (this.server.listening) return void this.server.close(() => resolve());
      // A reopen still resolving its address would start listening after a close() now: close it
      // once it listens (or gave up).
      const onListening = (): void => {
        this.server.off('error', onError);
        this.server.close(() => resolve());
      };
      const onError = (): void => {
        this.server.off('listening', onListening);
        resolve();
      };
      this.server.once('listening', onListening);
      this.server.once('error', onError);
    });
    // A blackhole being started closes itself when it sees `shut`; wait (bounded) for a switch.
    const hole = (async () => {
      for (let i = 0; i < 200 && this.switching; i++) await new Promise((r) => setTimeout(r, 10));
      await this.hole?.close();
      this.hole = undefined;
    })();
    this.closing = Promise.all([listener, hole]).then(() => undefined);
    return this.closing;
  }

  /** The public face of the server. */
  face(expireSessions: () => void): WireServer {
    const core = this;
    return {
      host: this.opts.host,
      get port() {
        return core.port;
      },
      stats: this.stats,
      expireSessions,
      close: () => this.close(),
    };
  }
}

/** Random bytes that are neither a 48-byte KLAP handshake nor a whole number of AES blocks. Never throws. */
export const garbageBytes = (): Buffer => randomBytes(61);

export interface HttpAnswer {
  status: number;
  body: Buffer;
  headers?: Record<string, string>;
}

export type HttpRoute = (core: WireCore, url: URL, body: Buffer, cookie: string | undefined) => Promise<HttpAnswer>;

/** A 200 answer with a JSON body. Never throws. */
export const jsonAnswer = (value: unknown, headers?: Record<string, string>): HttpAnswer => ({
  status: 200,
  body: Buffer.from(JSON.stringify(value)),
  ...(headers ? { headers } : {}),
});

/**
 * Start an HTTP device endpoint: reads each POST body (capped), then applies the wire faults around
 * `route`. Rejects with the listen error.
 */
export async function startHttpWire(opts: WireServerOptions, smart: boolean, route: HttpRoute, expireSessions: () => void): Promise<WireServer> {
  const server = http.createServer({ keepAliveTimeout: 30_000 });
  const core = new WireCore(server, opts, smart);
  server.on('connection', (sock: net.Socket) => core.accept(sock));
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BYTES) req.socket.destroy();
      else chunks.push(c);
    });
    req.on('end', () => void serve(req, res, Buffer.concat(chunks, size)));
    req.on('error', () => undefined);
  });

  async function serve(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const f = core.faults;
    core.enter();
    try {
      if (core.refused()) return void req.socket.destroy();
      await core.delay(f.latencyMs);
      // Unreachable: no answer at all; the client's timeout ends the exchange.
      if (core.shut || req.socket.destroyed || core.silent()) return;
      if (f.dropConnection) return void req.socket.destroy();
      if (f.garbage) return send(res, { status: 200, body: garbageBytes() });
      const url = new URL(req.url ?? '/', 'http://device');
      const ans = await route(core, url, body, req.headers.cookie);
      if (core.shut || req.socket.destroyed || core.silent()) return;
      if (f.lyingLength) return cut(res, ans, 0x7fffffff, ans.body.subarray(0, 8));
      if (f.truncate) return cut(res, ans, ans.body.length + 16, ans.body.length > 1 ? ans.body.subarray(0, ans.body.length >> 1) : Buffer.alloc(1));
      send(res, ans);
    } catch {
      if (!res.headersSent && !req.socket.destroyed) send(res, { status: 500, body: Buffer.alloc(0) });
    } finally {
      core.leave();
    }
  }

  function send(res: http.ServerResponse, a: HttpAnswer): void {
    res.writeHead(a.status, { 'Content-Type': 'text/html', ...a.headers, 'Content-Length': String(a.body.length) });
    res.end(a.body);
  }

  /** Declare `declared` bytes, send `part`, then kill the connection. */
  function cut(res: http.ServerResponse, a: HttpAnswer, declared: number, part: Buffer): void {
    res.writeHead(a.status, { ...a.headers, 'Content-Length': String(declared) });
    res.write(part, () => res.socket?.destroy());
  }

  await core.start();
  return core.face(expireSessions);
}
