/**
 * The connection pool: one session per device for every user (node, flow or script), one request
 * in flight per device through a bounded queue, a pool-wide concurrency limit, offline detection
 * with a light TCP probe, one poller per device whatever the number of subscribers, idle close,
 * one RSA key pair per pool, and statistics. Retries by error class live in the protocol layer
 * (connect() options `retries`/`backoffMs`); session renewal lives in the transports.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { KasaTapoError, clip, isKasaTapoError, toKasaTapoError, type ErrorCode } from './errors';
import { connect as connectDevice, type ConnectOptions } from './device';
import { discover as discoverDevices, type DiscoverOptions } from './discovery';
import { AesTrust, checkHost, isValidHost } from './trust';
import { generateRsaKeyPair, type RsaKeyPair } from './crypto/rsa';
import { isConnectTimeout } from './transports/http';
import type {
  ChildRef,
  Credentials,
  DeviceApi,
  DeviceInfo,
  DeviceState,
  EnergyHistory,
  EnergyReading,
  DiscoveryResult,
  Logger,
  StatePatch,
  TransportKind,
} from './types';

/** A device the pool knows by alias (the config node's device list). */
export interface PoolDeviceConfig {
  alias?: string;
  host: string;
  port?: number;
  transport?: TransportKind | 'auto';
  /** AES login version for this device: 1 only for old firmware that needs it. Default: discovery's, else 2. */
  loginVersion?: 1 | 2;
}

/** What a caller names: an alias, a host, `host:port`, or an object. */
export type DeviceRef = string | PoolDeviceConfig;

export interface PoolOptions {
  /** The TP-Link account, shared by every KLAP/AES device. */
  credentials?: Credentials;
  devices?: PoolDeviceConfig[];
  /** Per exchange with a device. Default 5000 ms. */
  timeoutMs?: number;
  /** Waiting requests per device before EQUEUEFULL. Default 100. */
  queueLimit?: number;
  /** Requests in flight across all devices. Default 32. */
  concurrency?: number;
  /**
   * Session setups (handshakes) started at once. Handshake answers that arrive together are all
   * handled in one turn of the event loop; a few at a time keeps that turn short. A setup holds
   * its slot for at most 250 ms, so a device that does not answer never holds up the others.
   * Default 4.
   */
  connectConcurrency?: number;
  /** Protocol-layer retries for timeouts and busy answers. Default 2. */
  retries?: number;
  /** Backoff before such a retry. Default 1000 ms. */
  backoffMs?: number;
  /** Consecutive connection failures before a device is offline. Default 2. */
  offlineAfter?: number;
  /** First probe delay when offline; doubles up to probeMaxMs. Defaults 1000 / 30000 ms. */
  probeMinMs?: number;
  probeMaxMs?: number;
  /** Close the session of a device nobody uses after this long. Default 300000 ms. */
  idleCloseMs?: number;
  /**
   * After a device rejected the credentials (EAUTH), requests fail at once with that error for this
   * long instead of logging in again (devices lock accounts out after repeated failures). Default 60000 ms.
   */
  authRetryMs?: number;
  logger?: Logger;
  /** Replaces connect() (tests, custom transports). */
  connect?: (opts: ConnectOptions) => Promise<DeviceApi>;
}

export type DeviceStatus = 'idle' | 'connecting' | 'online' | 'offline' | 'auth-error' | 'error';

export interface DeviceStats {
  key: string;
  host: string;
  port?: number;
  alias?: string;
  status: DeviceStatus;
  transport?: TransportKind;
  requests: number;
  errors: number;
  errorsByCode: Partial<Record<ErrorCode, number>>;
  handshakes: number;
  retries: number;
  queueDepth: number;
  lastLatencyMs?: number;
  polls: number;
  pollsMissed: number;
}

export interface PoolStats {
  devices: number;
  requests: number;
  errors: number;
  handshakes: number;
  retries: number;
  queueDepth: number;
  inFlight: number;
  polls: number;
  pollsMissed: number;
}

export type PollKind = 'state' | 'energy';

export interface SubscribeOptions {
  intervalMs: number;
  kind?: PollKind;
  /** Deliver only readings that differ from the last one this subscriber got. */
  onlyChanges?: boolean;
  child?: ChildRef;
}

