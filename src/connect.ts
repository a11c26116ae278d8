/**
 * connect(): from a host to a ready Device (python-kasa's device_factory). It picks a transport —
 * the one given, the one a discovery answer names, a single-host discovery, what worked before
 * (a bounded route cache), or probing XOR, KLAP v2, AES, KLAP v1 in turn — builds transport +
 * protocol + adapter through the device layer, and reads the device once so `info()` is known.
 * It sits above both device/ and discovery.ts, and owns the process's RSA key store (AES sessions
 * share one key pair; a caller may supply its own with `keyPair`).
 */
import { RsaKeyStore } from './crypto/rsa';
import { SINGLE_DISCOVERY_TIMEOUT_MS, WAKE_WAIT_MS } from './defaults';
import { createDevice, type Device, type DeviceOptions } from './device';
import { redactingTrace } from './device/wifi';
import { PORT_OF, PROTOCOL_OF } from './device/table';
import { discoverSingle } from './discovery';
import { KasaTapoError, clip, isKasaTapoError } from './errors';
import { aesNotTrusted, checkHost, discoveredLoginVersion } from './trust';
import { createTransport as defaultCreateTransport } from './transports';
import type { Credentials, DiscoveryResult, Logger, Pacing, TraceFn, Transport, TransportChoice, TransportKind, TransportOptions } from './types';
import { wakeDevice } from './wake';
import { fixFor } from './fixes';

export interface ConnectOptions {
  host: string;
  port?: number;
  credentials?: Credentials;
  /** Default 'auto': single-host discovery, then probing XOR, KLAP v2, AES (only if allowed), KLAP v1. */
  transport?: TransportChoice;
  /**
   * May an AES login go to this host? It shows the device the password's SHA-1 (login v2) or the
   * password itself (v1), so it goes only where the caller vouches for the host (src/trust.ts).
   * Default: true when `transport` is 'aes' or a `discovery` answer is given (the caller chose this
   * device), false for 'auto' otherwise — probing and single-host discovery never decide it. When
   * false, a host that needs AES fails with ENOTTRUSTED (found by an RSA handshake without login).
   */
  allowAesLogin?: boolean;
  /** Per exchange. Default 5000. */
  timeoutMs?: number;
  logger?: Logger;
  trace?: TraceFn;
  /** AES login version: 1 only for devices that need it (their discovery answer says lv 1). Default: the discovery answer's, else 2. */
  loginVersion?: 1 | 2;
  /** Supplies the RSA key pair for AES. Default: the process-wide key store below. */
  keyPair?: TransportOptions['keyPair'];
  /** Retries after timeouts / busy answers. Default 2. */
  retries?: number;
  /** Wait before such a retry. Default 1000 ms. */
  backoffMs?: number;
  /** A discovery answer for this host: its transport, port and login version are used as is. */
  discovery?: DiscoveryResult;
  /** Single-host discovery wait for transport 'auto' (skipped when `port` is given). Default 1500 ms (defaults.ts); 0 skips it. */
  discoveryTimeoutMs?: number;
  /** Replaces the transport factory (tests, custom transports). */
  createTransport?: (kind: TransportKind, opts: TransportOptions) => Transport;
  /**
   * Aborting it closes the connection being opened (its sockets and timers at once): connect()
   * then rejects with ECLOSED. The pool's close() uses it.
   */
  signal?: AbortSignal;
  /**
   * Wake-up (src/wake.ts): when an HTTP transport's connection is refused, send one UDP 20002
   * probe to the host, wait WAKE_WAIT_MS and retry once (once per connect). Default true.
   */
  wake?: boolean;
  /** HTTP transports: the pool's pacing of this device (TransportOptions.pacing). */
  pacing?: Pacing;
}

/** The order 'auto' probes in when discovery gives nothing. */
export const PROBE_ORDER: readonly TransportKind[] = ['xor', 'klap', 'aes', 'klap-v1', 'tpap'];

/** Transports found by 'auto', remembered per host:port (bounded). */
const routeCache = new Map<string, { kind: TransportKind; port: number; loginVersion?: 1 | 2 }>();
const ROUTE_CACHE_MAX = 256;

/** Forget what 'auto' learned (all hosts, or one). Never throws. */
export function clearRouteCache(host?: string): void {
  if (host === undefined) routeCache.clear();
  else for (const k of [...routeCache.keys()]) if (k.startsWith(`${host}|`)) routeCache.delete(k);
}

