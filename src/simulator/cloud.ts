/**
 * A simulated TP-Link cloud on loopback, for tests and the demo: `login`, `getDeviceList` and
 * `passthrough` over plain HTTP, serving the simulator's devices. Passthrough hands the command to
 * the simulated device's own model, so `set_relay_state` through the cloud switches the same
 * device a local client sees. It refuses a wrong password (-20601) or an unknown account (-20600),
 * asks an account with two-factor verification (option `twoFactor`) for a code (-20677), answers -20571 for a device that is offline, -1 for SMART (Tapo) devices, which do not accept
 * passthrough, and -20651 for an unknown token. It is its own regional server: every device's
 * `appServerUrl` is the cloud's URL.
 */
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { KasaTapoError } from '../errors';
import { isObject, parseJson } from '../json';
import type { Credentials } from '../types';
import type { DeviceProfile } from './profiles';
import type { Faults, SimHandler } from './types';

/** What the cloud needs of a simulated device. */
export interface CloudTarget {
  profile: DeviceProfile;
  /** The device's model (undefined for HTTPS-only devices). */
  model: (SimHandler & { profile: DeviceProfile }) | undefined;
  faults: Faults;
  /** Records the request in the device's log, when given. */
  log?: { add(text: string): void };
}

export interface SimulatedCloudOptions {
  /** Loopback address. Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** The account. */
  credentials: Credentials;
  /**
   * The account has two-factor verification on: a login with the right password is answered
   * -20677 with `result.mfaType` (the code would go to the user's e-mail), and no token.
   */
  twoFactor?: boolean;
  devices: CloudTarget[];
}

export interface SimulatedCloud {
  /** The base URL, e.g. http://127.0.0.1:40123 (no trailing slash). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Counters: successful logins, refused logins, passthrough requests. */
  readonly stats: { logins: number; refused: number; passthrough: number };
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;
const MAX_TOKENS = 1000;

const isOffline = (f: Faults): boolean => !!f.unreachable || (f.offlineUntil !== undefined && Date.now() < f.offlineUntil);

function deviceType(p: DeviceProfile): string {
  if (p.protocol === 'iot') return p.family === 'bulb' || p.family === 'lightstrip' ? 'IOT.SMARTBULB' : 'IOT.SMARTPLUGSWITCH';
  if (p.transport === 'https') return 'SMART.IPCAMERA';
  return p.family === 'bulb' || p.family === 'lightstrip' ? 'SMART.TAPOBULB' : p.family === 'hub' ? 'SMART.TAPOHUB' : 'SMART.TAPOPLUG';
}

function aliasOf(t: CloudTarget): string {
  const m = t.model as unknown as { state?: { alias?: unknown; nickname?: unknown }; root?: { state?: { nickname?: unknown } } } | undefined;
  const a = m?.state?.alias ?? m?.root?.state?.nickname;
  return typeof a === 'string' ? a : t.profile.alias;
}

/** Start the simulated cloud. Rejects with EBADINPUT for a non-loopback host, or the listen error. */
export async function startSimulatedCloud(opts: SimulatedCloudOptions): Promise<SimulatedCloud> {
  const host = opts.host ?? '127.0.0.1';
  if (!(net.isIPv4(host) && host.startsWith('127.')) && host !== '::1')
    throw new KasaTapoError('EBADINPUT', `The simulated cloud binds loopback addresses only, not ${host}`);
  const tokens = new Set<string>();
  const stats = { logins: 0, refused: 0, passthrough: 0 };
  let url = '';

  const answer = async (body: Record<string, unknown>, token: string | null): Promise<Record<string, unknown>> => {
    const method = body['method'];
    const params = isObject(body['params']) ? body['params'] : {};
    if (method === 'login') {
      if (params['cloudUserName'] !== opts.credentials.username) {
        stats.refused++;
        return { error_code: -20600, msg: 'Account is not found' };
      }
      if (params['cloudPassword'] !== opts.credentials.password) {
        stats.refused++;
        return { error_code: -20601, msg: 'Incorrect email or password' };
      }
      if (opts.twoFactor) {
        stats.refused++;
        return {
          error_code: -20677,
          msg: 'MFA code required',
          result: { mfaType: 'verifyCodeLogin', mfaProcessId: randomBytes(8).toString('hex'), supportedMFATypes: ['email'] },
        };
      }
      stats.logins++;
      const t = randomBytes(16).toString('hex');
      if (tokens.size >= MAX_TOKENS) tokens.delete(tokens.values().next().value!);
      tokens.add(t);
      return { error_code: 0, result: { accountId: '1000001', regTime: '2020-01-01 00:00:00', email: opts.credentials.username, token: t } };
    }
    if (token === null || !tokens.has(token)) return { error_code: -20651, msg: 'Token expired' };
    if (method === 'getDeviceList') {
      return {
        error_code: 0,
        result: {
          deviceList: opts.devices.map((d) => ({
            deviceType: deviceType(d.profile),
            role: 0,
            fwVer: d.profile.fwVer,
            appServerUrl: url,
            deviceRegion: 'eu-west-1',
            deviceId: d.profile.deviceId,
            deviceName: d.profile.model.replace(/\(.*\)$/, ''),
            deviceHwVer: d.profile.hwVer,
            alias: aliasOf(d),
            deviceMac: d.profile.mac.replace(/[:-]/g, ''),
            oemId: d.profile.deviceId.slice(8, 40),
            deviceModel: d.profile.model,
            hwId: d.profile.deviceId.slice(0, 32),
            fwId: '00000000000000000000000000000000',
            isSameRegion: true,
            status: isOffline(d.faults) ? 0 : 1,
          })),
        },
      };
    }
    if (method === 'passthrough') {
      const id = params['deviceId'];
      const data = params['requestData'];
      const dev = opts.devices.find((d) => d.profile.deviceId === id);
      if (typeof id !== 'string' || typeof data !== 'string') return { error_code: -20104, msg: "Parameter doesn't exist" };
      if (!dev) return { error_code: -20580, msg: 'Account is not binded to the device' };
      if (isOffline(dev.faults)) return { error_code: -20571, msg: 'Device is offline' };
      if (dev.profile.protocol !== 'iot' || !dev.model) return { error_code: -1, msg: 'Request timeout' };
      stats.passthrough++;
      dev.log?.add(data);
      return { error_code: 0, result: { responseData: await dev.model.handle(data) } };
    }
    return { error_code: -20002, msg: 'Method not found' };
  };

  const server = http.createServer((req, res) => {
    const reply = (status: number, obj: unknown): void => {
      const b = Buffer.from(JSON.stringify(obj));
      res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': b.length });
      res.end(b);
    };
    if (req.method !== 'POST') return reply(405, { error_code: -20002, msg: 'POST only' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reply(413, { error_code: -20104, msg: 'Too large' });
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return;
      let body: unknown;
      try {
        body = parseJson(Buffer.concat(chunks), 'request');
      } catch {
        return reply(200, { error_code: -20104, msg: 'JSON format error' });
      }
      if (!isObject(body)) return reply(200, { error_code: -20104, msg: 'JSON format error' });
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token');
      answer(body, token).then(
        (a) => reply(200, a),
        () => reply(200, { error_code: -20000, msg: 'Internal error' }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  url = `http://${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  let closed: Promise<void> | undefined;
  return {
    url,
    host,
    port,
    stats,
    close: () =>
      (closed ??= new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      })),
  };
}
