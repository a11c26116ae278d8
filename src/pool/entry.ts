/** One device the pool tracks: its session, queue, health, pollers and counters. Plain state. */
import type * as net from 'node:net';
import type { KasaTapoError } from '../errors';
import type { ChildRef, DeviceApi, Pacing, TransportKind } from '../types';
import type { DeviceStats, DeviceStatus, PollKind, PollListener, PoolDeviceConfig, SubscribeOptions } from './types';

/** A queued call on a device's session. */
export interface Job {
  run: (dev: DeviceApi) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface Subscriber {
  opts: SubscribeOptions;
  listener: PollListener;
  last?: string;
}

/** One poll stream of a device: one kind (and child), at the shortest interval asked for. */
export interface PollStream {
  kind: PollKind;
  child?: ChildRef;
  subscribers: Set<Subscriber>;
  intervalMs: number;
  /** When the next poll is due (epoch ms), and its place on the wake-up wheel. */
  dueAt?: number;
  cancelWake?: () => void;
  /** Added once to the second poll's due time (moves the stream onto the device's phase). */
  shift: number;
  busy: boolean;
}

export class Entry {
  device?: DeviceApi;
  connecting?: Promise<DeviceApi>;
  /** Aborts the connect in progress (close()). */
  connectAbort?: AbortController;
  /** Transport and port found on the first connect (discovery or probing), reused on reconnects. */
  transport?: TransportKind;
  foundPort?: number;
  readonly queue: Job[] = [];
  running = false;
  /** In the scheduler's list of devices waiting for a free slot. */
  waiting = false;
  status: DeviceStatus = 'idle';
  failures = 0;
  users = 0;
  lastUsed = Date.now();
  probeTimer?: NodeJS.Timeout;
  /** The probe in progress (destroyed by close()). */
  probeSocket?: net.Socket;
  probeDelay = 0;
  /**
   * Until this epoch ms, requests fail at once with lastError: a failed login (EAUTH, or another
   * code after the proof step: KasaTapoError.spentLogin).
   */
  authUntil = 0;
  /** Failed logins in a row (the login budget). */
  loginFails = 0;
  /** While status is 'locked': until this epoch ms requests fail at once with lastError (ELOCKED). */
  lockedUntil = 0;
  /** Minimum gap between requests (rate limits, socket errors); shared with the HTTP transport. */
  readonly pacing: Pacing = { gapMs: 0, last: 0, calmAt: 0 };
  /** A request on a known transport succeeded since the last re-detection (re-detection may run). */
  worked = false;
  /** A change re-detection refused to follow (ENOTTRUSTED, fix 'protocol-changed'): repeated until a session opens. */
  refusedChange?: KasaTapoError;
  /** The wake-up probe before the first connect was sent. */
  woken = false;
  /** The firmware version of the last reading. */
  firmware?: string;
  readonly pollers = new Map<string, PollStream>();
  lastError?: KasaTapoError;
  readonly stats: DeviceStats;
  /** The session's own counters when last read (the pool adds what they moved to `stats`). */
  seen?: { dev: DeviceApi; handshakes: number; retries: number };

  constructor(
    readonly config: PoolDeviceConfig,
    readonly key: string,
  ) {
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

  /** The configured port, else the one found. */
  port(): number | undefined {
    return this.config.port ?? this.foundPort;
  }

  /** Whether anything still needs this device (users, queued or running work, pollers). */
  inUse(): boolean {
    return this.users > 0 || this.running || this.queue.length > 0 || this.pollers.size > 0;
  }
}
