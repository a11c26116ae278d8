/**
 * UDP discovery responders for simulated devices.
 *
 * - Port 9999 (XOR devices): a datagram is `xorEncrypt(json)` without a length prefix; the device
 *   runs it through its model (get_sysinfo, but any other IOT command too) and answers one XOR
 *   datagram. Like real strips observed over UDP, child ids in the answer are shortened to their
 *   2-character slot (docs/protocols.md#child-addressing-on-strips; clients prefix the deviceId).
 * - Port 20002 (KLAP, AES, TPAP and HTTPS-only devices): a 16-byte header (version 2, payload length
 *   at bytes 4-5, CRC-32 at bytes 12-15 computed with the placeholder 0x5A6B7C8D) and a JSON payload
 *   `{"params":{"rsa_key":PEM}}`. Probes with a bad version, length or CRC are ignored. The answer is
 *   a 16-byte header of the same layout (version 2, type 0, op code 1, the probe's serial, a CRC
 *   computed the same way) followed by `{"error_code":0,"result":{...mgt_encrypt_schm...}}`.
 *   HTTPS-only (camera-like) devices add `encrypt_info` (RSA-OAEP to the probe's key + AES-CBC).
 *
 * Linux loopback: a datagram sent to 127.255.255.255 reaches only sockets bound to 0.0.0.0 or to
 * 127.255.255.255, not those bound to a unicast 127.x address (verified on the build machine). So
 * the responder listens on 127.255.255.255 (SO_REUSEADDR: several homes and tests share it), on
 * each device's /24 subnet broadcast (127.x.y.255, for clients that broadcast to their subnet) and
 * on each device's own address (unicast probes), and answers every probe from a socket bound to the
 * answering device's own address, so the client sees one source IP per device. Offline devices
 * (faults.offlineUntil in the future) do not answer.
 */
import * as dgram from 'node:dgram';
import { constants, createCipheriv, publicEncrypt, randomBytes } from 'node:crypto';
import { crc32 } from '../crypto/crc32';
import { xorDecrypt, xorEncrypt } from '../crypto/xor';
import { isObject, parseJson } from '../json';
import { dashMac, simHex, type DeviceProfile } from './profiles';
import type { SimHandler } from './types';

export const XOR_DISCOVERY_PORT = 9999;
export const TDP_DISCOVERY_PORT = 20002;
export const LOOPBACK_BROADCAST = '127.255.255.255';
const CRC_PLACEHOLDER = 0x5a6b7c8d;
const MAX_DATAGRAM = 60_000;

export interface DiscoveryTarget {
  /** The device's own loopback address; answers come from it. */
  host: string;
  profile: DeviceProfile;
  /** XOR devices: the model that answers UDP 9999 commands. */
  handler?: SimHandler;
  /** `http_port` advertised in 20002 answers (the port the device's HTTP server really listens on). */
  httpPort: number;
  /** True while the device must not answer. */
  offline?: () => boolean;
  /** A 20002 probe reached the device (faults.sleepUntilProbed wakes on it). */
  onProbe?: () => void;
}

export interface DiscoveryResponderOptions {
  targets: DiscoveryTarget[];
  /** Broadcast address to listen on; `null` for unicast only. Default 127.255.255.255. */
  broadcastAddress?: string | null;
  /**
   * Also listen on each device's /24 broadcast address (127.x.y.255), answering for the devices of
   * that subnet, as a real device answers a broadcast to its own subnet. Default true; ignored
   * when `broadcastAddress` is null.
   */
  subnetBroadcasts?: boolean;
  /** Default 9999. */
  xorPort?: number;
  /** Default 20002. */
  tdpPort?: number;
}

export interface DiscoveryResponder {
  readonly stats: { probes: number; answers: number; rejected: number };
  close(): Promise<void>;
}

/** Build a 20002 datagram (probe or answer): header with length and CRC, then the payload. Never throws. */
export function tdpPacket(payload: Buffer, serial: Buffer = randomBytes(4), opts: { flags?: number } = {}): Buffer {
  const buf = Buffer.alloc(16 + payload.length);
  buf[0] = 2;
  buf[1] = 0;
  buf.writeUInt16BE(1, 2);
  buf.writeUInt16BE(payload.length, 4);
  buf[6] = opts.flags ?? 0x11;
  serial.copy(buf, 8, 0, 4);
  buf.writeUInt32BE(CRC_PLACEHOLDER, 12);
  payload.copy(buf, 16);
  buf.writeUInt32BE(crc32(buf), 12);
  return buf;
}