const cacheKey = (o: ConnectOptions): string => `${o.host}|${o.port ?? ''}`;

/** The RSA key pair every AES session opened by connect() shares, generated once on first use. */
export const keyStore = new RsaKeyStore();

/** Build transport + protocol + adapter + Device for one transport kind. Throws what the factory throws. */
function build(kind: TransportKind, port: number, opts: ConnectOptions, loginVersion?: 1 | 2): Device {
  const factory = opts.createTransport ?? defaultCreateTransport;
  const topts: TransportOptions = { host: opts.host, port, keyPair: opts.keyPair ?? (() => keyStore.get()) };
  if (opts.timeoutMs !== undefined) topts.timeoutMs = opts.timeoutMs;
  if (opts.credentials) topts.credentials = opts.credentials;
  if (opts.logger) topts.logger = opts.logger;
  if (opts.trace) topts.trace = redactingTrace(opts.trace);
  if (opts.pacing) topts.pacing = opts.pacing;
  const lv = opts.loginVersion ?? loginVersion;
  if (lv !== undefined) topts.loginVersion = lv;
  const retry: DeviceOptions = {};
  if (opts.retries !== undefined) retry.retries = opts.retries;
  if (opts.backoffMs !== undefined) retry.backoffMs = opts.backoffMs;
  if (opts.logger) retry.logger = opts.logger;
  return createDevice(factory(kind, topts), retry);
}

/** One wake-up per connect() call. */
const wakes = new WeakMap<ConnectOptions, true>();

/**
 * openOnce(), and when an HTTP transport's connection is refused: one UDP 20002 wake-up probe, a
 * WAKE_WAIT_MS wait and one retry (once per connect() call). A refusal after that carries the
 * guided fix 'unreachable'; success after it is logged with the fix 'woke'.
 */
async function open(kind: TransportKind, port: number, opts: ConnectOptions, loginVersion?: 1 | 2): Promise<Device> {
  try {
    return await openOnce(kind, port, opts, loginVersion);
  } catch (e) {
    if (!isKasaTapoError(e) || e.code !== 'ECONNREFUSED' || kind === 'xor' || opts.wake === false || wakes.has(opts) || opts.signal?.aborted) throw e;
    wakes.set(opts, true);
    await wakeDevice(opts.host, { keyPair: opts.keyPair ?? (() => keyStore.get()), ...(opts.logger ? { logger: opts.logger } : {}) });
    await new Promise((r) => setTimeout(r, WAKE_WAIT_MS));
    try {
      const dev = await openOnce(kind, port, opts, loginVersion);
      opts.logger?.info?.(`${opts.host}: ${fixFor('woke', { port })}`);
      return dev;
    } catch (e2) {
      if (!isKasaTapoError(e2) || e2.code !== 'ECONNREFUSED') throw e2;
      throw new KasaTapoError('ECONNREFUSED', `Connection to ${opts.host}:${port} refused, also after a wake-up probe`, {
        host: opts.host,
        fix: 'unreachable',
        hint: fixFor('unreachable', { port }),
        cause: e2,
      });
    }
  }
}