/** A poll result: `value` on success, `error` on failure. */
export type PollListener = (error: KasaTapoError | undefined, value?: DeviceState | EnergyReading) => void;

export interface Subscription {
  cancel(): void;
}

interface Job {
  run: (dev: DeviceApi) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Subscriber {
  opts: SubscribeOptions;
  listener: PollListener;
  last?: string;
}

interface Poller {
  kind: PollKind;
  child?: ChildRef;
  subscribers: Set<Subscriber>;
  intervalMs: number;
  timer?: NodeJS.Timeout;
  busy: boolean;
}

const CONNECTION_CODES = new Set<ErrorCode>(['ETIMEDOUT', 'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND']);

/**
 * For "only on change": uptime and signal strength move on every read, so they are not a change
 * a user would want to hear about. Everything else (on, brightness, colour, sensors, energy) is.
 */
const COUNTERS = new Set(['onTimeS', 'rssi']);

/** A poll stream's first reading comes within this time of subscribing. */
const FIRST_POLL_MS = 2000;
const ignoreCounters = (key: string, v: unknown): unknown => (COUNTERS.has(key) ? undefined : v);

class Entry {
  readonly key: string;
  device?: DeviceApi;
  connecting?: Promise<DeviceApi>;
  /** Aborts the connect in progress (close()). */
  connectAbort?: AbortController;
  /** Transport and port found on the first connect (discovery or probing), reused on reconnects. */
  transport?: TransportKind;
  foundPort?: number;
  readonly queue: Job[] = [];
  running = false;
  /** In the pool's list of devices waiting for a free slot. */
  waiting = false;
  status: DeviceStatus = 'idle';
  failures = 0;
  users = 0;
  lastUsed = Date.now();
  probeTimer?: NodeJS.Timeout;
  /** The probe in progress (destroyed by close()). */
  probeSocket?: net.Socket;
  probeDelay = 0;
  /** Until this epoch ms, requests fail at once with lastError (EAUTH). */
  authUntil = 0;
  readonly pollers = new Map<string, Poller>();
  lastError?: KasaTapoError;
  readonly stats: DeviceStats;

  /** The configured port, else the one found. */
  port(): number | undefined {
    return this.config.port ?? this.foundPort;
  }

  constructor(
    readonly config: PoolDeviceConfig,
    key: string,
  ) {
    this.key = key;
    this.transport = config.transport && config.transport !== 'auto' ? config.transport : undefined;
    this.stats = {
      key,
      host: config.host,
      ...(config.port !== undefined ? { port: config.port } : {}),
      ...(config.alias !== undefined ? { alias: config.alias } : {}),
      status: 'idle',
      requests: 0,
      errors: 0,
      errorsByCode: {},
      handshakes: 0,
      retries: 0,
      queueDepth: 0,
      polls: 0,
      pollsMissed: 0,
    };
  }
}

/** Parse `host:port`, `[v6]:port` or a bare host. */
function parseHostPort(s: string): { host: string; port?: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return v6[2] ? { host: v6[1]!, port: Number(v6[2]) } : { host: v6[1]! };
  const m = /^([^:]+):(\d+)$/.exec(s);
  if (m) return { host: m[1]!, port: Number(m[2]) };
  return { host: s };
}

function stableHash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * Sessions shared per device. Events: 'status' (key, status, error?), 'online' (key),
 * 'offline' (key, error), 'connecting' (key), 'auth-error' (key, error).
 */
export class Pool extends EventEmitter {
  private readonly opts: Required<
    Pick<
      PoolOptions,
      | 'timeoutMs'
      | 'queueLimit'
      | 'concurrency'
      | 'connectConcurrency'
      | 'retries'
      | 'backoffMs'
      | 'offlineAfter'
      | 'probeMinMs'
      | 'probeMaxMs'
      | 'idleCloseMs'
      | 'authRetryMs'
    >
  >;
  private readonly credentials?: Credentials;
  private readonly logger?: Logger;
  private readonly connectFn: (opts: ConnectOptions) => Promise<DeviceApi>;
  private readonly entries = new Map<string, Entry>();
  private readonly aliases = new Map<string, PoolDeviceConfig>();
  private readonly waiting: Entry[] = [];
  private inFlight = 0;
  private setups = 0;
  private readonly setupQueue: (() => void)[] = [];
  private closed = false;
  private keyPairPromise?: Promise<RsaKeyPair>;
  private sweepTimer?: NodeJS.Timeout;
  /** Where an AES login may go: the device list and this pool's own discovery (src/trust.ts). */
  private readonly trust = new AesTrust();

