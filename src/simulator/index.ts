/**
 * The simulator's public API: simulated Kasa/Tapo devices on loopback that speak the real wire
 * protocols (XOR, KLAP v1/v2, AES — src/simulator/wire), answer like real devices (iot.ts, smart.ts),
 * are found by UDP discovery (discovery.ts), and take injected faults.
 *
 *   const dev = await startSimulatedDevice('p110', { credentials });          // 127.0.0.1, ephemeral port
 *   const home = await startSimulatedHome({ baseAddress: '127.0.10' });      // every profile, own addresses
 *
 * Addresses: a home puts device i on `<baseAddress>.<i+1>` with the standard ports (9999 for XOR,
 * 80 for HTTP; where port 80 cannot be bound — no root/CAP_NET_BIND_SERVICE — that device falls back
 * to an ephemeral port, which its 20002 discovery answer carries as `http_port`). With
 * `standardPorts: false` every device gets an ephemeral port on its own address: 20002 answers still
 * carry the real `http_port`, but an XOR device's 9999 answer (a bare sysinfo) cannot say which TCP
 * port it listens on — use `home.devices[i].port` for those. With `host` (e.g. '127.0.0.1') all
 * devices share one address on ephemeral ports; discovery is then off by default, since clients keep
 * one answer per source IP.
 */
import * as net from 'node:net';
import { KasaTapoError } from '../errors';
import { isObject, parseJson } from '../json';
import type { Credentials, TransportKind } from '../types';
import { startDiscoveryResponder, type DiscoveryResponder, type DiscoveryTarget } from './discovery';
import { IotDeviceModel } from './iot';
import { getProfile, listProfiles, type DeviceProfile, type SimTransport } from './profiles';
import { SmartDeviceModel } from './smart';
import type { Faults, SimHandler, WireServer, WireStats } from './types';
import { newWireStats, startWireServer } from './wire';
import { startSimulatedCloud, type SimulatedCloud } from './cloud';
import { hs110TddpAnswers, startTddpResponder, type TddpResponder } from './tddp';
import { switchedProfile } from './switch';

export { getProfile, listProfiles, PROFILES, type DeviceProfile, type SimTransport } from './profiles';
export { IotDeviceModel } from './iot';
export { SmartDeviceModel, SmartNode } from './smart';
export { startDiscoveryResponder, parseTdpPacket, tdpPacket, discoveryResult, type DiscoveryResponder, type DiscoveryTarget } from './discovery';
export type { Faults, WireStats } from './types';
export { startSimulatedCloud, type SimulatedCloud, type SimulatedCloudOptions, type CloudTarget } from './cloud';
export { startTddpResponder, hs110TddpAnswers, type TddpResponder, type TddpResponderOptions } from './tddp';
export { SimWifi, SIM_NETWORKS, type SimNetwork, type SimJoin } from './wifi';
export { simulateHubEvent, EVENTS_OF_KIND, type SimHubEvent, type TriggerLogEntry } from './hub-events';
export { COMPONENT_GETTERS } from './components';

/** The account a simulated home is bound to unless a test passes its own. */
export const DEMO_CREDENTIALS: Readonly<Credentials> = Object.freeze({ username: 'demo@example.com', password: 'demo-password' });

export interface RequestLogEntry {
  /** Epoch ms. */
  t: number;
  /** IOT: `module.method` per method; SMART: the method, then batched ones, then `child:<method>` for control_child. */
  methods: string[];
}

/** A bounded ring of the requests a device answered (over TCP/HTTP, not UDP discovery). */
export class RequestLog {
  private ring: RequestLogEntry[] = [];
  constructor(private readonly size = 1000) {}

  add(text: string): void {
    this.ring.push({ t: Date.now(), methods: methodsOf(text) });
    if (this.ring.length > this.size) this.ring.splice(0, this.ring.length - this.size);
  }
  get entries(): readonly RequestLogEntry[] {
    return this.ring;
  }
  /** Requests (since `sinceMs`, epoch ms) that included `method`, or all requests. */
  count(method?: string, sinceMs = 0): number {
    return this.ring.filter((e) => e.t >= sinceMs && (method === undefined || e.methods.includes(method))).length;
  }
  clear(): void {
    this.ring = [];
  }
}

