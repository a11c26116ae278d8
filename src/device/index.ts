/**
 * The device facade: every device verb (state, set, toggle, reboot, energy, history, raw, …) over one protocol adapter (IOT or
 * SMART, chosen from the family × encryption table), answering normalised values (docs/architecture.md#normalised-output); built by connect() (src/connect.ts).
 *
 * Raw answers travel with the values: the adapters answer `{value, raw}`, and `withRaw(fn)` hands
 * the device's own answer(s) behind `fn`'s last call back to the caller (the nodes' `msg.raw`).
 */
import { KasaTapoError } from '../errors';
import { IotProtocol } from '../protocols/iot';
import { SmartProtocol } from '../protocols/smart';
import type {
  AutoUpdate,
  ChildRef,
  ChildState,
  DeviceApi,
  DeviceCounters,
  DeviceInfo,
  DeviceState,
  EnergyHistory,
  EnergyReading,
  Logger,
  ProtocolKind,
  StatePatch,
  Transport,
  WithRaw,
} from '../types';
import { describe, noted, whereOf, type Adapter, type Note } from './adapter';
import { autoUpdateOn } from './autoupdate';
import { childCaps, cloneState, type Normalised } from './caps';
import { resolveChild } from './children';
import { childLockOn } from './childlock';
import { countdownOn, type Countdown, type CountdownOp, type CountdownSpec } from './countdown';
import { readHubEvents, triggerLogQuery, type EventsOptions, type HubEvents } from './events';
import { readHourlyEnergy, readPowerHistory, type HourlyEnergyHistory, type HourlyEnergyOptions, type PowerHistory, type PowerHistoryOptions } from './history';
import { IotAdapter } from './iot/adapter';
import { checkCaps, validatePatch } from './patch';
import { SmartAdapter } from './smart/adapter';
import { PROTOCOL_OF } from './table';
import { wifiJoin, wifiScan, type WifiJoinResult, type WifiNetwork } from './wifi';

/** Verbs the withRaw view hands straight to the device. */
const FORWARDED = ['setCountdown', 'getCountdown', 'clearCountdown', 'setChildLock', 'getChildLock', 'getAutoUpdate', 'setAutoUpdate'] as const;
type HistoryOpts = { year?: number; month?: number; child?: ChildRef };
type HourlyOpts = HourlyEnergyOptions & { child?: ChildRef };
type Period = 'hour' | 'day' | 'month';
const given = (child: ChildRef | undefined | null): child is ChildRef => child !== undefined && child !== null;

export class Device implements DeviceApi {
  private n?: Normalised;
  private closed = false;
  private chain: Promise<unknown> = Promise.resolve();
  /** Calls started and not yet settled. */
  private pending = 0;

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
  get stats(): DeviceCounters {
    return { handshakes: this.transport.stats.handshakes, requests: this.transport.stats.requests, retries: this.adapter.stats.retries };
  }

