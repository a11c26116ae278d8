/**
 * connect(): from a host to a ready Device (python-kasa's device_factory). It picks a transport —
 * the one given, the one a discovery answer names, a single-host discovery, what worked before
 * (a bounded route cache), or probing XOR, KLAP, AES, TPAP in turn — builds transport + protocol +
 * adapter through the device layer, and reads the device once so `info()` is known. The
 * application protocol (IOT or SMART JSON) is the device's own: discovery's `device_type`, what
 * the route cache learned, or both request styles tried over the session (device/detect.ts);
 * never the KLAP hash version, which handshake1 proves by itself (transports/klap.ts).
 * It sits above both device/ and discovery.ts. A Connector owns what connecting learns: its route
 * book (src/routes.ts) and the RSA key store its AES sessions share (a caller may supply its own key
 * pair with `keyPair`). Each Pool makes its own Connector; the free connect() uses the default one.
 */
import { RsaKeyStore, type RsaKeyPair } from './crypto/rsa';
import { SINGLE_DISCOVERY_TIMEOUT_MS, WAKE_MAX_WAIT_MS, WAKE_WAIT_MS } from './defaults';
import type { Device, DeviceOptions } from './device';
import { STYLE_MISS, answeredNeitherStyle, openDevice } from './device/detect';
import { redactingTrace } from './device/wifi';
import { PORT_OF, PROTOCOL_OF, PROTOCOLS_OF } from './device/table';
import { discoverSingle } from './discovery';
import { RouteBook } from './routes';
import { KasaTapoError, clip, isKasaTapoError, signalsChange } from './errors';
import { aesNotTrusted, belowProven, changeRefused, checkHost, describeRoute, sameTransport, type ProvenRoute } from './trust';
import { createTransport as defaultCreateTransport, tpapSpeaksKlap } from './transports';
import type { Credentials, DiscoveryResult, Logger, Pacing, ProtocolKind, TraceFn, Transport, TransportChoice, TransportKind, TransportOptions } from './types';
import { waitForPort, wakeDevice } from './wake';
import { fixFor } from './fixes';

export interface ConnectOptions {
  host: string;
  port?: number;
  credentials?: Credentials;
  /**
   * Default 'auto': single-host discovery, then probing XOR, KLAP, AES (only if allowed), TPAP.
   * 'klap' and 'klap-v1' name the preferred KLAP hashes; the device's handshake1 proves which
   * version it uses, and that one is used (state.protocol then says which).
   */
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
  /**
   * AES login version: 1 only for old firmware that needs it, and only as the caller's own choice
   * (it sends the password itself). Default 2, whatever a discovery answer's `lv` says.
   */
  loginVersion?: 1 | 2;
  /**
   * Never use a transport weaker than this one (src/trust.ts transportRank): what the device proved
   * before. A discovery answer, a remembered route or a probe below it fails with ENOTTRUSTED (guided
   * fix 'protocol-changed') before anything is sent on it; a stronger one is fine (a firmware update).
   */
  floor?: ProvenRoute;
  /** TPAP: accept a login transform without the password (TransportOptions.tpapAllowNoPassword). Default false. */
  tpapAllowNoPassword?: boolean;
  /** Supplies the RSA key pair for AES. Default: the Connector's key store (for the free connect(), the default Connector's). */
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
   * probe to the host, wait until the port accepts connections (at most WAKE_MAX_WAIT_MS) and retry once (once per connect). Default true.
   */
  wake?: boolean;
  /** HTTP transports: the pool's pacing of this device (TransportOptions.pacing). */
  pacing?: Pacing;
}

/**
 * The order 'auto' probes in when discovery gives nothing. One KLAP probe covers both hash
 * versions (handshake1 proves which); 'klap-v1' is still a valid explicit choice.
 */
export const PROBE_ORDER: readonly TransportKind[] = ['xor', 'klap', 'aes', 'tpap'];

const cacheKey = (o: ConnectOptions): string => `${o.host}|${o.port ?? ''}`;
/** A protocol known for this transport (from discovery or the route book), if the transport can carry it. */
const usable = (kind: TransportKind, p: ProtocolKind | undefined): ProtocolKind | undefined => (p && PROTOCOLS_OF[kind].includes(p) ? p : undefined);

/** One connect() call: its options (host checked, key pair set) and the state that lives as long as the call. */
interface Call extends ConnectOptions {
  keyPair: NonNullable<ConnectOptions['keyPair']>;
  /** The wake-up probe was sent (one per connect() call). */
  woken?: boolean;
  /** The protocol each device opened in this call answered in (for the route book). */
  learned: WeakMap<Device, ProtocolKind>;
}