function methodsOf(text: string): string[] {
  try {
    const req = parseJson(text, 'request');
    if (!isObject(req)) return ['<invalid>'];
    if (typeof req['method'] === 'string') {
      const out = [req['method']];
      const p = isObject(req['params']) ? req['params'] : {};
      const subs = (x: unknown): unknown[] =>
        isObject(x) && x['method'] === 'multipleRequest' && isObject(x['params']) && Array.isArray(x['params']['requests']) ? x['params']['requests'] : [x];
      if (req['method'] === 'multipleRequest') for (const s of subs(req)) if (isObject(s) && typeof s['method'] === 'string') out.push(s['method']);
      if (req['method'] === 'control_child')
        for (const s of subs(p['requestData'])) if (isObject(s) && typeof s['method'] === 'string') out.push(`child:${s['method']}`);
      return out;
    }
    const out: string[] = [];
    for (const [mod, body] of Object.entries(req)) if (mod !== 'context' && isObject(body)) for (const m of Object.keys(body)) out.push(`${mod}.${m}`);
    return out;
  } catch {
    return ['<invalid>'];
  }
}

export type SimModel = IotDeviceModel | SmartDeviceModel;

export interface SimulatedDeviceOptions {
  /** Loopback address. Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** The account the device is bound to. Default DEMO_CREDENTIALS. */
  credentials?: Credentials;
  sessionTtlS?: number;
  /** The device's fault object; kept (not copied) so a test can change it at run time. Profile default faults fill unset keys. */
  faults?: Faults;
  /** Also answer UDP discovery (on the device's address and on 127.255.255.255). Default false. */
  discovery?: boolean;
  /** SMART: items per page of child lists (default 10) and longest accepted batch (default 5). */
  pageSize?: number;
  maxBatch?: number;
  /** Request log ring size. Default 1000. */
  logSize?: number;
  /** Answer TDDP as an HS110 does (src/simulator/tddp.ts). Default off; a home turns it on for HS110s. */
  tddp?: boolean | { port?: number; replyPort?: number | 'source'; username?: string; password?: string };
}

export interface SimulatedDevice {
  readonly profile: DeviceProfile;
  readonly host: string;
  readonly port: number;
  readonly transport: SimTransport;
  /** Mutable: the wire server reads it on every request. */
  readonly faults: Faults;
  readonly stats: WireStats;
  /** The device model: read or change its state (undefined for HTTPS-only devices). */
  readonly model: SimModel | undefined;
  readonly log: RequestLog;
  /** Present when started with `discovery: true`. */
  readonly discovery?: DiscoveryResponder;
  /** Present when started with `tddp`. */
  readonly tddp?: TddpResponder;
  /** End every open session now (KLAP/AES: the next request gets 403 / 9999; XOR: connections close). */
  expireSessions(): void;
  /**
   * Change protocol at run time, as a firmware update or the Third-Party Compatibility toggle does:
   * the same device (model, state, faults, counters) served over `kind` on the same host:port, and
   * its discovery answer says so. Open sessions end. SMART devices: klap, aes, tpap; IOT: klap-v1.
   * Rejects EBADINPUT for another kind, or with the listen error.
   */
  switchTransport(kind: TransportKind): Promise<void>;
  /** Stop the device (wire server and its discovery responder). Idempotent. */
  close(): Promise<void>;
}

function createModel(profile: DeviceProfile, host: string, opts: SimulatedDeviceOptions): SimModel | undefined {
  if (profile.iot) return new IotDeviceModel(profile);
  if (profile.smart && profile.transport !== 'https') {
    return new SmartDeviceModel(profile, {
      ip: host,
      ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
      ...(opts.maxBatch ? { maxBatch: opts.maxBatch } : {}),
    });
  }
  return undefined;
}

/** HTTPS-only devices: a TCP port that accepts and hangs up (we do not speak their protocol). */
async function startDeadEnd(host: string, port: number): Promise<WireServer> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const stats: WireStats = newWireStats();
  server.on('connection', () => stats.connections++);
  let closed: Promise<void> | undefined;
  return {
    host,
    port: (server.address() as net.AddressInfo).port,
    stats,
    expireSessions: () => undefined,
    close: () => (closed ??= new Promise<void>((r) => server.close(() => r()))),
  };
}

function assertLoopback(host: string): void {
  if (!(net.isIPv4(host) && host.startsWith('127.')) && host !== '::1') {
    throw new KasaTapoError('EBADINPUT', `The simulator binds loopback addresses only, not ${host}`);
  }
}

