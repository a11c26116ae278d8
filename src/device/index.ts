/**
 * The device facade: `connect()` picks a transport (given, from a discovery result, by single-host
 * discovery, or by probing), reads the device once to learn its family, and returns a `Device`
 * whose methods answer normalised values (design.md §1).
 *
 * Raw answers: after every call, `device.lastRaw` holds the device's own answer(s) behind the
 * value just returned (the nodes put it in `msg.raw`). IOT: the answer JSON (for several exchanges,
 * an array, or the answers merged by module for bulbs); SMART: the results keyed by method name
 * (e.g. `{get_device_info: {...}, get_child_device_list: {...}}`).
 */
import { KasaTapoError, isKasaTapoError } from '../errors';
import { discoverSingle } from '../discovery';
import { IotProtocol } from '../protocols/iot';
import { SmartProtocol } from '../protocols/smart';
import { createTransport as defaultCreateTransport } from '../transports';
import type {
  ChildRef,
  ChildState,
  Credentials,
  DeviceApi,
  DeviceInfo,
  DeviceState,
  DiscoveryResult,
  EnergyHistory,
  EnergyReading,
  Logger,
  StatePatch,
  TraceFn,
  Transport,
  TransportChoice,
  TransportKind,
  TransportOptions,
} from '../types';
import { describe, type Adapter } from './adapter';
import { smartChildLock } from './childlock';
import { iotCountdown, smartCountdown, type Countdown, type CountdownOp, type CountdownSpec } from './countdown';
import { readHubEvents, triggerLogQuery, type EventsOptions, type HubEvents } from './events';
import { readHourlyEnergy, readPowerHistory, type HourlyEnergyHistory, type HourlyEnergyOptions, type PowerHistory, type PowerHistoryOptions } from './history';
import { IotAdapter } from './iot-adapter';
import { OUTLET_CAPS, NO_CAPS, type Caps, type Normalised } from './normalise';
import { checkCaps, validatePatch } from './patch';
import { SmartAdapter } from './smart-adapter';
import { PORT_OF, PROTOCOL_OF } from './table';

export interface ConnectOptions {
  host: string;
  port?: number;
  credentials?: Credentials;
  /** Default 'auto': single-host discovery, then probing XOR, KLAP v2, AES, KLAP v1. */
  transport?: TransportChoice;
  /** Per exchange. Default 5000. */
  timeoutMs?: number;
  logger?: Logger;
  trace?: TraceFn;
  loginVersion?: 1 | 2;
  keyPair?: TransportOptions['keyPair'];
  /** Retries after timeouts / busy answers. Default 2. */
  retries?: number;
  /** Wait before such a retry. Default 1000 ms. */
  backoffMs?: number;
  /** A discovery answer for this host: its transport, port and login version are used as is. */
  discovery?: DiscoveryResult;
  /** Single-host discovery wait for transport 'auto' (skipped when `port` is given). Default 1500 ms; 0 skips it. */
  discoveryTimeoutMs?: number;
  /** Replaces the transport factory (tests, custom transports). */
  createTransport?: (kind: TransportKind, opts: TransportOptions) => Transport;
  /**
   * Aborting it closes the connection being opened (its sockets and timers at once): connect()
   * then rejects with ECLOSED. The pool's close() uses it.
   */
  signal?: AbortSignal;
}

/** The order 'auto' probes in when discovery gives nothing. */
export const PROBE_ORDER: readonly TransportKind[] = ['xor', 'klap', 'aes', 'klap-v1'];

/** Transports found by 'auto', remembered per host:port (bounded). */
const routeCache = new Map<string, { kind: TransportKind; port: number; loginVersion?: 1 | 2 }>();
const ROUTE_CACHE_MAX = 256;

/** Forget what 'auto' learned (all hosts, or one). Never throws. */
export function clearRouteCache(host?: string): void {
  if (host === undefined) routeCache.clear();
  else for (const k of [...routeCache.keys()]) if (k.startsWith(`${host}|`)) routeCache.delete(k);
}

const cacheKey = (o: ConnectOptions): string => `${o.host}|${o.port ?? ''}`;