/** Validate a 20002 datagram; returns its payload, or undefined when version, length or CRC is wrong. */
export function parseTdpPacket(msg: Buffer): Buffer | undefined {
  if (msg.length < 16 || msg[0] !== 2) return undefined;
  const len = msg.readUInt16BE(4);
  if (msg.length !== 16 + len) return undefined;
  const crc = msg.readUInt32BE(12);
  const copy = Buffer.from(msg);
  copy.writeUInt32BE(CRC_PLACEHOLDER, 12);
  if (crc32(copy) !== crc) return undefined;
  return msg.subarray(16);
}

/** The `result` of a device's 20002 answer, or undefined for devices that only answer 9999. */
export function discoveryResult(p: DeviceProfile, host: string, httpPort: number, rsaKeyPem?: string): Record<string, unknown> | undefined {
  const d = p.discovery;
  if (!d) return undefined;
  const schm: Record<string, unknown> = { is_support_https: !!d.https, http_port: httpPort };
  if (d.encryptType) schm['encrypt_type'] = d.encryptType;
  if (d.lv !== undefined) schm['lv'] = d.lv;
  if (d.newKlap !== undefined) schm['new_klap'] = d.newKlap;
  const result: Record<string, unknown> = {
    device_id: simHex(`${p.id}:disco`, 32),
    owner: simHex('owner', 32),
    device_type: d.deviceType,
    device_model: p.model,
    ip: host,
    mac: dashMac(p.mac),
    is_support_iot_cloud: true,
    obd_src: 'tplink',
    factory_default: false,
    mgt_encrypt_schm: schm,
    ...d.extra,
  };
  if (isObject(result['tpap']) && p.transport === 'tpap') result['tpap'] = { ...result['tpap'], port: httpPort };
  if (p.protocol === 'iot') result['hw_ver'] = p.hwVer;
  if (d.https && !d.encryptType) {
    Object.assign(result, { device_name: p.alias, firmware_version: p.fwVer, hardware_version: p.hwVer, isResetWiFi: false });
    const info = rsaKeyPem
      ? encryptInfo(rsaKeyPem, {
          connect_ssid: '',
          connect_type: 'wireless',
          device_id: p.deviceId,
          http_port: httpPort,
          owner: result['owner'],
          sd_status: 'offline',
        })
      : undefined;
    if (info) result['encrypt_info'] = info;
  }
  return result;
}

/** Camera-style encrypt_info: key‖iv under the client's RSA key (OAEP-SHA1), data under AES-128-CBC. */
function encryptInfo(pem: string, data: Record<string, unknown>): Record<string, string> | undefined {
  try {
    const keyIv = randomBytes(32);
    const key = publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, keyIv);
    const c = createCipheriv('aes-128-cbc', keyIv.subarray(0, 16), keyIv.subarray(16));
    const ct = Buffer.concat([c.update(JSON.stringify(data), 'utf8'), c.final()]);
    return { sym_schm: 'AES', key: key.toString('base64'), data: ct.toString('base64') };
  } catch {
    return undefined;
  }
}

/** Shorten strip child ids to their 2-character slot, as devices do over UDP. */
function shortenChildIds(answer: string): string {
  try {
    const a = parseJson(answer);
    const sys = isObject(a) && isObject(a['system']) ? a['system'] : undefined;
    const info = sys && isObject(sys['get_sysinfo']) ? sys['get_sysinfo'] : undefined;
    const children = info?.['children'];
    if (!Array.isArray(children)) return answer;
    for (const c of children) if (isObject(c) && typeof c['id'] === 'string') c['id'] = c['id'].slice(-2);
    return JSON.stringify(a);
  } catch {
    return answer;
  }
}

function bindUdp(address: string, port: number, onMessage: (msg: Buffer, rinfo: dgram.RemoteInfo) => void): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const fail = (e: Error) => {
      s.close();
      reject(e);
    };
    s.once('error', fail);
    s.on('message', onMessage);
    s.bind(port, address, () => {
      s.off('error', fail);
      s.on('error', () => undefined); // a send failure must never crash the simulator
      resolve(s);
    });
  });
}