const discoveryTarget = (d: SimulatedDevice): DiscoveryTarget => ({
  host: d.host,
  get profile() {
    return d.profile; // read on every probe: switchTransport() changes it
  },
  ...(d.model && d.profile.transport === 'xor' ? { handler: d.model } : {}),
  httpPort: d.port,
  offline: () => !!d.faults.unreachable || (d.faults.offlineUntil !== undefined && Date.now() < d.faults.offlineUntil),
  onProbe: () => {
    const f = d.faults;
    if (f.sleepUntilProbed && f.awakeAt === undefined) f.awakeAt = Date.now() + (f.wakeDelayMs ?? 100);
  },
});

/**
 * Start one simulated device from a profile (or profile id). Rejects with the listen/bind error,
 * EBADINPUT for a non-loopback host, or an Error for an unknown profile id.
 */
export async function startSimulatedDevice(profileOrId: DeviceProfile | string, opts: SimulatedDeviceOptions = {}): Promise<SimulatedDevice> {
  const profile = typeof profileOrId === 'string' ? getProfile(profileOrId) : profileOrId;
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const faults: Faults = opts.faults ?? {};
  for (const [k, v] of Object.entries(profile.defaultFaults ?? {}))
    if ((faults as Record<string, unknown>)[k] === undefined) (faults as Record<string, unknown>)[k] = v;
  const model = createModel(profile, host, opts);
  const log = new RequestLog(opts.logSize);
  const handler: SimHandler = {
    handle(text: string) {
      log.add(text);
      return model ? model.handle(text) : '{}';
    },
  };
  const serve = (p: DeviceProfile, port: number, stats?: WireStats): Promise<WireServer> =>
    p.transport === 'https'
      ? startDeadEnd(host, port)
      : startWireServer(p.transport, {
          host,
          port,
          handler,
          credentials: opts.credentials ?? DEMO_CREDENTIALS,
          faults,
          ...(stats ? { stats } : {}),
          ...(opts.sessionTtlS !== undefined ? { sessionTtlS: opts.sessionTtlS } : {}),
          ...(p.loginVersion ? { loginVersion: p.loginVersion } : {}),
          ...(p.transport === 'tpap' ? { tpap: { ...p.tpap, mac: p.mac.replace(/:/g, '-') } } : {}),
          ...(p.transport === 'klap' && p.tpapDiscover ? { tpapDiscover: p.tpapDiscover } : {}),
        });
  let wire = await serve(profile, opts.port ?? 0);
  let current = profile;
  let discovery: DiscoveryResponder | undefined;
  let tddp: TddpResponder | undefined;
  let closed: Promise<void> | undefined;
  const dev: SimulatedDevice = {
    get profile() {
      return current;
    },
    host,
    port: wire.port,
    get transport() {
      return current.transport;
    },
    faults,
    stats: wire.stats,
    model,
    log,
    get discovery() {
      return discovery;
    },
    get tddp() {
      return tddp;
    },
    expireSessions: () => wire.expireSessions(),
    async switchTransport(kind) {
      const next = switchedProfile(current, kind);
      if (closed) throw new KasaTapoError('ECLOSED', 'The simulated device is closed');
      current = next; // the discovery answer changes with it
      const port = wire.port;
      await wire.close();
      wire = await serve(next, port, wire.stats);
      if (closed) await wire.close(); // closed while switching
    },
    close: () => (closed ??= Promise.all([wire.close(), discovery?.close(), tddp?.close()]).then(() => undefined)),
  };
  if (opts.tddp) {
    const t = opts.tddp === true ? {} : opts.tddp;
    try {
      tddp = await startTddpResponder({
        host,
        port: t.port ?? 0,
        answers: hs110TddpAnswers(profile),
        ...(t.replyPort !== undefined ? { replyPort: t.replyPort } : {}),
        ...(t.username !== undefined ? { username: t.username } : {}),
        ...(t.password !== undefined ? { password: t.password } : {}),
      });
    } catch (e) {
      await wire.close();
      throw e;
    }
  }
  if (opts.discovery) {
    try {
      discovery = await startDiscoveryResponder({ targets: [discoveryTarget(dev)] });
    } catch (e) {
      await wire.close();
      throw e;
    }
  }
  return dev;
}

