/**
 * The connection pool, a facade over its parts: one session per device for every user (node, flow
 * or script) — sessions.ts; one request in flight per device through a bounded queue, a pool-wide
 * concurrency limit and the handshake gate — scheduler.ts; statuses, offline detection with a light
 * TCP probe and the EAUTH lock-out — health.ts; one poll stream per device whatever the number of
 * subscribers, on shared wake-ups — poller.ts, slots.ts; addressing — refs.ts; the handles —
 * pooled-device.ts. Idle sessions are closed by a sweep. Retries by error class live in the
 * protocol layer (`retries`/`backoffMs`); session renewal lives in the transports. The pool owns
 * its Connector (src/connect.ts): the route book of 'auto' and the RSA key pair for AES, shared
 * with no other pool.
 */
import { EventEmitter } from 'node:events';
import { Connector } from '../connect';
import { discover as discoverDevices, discoverSingle, type DiscoverOptions } from '../discovery';
import { wakeDevice } from '../wake';
import type { RsaKeyPair } from '../crypto/rsa';
import { POOL_DEFAULTS, REDETECT_TIMEOUT_MS } from '../defaults';
import { KasaTapoError, clip } from '../errors';
import { isProvenRoute, transportRank, type ProvenRoute } from '../trust';
import type { DeviceApi, DiscoveryResult, Logger } from '../types';
import { Entry, type Job } from './entry';
import { Health } from './health';
import { PooledDevice } from './pooled-device';
import { Poller } from './poller';
import { keyOf, Refs } from './refs';
import { Scheduler } from './scheduler';
import { Sessions } from './sessions';
import type {
  DeviceRef,
  DeviceStats,
  DeviceStatus,
  PollListener,
  PoolDeviceConfig,
  PoolEvents,
  PoolOptions,
  PoolStats,
  SubscribeOptions,
  Subscription,
} from './types';

export { PooledDevice } from './pooled-device';
export type * from './types';

/** Hosts whose proven transport the pool remembers. */
const MAX_PROVEN = 4096;
const closedError = (): KasaTapoError => new KasaTapoError('ECLOSED', 'The connection pool is closed');
const copyStats = (s: DeviceStats): DeviceStats => ({ ...s, errorsByCode: { ...s.errorsByCode } });

/**
 * Sessions shared per device. Events (typed by PoolEvents): 'status' (key, status, error?),
 * 'online' (key), 'offline' (key, error), 'connecting' (key), 'auth-error' (key, error),
 * 'protocol-changed' and 'firmware-changed' (key, {host, from, to}).
 */
export class Pool extends EventEmitter<PoolEvents> {
  private readonly opts: { -readonly [K in keyof typeof POOL_DEFAULTS]: number };
  /** Opens this pool's sessions: its route book and RSA key store belong to this pool alone. */
  private readonly connector = new Connector();
  private readonly refs = new Refs();
  private readonly entries = new Map<string, Entry>();
  private readonly scheduler: Scheduler;
  private readonly health: Health;
  private readonly sessions: Sessions;
  private readonly poller: Poller;
  private closed = false;
  /** Aborted by close(): waits inside the pool (pacing gaps) end at once. */
  private readonly closing = new AbortController();
  private sweepTimer?: NodeJS.Timeout;
  private readonly logger?: Logger;
  /** What each host proved: the strongest transport it completed a login with (bounded). */
  private readonly provenBook = new Map<string, ProvenRoute>();