  constructor(options: PoolOptions = {}) {
    super();
    this.opts = {
      timeoutMs: options.timeoutMs ?? 5000,
      queueLimit: options.queueLimit ?? 100,
      concurrency: options.concurrency ?? 32,
      connectConcurrency: Math.max(1, options.connectConcurrency ?? 4),
      retries: options.retries ?? 2,
      backoffMs: options.backoffMs ?? 1000,
      offlineAfter: options.offlineAfter ?? 2,
      probeMinMs: options.probeMinMs ?? 1000,
      probeMaxMs: options.probeMaxMs ?? 30000,
      idleCloseMs: options.idleCloseMs ?? 300000,
      authRetryMs: options.authRetryMs ?? 60000,
    };
    if (options.credentials) this.credentials = options.credentials;
    if (options.logger) this.logger = options.logger;
    this.connectFn = options.connect ?? connectDevice;
    for (const d of options.devices ?? []) this.addDevice(d);
    // Node's EventEmitter throws on an unhandled 'error' event; the pool never emits one, but be safe.
    this.on('error', () => undefined);
  }

  /**
   * Add or replace a known device (by alias). A listed device may receive an AES login
   * (src/trust.ts). Throws EBADINPUT without a valid host (an IP address or a host name).
   */
  addDevice(d: PoolDeviceConfig): void {
    if (!d || typeof d.host !== 'string' || !d.host) throw new KasaTapoError('EBADINPUT', 'A device needs a host');
    checkHost(d.host);
    this.trust.addListed(d);
    if (d.alias) this.aliases.set(d.alias.toLowerCase(), d);
  }

  /**
   * Discover devices (src/discovery.ts) and trust those announcing AES for an AES login, with the
   * login version and port they announce. Throws EBADINPUT for a malformed broadcast address.
   */
  async discover(opts: DiscoverOptions = {}): Promise<DiscoveryResult[]> {
    const found = await discoverDevices({ keyPair: () => this.keyPair(), ...(this.logger ? { logger: this.logger } : {}), ...opts });
    for (const r of found) this.trust.addDiscovered(r);
    return found;
  }

  /** The configured devices (alias list). */
  knownDevices(): PoolDeviceConfig[] {
    return [...this.aliases.values()];
  }

  /** Resolve a reference to a device config. Throws EBADINPUT / ENOTFOUND. */
  resolve(ref: DeviceRef): PoolDeviceConfig {
    if (typeof ref === 'string') {
      const s = ref.trim();
      if (!s) throw new KasaTapoError('EBADINPUT', 'Device reference is empty; give an alias, a host or host:port');
      const known = this.aliases.get(s.toLowerCase());
      if (known) return known;
      const hp = parseHostPort(s);
      if (!isValidHost(hp.host) || (hp.port !== undefined && (hp.port < 1 || hp.port > 65535))) {
        throw new KasaTapoError('ENOTFOUND', `Unknown device "${clip(s)}": not an alias of this pool, nor a host or host:port`);
      }
      return hp;
    }
    if (ref && typeof ref === 'object' && typeof ref.host === 'string' && ref.host) {
      // Objects are checked like strings: nothing but an address or a host name is ever looked up.
      checkHost(ref.host, 'device host');
      if (ref.port !== undefined && !(Number.isInteger(ref.port) && ref.port >= 1 && ref.port <= 65535)) {
        throw new KasaTapoError('EBADINPUT', `The device port must be an integer 1-65535, not ${clip(ref.port, 40)}`);
      }
      return ref;
    }
    throw new KasaTapoError('EBADINPUT', 'Device reference must be an alias, a host, host:port or {host, port}');
  }

  private keyOf(cfg: PoolDeviceConfig): string {
    return cfg.port !== undefined ? `${cfg.host}:${cfg.port}` : cfg.host;
  }

