/** The device API through a pool: the same verbs as connect()'s device, over the pool's shared session. */
import type {
  AutoUpdate,
  ChildRef,
  DeviceApi,
  DeviceInfo,
  DeviceState,
  EnergyHistory,
  EnergyReading,
  HourlyEnergyHistory,
  HourlyEnergyOptions,
  StatePatch,
  WithRaw,
} from '../types';
import { validatePatch } from '../device/patch';
import { KasaTapoError } from '../errors';
import type { Entry } from './entry';
import type { DeviceStatus } from './types';

const noAutoUpdate = (): KasaTapoError => new KasaTapoError('EUNSUPPORTED', 'This device has no automatic firmware update setting');

/** The EBADINPUT a patch would meet at the device (src/device/patch.ts), checked before a connection; undefined when valid. */
function badPatch(patch: unknown): KasaTapoError | undefined {
  try {
    validatePatch(patch);
    return undefined;
  } catch (e) {
    return e instanceof KasaTapoError ? e : new KasaTapoError('EBADINPUT', 'Malformed state patch');
  }
}

/** What a handle needs from its pool. */
export interface PoolLink {
  enqueue<T>(e: Entry, run: (dev: DeviceApi) => Promise<T>): Promise<T>;
  release(e: Entry): void;
  statusOf(e: Entry): DeviceStatus;
}

/**
 * A handle on one device of a pool. Every call is queued behind the device's other calls (one in
 * flight per device) and throws what the device throws, plus the pool's EOFFLINE, EQUEUEFULL,
 * EAUTH (locked out after a rejected login) and ECLOSED.
 */
export class PooledDevice implements DeviceApi {
  private released = false;

  constructor(
    private readonly pool: PoolLink,
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
    return this.pool.statusOf(this.e);
  }

  getState(): Promise<DeviceState> {
    return this.pool.enqueue(this.e, (d) => d.getState());
  }
  /** A malformed patch fails with EBADINPUT before anything is queued or sent (no login spent on it). */
  setState(patch: StatePatch, child?: ChildRef): Promise<DeviceState> {
    const bad = badPatch(patch);
    return bad ? Promise.reject(bad) : this.pool.enqueue(this.e, (d) => d.setState(patch, child));
  }
  toggle(child?: ChildRef, patch?: StatePatch): Promise<DeviceState> {
    const bad = patch === undefined ? undefined : badPatch({ ...patch, on: true });
    return bad ? Promise.reject(bad) : this.pool.enqueue(this.e, (d) => d.toggle(child, patch));
  }
  reboot(): Promise<void> {
    return this.pool.enqueue(this.e, (d) => d.reboot());
  }
  getEnergy(child?: ChildRef): Promise<EnergyReading> {
    return this.pool.enqueue(this.e, (d) => d.getEnergy(child));
  }
  getEnergyHistory(period: 'hour', opts?: HourlyEnergyOptions & { child?: ChildRef }): Promise<HourlyEnergyHistory>;
  getEnergyHistory(period: 'day' | 'month', opts?: { year?: number; month?: number; child?: ChildRef }): Promise<EnergyHistory>;
  getEnergyHistory(period: 'hour' | 'day' | 'month', opts?: HourlyEnergyOptions & { year?: number; month?: number; child?: ChildRef }) {
    return period === 'hour'
      ? this.pool.enqueue(this.e, (d) => d.getEnergyHistory(period, opts))
      : this.pool.enqueue(this.e, (d) => d.getEnergyHistory(period, opts));
  }
  raw(request: unknown, child?: ChildRef): Promise<unknown> {
    return this.pool.enqueue(this.e, (d) => d.raw(request, child));
  }
  /** Automatic firmware updates (src/device/autoupdate.ts): EUNSUPPORTED where the device has no such setting. */
  getAutoUpdate(): Promise<AutoUpdate> {
    return this.pool.enqueue(this.e, (d) => (d.getAutoUpdate ? d.getAutoUpdate() : Promise.reject(noAutoUpdate())));
  }
  setAutoUpdate(enable: boolean): Promise<AutoUpdate> {
    return this.pool.enqueue(this.e, (d) => (d.setAutoUpdate ? d.setAutoUpdate(enable) : Promise.reject(noAutoUpdate())));
  }
  /**
   * Run several calls as one queued job and return the device's own answer to the last of them
   * beside the value (what the nodes put in msg.raw). Throws like the other methods.
   */
  withRaw<T>(fn: (dev: DeviceApi) => Promise<T>): Promise<WithRaw<T>> {
    return this.pool.enqueue(this.e, (d) => d.withRaw(fn));
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