export interface SimulatedHomeOptions {
  /** First three octets of the devices' addresses: device i gets `<baseAddress>.<i+1>`. Default '127.0.10'. */
  baseAddress?: string;
  /** Put every device on this one address instead (ephemeral ports; discovery off by default). */
  host?: string;
  /** Profile ids; default every profile. */
  profiles?: string[];
  /** Default DEMO_CREDENTIALS. */
  credentials?: Credentials;
  /** 9999 / 80 (443 for HTTPS-only). Default true (false when `host` is given). */
  standardPorts?: boolean;
  /** Answer UDP discovery on 9999 and 20002. Default true (false when `host` is given). */
  discovery?: boolean;
  /** Default 127.255.255.255. */
  broadcastAddress?: string;
  /** A template copied into each device's own fault object. */
  faults?: Faults;
  sessionTtlS?: number;
  pageSize?: number;
  /** Also serve a simulated TP-Link cloud (src/simulator/cloud.ts) for every device. Default false. */
  cloud?: boolean | { host?: string; port?: number };
}

export interface SimulatedHome {
  readonly devices: SimulatedDevice[];
  /** A device by profile id. */
  device(id: string): SimulatedDevice | undefined;
  readonly credentials: Credentials;
  readonly discovery: DiscoveryResponder | undefined;
  /** The simulated cloud, when started with `cloud`. */
  readonly cloud: SimulatedCloud | undefined;
  /** Stop every device and responder. Idempotent. */
  close(): Promise<void>;
}

const PRIVILEGED = new Set(['EACCES', 'EPERM']);

/**
 * Start a whole simulated home. Rejects with EBADINPUT (bad address or profile id) or a bind error;
 * whatever had started is closed first.
 */
export async function startSimulatedHome(opts: SimulatedHomeOptions = {}): Promise<SimulatedHome> {
  const base = opts.baseAddress ?? '127.0.10';
  if (!opts.host && !/^127\.\d{1,3}\.\d{1,3}$/.test(base)) throw new KasaTapoError('EBADINPUT', `baseAddress must look like 127.x.y, not ${base}`);
  if (opts.host) assertLoopback(opts.host);
  const ids = opts.profiles ?? listProfiles();
  const profiles = ids.map((id) => {
    try {
      return getProfile(id);
    } catch (e) {
      throw new KasaTapoError('EBADINPUT', (e as Error).message);
    }
  });
  if (!opts.host && profiles.length > 254) throw new KasaTapoError('EBADINPUT', 'At most 254 devices per home');
  const standard = opts.standardPorts ?? !opts.host;
  const credentials = opts.credentials ?? DEMO_CREDENTIALS;
  const devices: SimulatedDevice[] = [];
  let responder: DiscoveryResponder | undefined;
  let cloud: SimulatedCloud | undefined;
  const closeAll = () => Promise.all([...devices.map((d) => d.close()), responder?.close(), cloud?.close()]).then(() => undefined);
  try {
    for (const [i, profile] of profiles.entries()) {
      const host = opts.host ?? `${base}.${i + 1}`;
      const std = profile.transport === 'xor' ? 9999 : profile.transport === 'https' ? 443 : 80;
      const devOpts: SimulatedDeviceOptions = {
        host,
        port: standard ? std : 0,
        credentials,
        faults: { ...opts.faults },
        ...(opts.sessionTtlS !== undefined ? { sessionTtlS: opts.sessionTtlS } : {}),
        ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
        ...(profile.iot && profile.model.startsWith('HS110') ? { tddp: { port: standard ? 1040 : 0 } } : {}),
      };
      try {
        devices.push(await startSimulatedDevice(profile, devOpts));
      } catch (e) {
        if (!standard || !PRIVILEGED.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
        devices.push(await startSimulatedDevice(profile, { ...devOpts, port: 0 }));
      }
    }
    if (opts.discovery ?? !opts.host) {
      responder = await startDiscoveryResponder({ targets: devices.map(discoveryTarget), broadcastAddress: opts.broadcastAddress ?? '127.255.255.255' });
    }
    if (opts.cloud) {
      const c = opts.cloud === true ? {} : opts.cloud;
      cloud = await startSimulatedCloud({ host: c.host ?? opts.host ?? `${base}.254`, port: c.port ?? 0, credentials, devices });
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  let closed: Promise<void> | undefined;
  return {
    devices,
    device: (id) => devices.find((d) => d.profile.id === id),
    credentials,
    discovery: responder,
    cloud,
    close: () => (closed ??= closeAll()),
  };
}