/** Build the transport for one kind. Throws what the factory throws. */
function build(kind: TransportKind, port: number, opts: Call, loginVersion?: 1 | 2, protocol?: ProtocolKind): Transport {
  const factory = opts.createTransport ?? defaultCreateTransport;
  const topts: TransportOptions = { host: opts.host, port, keyPair: opts.keyPair };
  if (opts.timeoutMs !== undefined) topts.timeoutMs = opts.timeoutMs;
  if (opts.credentials) topts.credentials = opts.credentials;
  if (opts.logger) topts.logger = opts.logger;
  if (opts.trace) topts.trace = redactingTrace(opts.trace);
  if (opts.pacing) topts.pacing = opts.pacing;
  if (opts.tpapAllowNoPassword) topts.tpapAllowNoPassword = true;
  const lv = opts.loginVersion ?? loginVersion;
  if (lv !== undefined) topts.loginVersion = lv;
  if (protocol) topts.protocol = protocol;
  return factory(kind, topts);
}

/**
 * openOnce(), and when an HTTP transport's connection is refused: one UDP 20002 wake-up probe, a
 * wait until the port opens (at most WAKE_MAX_WAIT_MS) and one retry (once per connect() call). A refusal after that carries the
 * guided fix 'unreachable'; success after it is logged with the fix 'woke'.
 */
