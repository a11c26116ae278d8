/**
 * Sessions: open a device's session on first use (through the handshake gate, remembering the
 * transport and port found), reuse it for every later call, run one queued job on it with the
 * counters and health bookkeeping, and drop it when the device goes offline or idle.
 */
import type { ConnectOptions } from '../connect';
import { KasaTapoError, toKasaTapoError } from '../errors';
import type { AesTrustEntry } from '../trust';
import type { Credentials, DeviceApi, Logger } from '../types';
import type { Entry, Job } from './entry';
import type { Health } from './health';
import type { Scheduler } from './scheduler';

export interface SessionOptions {
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  credentials?: Credentials;
  logger?: Logger;
  connect: (opts: ConnectOptions) => Promise<DeviceApi>;
  /** Where an AES login may go (the pool's list and discovery): the entry for host[:port], if any. */
  trusted: (host: string, port?: number) => AesTrustEntry | undefined;
  isClosed(): boolean;
}

export class Sessions {
  constructor(
    private readonly opts: SessionOptions,
    private readonly health: Health,
    private readonly gate: Pick<Scheduler, 'gated'>,
  ) {}

  /** Run one job on `e`'s session; settles the job, never rejects. */
  async execute(e: Entry, job: Job): Promise<void> {
    const t0 = Date.now();
    e.stats.requests++;
    try {
      const dev = e.device ?? (await this.open(e));
      let value: unknown;
      try {
        value = await job.run(dev);
      } finally {
        this.count(e, dev);
      }
      e.stats.lastLatencyMs = Date.now() - t0;
      this.health.succeeded(e);
      job.resolve(value);
    } catch (err) {
      const ke = toKasaTapoError(err, e.config.host);
      e.stats.lastLatencyMs = Date.now() - t0;
      this.health.failed(e, ke);
      job.reject(ke);
    }
  }

  /** Open (or reuse) the device's session; the transport found first is remembered. Throws what connect() throws, ECLOSED. */
  private open(e: Entry): Promise<DeviceApi> {
    if (e.device) return Promise.resolve(e.device);
    if (!e.connecting) {
      this.health.setStatus(e, 'connecting');
      const abort = (e.connectAbort = new AbortController());
      const port = e.port();
      // AES only to a listed or discovered device, or an object ref that named 'aes' itself (a
      // library caller's explicit choice; the nodes never pass msg.device's transport).
      const trusted = this.opts.trusted(e.config.host, port);
      const lv = e.config.loginVersion ?? trusted?.loginVersion;
      const opts: ConnectOptions = {
        host: e.config.host,
        transport: e.transport ?? 'auto',
        allowAesLogin: e.config.transport === 'aes' || trusted !== undefined,
        ...(lv !== undefined ? { loginVersion: lv } : {}),
        ...(trusted?.discovery && !e.transport && port === undefined ? { discovery: trusted.discovery } : {}),
        timeoutMs: this.opts.timeoutMs,
        retries: this.opts.retries,
        backoffMs: this.opts.backoffMs,
        signal: abort.signal,
        ...(port !== undefined ? { port } : {}),
        ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
        ...(this.opts.logger ? { logger: this.opts.logger } : {}),
      };
      e.connecting = this.gate
        .gated(abort.signal, () => this.opts.connect(opts))
        .then(
          (dev) => {
            e.connecting = undefined;
            e.connectAbort = undefined;
            if (this.opts.isClosed()) {
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
            // The connect's handshakes count; its read's retries do not (as before the split).
            const s = dev.stats;
            e.stats.handshakes += s?.handshakes ?? 0;
            e.seen = { dev, handshakes: s?.handshakes ?? 0, retries: s?.retries ?? 0 };
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

  /** Add what the session's counters moved since last seen to the device's statistics (one read per request). */
  private count(e: Entry, dev: DeviceApi): void {
    const s = dev.stats;
    const seen = e.seen;
    if (!s || !seen || seen.dev !== dev) return;
    e.stats.handshakes += Math.max(0, s.handshakes - seen.handshakes);
    e.stats.retries += Math.max(0, s.retries - seen.retries);
    seen.handshakes = s.handshakes;
    seen.retries = s.retries;
  }

  /** Close `e`'s session. Never rejects. */
  async drop(e: Entry): Promise<void> {
    const dev = e.device;
    e.device = undefined;
    if (dev) await dev.close().catch(() => undefined);
  }

  /** Close the session and abandon a connect in progress (close()); the promises settle within the pool's close budget. */
  closeAll(e: Entry): Promise<unknown>[] {
    const closing: Promise<unknown>[] = [];
    if (e.device) closing.push(e.device.close().catch(() => undefined));
    e.connectAbort?.abort(); // a connect in progress closes its sockets now and rejects ECLOSED
    if (e.connecting) closing.push(e.connecting.then((d) => d.close()).catch(() => undefined));
    e.device = undefined;
    return closing;
  }
}