/** The /24 broadcast address of each IPv4 target, with the targets in that subnet. Never throws. */
export function subnetBroadcasts(targets: readonly DiscoveryTarget[]): Map<string, DiscoveryTarget[]> {
  const out = new Map<string, DiscoveryTarget[]>();
  for (const t of targets) {
    const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}$/.exec(t.host);
    if (!m) continue;
    const b = `${m[1]}.255`;
    if (b === t.host) continue;
    out.set(b, [...(out.get(b) ?? []), t]);
  }
  return out;
}

/**
 * Start the responders for a set of devices. Throws (rejects) the bind error if an address/port
 * cannot be bound (e.g. EADDRINUSE when another responder owns the same device address).
 */
export async function startDiscoveryResponder(opts: DiscoveryResponderOptions): Promise<DiscoveryResponder> {
  const xorPort = opts.xorPort ?? XOR_DISCOVERY_PORT;
  const tdpPort = opts.tdpPort ?? TDP_DISCOVERY_PORT;
  const bcast = opts.broadcastAddress === undefined ? LOOPBACK_BROADCAST : opts.broadcastAddress;
  const stats = { probes: 0, answers: 0, rejected: 0 };
  const sockets: dgram.Socket[] = [];
  /** `${host}:${port}` → socket bound there (answers leave from it). */
  const own = new Map<string, dgram.Socket>();
  const xorTargets = opts.targets.filter((t) => t.profile.transport === 'xor' && t.handler);
  const tdpTargets = opts.targets.filter((t) => t.profile.discovery);

  const send = (from: dgram.Socket | undefined, data: Buffer, to: dgram.RemoteInfo) => {
    if (!from || data.length > MAX_DATAGRAM) return;
    stats.answers++;
    from.send(data, to.port, to.address, () => undefined);
  };

  const onXor = (targets: DiscoveryTarget[]) => (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    stats.probes++;
    const text = xorDecrypt(msg).toString('utf8');
    try {
      if (!isObject(parseJson(text, 'probe'))) throw new Error('not an object');
    } catch {
      stats.rejected++;
      return;
    }
    for (const t of targets) {
      if (t.offline?.()) continue;
      void Promise.resolve()
        .then(() => t.handler!.handle(text))
        .then((answer) => send(own.get(`${t.host}:${xorPort}`), xorEncrypt(shortenChildIds(answer)), rinfo))
        .catch(() => undefined);
    }
  };

  const onTdp = (targets: DiscoveryTarget[]) => (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    stats.probes++;
    const payload = parseTdpPacket(msg);
    if (!payload) {
      stats.rejected++;
      return;
    }
    let rsaKey: string | undefined;
    try {
      const j = payload.length ? parseJson(payload, 'probe') : undefined;
      const key = isObject(j) && isObject(j['params']) ? j['params']['rsa_key'] : undefined;
      if (typeof key === 'string') rsaKey = key;
    } catch {
      // a probe without a readable key is still answered
    }
    for (const t of targets) {
      if (t.offline?.()) continue;
      t.onProbe?.();
      const result = discoveryResult(t.profile, t.host, t.httpPort, rsaKey);
      if (!result) continue;
      const body = Buffer.from(JSON.stringify({ error_code: 0, result }), 'utf8');
      send(own.get(`${t.host}:${tdpPort}`), tdpPacket(body, msg.subarray(8, 12), { flags: 0 }), rinfo);
    }
  };

  try {
    for (const [port, targets, handler] of [
      [xorPort, xorTargets, onXor],
      [tdpPort, tdpTargets, onTdp],
    ] as const) {
      const hosts = [...new Set(targets.map((t) => t.host))];
      for (const h of hosts) {
        const s = await bindUdp(h, port, handler(targets.filter((t) => t.host === h)));
        sockets.push(s);
        own.set(`${h}:${port}`, s);
      }
      if (bcast && targets.length) sockets.push(await bindUdp(bcast, port, handler(targets)));
      // Subnet broadcasts (127.x.y.255): Linux hands them only to sockets bound to that address.
      if (bcast && opts.subnetBroadcasts !== false) {
        for (const [b, members] of subnetBroadcasts(targets)) if (b !== bcast) sockets.push(await bindUdp(b, port, handler(members)));
      }
    }
  } catch (e) {
    for (const s of sockets) s.close();
    throw e;
  }

  let closed: Promise<void> | undefined;
  return {
    stats,
    close() {
      closed ??= Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined);
      return closed;
    },
  };
}
