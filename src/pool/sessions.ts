/**
 * Sessions: open a device's session on first use (through the handshake gate, remembering the
 * transport and port found), reuse it for every later call, run one queued job on it with the
 * counters and health bookkeeping, and drop it when the device goes offline or idle.
 */
import type { ConnectOptions } from '../connect';
import { KasaTapoError, signalsChange, toKasaTapoError } from '../errors';
import { fixFor } from '../fixes';
import { belowProven, changeRefused, describeRoute, sameTransport, type AesTrustEntry, type ProvenRoute } from '../trust';
import type { Credentials, DeviceApi, DiscoveryResult, Logger, TransportKind } from '../types';
import type { Entry, Job } from './entry';
import type { Health } from './health';
import { gapWait } from '../sleep';
import { Memory, isRateLimited, isSocketTrouble, slowDown, type PaceLimits } from './resilience';
import type { Scheduler } from './scheduler';
import type { PoolEvents } from './types';

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
  /** Aborted by the pool's close(): a pacing gap ends at once. */
  closing: AbortSignal;
  pace: PaceLimits & { paceRetries: number };
  emit<K extends keyof PoolEvents>(event: K, ...args: PoolEvents[K]): boolean;
  /** Re-detection: unicast discovery of one host; undefined when it does not answer. Never rejects. */
  rediscover(host: string): Promise<DiscoveryResult | undefined>;
  /** A discovery answer found by re-detection (an AES device becomes trusted like pool.discover()'s). */
  trustDiscovered(r: DiscoveryResult): void;
  /** Wake-up probe before the first connect to an HTTP device. Never rejects. */
  wake(host: string): Promise<void>;
  /** The strongest transport the device at `host` has completed a login with (the pool's book). */
  proven(host: string): ProvenRoute | undefined;
  /** Record a login completed over `route` (kept only when stronger than what the book has). */
  prove(host: string, route: ProvenRoute): void;
}

/**
 * A login refused while the pool has no credentials (the transports then try only TP-Link's
 * default accounts): the device did not reject "the credentials", none were given. Same code and
 * login facts (the login budget counts it alike), with the 'no-credentials' fix. A handshake refused
 * with HTTP 403 (Third-Party Compatibility) keeps its own fix.
 */
function withoutCredentials(err: unknown, host: string): unknown {
  if (!(err instanceof KasaTapoError) || err.code !== 'EAUTH' || err.httpStatus === 403 || err.fix === 'third-party') return err;
  return new KasaTapoError('EAUTH', `${host}: no credentials are set in the pool, and the device refused a login without them`, {
    host,
    fix: 'no-credentials',
    hint: fixFor('no-credentials'),
    ...(err.login ? { login: err.login } : {}),
    ...(err.spentLogin ? { spentLogin: true } : {}),
    ...(err.deviceCode !== undefined ? { deviceCode: err.deviceCode } : {}),
    cause: err,
  });
}

export class Sessions {
  private readonly memory = new Memory();

  constructor(
    private readonly opts: SessionOptions,
    private readonly health: Health,
    private readonly gate: Pick<Scheduler, 'gated'>,
  ) {}

  /** Run one job on `e`'s session; settles the job, never rejects. */
  async execute(e: Entry, job: Job): Promise<void> {
    const t0 = Date.now();
    e.stats.requests++;
    if (e.status === 'locked' || e.status === 'auth-error' || e.authUntil > t0) {
      // Queued before a login failed: held like a new request, nothing sent.
      const hold = this.health.held(e);
      if (hold) {
        this.health.countError(e, hold.code);
        job.reject(hold);
        return;
      }
    }
    try {
      let value: unknown;
      const p = e.pacing;
      try {
        // attempt(), inlined: the hot path pays two field reads for pacing.
        if (p.gapMs > 0) await this.gap(e);
        const dev = e.device ?? (await this.open(e));
        try {
          value = await job.run(dev);
        } finally {
          this.count(e, dev);
          if (p.gapMs > 0) p.last = Date.now();
        }
      } catch (err) {
        value = await this.recover(e, job, toKasaTapoError(err, e.config.host));
      }
      e.stats.lastLatencyMs = Date.now() - t0;
      this.health.succeeded(e);
      e.worked = true;
      if (p.gapMs > 0 && Date.now() >= p.calmAt) p.gapMs = 0; // a quiet period: pacing ends
      if (typeof value === 'object' && value !== null) this.watchFirmware(e, value);
      job.resolve(value);
    } catch (err) {
      const ke = toKasaTapoError(err, e.config.host);
      e.stats.lastLatencyMs = Date.now() - t0;
      this.health.failed(e, ke);
      job.reject(ke);
    }
  }