/** Connect with one transport and read the device once; closes the transport on failure. */
async function openOnce(kind: TransportKind, port: number, opts: ConnectOptions, loginVersion?: 1 | 2): Promise<Device> {
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
 * Throws KasaTapoError: EBADINPUT (no host, a host that is neither an IP address nor a host name,
 * bad transport), ENOTTRUSTED (the device needs an AES login and allowAesLogin is false),
 * EUNSUPPORTED (discovery says the device speaks HTTPS only or TPAP over TLS), EAUTH, ECONNREFUSED,
 * ETIMEDOUT, EPROTOCOL and the other transport errors; with 'auto', the most telling error of all
 * the probes.
 */
export async function connect(opts: ConnectOptions): Promise<Device> {
  if (!opts || typeof opts !== 'object') throw new KasaTapoError('EBADINPUT', 'connect() needs a host');
  if (opts.host === undefined || opts.host === '') throw new KasaTapoError('EBADINPUT', 'connect() needs a host');
  const host = checkHost(opts.host);
  if (host !== opts.host) opts = { ...opts, host };
  const choice = opts.transport ?? 'auto';
  const aesOk = opts.allowAesLogin ?? (choice === 'aes' || opts.discovery !== undefined);
  if (choice !== 'auto') {
    if (!(choice in PROTOCOL_OF)) throw new KasaTapoError('EBADINPUT', `Unknown transport "${clip(choice)}"; expected auto, xor, klap, klap-v1, aes or tpap`);
    if (choice === 'aes' && !aesOk) throw aesNotTrusted(host, opts.port, 'is not a device you listed');
    const given = opts.discovery?.transport === choice ? discoveredLoginVersion(opts.discovery) : undefined;
    return open(choice, opts.port ?? PORT_OF[choice], opts, given);
  }

  // 1. A discovery answer (given, or asked for now).
  let disc = opts.discovery;
  const key = cacheKey(opts);
  const cached = routeCache.get(key);
  // An explicit port means the caller knows where the device listens: no UDP discovery then.
  if (!disc && !cached && opts.port === undefined && (opts.discoveryTimeoutMs ?? SINGLE_DISCOVERY_TIMEOUT_MS) > 0) {
    disc = await discoverSingle(opts.host, {
      timeoutMs: opts.discoveryTimeoutMs ?? SINGLE_DISCOVERY_TIMEOUT_MS,
      rounds: 2,
      ...(opts.logger ? { logger: opts.logger } : {}),
    }).catch(() => undefined);
  }
  if (disc) {
    if (!disc.supported || !disc.transport) {
      throw new KasaTapoError('EUNSUPPORTED', `${clip(disc.model ?? opts.host)} cannot be controlled by this library`, {
        host: opts.host,
        ...(disc.reason ? { hint: disc.reason } : {}),
      });
    }
    const port = opts.port ?? disc.port;
    if (disc.transport === 'aes' && !aesOk) throw aesNotTrusted(host, port, 'announces AES in its discovery answer');
    const lv = discoveredLoginVersion(disc);
    const dev = await open(disc.transport, port, opts, lv);
    remember(key, disc.transport, port, lv);
    return dev;
  }

  // 2. What worked before, then 3. probing.
  const order = cached ? [cached.kind, ...PROBE_ORDER.filter((k) => k !== cached.kind)] : PROBE_ORDER;
  let best: KasaTapoError | undefined;
  for (const kind of order) {
    if (opts.signal?.aborted) throw abortedError(opts.host);
    const port = opts.port ?? (cached?.kind === kind ? cached.port : PORT_OF[kind]);
    if (kind === 'aes' && !aesOk) {
      // No login: an RSA handshake alone tells whether the host speaks AES, to say what to do.
      const e = await probeAes(port, opts);
      if (!e) throw aesNotTrusted(host, port, 'answers the AES handshake');
      if (!best || (PROBE_RANK[e.code] ?? 1) > (PROBE_RANK[best.code] ?? 1)) best = e;
      continue;
    }
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

/** An RSA handshake without login (AesTransport.probe): undefined when the host speaks AES, else why not. Never throws. */
async function probeAes(port: number, opts: ConnectOptions): Promise<KasaTapoError | undefined> {
  let t: Transport | undefined;
  const onAbort = (): void => void t?.close();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const topts: TransportOptions = { host: opts.host, port, keyPair: opts.keyPair ?? (() => keyStore.get()) };
    if (opts.timeoutMs !== undefined) topts.timeoutMs = opts.timeoutMs;
    if (opts.logger) topts.logger = opts.logger;
    t = (opts.createTransport ?? defaultCreateTransport)('aes', topts);
    const probe = (t as Transport & { probe?: () => Promise<void> }).probe;
    if (typeof probe !== 'function') return new KasaTapoError('EUNSUPPORTED', `${opts.host}: AES not tried (not a listed device)`, { host: opts.host });
    await probe.call(t);
    return undefined;
  } catch (e) {
    return isKasaTapoError(e) ? e : new KasaTapoError('EPROTOCOL', clip(e instanceof Error ? e.message : e), { cause: e });
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await t?.close().catch(() => undefined);
  }
}

function remember(key: string, kind: TransportKind, port: number, loginVersion?: 1 | 2): void {
  if (routeCache.size >= ROUTE_CACHE_MAX && !routeCache.has(key)) routeCache.delete(routeCache.keys().next().value!);
  routeCache.set(key, loginVersion !== undefined ? { kind, port, loginVersion } : { kind, port });
}