  private entry(ref: DeviceRef): Entry {
    if (this.closed) throw new KasaTapoError('ECLOSED', 'The connection pool is closed');
    const cfg = this.resolve(ref);
    const key = this.keyOf(cfg);
    let e = this.entries.get(key);
    if (!e) {
      e = new Entry(cfg, key);
      this.entries.set(key, e);
      this.ensureSweep();
    }
    return e;
  }

  /**
   * A handle with the device API whose calls go through this pool's shared session.
   * The handle counts as a user of the device until `release()` (or `close()`).
   * Throws EBADINPUT / ENOTFOUND / ECLOSED.
   */
  device(ref: DeviceRef): PooledDevice {
    const e = this.entry(ref);
    e.users++;
    return new PooledDevice(this, e);
  }

  /** Shared RSA key pair for AES devices, generated once, asynchronously. */
  keyPair(): Promise<RsaKeyPair> {
    this.keyPairPromise ??= generateRsaKeyPair(1024);
    return this.keyPairPromise;
  }

  /**
   * The entry the pool tracks for `e`'s device: `e` itself, or — when a sweep dropped `e` while a
   * released handle still held it — the current one (re-adopting `e` if there is none), so that no
   * session lives outside the pool's map where close() would miss it.
   */
  private live(e: Entry): Entry {
    const cur = this.entries.get(e.key);
    if (cur) return cur;
    this.entries.set(e.key, e);
    this.ensureSweep();
    return e;
  }

  /** Why a new request for `e` fails at once (counted in its stats, never sent), or undefined. */
  private refusal(e: Entry): KasaTapoError | undefined {
    if (e.status === 'auth-error' && e.lastError?.code === 'EAUTH' && Date.now() < e.authUntil) {
      // Not retried: the same answer until authRetryMs has passed (no lock-out by repeated logins).
      return e.lastError;
    }
    if (e.status === 'offline') {
      return new KasaTapoError('EOFFLINE', `Device ${e.key} is offline; waiting for it to come back`, {
        host: e.config.host,
        ...(e.lastError ? { cause: e.lastError } : {}),
      });
    }
    if (e.queue.length >= this.opts.queueLimit) {
      return new KasaTapoError('EQUEUEFULL', `Too many requests waiting for ${e.key} (limit ${this.opts.queueLimit})`, { host: e.config.host });
    }
    return undefined;
  }

  /** @internal Queue a job for a device. Rejects EOFFLINE / EAUTH / EQUEUEFULL / ECLOSED at once. */
  enqueue<T>(entry: Entry, run: (dev: DeviceApi) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new KasaTapoError('ECLOSED', 'The connection pool is closed'));
    const e = this.live(entry);
    e.lastUsed = Date.now();
    const refused = this.refusal(e);
    if (refused) {
      this.countError(e, refused.code);
      return Promise.reject(refused);
    }
    return new Promise<T>((resolve, reject) => {
      e.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      e.stats.queueDepth = e.queue.length;
      this.pump(e);
    });
  }

  private pump(e: Entry): void {
    if (e.running || e.queue.length === 0 || this.closed) return;
    if (this.inFlight >= this.opts.concurrency) {
      if (!e.waiting) {
        e.waiting = true;
        this.waiting.push(e);
      }
      return;
    }
    const job = e.queue.shift()!;
    e.stats.queueDepth = e.queue.length;
    e.running = true;
    this.inFlight++;
    void this.execute(e, job).finally(() => {
      e.running = false;
      this.inFlight--;
      // Devices that waited for a slot go first; this one queues behind them (a caller in a tight
      // loop on one device must not starve the others).
      while (this.waiting.length && this.inFlight < this.opts.concurrency) {
        const w = this.waiting.shift()!;
        w.waiting = false;
        this.pump(w);
      }
      this.pump(e);
    });
  }

  private async execute(e: Entry, job: Job): Promise<void> {
    const t0 = Date.now();
    e.stats.requests++;
    try {
      const dev = await this.session(e);
      const before = this.counters(dev);
      let value: unknown;
      try {
        value = await job.run(dev);
      } finally {
        const after = this.counters(dev);
        e.stats.handshakes += Math.max(0, after.handshakes - before.handshakes);
        e.stats.retries += Math.max(0, after.retries - before.retries);
      }
      e.stats.lastLatencyMs = Date.now() - t0;
      e.failures = 0;
      e.lastError = undefined;
      this.setStatus(e, 'online');
      job.resolve(value);
    } catch (err) {
      const ke = toKasaTapoError(err, e.config.host);
      e.stats.lastLatencyMs = Date.now() - t0;
      this.recordError(e, ke);
      job.reject(ke);
    }
  }