  /**
   * Wait out a paced device's gap (XOR has no transport-level pacing). close() ends it, and then
   * nothing is sent: ECLOSED.
   */
  private async gap(e: Entry): Promise<void> {
    await gapWait(e.pacing, this.opts.closing);
    if (this.opts.isClosed()) throw new KasaTapoError('ECLOSED', 'The connection pool was closed');
  }

  /** One run of the job on the device's session (opened if needed), paced when pacing is on (as in execute()). */
  private async attempt(e: Entry, job: Job): Promise<unknown> {
    if (e.pacing.gapMs > 0) await this.gap(e);
    const dev = e.device ?? (await this.open(e));
    try {
      return await job.run(dev);
    } finally {
      this.count(e, dev);
      if (e.pacing.gapMs > 0) e.pacing.last = Date.now();
    }
  }

  /**
   * The slow path after a failed attempt: a rate-limited request is retried after the (growing)
   * gap, up to paceRetries times; socket trouble starts pacing; a failure that signals a protocol
   * change of a device that worked runs one re-detection (once per failure episode) and replays
   * the request on the new transport. Throws the error when none of these helps.
   */
  private async recover(e: Entry, job: Job, err: KasaTapoError): Promise<unknown> {
    for (let i = 0; isRateLimited(err) && i < this.opts.pace.paceRetries && !this.opts.isClosed(); i++) {
      slowDown(e.pacing, this.opts.pace);
      try {
        return await this.attempt(e, job);
      } catch (x) {
        err = toKasaTapoError(x, e.config.host);
      }
    }
    if (isSocketTrouble(err) || isRateLimited(err)) slowDown(e.pacing, this.opts.pace);
    // A plain wrong password on a device the user pinned to a transport is no protocol change.
    const pinnedAuth = err.code === 'EAUTH' && err.httpStatus !== 403 && e.config.transport !== undefined && e.config.transport !== 'auto';
    // A change already refused: say so again (with its fix) rather than the transport's own error.
    if (e.refusedChange && signalsChange(err)) throw e.refusedChange;
    if (e.worked && !pinnedAuth && signalsChange(err) && !this.opts.isClosed()) {
      e.worked = false; // one re-detection per failure episode: the next one after a success
      if (await this.redetect(e)) return this.attempt(e, job);
    }
    throw err;
  }

  /**
   * Unicast discovery of the device: when it now names another transport (or port), drop the
   * session and switch to it (the next open() connects with it). False when nothing changed.
   * An unauthenticated answer never moves a device off the transport the user pinned, nor below
   * the strongest one it has proved (src/trust.ts): that is reported instead ('protocol-changed'
   * with the error, and thrown ENOTTRUSTED with the guided fix), and nothing is sent on it.
   */
  private async redetect(e: Entry): Promise<boolean> {
    const disc = await this.opts.rediscover(e.config.host);
    if (!disc?.supported || !disc.transport || this.opts.isClosed()) return false;
    const port = e.config.port ?? disc.port;
    if (disc.transport === e.transport && port === e.port()) return false;
    const pinned = e.config.transport !== undefined && e.config.transport !== 'auto' ? e.config.transport : undefined;
    const proven = this.opts.proven(e.config.host);
    const leaves = pinned !== undefined && !sameTransport(pinned, disc.transport);
    const lv = e.config.loginVersion;
    const below = belowProven(disc.transport, lv, proven);
    if (leaves || below) {
      const announced = describeRoute({ kind: disc.transport });
      const before =
        leaves && pinned ? `is set to ${describeRoute({ kind: pinned, ...(lv ? { loginVersion: lv } : {}) })} in the list` : `proved ${describeRoute(proven!)}`;
      const what = `${e.key} now announces ${announced}; the pool stays on what it ${leaves ? 'was set to' : 'proved'}`;
      const err = changeRefused(e.config.host, what, announced, before);
      this.opts.logger?.warn?.(err.message);
      e.refusedChange = err;
      this.opts.emit('protocol-changed', e.key, {
        host: e.config.host,
        from: e.transport ?? pinned ?? proven?.kind ?? 'unknown',
        to: disc.transport,
        error: err,
      });
      throw err;
    }
    this.opts.logger?.info?.(`${e.key}: the device now announces ${disc.transport} (was ${e.transport ?? 'unknown'}); switching`);
    // Re-detection never adds trust (an AES login goes only to a listed or pool-discovered
    // device, src/trust.ts): it only refreshes the discovery answer of a device already trusted.
    // An untrusted device now on AES fails with ENOTTRUSTED at the next connect, before any login.
    if (this.opts.trusted(e.config.host, port)) this.opts.trustDiscovered(disc);
    await this.drop(e);
    e.transport = disc.transport;
    e.foundPort = disc.port;
    return true;
  }