  /** One call at a time: the transports are stateful. An idle device starts the call at once. */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    let next: Promise<T>;
    if (this.pending === 0 && !this.closed) next = fn();
    else {
      next = this.chain.then(() => {
        if (this.closed) throw new KasaTapoError('ECLOSED', `The connection to ${this.host} is closed`, { host: this.host });
        return fn();
      });
    }
    this.pending++;
    this.chain = next.then(this.settled, this.settled);
    return next;
  }

  private readonly settled = (): void => {
    this.pending--;
  };

  private async read(): Promise<WithRaw<Normalised>> {
    const r = await this.adapter.read();
    if (this.transport.defaultCredentials) r.value.state.defaultCredentials = true;
    this.n = r.value;
    return r;
  }

  private async last(): Promise<Normalised> {
    return this.n ?? (await this.read()).value;
  }

  private async child(ref: ChildRef | undefined | null): Promise<{ n: Normalised; c?: ChildState }> {
    const n = await this.last();
    return given(ref) ? { n, c: resolveChild(n, ref) } : { n };
  }

  // Every verb takes a `note` first: where the device's answer(s) behind the value go (withRaw), or nowhere.

  private opState(note: Note): Promise<DeviceState> {
    return this.run(async () => {
      const r = await this.read();
      note?.(r.raw);
      return cloneState(r.value.state);
    });
  }

  private opSet(note: Note, patch: StatePatch, child?: ChildRef): Promise<DeviceState> {
    return this.run(() => this.set(note, patch, child));
  }

  private opToggle(note: Note, child?: ChildRef, patch: StatePatch = {}): Promise<DeviceState> {
    return this.run(async () => {
      // Read afresh: the switch may have moved since the last read (a button, the app).
      const n = (await this.read()).value;
      const c = given(child) ? resolveChild(n, child) : undefined;
      const current = c ? c.on : n.state.on;
      if (current === undefined) throw new KasaTapoError('EUNSUPPORTED', `${describe(n, c)} has no on/off switch to toggle`);
      return this.set(note, { ...patch, on: !current }, child);
    });
  }

  private opReboot(note: Note): Promise<void> {
    return this.run(async () => {
      const raw = await this.adapter.reboot(await this.last());
      note?.(raw);
    });
  }

  private opEnergy(note: Note, child?: ChildRef): Promise<EnergyReading> {
    return this.run(async () => {
      const { n, c } = await this.child(child);
      return noted(note, await this.adapter.energy(n, c));
    });
  }

  private opHistory(note: Note, period: 'hour', opts?: HourlyOpts): Promise<HourlyEnergyHistory>;
  private opHistory(note: Note, period: 'day' | 'month', opts?: HistoryOpts): Promise<EnergyHistory>;
  private opHistory(note: Note, period: Period, opts?: HistoryOpts & HourlyOpts): Promise<EnergyHistory | HourlyEnergyHistory>;
  private opHistory(note: Note, period: Period, opts: HistoryOpts & HourlyOpts = {}): Promise<EnergyHistory | HourlyEnergyHistory> {
    if (period === 'hour') return this.opSmart(note, 'hourly energy history', opts.child, (q) => readHourlyEnergy(q, opts));
    return this.run(async () => {
      if (period !== 'day' && period !== 'month') throw new KasaTapoError('EBADINPUT', `period must be "day" or "month", got ${JSON.stringify(period)}`);
      const now = new Date();
      const year = opts.year ?? now.getFullYear();
      const month = opts.month ?? now.getMonth() + 1;
      if (!Number.isInteger(year) || year < 2000 || year > 2100)
        throw new KasaTapoError('EBADINPUT', `year must be an integer 2000-2100, got ${JSON.stringify(year)}`);
      if (!Number.isInteger(month) || month < 1 || month > 12)
        throw new KasaTapoError('EBADINPUT', `month must be an integer 1-12, got ${JSON.stringify(month)}`);
      const { n, c } = await this.child(opts.child);
      return noted(note, await this.adapter.history(period, year, month, n, c));
    });
  }

  /** A SMART-only read on the device or a child (power history, hourly energy). */
  private opSmart<T>(
    note: Note,
    what: string,
    child: ChildRef | undefined,
    fn: (q: (method: string, params: Record<string, unknown>) => Promise<Record<string, unknown>>) => Promise<WithRaw<T>>,
  ): Promise<T> {
    return this.run(async () => {
      const { n, c } = await this.child(child);
      const adapter = this.adapter;
      if (!(adapter instanceof SmartAdapter) || (!c && !n.caps.energy)) throw new KasaTapoError('EUNSUPPORTED', `${describe(n, c)} has no ${what}`);
      return noted(note, await fn((method, params) => (c ? adapter.proto.controlChild(c.id, method, params) : adapter.proto.query(method, params))));
    });
  }

  private opEvents(note: Note, child: ChildRef, opts: EventsOptions = {}): Promise<HubEvents> {
    return this.run(async () => {
      const n = await this.last();
      const c = resolveChild(n, child);
      if (!(this.adapter instanceof SmartAdapter)) throw new KasaTapoError('EUNSUPPORTED', `${describe(n, c)} reports no events`);
      return noted(note, await readHubEvents(triggerLogQuery(this.adapter.proto, c), c, opts));
    });
  }

  private opCountdown(what: CountdownOp, child?: ChildRef): Promise<Countdown> {
    return this.run(async () => {
      const { n, c } = await this.child(child);
      return countdownOn(this.adapter, describe(n, c), c?.id, what);
    });
  }

  private opChildLock(child: ChildRef | undefined, on?: boolean): Promise<{ childLock: boolean }> {
    return this.run(async () => {
      const { n, c } = await this.child(child);
      return childLockOn(this.adapter, describe(n, c), c?.id, on);
    });
  }

  private opRaw(note: Note, request: unknown, child?: ChildRef): Promise<unknown> {
    return this.run(async () => {
      const c = given(child) ? resolveChild(await this.last(), child) : undefined;
      const answer = await this.adapter.raw(request, c);
      note?.(answer);
      return answer;
    });
  }

  /** setState's body (inside run()): validate, check capabilities, apply, read back. */
  private async set(note: Note, patch: StatePatch, child: ChildRef | undefined): Promise<DeviceState> {
    const p = validatePatch(patch);
    const { n, c } = await this.child(child);
    checkCaps(p, c ? childCaps(c) : n.caps, describe(n, c));
    const set = await this.adapter.apply(p, n, c);
    const got = await this.read();
    note?.({ set, get: got.raw });
    return cloneState(got.value.state);
  }

  /** Throws KasaTapoError: ECLOSED, and every protocol/transport error. */
  getState(): Promise<DeviceState> {
    return this.opState(undefined);
  }

  /**
   * Apply a patch to the device (or a child) and answer the state read after the change. Throws KasaTapoError: EBADINPUT
   * (malformed patch or child ref), EUNSUPPORTED (the family cannot do it), ENOTFOUND (unknown child), ECLOSED, and protocol/transport errors.
   */
  setState(patch: StatePatch, child?: ChildRef): Promise<DeviceState> {
    return this.opSet(undefined, patch, child);
  }

  /**
   * Read the device afresh and switch it (or a child) to the opposite; `patch` may add fields such as a transition. Answers
   * the state after the change. Throws KasaTapoError: EUNSUPPORTED (nothing to switch), ENOTFOUND (unknown child), and what setState throws.
   */
  toggle(child?: ChildRef, patch?: StatePatch): Promise<DeviceState> {
    return this.opToggle(undefined, child, patch);
  }

  /** Ask the device to restart in about a second. Throws KasaTapoError: EDEVICE, ECLOSED, protocol/transport errors. */
  reboot(): Promise<void> {
    return this.opReboot(undefined);
  }

  /** Throws KasaTapoError: EUNSUPPORTED (no meter), ENOTFOUND, ECLOSED, protocol/transport errors. */
  getEnergy(child?: ChildRef): Promise<EnergyReading> {
    return this.opEnergy(undefined, child);
  }

  /**
   * Day totals of a month, or month totals of a year (default: now). Throws KasaTapoError: EBADINPUT (period/year/month),
   * EUNSUPPORTED, ENOTFOUND, ECLOSED, and protocol/transport errors.
   */
  getEnergyHistory(period: 'hour', opts?: HourlyOpts): Promise<HourlyEnergyHistory>;
  getEnergyHistory(period: 'day' | 'month', opts?: HistoryOpts): Promise<EnergyHistory>;
  getEnergyHistory(period: Period, opts?: HistoryOpts & HourlyOpts): Promise<EnergyHistory | HourlyEnergyHistory> {
    return this.opHistory(undefined, period, opts);
  }

  /**
   * Power by 5 minutes or by hour (SMART meters: `get_power_data`), `{intervalMin, entries:[{at, powerW}]}`. Throws
   * KasaTapoError: EBADINPUT (options), EUNSUPPORTED (not a SMART meter), ENOTFOUND, ECLOSED, protocol/transport errors.
   */
  getPowerHistory(opts: PowerHistoryOptions & { child?: ChildRef } = {}): Promise<PowerHistory> {
    return this.opSmart(undefined, 'power history', opts.child, (q) => readPowerHistory(q, opts));
  }

  /**
   * New events of a hub child from its trigger log (events.ts): `{events, lastId}`, the events with an id above `sinceId`,
   * oldest first; without `sinceId` only `lastId` (a baseline). Throws KasaTapoError: EBADINPUT, EUNSUPPORTED (not a
   * SMART hub child), ENOTFOUND, ECLOSED, protocol/transport errors.
   */
  getEvents(child: ChildRef, opts: EventsOptions = {}): Promise<HubEvents> {
    return this.opEvents(undefined, child, opts);
  }

  /**
   * Countdown timer ("off in 10 minutes", countdown.ts) on the device or an outlet: set replaces any running countdown; all
   * three answer `{active, on, delayS, remainS}`. Child lock (childlock.ts): answers `{childLock}`. Throw KasaTapoError:
   * EBADINPUT, EUNSUPPORTED (no countdown / child lock), ENOTFOUND, ECLOSED, protocol/transport errors.
   */
  setCountdown(spec: CountdownSpec, child?: ChildRef): Promise<Countdown> {
    return this.opCountdown({ op: 'set', spec }, child);
  }
  getCountdown(child?: ChildRef): Promise<Countdown> {
    return this.opCountdown({ op: 'get' }, child);
  }
  clearCountdown(child?: ChildRef): Promise<Countdown> {
    return this.opCountdown({ op: 'clear' }, child);
  }
  setChildLock(on: boolean, child?: ChildRef): Promise<{ childLock: boolean }> {
    return this.opChildLock(child, on);
  }
  getChildLock(child?: ChildRef): Promise<{ childLock: boolean }> {
    return this.opChildLock(child);
  }
  /** Automatic firmware updates (autoupdate.ts): `{autoUpdate, time?, randomMinutes?}`. Throw EUNSUPPORTED (none), EBADINPUT, as above. */
  getAutoUpdate(): Promise<AutoUpdate> {
    return this.run(async () => autoUpdateOn(this.adapter, describe(await this.last())));
  }
  setAutoUpdate(enable: boolean): Promise<AutoUpdate> {
    return this.run(async () => autoUpdateOn(this.adapter, describe(await this.last()), enable ?? null));
  }

  /**
   * Send a request as is (IOT `{module:{method:params}}`, SMART `{method, params}`), to a child when given; answers
   * the device's own JSON. Throws KasaTapoError: EBADINPUT, ENOTFOUND, ECLOSED, session-wide and transport errors.
   */
  raw(request: unknown, child?: ChildRef): Promise<unknown> {
    return this.opRaw(undefined, request, child);
  }

  /**
   * Run `fn` with a view of this device whose calls also note the device's own answer(s); answers
   * `fn`'s value with the raw answer of its last call. Throws what `fn` throws.
   */
  async withRaw<T>(fn: (dev: DeviceApi) => Promise<T>): Promise<WithRaw<T>> {
    let raw: unknown;
    const note: Note = (r) => void (raw = r);
    const op = (period: Period, opts?: HistoryOpts & HourlyOpts) => this.opHistory(note, period, opts);
    function history(period: 'hour', opts?: HourlyOpts): Promise<HourlyEnergyHistory>;
    function history(period: 'day' | 'month', opts?: HistoryOpts): Promise<EnergyHistory>;
    function history(period: Period, opts?: HistoryOpts & HourlyOpts) {
      return op(period, opts);
    }
    const view: DeviceApi = {
      host: this.host,
      port: this.port,
      getState: () => this.opState(note),
      setState: (patch, child) => this.opSet(note, patch, child),
      toggle: (child, patch) => this.opToggle(note, child, patch),
      reboot: () => this.opReboot(note),
      getEnergy: (child) => this.opEnergy(note, child),
      getEnergyHistory: history,
      raw: (request, child) => this.opRaw(note, request, child),
      getPowerHistory: (opts) => this.opSmart(note, 'power history', opts?.child, (q) => readPowerHistory(q, opts)),
      getEvents: (child, opts) => this.opEvents(note, child, opts),
      withRaw: (f) => this.withRaw(f),
      info: () => this.info(),
      close: () => this.close(),
    };
    Object.defineProperty(view, 'stats', { get: () => this.stats, enumerable: true });
    for (const k of FORWARDED) Object.assign(view, { [k]: this[k].bind(this) }); // no raw answer of their own
    const value = await fn(view);
    return { value, raw };
  }

  /** Wi-Fi onboarding (device/wifi.ts): the networks the device sees; join one. Throw what `wifiScan`/`wifiJoin` throw. */
  wifiScan(): Promise<WifiNetwork[]> {
    return wifiScan(this);
  }
  wifiJoin(ssid: string, password: string, keyType?: number | string): Promise<WifiJoinResult> {
    return wifiJoin(this, ssid, password, keyType);
  }

  /** What the last read learned; undefined before the first read. Never throws. */
  info(): DeviceInfo | undefined {
    if (!this.n) return undefined;
    const s = this.n.state;
    const out: DeviceInfo = { host: this.host, port: this.port, family: s.family, protocol: this.transport.kind };
    if (s.alias !== undefined) out.alias = s.alias;
    if (s.model !== undefined) out.model = s.model;
    if (s.defaultCredentials) out.defaultCredentials = true;
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

/** What a Device needs besides its transport: the protocol layer's retry policy, and the device's protocol. */
export interface DeviceOptions {
  retries?: number;
  backoffMs?: number;
  logger?: Logger;
  /** IOT or SMART JSON (discovery's device_type, or device/detect.ts). Default: the transport's usual one (PROTOCOL_OF). */
  protocol?: ProtocolKind;
}

/** Build protocol + adapter + Device over an open-able transport, in the given protocol. Never throws. */
export function createDevice(transport: Transport, opts: DeviceOptions = {}): Device {
  const abort = new AbortController();
  const retry = { retries: opts.retries, backoffMs: opts.backoffMs, signal: abort.signal, ...(opts.logger ? { logger: opts.logger } : {}) };
  const where = whereOf(transport);
  const adapter: Adapter =
    (opts.protocol ?? PROTOCOL_OF[transport.kind]) === 'iot'
      ? new IotAdapter(new IotProtocol(transport, retry), where)
      : new SmartAdapter(new SmartProtocol(transport, retry), where);
  return new Device(transport, adapter, abort);
}