  private counters(dev: DeviceApi): { handshakes: number; retries: number } {
    const s = (dev as unknown as { stats?: { handshakes?: number; retries?: number } }).stats;
    return { handshakes: s?.handshakes ?? 0, retries: s?.retries ?? 0 };
  }

  private countError(e: Entry, code: ErrorCode): void {
    e.stats.errors++;
    e.stats.errorsByCode[code] = (e.stats.errorsByCode[code] ?? 0) + 1;
  }

  private recordError(e: Entry, err: KasaTapoError): void {
    this.countError(e, err.code);
    e.lastError = err;
    if (err.code === 'EAUTH') {
      e.authUntil = Date.now() + this.opts.authRetryMs;
      this.setStatus(e, 'auth-error', err);
      this.emit('auth-error', e.key, err);
      return;
    }
    if (CONNECTION_CODES.has(err.code)) {
      e.failures++;
      // A connect timeout (nothing answered at the TCP level for timeoutMs: the device is off or out
      // of range) takes the device offline at once, whatever offlineAfter says: each further request
      // would hold the queue for a whole timeout, where a refusal costs a millisecond. The probe
      // brings it back as soon as it accepts connections again. Timeouts waiting for an answer on an
      // open connection (a slow device) still count one failure each.
      if (e.failures >= this.opts.offlineAfter || isConnectTimeout(err)) this.goOffline(e, err);
      else this.setStatus(e, 'error', err);
    }
  }

  private setStatus(e: Entry, status: DeviceStatus, err?: KasaTapoError): void {
    const was = e.status;
    e.status = status;
    e.stats.status = status;
    if (was === status) return;
    this.emit('status', e.key, status, err);
    if (status === 'online' || status === 'connecting') this.emit(status, e.key);
  }

