/**
 * The poller: one poll stream per device and kind (and child) whatever the number of subscribers,
 * at the shortest interval any of them asked for, phased by the device's key so that devices are
 * spread over the interval, with wake-ups shared by devices due in the same slot (slots.ts).
 * "Only on change" subscribers hear a reading only when it differs from their last one.
 */
import { FIRST_POLL_MS, MIN_POLL_INTERVAL_MS, POLL_SLOT_MS } from '../defaults';
import { KasaTapoError, toKasaTapoError } from '../errors';
import type { DeviceApi, DeviceState, EnergyReading } from '../types';
import type { Entry, PollStream, Subscriber } from './entry';
import { Wakeups } from './slots';
import type { PollListener, SubscribeOptions, Subscription } from './types';

/**
 * For "only on change": uptime and signal strength move on every read, so they are not a change
 * a user would want to hear about. Everything else (on, brightness, colour, sensors, energy) is.
 */
const COUNTERS = new Set(['onTimeS', 'rssi']);
const ignoreCounters = (key: string, v: unknown): unknown => (COUNTERS.has(key) ? undefined : v);

function stableHash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Slot length for a stream: POLL_SLOT_MS, finer for short intervals (at most 1/20 of one). */
const granularity = (intervalMs: number): number => Math.max(1, Math.min(POLL_SLOT_MS, Math.floor(intervalMs / 20)));

function safeCall(fn: () => void): void {
  try {
    fn();
  } catch {
    /* a listener's fault must not break the poller */
  }
}

export interface PollerHost {
  enqueue<T>(e: Entry, run: (dev: DeviceApi) => Promise<T>): Promise<T>;
  /** A subscription ended: one user fewer. */
  release(e: Entry): void;
  isClosed(): boolean;
}

export class Poller {
  private readonly wakeups = new Wakeups();

  constructor(private readonly host: PollerHost) {}

  /** The interval as a number. Throws EBADINPUT unless it is a number of ms ≥ MIN_POLL_INTERVAL_MS. */
  static checkInterval(v: unknown): number {
    const intervalMs = Number(v);
    if (!Number.isFinite(intervalMs) || intervalMs < MIN_POLL_INTERVAL_MS) {
      throw new KasaTapoError('EBADINPUT', `Poll interval must be a number of milliseconds of at least ${MIN_POLL_INTERVAL_MS}`);
    }
    return intervalMs;
  }

  /** Add a subscriber to `e`'s stream of `options.kind`. Throws EBADINPUT for a bad interval. */
  subscribe(e: Entry, options: SubscribeOptions, listener: PollListener): Subscription {
    const intervalMs = Poller.checkInterval(options.intervalMs);
    const kind = options.kind ?? 'state';
    const pkey = `${kind}|${options.child ?? ''}`;
    let p = e.pollers.get(pkey);
    if (!p) {
      p = { kind, subscribers: new Set(), intervalMs, busy: false, shift: 0, ...(options.child !== undefined ? { child: options.child } : {}) };
      e.pollers.set(pkey, p);
    }
    const stream = p;
    const sub: Subscriber = { opts: { ...options, intervalMs }, listener };
    stream.subscribers.add(sub);
    e.users++;
    this.reschedule(e, stream);
    let active = true;
    return {
      cancel: () => {
        if (!active) return;
        active = false;
        stream.subscribers.delete(sub);
        this.host.release(e);
        if (stream.subscribers.size === 0) {
          stream.cancelWake?.();
          e.pollers.delete(pkey);
        } else this.reschedule(e, stream);
      },
    };
  }

  private reschedule(e: Entry, p: PollStream): void {
    const min = Math.min(...[...p.subscribers].map((s) => s.opts.intervalMs));
    if (p.cancelWake && min === p.intervalMs) return;
    p.intervalMs = min;
    p.cancelWake?.();
    // Spread devices over the interval: each device polls at its own phase of it. The first
    // reading comes soon (within FIRST_POLL_MS), so a minute's interval does not mean a silent
    // minute after deploy; the second lands on the device's phase, and the rest follow it.
    const phase = stableHash(e.key + p.kind) % Math.max(1, Math.floor(min));
    const first = phase % FIRST_POLL_MS;
    p.shift = phase - first;
    this.arm(e, p, Date.now() + first);
  }

  private arm(e: Entry, p: PollStream, at: number): void {
    if (this.host.isClosed()) return;
    p.dueAt = at;
    p.cancelWake = this.wakeups.at(at, granularity(p.intervalMs), () => {
      const due = p.dueAt ?? Date.now();
      this.pollOnce(e, p);
      // The next poll keeps to the schedule (no drift); after a stall, it is one interval from now.
      let next = due + p.intervalMs + p.shift;
      p.shift = 0;
      if (next <= Date.now()) next = Date.now() + p.intervalMs;
      this.arm(e, p, next);
    });
  }

  private pollOnce(e: Entry, p: PollStream): void {
    if (p.busy) {
      e.stats.pollsMissed++;
      return;
    }
    p.busy = true;
    e.stats.polls++;
    const run = p.kind === 'energy' ? (dev: DeviceApi) => dev.getEnergy(p.child) : (dev: DeviceApi) => dev.getState();
    this.host.enqueue<DeviceState | EnergyReading>(e, run).then(
      (value) => {
        p.busy = false;
        // The comparison text only when some subscriber asked for changes only.
        let text: string | undefined;
        for (const s of [...p.subscribers]) {
          if (s.opts.onlyChanges) {
            text ??= JSON.stringify(value, ignoreCounters);
            if (s.last === text) continue;
            s.last = text;
          }
          safeCall(() => s.listener(undefined, value));
        }
      },
      (err: unknown) => {
        p.busy = false;
        const ke = toKasaTapoError(err, e.config.host);
        for (const s of [...p.subscribers]) {
          s.last = undefined;
          safeCall(() => s.listener(ke));
        }
      },
    );
  }

  /** Stop every stream of `e` (close()). */
  stop(e: Entry): void {
    for (const p of e.pollers.values()) p.cancelWake?.();
    e.pollers.clear();
  }

  /** Stop all wake-ups (close()). */
  close(): void {
    this.wakeups.stop();
  }
}
