/**
 * Scheduling: one request in flight per device through its bounded queue, a pool-wide limit on
 * requests in flight (devices that waited for a slot go first, so one busy caller cannot starve
 * the others), and the handshake gate (a few session setups at a time).
 */
import { KasaTapoError } from '../errors';
import { SETUP_LEASE_MS } from '../defaults';
import type { Entry, Job } from './entry';

const closedError = (): KasaTapoError => new KasaTapoError('ECLOSED', 'The connection pool is closed');

export class Scheduler {
  inFlight = 0;
  private readonly waiting: Entry[] = [];
  private setups = 0;
  private readonly setupQueue: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly limits: { concurrency: number; connectConcurrency: number },
    /** Runs one job on the device's session; never rejects. */
    private readonly execute: (e: Entry, job: Job) => Promise<void>,
  ) {}

  /** Queue a job and start it when the device and a slot are free. */
  push(e: Entry, job: Job): void {
    e.queue.push(job);
    e.stats.queueDepth = e.queue.length;
    this.pump(e);
  }

  private pump(e: Entry): void {
    if (e.running || e.queue.length === 0 || this.closed) return;
    if (this.inFlight >= this.limits.concurrency) {
      if (!e.waiting) {
        e.waiting = true;
        this.waiting.push(e);
      }
      return;
    }
    const job = e.queue.shift();
    if (!job) return;
    e.stats.queueDepth = e.queue.length;
    e.running = true;
    this.inFlight++;
    // As finally(), without its extra promises (execute() is not meant to reject; if it ever does,
    // the rejection stays unhandled as before).
    void this.execute(e, job).then(
      () => this.done(e),
      (err: unknown) => {
        this.done(e);
        throw err;
      },
    );
  }

  /** A job of `e` ended: free its slot and start what waits. */
  private done(e: Entry): void {
    e.running = false;
    this.inFlight--;
    // Devices that waited for a slot go first; this one queues behind them (a caller in a tight
    // loop on one device must not starve the others).
    while (this.waiting.length && this.inFlight < this.limits.concurrency) {
      const w = this.waiting.shift();
      if (!w) break;
      w.waiting = false;
      this.pump(w);
    }
    this.pump(e);
  }

  /**
   * Run a session setup when one of `connectConcurrency` slots is free. A setup holds its slot for
   * at most SETUP_LEASE_MS, so a device that does not answer never holds up the others. Rejects
   * ECLOSED when `signal` aborts while waiting; otherwise as `setup`.
   */
  async gated<T>(signal: AbortSignal, setup: () => Promise<T>): Promise<T> {
    if (this.setups < this.limits.connectConcurrency) this.setups++;
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
          reject(closedError());
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
    const lease = setTimeout(release, SETUP_LEASE_MS);
    lease.unref?.();
    try {
      return await setup();
    } finally {
      release();
    }
  }

  /** Stop starting jobs (close()). */
  close(): void {
    this.closed = true;
    this.waiting.length = 0;
  }
}