  constructor(options: PoolOptions = {}) {
    super();
    const o = { ...POOL_DEFAULTS } as { -readonly [K in keyof typeof POOL_DEFAULTS]: number };
    for (const k of Object.keys(POOL_DEFAULTS) as (keyof typeof POOL_DEFAULTS)[]) {
      const v = options[k];
      if (v !== undefined) o[k] = v;
    }
    o.connectConcurrency = Math.max(1, o.connectConcurrency);
    this.opts = o;
    if (options.logger) this.logger = options.logger;
    const isClosed = (): boolean => this.closed;
    this.health = new Health(o, {
      emit: (event, ...args) => this.safeEmit(event, ...args),
      isClosed,
      isCurrent: (e) => this.entries.get(e.key) === e,
      dropSession: (e) => this.sessions.drop(e),
    });
    this.scheduler = new Scheduler(o, (e, job) => this.sessions.execute(e, job));
    this.sessions = new Sessions(
      {
        timeoutMs: o.timeoutMs,
        retries: o.retries,
        backoffMs: o.backoffMs,
        connect: options.connect ?? ((opts) => this.connector.connect(opts)),
        trusted: (host, port) => this.refs.trust.lookup(host, port),
        isClosed,
        closing: this.closing.signal,
        pace: o,
        emit: (event, ...args) => this.safeEmit(event, ...args),
        rediscover: (host) => {
          this.connector.clearRoutes(host);
          return discoverSingle(host, {
            timeoutMs: Math.min(REDETECT_TIMEOUT_MS, o.timeoutMs),
            rounds: 2,
            keyPair: () => this.keyPair(),
            signal: this.closing.signal, // close() ends it at once
            ...(this.logger ? { logger: this.logger } : {}),
          }).catch(() => undefined);
        },
        trustDiscovered: (r) => this.refs.trust.addDiscovered(r),
        proven: (host) => this.provenBook.get(host.toLowerCase()),
        prove: (host, route) => this.prove(host, route),
        wake: (host) => wakeDevice(host, { keyPair: () => this.keyPair(), ...(this.logger ? { logger: this.logger } : {}) }),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        ...(options.logger ? { logger: options.logger } : {}),
      },
      this.health,
      this.scheduler,
    );
    this.poller = new Poller({ enqueue: (e, run) => this.enqueue(e, run), release: (e) => this.release(e), isClosed });
    for (const d of options.devices ?? []) this.addDevice(d);
    for (const [host, r] of Object.entries(options.proven ?? {}).slice(0, MAX_PROVEN)) {
      if (isProvenRoute(r)) this.provenBook.set(host.toLowerCase(), { kind: r.kind, ...(r.loginVersion ? { loginVersion: r.loginVersion } : {}) });
    }
    // Node's EventEmitter throws on an unhandled 'error' event; the pool never emits one, but be safe.
    this.on('error', () => undefined);
  }

  /**
   * Add or replace a known device (by alias); a listed device may receive an AES login
   * (src/trust.ts). Throws EBADINPUT without a valid host (an IP address or a host name).
   */
  addDevice(d: PoolDeviceConfig): void {
    this.refs.add(d);
  }

  /**
   * Discover devices (src/discovery.ts). With `trustAes: true`, those announcing AES may then get
   * an AES login (on the port they announce, login v2) — only when the caller vouches for the
   * network, since anyone on it can answer discovery. Throws EBADINPUT for a malformed broadcast address.
   */
  async discover(opts: DiscoverOptions & { trustAes?: boolean } = {}): Promise<DiscoveryResult[]> {
    const { trustAes, ...rest } = opts;
    const found = await discoverDevices({ keyPair: () => this.keyPair(), ...(this.logger ? { logger: this.logger } : {}), ...rest });
    if (trustAes === true) for (const r of found) this.refs.trust.addDiscovered(r);
    return found;
  }

  /** What each host proved (host → the strongest transport it completed a login with), to persist. */
  provenRoutes(): Record<string, ProvenRoute> {
    return Object.fromEntries(this.provenBook);
  }

  /**
   * Forget what `host` proved, so that its next connect may settle on a weaker transport (the user
   * accepted a change: a replaced or reset device). Never throws.
   */
  forgetProven(host: string): void {
    if (typeof host !== 'string') return;
    this.provenBook.delete(host.toLowerCase());
    for (const e of this.entries.values()) {
      if (e.config.host.toLowerCase() !== host.toLowerCase()) continue;
      // Start afresh: the next request connects as the device's reference says, then settles.
      e.refusedChange = undefined;
      e.transport = e.config.transport !== 'auto' ? e.config.transport : undefined;
      e.foundPort = undefined;
      void this.sessions.drop(e);
    }
    this.connector.clearRoutes(host);
  }

  /** Keep `route` for `host` when it is stronger than what the book has; 'proven' tells the owner. */
  private prove(host: string, route: ProvenRoute): void {
    const key = host.toLowerCase();
    const old = this.provenBook.get(key);
    if (old && transportRank(old.kind, old.loginVersion) >= transportRank(route.kind, route.loginVersion)) return;
    if (!old && this.provenBook.size >= MAX_PROVEN) this.provenBook.delete(this.provenBook.keys().next().value!);
    this.provenBook.set(key, route);
    this.safeEmit('proven', key, route);
  }

  /** The configured devices (alias list). */
  knownDevices(): PoolDeviceConfig[] {
    return this.refs.known();
  }

  /** Resolve a reference to a device config. Throws EBADINPUT / ENOTFOUND. */
  resolve(ref: DeviceRef): PoolDeviceConfig {
    return this.refs.resolve(ref);
  }