  /**
   * Remember the transport spoken; a change from the last one is 'protocol-changed', also when the
   * device's entry was swept while idle in between (the memory outlives entries).
   */
  private spoke(e: Entry, kind: TransportKind | undefined): void {
    if (!kind) return;
    const from = this.memory.transport(e.key, kind, e.config.transport ?? 'auto');
    if (from) this.opts.emit('protocol-changed', e.key, { host: e.config.host, from, to: kind });
  }

  /** A reading's firmware version; a change from the last one seen is 'firmware-changed'. */
  private watchFirmware(e: Entry, value: { firmware?: unknown }): void {
    const fw = value.firmware;
    if (typeof fw !== 'string' || fw === e.firmware) return;
    e.firmware = fw;
    const was = this.memory.firmware(e.key, fw);
    if (was !== undefined) this.opts.emit('firmware-changed', e.key, { host: e.config.host, from: was, to: fw });
  }

  /** Open (or reuse) the device's session; the transport found first is remembered. Throws what connect() throws, ECLOSED. */
  private open(e: Entry): Promise<DeviceApi> {
    if (e.device) return Promise.resolve(e.device);
    // A job still running when the pool closed must not open a session close() can no longer reach.
    if (this.opts.isClosed()) return Promise.reject(new KasaTapoError('ECLOSED', 'The connection pool is closed'));
    if (!e.connecting) {
      this.health.setStatus(e, 'connecting');
      const abort = (e.connectAbort = new AbortController());
      const port = e.port();
      // AES only to a listed or discovered device, or an object ref that named 'aes' itself (a
      // library caller's explicit choice; the nodes never pass msg.device's transport).
      const trusted = this.opts.trusted(e.config.host, port);
      const lv = e.config.loginVersion ?? trusted?.loginVersion;
      // What the device proved bounds an 'auto' device; a transport the user pinned is the user's word.
      const floor = e.config.transport === undefined || e.config.transport === 'auto' ? this.opts.proven(e.config.host) : undefined;
      const opts: ConnectOptions = {
        host: e.config.host,
        transport: e.transport ?? 'auto',
        allowAesLogin: e.config.transport === 'aes' || trusted !== undefined,
        ...(lv !== undefined ? { loginVersion: lv } : {}),
        ...(floor ? { floor } : {}),
        ...(e.config.tpapAllowNoPassword ? { tpapAllowNoPassword: true } : {}),
        ...(trusted?.discovery && !e.transport && port === undefined ? { discovery: trusted.discovery } : {}),
        pacing: e.pacing,
        timeoutMs: this.opts.timeoutMs,
        retries: this.opts.retries,
        backoffMs: this.opts.backoffMs,
        signal: abort.signal,
        ...(port !== undefined ? { port } : {}),
        ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
        ...(this.opts.logger ? { logger: this.opts.logger } : {}),
      };
      // Wake-up before the first connect to an HTTP device ('auto' without a port: discovery probes).
      const wake = !e.woken && e.transport !== 'xor' && (e.transport !== undefined || port !== undefined) && port !== 9999;
      e.woken = true;
      e.connecting = this.gate
        .gated(abort.signal, async () => {
          if (wake) await this.opts.wake(e.config.host);
          return this.opts.connect(opts);
        })
        .then(
          (dev) => {
            e.connecting = undefined;
            e.connectAbort = undefined;
            if (this.opts.isClosed()) {
              void dev.close();
              throw new KasaTapoError('ECLOSED', 'The connection pool is closed');
            }
            e.device = dev;
            e.refusedChange = undefined;
            const info = dev.info();
            if (info) {
              e.transport = info.protocol;
              e.foundPort = info.port;
              this.spoke(e, info.protocol);
              // A login with TP-Link's default credentials (or a MAC-derived passcode) proves nothing
              // about the account: it does not raise what the device has proved.
              if (!info.defaultCredentials)
                this.opts.prove(e.config.host, { kind: info.protocol, ...(info.protocol === 'aes' ? { loginVersion: lv ?? 2 } : {}) });
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
            throw this.opts.credentials ? err : withoutCredentials(err, e.config.host);
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