  /** Open (or reuse) the device's session; the transport found first is remembered. */
  /** Run a session setup when one of `connectConcurrency` slots is free (see PoolOptions). */
  private async gatedSetup<T>(signal: AbortSignal, setup: () => Promise<T>): Promise<T> {
    if (this.setups < this.opts.connectConcurrency) this.setups++;
    else {
      // Wait for a slot; the releaser hands its slot over (the count stays as it is).
      await new Promise<void>((resolve, reject) => {
        const go = (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const i = this.setupQueue.indexOf(go);
          if (i >= 0) this.setupQueue.splice(i, 1);
          reject(new KasaTapoError('ECLOSED', 'The connection pool is closed'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.setupQueue.push(go);
      });
    }
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      clearTimeout(lease);
      const next = this.setupQueue.shift();
      if (next) next();
      else this.setups--;
    };
    const lease = setTimeout(release, 250);
    lease.unref?.();
    try {
      return await setup();
    } finally {
      release();
    }
  }

  private session(e: Entry): Promise<DeviceApi> {
    if (e.device) return Promise.resolve(e.device);
    if (!e.connecting) {
      this.setStatus(e, 'connecting');
      const abort = (e.connectAbort = new AbortController());
      // AES only to a listed or discovered device, or an object ref that named 'aes' itself (a
      // library caller's explicit choice; the nodes never pass msg.device's transport).
      const trusted = this.trust.lookup(e.config.host, e.port());
      const explicitAes = e.config.transport === 'aes';
      const lv = e.config.loginVersion ?? trusted?.loginVersion;
      const opts: ConnectOptions = {
        host: e.config.host,
        transport: e.transport ?? 'auto',
        allowAesLogin: explicitAes || trusted !== undefined,
        ...(lv !== undefined ? { loginVersion: lv } : {}),
        ...(trusted?.discovery && !e.transport && e.port() === undefined ? { discovery: trusted.discovery } : {}),
        timeoutMs: this.opts.timeoutMs,
        retries: this.opts.retries,
        backoffMs: this.opts.backoffMs,
        keyPair: () => this.keyPair(),
        signal: abort.signal,
        ...(e.port() !== undefined ? { port: e.port() } : {}),
        ...(this.credentials ? { credentials: this.credentials } : {}),
        ...(this.logger ? { logger: this.logger } : {}),
      };
      e.connecting = this.gatedSetup(abort.signal, () => this.connectFn(opts)).then(
        (dev) => {
          e.connecting = undefined;
          e.connectAbort = undefined;
          if (this.closed) {
            void dev.close();
            throw new KasaTapoError('ECLOSED', 'The connection pool is closed');
          }
          e.device = dev;
          const info = dev.info();
          if (info) {
            e.transport = info.protocol;
            e.foundPort = info.port;
          }
          e.stats.transport = e.transport;
          e.stats.handshakes += this.counters(dev).handshakes;
          return dev;
        },
        (err: unknown) => {
          e.connecting = undefined;
          e.connectAbort = undefined;
          throw err;
        },
      );
    }
    return e.connecting;
  }

  private goOffline(e: Entry, err: KasaTapoError): void {
    if (e.status === 'offline') return;
    this.setStatus(e, 'offline', err);
    this.emit('offline', e.key, err);
    const queued = e.queue.splice(0);
    e.stats.queueDepth = 0;
    for (const j of queued) {
      this.countError(e, 'EOFFLINE');
      j.reject(new KasaTapoError('EOFFLINE', `Device ${e.key} went offline`, { host: e.config.host, cause: err }));
    }
    void this.dropSession(e);
    e.probeDelay = this.opts.probeMinMs;
    this.scheduleProbe(e);
  }

  private async dropSession(e: Entry): Promise<void> {
    const dev = e.device;
    e.device = undefined;
    if (dev) await dev.close().catch(() => undefined);
  }

  private scheduleProbe(e: Entry): void {
    if (this.closed) return;
    clearTimeout(e.probeTimer);
    e.probeTimer = setTimeout(() => {
      e.probeTimer = undefined;
      void this.probe(e).then((up) => {
        // Closed, back already, or swept while probing (a forgotten entry must not probe on).
        if (this.closed || e.status !== 'offline' || this.entries.get(e.key) !== e) return;
        if (up) {
          e.failures = 0;
          this.setStatus(e, 'online');
        } else {
          e.probeDelay = Math.min(e.probeDelay * 2, this.opts.probeMaxMs);
          this.scheduleProbe(e);
        }
      });
    }, e.probeDelay);
    e.probeTimer.unref?.();
  }

  /** A light probe: can a TCP connection be opened to the device's port? */
  private probe(e: Entry): Promise<boolean> {
    const port = e.port() ?? (e.transport === 'xor' ? 9999 : e.transport ? 80 : 9999);
    return new Promise((resolve) => {
      const sock = net.connect({ host: e.config.host, port });
      e.probeSocket = sock;
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        sock.destroy();
        if (e.probeSocket === sock) e.probeSocket = undefined;
        resolve(ok);
      };
      // close() destroys the socket: settle then (as "down"; the result is ignored once closed).
      sock.once('close', () => done(false));
      const timer = setTimeout(() => done(false), Math.min(this.opts.timeoutMs, 3000));
      sock.once('connect', () => done(true));
      sock.once('error', () => done(false));
    });
  }

  /** @internal A user handle let go of its device. */
  release(e: Entry): void {
    e.users = Math.max(0, e.users - 1);
    e.lastUsed = Date.now();
  }

  // ---------------------------------------------------------------------------------------------
  // Poller

  /**
   * Subscribe to periodic readings of a device. One poll stream per device and kind at the
   * shortest interval any subscriber asked for, phased by the device's key so that devices are
   * spread over the interval. Throws EBADINPUT / ENOTFOUND / ECLOSED.
   */
  subscribe(ref: DeviceRef, options: SubscribeOptions, listener: PollListener): Subscription {
    const intervalMs = Number(options.intervalMs);
    if (!Number.isFinite(intervalMs) || intervalMs < 50) {
      throw new KasaTapoError('EBADINPUT', 'Poll interval must be a number of milliseconds of at least 50');
    }
    const e = this.entry(ref);
    const kind = options.kind ?? 'state';
    const pkey = `${kind}|${options.child ?? ''}`;
    let p = e.pollers.get(pkey);
    if (!p) {
      p = { kind, subscribers: new Set(), intervalMs, busy: false, ...(options.child !== undefined ? { child: options.child } : {}) };
      e.pollers.set(pkey, p);
    }
    const sub: Subscriber = { opts: { ...options, intervalMs }, listener };
    p.subscribers.add(sub);
    e.users++;
    this.reschedule(e, p);
    let active = true;
    return {
      cancel: () => {
        if (!active) return;
        active = false;
        p!.subscribers.delete(sub);
        this.release(e);
        if (p!.subscribers.size === 0) {
          clearTimeout(p!.timer);
          e.pollers.delete(pkey);
        } else this.reschedule(e, p!);
      },
    };
  }

  private reschedule(e: Entry, p: Poller): void {
    const min = Math.min(...[...p.subscribers].map((s) => s.opts.intervalMs));
    if (p.timer && min === p.intervalMs) return;
    p.intervalMs = min;
    clearTimeout(p.timer);
    // Spread devices over the interval: each device polls at its own phase of it. The first
    // reading comes soon (within FIRST_POLL_MS), so a minute's interval does not mean a silent
    // minute after deploy; the second lands on the device's phase, and the rest follow it.
    const phase = stableHash(e.key + p.kind) % Math.max(1, Math.floor(min));
    const first = phase % FIRST_POLL_MS;
    this.armPoll(e, p, first, phase - first);
  }

  private armPoll(e: Entry, p: Poller, delay: number, shift = 0): void {
    if (this.closed) return;
    p.timer = setTimeout(() => {
      const started = Date.now();
      this.pollOnce(e, p);
      this.armPoll(e, p, Math.max(0, p.intervalMs + shift - (Date.now() - started)));
    }, delay);
    p.timer.unref?.();
  }

  private pollOnce(e: Entry, p: Poller): void {
    if (p.busy) {
      e.stats.pollsMissed++;
      return;
    }
    p.busy = true;
    e.stats.polls++;
    const run =
      p.kind === 'energy'
        ? (dev: DeviceApi) => dev.getEnergy(p.child)
        : (dev: DeviceApi) => dev.getState();
    this.enqueue<DeviceState | EnergyReading>(e, run).then(
      (value) => {
        p.busy = false;
        const text = JSON.stringify(value, ignoreCounters);
        for (const s of [...p.subscribers]) {
          if (s.opts.onlyChanges && s.last === text) continue;
          s.last = text;
          safeCall(() => s.listener(undefined, value));
        }
      },
      (err: unknown) => {
        p.busy = false;
        const ke = isKasaTapoError(err) ? err : toKasaTapoError(err, e.config.host);
        for (const s of [...p.subscribers]) {
          s.last = undefined;
          safeCall(() => s.listener(ke));
        }
      },
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle and stats

  private ensureSweep(): void {
    if (this.sweepTimer || this.closed) return;
    const every = Math.max(1000, Math.min(30000, Math.floor(this.opts.idleCloseMs / 2)));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref?.();
  }

  /** Close sessions of devices that no user holds and nobody used for idleCloseMs. */
  sweep(now = Date.now()): void {
    for (const e of this.entries.values()) {
      if (e.users > 0 || e.running || e.queue.length > 0 || e.pollers.size > 0) continue;
      if (now - e.lastUsed < this.opts.idleCloseMs) continue;
      clearTimeout(e.probeTimer);
      e.probeSocket?.destroy();
      void this.dropSession(e);
      this.entries.delete(e.key);
    }
  }

  /** Status of one device. */
  status(ref: DeviceRef): DeviceStatus {
    const cfg = this.resolve(ref);
    return this.entries.get(this.keyOf(cfg))?.status ?? 'idle';
  }

  /** Statistics of one device (undefined if the pool never used it). */
  deviceStats(ref: DeviceRef): DeviceStats | undefined {
    const cfg = this.resolve(ref);
    const e = this.entries.get(this.keyOf(cfg));
    return e ? { ...e.stats, errorsByCode: { ...e.stats.errorsByCode } } : undefined;
  }

  /** Pool-wide statistics. */
  stats(): PoolStats & { perDevice: DeviceStats[] } {
    const perDevice = [...this.entries.values()].map((e) => ({ ...e.stats, errorsByCode: { ...e.stats.errorsByCode } }));
    const sum = (k: 'requests' | 'errors' | 'handshakes' | 'retries' | 'queueDepth' | 'polls' | 'pollsMissed'): number =>
      perDevice.reduce((a, s) => a + s[k], 0);
    return {
      devices: perDevice.length,
      requests: sum('requests'),
      errors: sum('errors'),
      handshakes: sum('handshakes'),
      retries: sum('retries'),
      queueDepth: sum('queueDepth'),
      inFlight: this.inFlight,
      polls: sum('polls'),
      pollsMissed: sum('pollsMissed'),
      perDevice,
    };
  }

  /**
   * Close every session, socket and timer; queued requests fail with ECLOSED. Resolves within
   * about `timeoutMs` even if a device hangs. Idempotent; never rejects.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    const closing: Promise<unknown>[] = [];
    for (const e of this.entries.values()) {
      clearTimeout(e.probeTimer);
      e.probeSocket?.destroy();
      for (const p of e.pollers.values()) clearTimeout(p.timer);
      e.pollers.clear();
      for (const j of e.queue.splice(0)) j.reject(new KasaTapoError('ECLOSED', 'The connection pool was closed'));
      if (e.device) closing.push(e.device.close().catch(() => undefined));
      e.connectAbort?.abort(); // a connect in progress closes its sockets now and rejects ECLOSED
      if (e.connecting) closing.push(e.connecting.then((d) => d.close()).catch(() => undefined));
      e.device = undefined;
    }
    this.entries.clear();
    this.waiting.length = 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closing),
      new Promise<void>((r) => {
        timer = setTimeout(r, this.opts.timeoutMs);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
    this.removeAllListeners();
  }
}

function safeCall(fn: () => void): void {
  try {
    fn();
  } catch {
    /* a listener's fault must not break the poller */
  }
}

/** The device API through a pool: same methods as connect()'s device, shared session. */
export class PooledDevice implements DeviceApi {
  private released = false;

  constructor(
    private readonly pool: Pool,
    private readonly e: Entry,
  ) {}

  get host(): string {
    return this.e.config.host;
  }
  get port(): number {
    return this.e.port() ?? 0;
  }
  get key(): string {
    return this.e.key;
  }
  get status(): DeviceStatus {
    return this.pool.status(this.e.config);
  }

  getState(): Promise<DeviceState> {
    return this.pool.enqueue(this.e, (d) => d.getState());
  }
  setState(patch: StatePatch, child?: ChildRef): Promise<DeviceState> {
    return this.pool.enqueue(this.e, (d) => d.setState(patch, child));
  }
  getEnergy(child?: ChildRef): Promise<EnergyReading> {
    return this.pool.enqueue(this.e, (d) => d.getEnergy(child));
  }
  getEnergyHistory(period: 'day' | 'month', opts?: { year?: number; month?: number; child?: ChildRef }): Promise<EnergyHistory> {
    return this.pool.enqueue(this.e, (d) => d.getEnergyHistory(period, opts));
  }
  raw(request: unknown, child?: ChildRef): Promise<unknown> {
    return this.pool.enqueue(this.e, (d) => d.raw(request, child));
  }
  /**
   * Run several calls as one queued job and return the device's own last answer beside the value
   * (what the nodes put in msg.raw). Throws like the other methods.
   */
  withRaw<T>(fn: (dev: DeviceApi) => Promise<T>): Promise<{ value: T; raw: unknown }> {
    return this.pool.enqueue(this.e, async (d) => {
      const value = await fn(d);
      return { value, raw: (d as { lastRaw?: unknown }).lastRaw };
    });
  }
  info(): DeviceInfo | undefined {
    const i = this.e.device?.info();
    if (!i) return undefined;
    return this.e.config.alias && !i.alias ? { ...i, alias: this.e.config.alias } : i;
  }
  /** Let go of the device (the pool closes its session after the idle time). Never rejects. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.pool.release(this.e);
  }
  /** Same as release(): the shared session stays with the pool. */
  close(): Promise<void> {
    this.release();
    return Promise.resolve();
  }
}