  private entry(ref: DeviceRef): Entry {
    if (this.closed) throw closedError();
    const cfg = this.refs.resolve(ref);
    const key = keyOf(cfg);
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
    return new PooledDevice(
      { enqueue: (x, run) => this.enqueue(x, run), release: (x) => this.release(x), statusOf: (x) => this.entries.get(x.key)?.status ?? 'idle' },
      e,
    );
  }

  /** The RSA key pair for AES devices (this pool's Connector's: generated once, asynchronously). */
  keyPair(): Promise<RsaKeyPair> {
    return this.connector.keyPair();
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

  /** @internal Queue a job for a device. Rejects EOFFLINE / EAUTH / EQUEUEFULL / ECLOSED at once. */
  enqueue<T>(entry: Entry, run: (dev: DeviceApi) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    const e = this.live(entry);
    e.lastUsed = Date.now();
    const refused = this.health.refusal(e);
    if (refused) {
      this.health.countError(e, refused.code);
      return Promise.reject(refused);
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = { run, resolve: resolve as (v: unknown) => void, reject };
      this.scheduler.push(e, job);
    });
  }

  /** @internal A user handle let go of its device. */
  release(e: Entry): void {
    e.users = Math.max(0, e.users - 1);
    e.lastUsed = Date.now();
  }

  /**
   * Subscribe to periodic readings of a device. One poll stream per device and kind at the
   * shortest interval any subscriber asked for, phased by the device's key so that devices are
   * spread over the interval. Throws EBADINPUT / ENOTFOUND / ECLOSED.
   */
  subscribe(ref: DeviceRef, options: SubscribeOptions, listener: PollListener): Subscription {
    Poller.checkInterval(options.intervalMs);
    return this.poller.subscribe(this.entry(ref), options, listener);
  }

  /** Emit to the caller's listeners: one that throws is logged and never breaks the pool's bookkeeping (or settles no job). */
  private safeEmit(event: string, ...args: unknown[]): boolean {
    try {
      return (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (err) {
      this.logger?.error?.(`A '${clip(event)}' listener threw: ${clip(err instanceof Error ? err.message : err)}`);
      return true;
    }
  }

  private ensureSweep(): void {
    if (this.sweepTimer || this.closed) return;
    const every = Math.max(1000, Math.min(30000, Math.floor(this.opts.idleCloseMs / 2)));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref?.();
  }

  /** Close sessions of devices that no user holds and nobody used for idleCloseMs. */
  sweep(now = Date.now()): void {
    for (const e of this.entries.values()) {
      if (e.inUse() || now - e.lastUsed < this.opts.idleCloseMs) continue;
      if (this.health.remembers(e, now)) {
        // A login hold or failed logins outlive the session: close it, keep the entry (a few fields).
        void this.sessions.drop(e);
        continue;
      }
      this.health.stop(e);
      void this.sessions.drop(e);
      this.entries.delete(e.key);
    }
  }

  /** Status of one device. Throws EBADINPUT / ENOTFOUND for a bad reference. */
  status(ref: DeviceRef): DeviceStatus {
    return this.entries.get(keyOf(this.refs.resolve(ref)))?.status ?? 'idle';
  }

  /** Statistics of one device (undefined if the pool never used it). Throws as status(). */
  deviceStats(ref: DeviceRef): DeviceStats | undefined {
    const e = this.entries.get(keyOf(this.refs.resolve(ref)));
    return e ? copyStats(e.stats) : undefined;
  }

  /** Pool-wide statistics. Never throws. */
  stats(): PoolStats & { perDevice: DeviceStats[] } {
    const perDevice = [...this.entries.values()].map((e) => copyStats(e.stats));
    const sum = (k: 'requests' | 'errors' | 'handshakes' | 'retries' | 'queueDepth' | 'polls' | 'pollsMissed'): number =>
      perDevice.reduce((a, s) => a + s[k], 0);
    return {
      devices: perDevice.length,
      requests: sum('requests'),
      errors: sum('errors'),
      handshakes: sum('handshakes'),
      retries: sum('retries'),
      queueDepth: sum('queueDepth'),
      inFlight: this.scheduler.inFlight,
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
    this.closing.abort();
    clearInterval(this.sweepTimer);
    this.scheduler.close();
    this.poller.close();
    const closing: Promise<unknown>[] = [];
    for (const e of this.entries.values()) {
      this.health.stop(e);
      this.poller.stop(e);
      for (const j of e.queue.splice(0)) j.reject(new KasaTapoError('ECLOSED', 'The connection pool was closed'));
      closing.push(...this.sessions.closeAll(e));
    }
    this.entries.clear();
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