async function open(kind: TransportKind, port: number, opts: Call, loginVersion?: 1 | 2, protocol?: ProtocolKind): Promise<Device> {
  try {
    return await openOnce(kind, port, opts, loginVersion, protocol);
  } catch (e) {
    if (!isKasaTapoError(e) || e.code !== 'ECONNREFUSED' || kind === 'xor' || opts.wake === false || opts.woken || opts.signal?.aborted) throw e;
    opts.woken = true;
    await wakeDevice(opts.host, { keyPair: opts.keyPair, ...(opts.logger ? { logger: opts.logger } : {}) });
    await waitForPort(opts.host, port, WAKE_WAIT_MS, WAKE_MAX_WAIT_MS, opts.signal);
    try {
      const dev = await openOnce(kind, port, opts, loginVersion, protocol);
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

/**
 * Connect with one transport and read the device once, in `protocol` when known, else in each
 * protocol the transport can carry (device/detect.ts); closes the transport on failure.
 */
async function openOnce(kind: TransportKind, port: number, opts: Call, loginVersion?: 1 | 2, protocol?: ProtocolKind): Promise<Device> {
  const signal = opts.signal;
  if (signal?.aborted) throw abortedError(opts.host);
  const retry: DeviceOptions = {};
  if (opts.retries !== undefined) retry.retries = opts.retries;
  if (opts.backoffMs !== undefined) retry.backoffMs = opts.backoffMs;
  if (opts.logger) retry.logger = opts.logger;
  if (protocol) retry.protocol = protocol;
  try {
    const r = await openDevice(build(kind, port, opts, loginVersion, protocol), retry, signal);
    if (signal?.aborted) {
      await r.device.close();
      throw abortedError(opts.host);
    }
    opts.learned.set(r.device, r.protocol);
    return r.device;
  } catch (e) {
    throw signal?.aborted ? abortedError(opts.host) : e;
  }
}

const abortedError = (host: string): KasaTapoError => new KasaTapoError('ECLOSED', `Connecting to ${host} was abandoned (closed)`, { host });

/** Worse errors are replaced by more telling ones while probing. */
const PROBE_RANK: Partial<Record<string, number>> = { ELOCKED: 6, EAUTH: 5, EUNSUPPORTED: 1, ETIMEDOUT: 2, EPROTOCOL: 1, ECONNREFUSED: 0 };
const rank = (e: KasaTapoError): number => PROBE_RANK[e.code] ?? 1;

/**
 * Opens devices (connect()) and owns what that learns: the route book of 'auto' (src/routes.ts)
 * and the RSA key store its AES sessions share (one key pair, generated once on first use). Two
 * Connectors share nothing; each Pool makes its own.
 */
export class Connector {
  private readonly routes = new RouteBook();
  private readonly keys = new RsaKeyStore();

  /** The RSA key pair of this connector's AES sessions (generated once, asynchronously). */
  keyPair(): Promise<RsaKeyPair> {
    return this.keys.get();
  }

  /** Forget what 'auto' learned (all hosts, or one). Never throws. */
  clearRoutes(host?: string): void {
    this.routes.clear(host);
  }

  /**
   * Connect to a device and read its state once (so `info()` is known).
   * Throws KasaTapoError: EBADINPUT (no host, a host that is neither an IP address nor a host name,
   * bad transport), ENOTTRUSTED (the device needs an AES login and allowAesLogin is false),
   * EUNSUPPORTED (discovery says the device speaks HTTPS only or TPAP over TLS), EAUTH, ECONNREFUSED,
   * ETIMEDOUT, EPROTOCOL and the other transport errors; with 'auto', the most telling error of all
   * the probes.
   */
  async connect(given: ConnectOptions): Promise<Device> {
    if (!given || typeof given !== 'object') throw new KasaTapoError('EBADINPUT', 'connect() needs a host');
    if (given.host === undefined || given.host === '') throw new KasaTapoError('EBADINPUT', 'connect() needs a host');
    const host = checkHost(given.host);
    const opts: Call = { ...given, host, keyPair: given.keyPair ?? (() => this.keys.get()), learned: new WeakMap() };
    const choice = opts.transport ?? 'auto';
    const aesOk = opts.allowAesLogin ?? (choice === 'aes' || opts.discovery !== undefined);
    if (choice !== 'auto') {
      if (!(choice in PROTOCOL_OF)) throw new KasaTapoError('EBADINPUT', `Unknown transport "${clip(choice)}"; expected auto, xor, klap, klap-v1, aes or tpap`);
      if (choice === 'aes' && !aesOk) throw aesNotTrusted(host, opts.port, 'is not a device you listed');
      if (below(opts, choice)) throw downgrade(host, choice, opts);
      const port = opts.port ?? PORT_OF[choice];
      // The device's protocol: its discovery answer's, else what an earlier session over this
      // transport learned at this address.
      const key = `${host}|${port}`;
      const seen = this.routes.get(key);
      const announced = usable(choice, opts.discovery?.protocol);
      const remembered = seen && sameTransport(seen.kind, choice) ? usable(choice, seen.protocol) : undefined;
      let dev: Device;
      try {
        dev = await open(choice, port, opts, undefined, announced ?? remembered);
      } catch (e) {
        // A remembered protocol the device no longer speaks (another device took the address, or
        // new firmware): forget it and try both request styles once.
        if (announced !== undefined || remembered === undefined || !isKasaTapoError(e) || !STYLE_MISS.has(e.code)) throw e;
        this.routes.delete(key);
        opts.logger?.debug?.(`${host}:${port} no longer answers in ${remembered.toUpperCase()}: trying both request styles`);
        dev = await open(choice, port, opts, undefined, undefined);
      }
      this.routes.rememberProtocol(key, dev, opts.learned.get(dev));
      return dev;
    }

    // 1. A discovery answer (given, or asked for now).
    let disc = opts.discovery;
    const key = cacheKey(opts);
    const cached = this.routes.get(key);
    // An explicit port means the caller knows where the device listens: no UDP discovery then.
    const mayAsk = !disc && opts.port === undefined && (opts.discoveryTimeoutMs ?? SINGLE_DISCOVERY_TIMEOUT_MS) > 0;
    // An abort ends the discovery at once (no more probes) and then connect() with ECLOSED.
    const ask = async (): Promise<DiscoveryResult | undefined> => {
      const found = await discoverSingle(opts.host, {
        keyPair: opts.keyPair,
        timeoutMs: opts.discoveryTimeoutMs ?? SINGLE_DISCOVERY_TIMEOUT_MS,
        rounds: 2,
        ...(opts.logger ? { logger: opts.logger } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      }).catch(() => undefined);
      if (opts.signal?.aborted) throw abortedError(host);
      return found;
    };
    if (mayAsk && !cached) disc = await ask();
    const fromDiscovery = async (d: DiscoveryResult): Promise<Device> => {
      if (!d.supported || !d.transport) {
        throw new KasaTapoError('EUNSUPPORTED', `${clip(d.model ?? opts.host)} cannot be controlled by this library`, {
          host: opts.host,
          ...(d.reason ? { hint: d.reason } : {}),
        });
      }
      const port = opts.port ?? d.port;
      if (below(opts, d.transport)) throw downgrade(host, d.transport, opts);
      if (d.transport === 'aes' && !aesOk) throw aesNotTrusted(host, port, 'announces AES in its discovery answer');
      // AES: login v2 unless the caller chose v1 (build() prefers opts.loginVersion); never the answer's lv.
      const dev = await open(d.transport, port, opts, d.transport === 'aes' ? 2 : undefined, usable(d.transport, d.protocol)).catch((e: unknown) => {
        // Announced TPAP, but its login discover names no TPAP profile: KLAP v2 on the same port (README.md, TPAP dialects); remembered below.
        if (d.transport !== 'tpap' || !tpapSpeaksKlap(e)) throw e;
        if (below(opts, 'klap')) throw downgrade(host, 'klap', opts);
        return open('klap', port, opts, undefined, usable('klap', d.protocol));
      });
      this.routes.remember(key, dev, port, opts.loginVersion, opts.learned.get(dev));
      return dev;
    };
    if (disc) return fromDiscovery(disc);

    // 2. What worked before, then 3. probing.
    const firstKind = cached && !below(opts, cached.kind) ? cached : undefined;
    const all = firstKind ? [firstKind.kind, ...PROBE_ORDER.filter((k) => !sameTransport(k, firstKind.kind))] : PROBE_ORDER;
    // Nothing weaker than what the device proved before is tried.
    const order = all.filter((k) => !below(opts, k));
    let best: KasaTapoError | undefined;
    for (const kind of order) {
      if (opts.signal?.aborted) throw abortedError(opts.host);
      const hit = firstKind?.kind === kind ? firstKind : undefined;
      const port = opts.port ?? (hit ? hit.port : PORT_OF[kind]);
      if (kind === 'aes' && !aesOk) {
        // No login: an RSA handshake alone tells whether the host speaks AES, to say what to do.
        const e = await probeAes(port, opts);
        if (!e) throw aesNotTrusted(host, port, 'answers the AES handshake');
        if (!best || rank(e) > rank(best)) best = e;
        continue;
      }
      try {
        const dev = await open(kind, port, opts, undefined, usable(kind, hit?.protocol));
        this.routes.remember(key, dev, port, opts.loginVersion, opts.learned.get(dev));
        return dev;
      } catch (e) {
        const ke = isKasaTapoError(e) ? e : new KasaTapoError('EPROTOCOL', String(e), { cause: e });
        opts.logger?.debug?.(`${opts.host}: ${kind} probe failed: ${ke.code}`);
        if (hit) {
          this.routes.delete(key);
          // The route that worked before fails as a firmware update would make it fail (KLAP 403 or
          // 404, AES 1003, a refused port): ask the device once, as step 1 would have without the
          // route. Its answer is followed when it names another transport or port; the same one
          // means the route was right (a wrong password is not tried twice).
          if (mayAsk && signalsChange(ke)) {
            const d = await ask();
            if (d?.transport && (!sameTransport(d.transport, kind) || d.port !== port)) {
              opts.logger?.debug?.(`${opts.host}: no longer ${kind} on port ${port}; discovery says ${d.transport} on ${d.port}`);
              return fromDiscovery(d);
            }
            if (d && !d.supported) return fromDiscovery(d); // EUNSUPPORTED, with the reason
          }
        }
        // It logged in but answered neither request style: no other transport will be this device.
        // A device that blocks logins (ELOCKED) is found too: probing on would only log in again.
        if (answeredNeitherStyle(ke) || ke.code === 'ELOCKED') throw ke;
        if (!best || rank(ke) > rank(best)) best = ke;
      }
    }
    // An explicit port skipped discovery: a device that answered there in no way we speak (an HTTPS
    // camera on 443 resets the connection) is asked once, so the error says why (EUNSUPPORTED).
    const garbled = best?.code === 'ECONNRESET' || best?.code === 'EPROTOCOL';
    const d = garbled && opts.port !== undefined && (opts.discoveryTimeoutMs ?? SINGLE_DISCOVERY_TIMEOUT_MS) > 0 ? await ask() : undefined;
    if (d && !d.supported) return fromDiscovery(d);
    throw best ?? new KasaTapoError('ECONNREFUSED', `No transport reached ${opts.host}`, { host: opts.host });
  }
}

/**
 * Process-wide resource: the default Connector, the one documented process-wide instance, used by the free connect() and
 * clearRouteCache() (library callers and the CLI). Pools do not use it; each owns its own.
 */
const defaultConnector = new Connector();

/** connect() on the default Connector (Connector.connect). */
export function connect(opts: ConnectOptions): Promise<Device> {
  return defaultConnector.connect(opts);
}

/** Forget what 'auto' learned on the default Connector (all hosts, or one). Never throws. */
export function clearRouteCache(host?: string): void {
  defaultConnector.clearRoutes(host);
}

/** Whether `kind` is weaker than the floor the caller set (what the device proved). Never throws. */
const below = (opts: ConnectOptions, kind: TransportKind): boolean => belowProven(kind, opts.loginVersion, opts.floor);

/** ENOTTRUSTED for a transport below what the device proved; its guided fix says how to accept a real change. */
function downgrade(host: string, kind: TransportKind, opts: ConnectOptions): KasaTapoError {
  const announced = describeRoute({ kind, ...(opts.loginVersion ? { loginVersion: opts.loginVersion } : {}) });
  const before = opts.floor ? `proved ${describeRoute(opts.floor)}` : 'used another one';
  return changeRefused(host, `${clip(host)} now offers ${announced}, weaker than what it proved before; nothing was sent on it`, announced, before);
}

/** An RSA handshake without login (AesTransport.probe): undefined when the host speaks AES, else why not. Never throws. */
async function probeAes(port: number, opts: Call): Promise<KasaTapoError | undefined> {
  let t: Transport | undefined;
  const onAbort = (): void => void t?.close();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const topts: TransportOptions = { host: opts.host, port, keyPair: opts.keyPair };
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