export class Device implements DeviceApi {
  /** The device's own answer(s) behind the last value returned (see the module comment). */
  lastRaw: unknown;
  private n?: Normalised;
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly transport: Transport,
    private readonly adapter: Adapter,
    /** Aborted by close(): ends a retry's backoff wait at once. */
    private readonly abort?: AbortController,
  ) {}

  get host(): string {
    return this.transport.host;
  }
  get port(): number {
    return this.transport.port;
  }
  /** Counters: handshakes and requests (transport), retries (protocol layer). */
  get stats(): { handshakes: number; requests: number; retries: number } {
    return { handshakes: this.transport.stats.handshakes, requests: this.transport.stats.requests, retries: this.adapter.stats.retries };
  }

  /** One call at a time: the transports are stateful. */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(() => {
      if (this.closed) throw new KasaTapoError('ECLOSED', `The connection to ${this.host} is closed`, { host: this.host });
      return fn();
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async read(): Promise<Normalised> {
    const r = await this.adapter.read();
    this.n = r.value;
    this.lastRaw = r.raw;
    return r.value;
  }

  private resolveChild(n: Normalised, ref: ChildRef): ChildState {
    const kids = n.state.children ?? [];
    if (!n.caps.children || kids.length === 0) throw new KasaTapoError('ENOTFOUND', `${describe(n)} has no children (asked for ${JSON.stringify(ref)})`);
    let c: ChildState | undefined;
    if (typeof ref === 'number') c = Number.isInteger(ref) ? kids.find((k) => k.index === ref) ?? kids[ref] : undefined;
    else if (typeof ref === 'string') {
      c =
        kids.find((k) => k.id === ref) ??
        kids.find((k) => k.alias === ref) ??
        kids.find((k) => k.alias !== undefined && k.alias.toLowerCase() === ref.toLowerCase()) ??
        (/^\d{1,3}$/.test(ref) ? kids.find((k) => k.index === Number(ref)) : undefined);
    } else throw new KasaTapoError('EBADINPUT', 'child must be an index (number), an id or an alias (string)');
    if (!c) {
      const known = kids.map((k) => `${k.index ?? '?'}: ${k.alias ?? k.id}`).join(', ');
      throw new KasaTapoError('ENOTFOUND', `${describe(n)} has no child ${JSON.stringify(ref).slice(0, 80)} (children: ${known.slice(0, 400)})`);
    }
    return c;
  }

  private childCaps(c: ChildState): Caps {
    if (c.kind === 'outlet' || c.family === 'plug' || c.family === 'switch') return OUTLET_CAPS;
    if (c.family === 'dimmer') return { ...OUTLET_CAPS, brightness: true };
    return { ...NO_CAPS, alias: true };
  }

  /** Throws KasaTapoError: ECLOSED, and every protocol/transport error. */
  getState(): Promise<DeviceState> {
    return this.run(async () => structuredClone((await this.read()).state));
  }

  /**
   * Apply a patch to the device (or a child) and answer the state read after the change.
   * Throws KasaTapoError: EBADINPUT (malformed patch or child ref), EUNSUPPORTED (the family cannot
   * do it), ENOTFOUND (unknown child), ECLOSED, and protocol/transport errors.
   */
  setState(patch: StatePatch, child?: ChildRef): Promise<DeviceState> {
    return this.run(async () => {
      const p = validatePatch(patch);
      const n = this.n ?? (await this.read());
      const c = child !== undefined && child !== null ? this.resolveChild(n, child) : undefined;
      checkCaps(p, c ? this.childCaps(c) : n.caps, describe(n, c));
      const raw = await this.adapter.apply(p, n, c);
      const state = structuredClone((await this.read()).state);
      this.lastRaw = { set: raw, get: this.lastRaw };
      return state;
    });
  }

  /** Throws KasaTapoError: EUNSUPPORTED (no meter), ENOTFOUND, ECLOSED, protocol/transport errors. */
  getEnergy(child?: ChildRef): Promise<EnergyReading> {
    return this.run(async () => {
      const n = this.n ?? (await this.read());
      const c = child !== undefined && child !== null ? this.resolveChild(n, child) : undefined;
      const r = await this.adapter.energy(n, c);
      this.lastRaw = r.raw;
      return r.value;
    });
  }

  /**
   * Day totals of a month, or month totals of a year (default: now).
   * Throws KasaTapoError: EBADINPUT (period/year/month), EUNSUPPORTED, ENOTFOUND, ECLOSED, and
   * protocol/transport errors.
   */
  getEnergyHistory(period: 'hour', opts?: HourlyEnergyOptions & { child?: ChildRef }): Promise<HourlyEnergyHistory>;
  getEnergyHistory(period: 'day' | 'month', opts?: { year?: number; month?: number; child?: ChildRef }): Promise<EnergyHistory>;
  getEnergyHistory(period: 'hour' | 'day' | 'month', opts: { year?: number; month?: number; child?: ChildRef } & HourlyEnergyOptions = {}): Promise<EnergyHistory | HourlyEnergyHistory> {
    if (period === 'hour') return this.smartCall('hourly energy history', opts.child, (q) => readHourlyEnergy(q, opts));
    return this.run(async () => {
      if (period !== 'day' && period !== 'month') throw new KasaTapoError('EBADINPUT', `period must be "day" or "month", got ${JSON.stringify(period)}`);
      const now = new Date();
      const year = opts.year ?? now.getFullYear();
      const month = opts.month ?? now.getMonth() + 1;
      if (!Number.isInteger(year) || year < 2000 || year > 2100) throw new KasaTapoError('EBADINPUT', `year must be an integer 2000-2100, got ${JSON.stringify(year)}`);
      if (!Number.isInteger(month) || month < 1 || month > 12) throw new KasaTapoError('EBADINPUT', `month must be an integer 1-12, got ${JSON.stringify(month)}`);
      const n = this.n ?? (await this.read());
      const c = opts.child !== undefined && opts.child !== null ? this.resolveChild(n, opts.child) : undefined;
      const r = await this.adapter.history(period, year, month, n, c);
      this.lastRaw = r.raw;
      return r.value;
    });
  }

  /**
   * Power by 5 minutes or by hour (SMART meters: `get_power_data`), `{intervalMin, entries:[{at, powerW}]}`.
   * Throws KasaTapoError: EBADINPUT (options), EUNSUPPORTED (not a SMART meter), ENOTFOUND, ECLOSED,
   * protocol/transport errors.
   */
  getPowerHistory(opts: PowerHistoryOptions & { child?: ChildRef } = {}): Promise<PowerHistory> {
    return this.smartCall('power history', opts.child, (q) => readPowerHistory(q, opts));
  }

  /**
   * New events of a hub child from its trigger log (src/device/events.ts): `{events, lastId}`, the
   * events with an id above `sinceId`, oldest first; without `sinceId` only `lastId` (a baseline).
   * Throws KasaTapoError: EBADINPUT, EUNSUPPORTED (not a SMART hub child, no trigger log),
   * ENOTFOUND (unknown child), ECLOSED, protocol/transport errors.
   */
  getEvents(child: ChildRef, opts: EventsOptions = {}): Promise<HubEvents> {
    return this.run(async () => {
      const n = this.n ?? (await this.read());
      const c = this.resolveChild(n, child);
      if (!(this.adapter instanceof SmartAdapter)) throw new KasaTapoError('EUNSUPPORTED', `${describe(n, c)} reports no events`);
      const r = await readHubEvents(triggerLogQuery(this.adapter.proto, c), c, opts);
      this.lastRaw = r.raw;
      return r.value;
    });
  }

  /**
   * Countdown timer ("off in 10 minutes") on the device or an outlet (src/device/countdown.ts):
   * set replaces any running countdown; all three answer the countdown now `{active, on, delayS, remainS}`.
   * Throws KasaTapoError: EBADINPUT (spec), EUNSUPPORTED (no countdown), ENOTFOUND, ECLOSED,
   * protocol/transport errors.
   */
  setCountdown(spec: CountdownSpec, child?: ChildRef): Promise<Countdown> {
    return this.countdown({ op: 'set', spec }, child);
  }
  getCountdown(child?: ChildRef): Promise<Countdown> {
    return this.countdown({ op: 'get' }, child);
  }
  clearCountdown(child?: ChildRef): Promise<Countdown> {
    return this.countdown({ op: 'clear' }, child);
  }

  /**
   * Child lock (src/device/childlock.ts): `setChildLock(true)` locks the device's button; both answer
   * `{childLock}`. Throws KasaTapoError: EBADINPUT, EUNSUPPORTED (no child lock: every Kasa device
   * and most Tapo ones), ENOTFOUND, ECLOSED, protocol/transport errors.
   */
  setChildLock(on: boolean, child?: ChildRef): Promise<{ childLock: boolean }> {
    return this.childLock(child, on);
  }
  getChildLock(child?: ChildRef): Promise<{ childLock: boolean }> {
    return this.childLock(child);
  }

  private childLock(child: ChildRef | undefined, on?: boolean): Promise<{ childLock: boolean }> {
    return this.run(async () => {
      const n = this.n ?? (await this.read());
      const c = child !== undefined && child !== null ? this.resolveChild(n, child) : undefined;
      if (!(this.adapter instanceof SmartAdapter)) throw new KasaTapoError('EUNSUPPORTED', `${describe(n, c)} has no child lock`);
      try {
        return await smartChildLock(this.adapter.proto, c?.id, on);
      } catch (e) {
        if (e instanceof KasaTapoError && e.code === 'EUNSUPPORTED') throw new KasaTapoError('EUNSUPPORTED', `${describe(n, c)} has no child lock`, { cause: e });
        throw e;
      }
    });
  }

  private countdown(what: CountdownOp, child?: ChildRef): Promise<Countdown> {
    return this.run(async () => {
      const n = this.n ?? (await this.read());
      const c = child !== undefined && child !== null ? this.resolveChild(n, child) : undefined;
      const a = this.adapter;
      try {
        if (a instanceof SmartAdapter) return await smartCountdown(a.proto, c?.id, what);
        if (a instanceof IotAdapter) return await iotCountdown(a.proto, c ? [c.id] : undefined, what);
      } catch (e) {
        if (e instanceof KasaTapoError && e.code === 'EUNSUPPORTED') throw new KasaTapoError('EUNSUPPORTED', `${describe(n, c)} has no countdown timer`, { cause: e });
        throw e;
      }
      throw new KasaTapoError('EUNSUPPORTED', `${describe(n, c)} has no countdown timer`);
    });
  }

  /** A SMART-only read on the device or a child (history, events). Throws as getPowerHistory. */
  private smartCall<T>(what: string, child: ChildRef | undefined, fn: (q: (method: string, params: Record<string, unknown>) => Promise<Record<string, unknown>>) => Promise<{ value: T; raw: unknown }>): Promise<T> {
    return this.run(async () => {
      const n = this.n ?? (await this.read());
      const c = child !== undefined && child !== null ? this.resolveChild(n, child) : undefined;
      const adapter = this.adapter;
      if (!(adapter instanceof SmartAdapter) || (!c && !n.caps.energy)) throw new KasaTapoError('EUNSUPPORTED', `${describe(n, c)} has no ${what}`);
      const r = await fn((method, params) => (c ? adapter.proto.controlChild(c.id, method, params) : adapter.proto.query(method, params)));
      this.lastRaw = r.raw;
      return r.value;
    });
  }

  /**
   * Send a request as is (IOT `{module:{method:params}}`, SMART `{method, params}`), to a child when
   * given; answers the device's own JSON. Throws KasaTapoError: EBADINPUT, ENOTFOUND, ECLOSED,
   * session-wide and transport errors.
   */
  raw(request: unknown, child?: ChildRef): Promise<unknown> {
    return this.run(async () => {
      let c: ChildState | undefined;
      if (child !== undefined && child !== null) c = this.resolveChild(this.n ?? (await this.read()), child);
      const answer = await this.adapter.raw(request, c);
      this.lastRaw = answer;
      return answer;
    });
  }

  /** What the last read learned; undefined before the first read. Never throws. */
  info(): DeviceInfo | undefined {
    if (!this.n) return undefined;
    const s = this.n.state;
    const out: DeviceInfo = { host: this.host, port: this.port, family: s.family, protocol: this.transport.kind };
    if (s.alias !== undefined) out.alias = s.alias;
    if (s.model !== undefined) out.model = s.model;
    return out;
  }

  /** Close the transport. Idempotent; never rejects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.abort?.abort();
    await this.transport.close().catch(() => undefined);
  }
}

/** Build transport + protocol + adapter + Device for one transport kind. Throws what the factory throws. */
function build(kind: TransportKind, port: number, opts: ConnectOptions, loginVersion?: 1 | 2): Device {
  const factory = opts.createTransport ?? defaultCreateTransport;
  const topts: TransportOptions = { host: opts.host, port };
  if (opts.timeoutMs !== undefined) topts.timeoutMs = opts.timeoutMs;
  if (opts.credentials) topts.credentials = opts.credentials;
  if (opts.logger) topts.logger = opts.logger;
  if (opts.trace) topts.trace = opts.trace;
  if (opts.keyPair) topts.keyPair = opts.keyPair;
  const lv = opts.loginVersion ?? loginVersion;
  if (lv !== undefined) topts.loginVersion = lv;
  const transport = factory(kind, topts);
  const abort = new AbortController();
  const retry = { retries: opts.retries, backoffMs: opts.backoffMs, signal: abort.signal, ...(opts.logger ? { logger: opts.logger } : {}) };
  const where = { host: opts.host, port: transport.port, transport: kind };
  const adapter: Adapter = PROTOCOL_OF[kind] === 'iot' ? new IotAdapter(new IotProtocol(transport, retry), where) : new SmartAdapter(new SmartProtocol(transport, retry), where);
  return new Device(transport, adapter, abort);
}

/** Connect with one transport and read the device once; closes the transport on failure. */
async function open(kind: TransportKind, port: number, opts: ConnectOptions, loginVersion?: 1 | 2): Promise<Device> {
  const signal = opts.signal;
  if (signal?.aborted) throw abortedError(opts.host);
  const dev = build(kind, port, opts, loginVersion);
  const onAbort = (): void => void dev.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await dev.getState();
    if (signal?.aborted) throw abortedError(opts.host);
    return dev;
  } catch (e) {
    await dev.close();
    throw signal?.aborted ? abortedError(opts.host) : e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

const abortedError = (host: string): KasaTapoError => new KasaTapoError('ECLOSED', `Connecting to ${host} was abandoned (closed)`, { host });

/** Worse errors are replaced by more telling ones while probing. */
const PROBE_RANK: Partial<Record<string, number>> = { EAUTH: 5, EUNSUPPORTED: 1, ETIMEDOUT: 2, EPROTOCOL: 1, ECONNREFUSED: 0 };

/**
 * Connect to a device and read its state once (so `info()` is known).
 * Throws KasaTapoError: EBADINPUT (no host / bad transport), EUNSUPPORTED (discovery says the
 * device speaks TPAP or HTTPS only), EAUTH, ECONNREFUSED, ETIMEDOUT, EPROTOCOL and the other
 * transport errors; with 'auto', the most telling error of all the probes.
 */
export async function connect(opts: ConnectOptions): Promise<Device> {
  if (!opts || typeof opts.host !== 'string' || opts.host.trim() === '') throw new KasaTapoError('EBADINPUT', 'connect() needs a host');
  const choice = opts.transport ?? 'auto';
  if (choice !== 'auto') {
    if (!(choice in PROTOCOL_OF)) throw new KasaTapoError('EBADINPUT', `Unknown transport "${String(choice)}"; expected auto, xor, klap, klap-v1 or aes`);
    return open(choice, opts.port ?? PORT_OF[choice], opts);
  }

  // 1. A discovery answer (given, or asked for now).
  let disc = opts.discovery;
  const key = cacheKey(opts);
  const cached = routeCache.get(key);
  // An explicit port means the caller knows where the device listens: no UDP discovery then.
  if (!disc && !cached && opts.port === undefined && (opts.discoveryTimeoutMs ?? 1500) > 0) {
    disc = await discoverSingle(opts.host, { timeoutMs: opts.discoveryTimeoutMs ?? 1500, rounds: 2, ...(opts.logger ? { logger: opts.logger } : {}) }).catch(() => undefined);
  }
  if (disc) {
    if (!disc.supported || !disc.transport) {
      throw new KasaTapoError('EUNSUPPORTED', `${disc.model ?? opts.host} cannot be controlled by this library`, { host: opts.host, ...(disc.reason ? { hint: disc.reason } : {}) });
    }
    const port = opts.port ?? disc.port;
    const dev = await open(disc.transport, port, opts, disc.loginVersion);
    remember(key, disc.transport, port, disc.loginVersion);
    return dev;
  }

  // 2. What worked before, then 3. probing.
  const order = cached ? [cached.kind, ...PROBE_ORDER.filter((k) => k !== cached.kind)] : PROBE_ORDER;
  let best: KasaTapoError | undefined;
  for (const kind of order) {
    if (opts.signal?.aborted) throw abortedError(opts.host);
    const port = opts.port ?? (cached?.kind === kind ? cached.port : PORT_OF[kind]);
    try {
      const dev = await open(kind, port, opts, cached?.kind === kind ? cached.loginVersion : undefined);
      remember(key, kind, port, opts.loginVersion);
      return dev;
    } catch (e) {
      const ke = isKasaTapoError(e) ? e : new KasaTapoError('EPROTOCOL', String(e), { cause: e });
      opts.logger?.debug?.(`${opts.host}: ${kind} probe failed: ${ke.code}`);
      if (cached?.kind === kind) routeCache.delete(key);
      if (!best || (PROBE_RANK[ke.code] ?? 1) > (PROBE_RANK[best.code] ?? 1)) best = ke;
    }
  }
  throw best ?? new KasaTapoError('ECONNREFUSED', `No transport reached ${opts.host}`, { host: opts.host });
}

function remember(key: string, kind: TransportKind, port: number, loginVersion?: 1 | 2): void {
  if (routeCache.size >= ROUTE_CACHE_MAX && !routeCache.has(key)) routeCache.delete(routeCache.keys().next().value!);
  routeCache.set(key, loginVersion !== undefined ? { kind, port, loginVersion } : { kind, port });
}
