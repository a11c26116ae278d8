/**
 * Discovery over UDP (docs/protocols.md): the legacy XOR `get_sysinfo` probe to port 9999 and the
 * "TDP" probe (16-byte header with CRC-32 + `{"params":{"rsa_key":PEM}}`) to ports 20002 and 20004
 * (doorbells), repeated
 * for a few rounds. The first answer per IP wins; the answer's format (XOR JSON or TDP header +
 * JSON) chooses the parser, and the table in device/table.ts chooses the transport. Device bytes
 * are never trusted: a malformed answer is ignored, never thrown.
 */
import * as dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { KasaTapoError, HINTS, clip } from './errors';
import { checkHost, ipv4Number, isGroupAddress, localNetworks } from './trust';
import { isObject, parseJson } from './json';
import { xorDecrypt, xorEncrypt } from './crypto/xor';
import { crc32 } from './crypto/crc32';
import { RsaKeyStore, type RsaKeyPair } from './crypto/rsa';
import { BROADCAST_ADDRESS, DISCOVERY_PORTS, DISCOVERY_TIMEOUT_MS } from './defaults';
import { baseModel, classifyIot, classifySmart, routeFor } from './device/table';
import { normaliseMac } from './device/normalise';
import type { DiscoveryResult, Logger } from './types';

export type { DiscoveryResult } from './types';

export interface DiscoverOptions {
  /** Where to send the probes. Default '255.255.255.255' (tests: '127.255.255.255'). */
  broadcast?: string;
  /** Total wait in ms. Default 2000. */
  timeoutMs?: number;
  /** Probe ports: legacy 9999 (XOR), tdp 20002, doorbell 20004 (the TDP probe again; Tapo doorbells answer there). */
  ports?: { legacy?: number; tdp?: number; doorbell?: number };
  /** Probe rounds, spread over timeoutMs. Default 3 (1-10). */
  rounds?: number;
  /** Unicast to this one host and stop as soon as it answers. */
  target?: string;
  /** The RSA key whose public half goes into the TDP probe. Default: one generated per process. */
  keyPair?: RsaKeyPair | (() => Promise<RsaKeyPair>);
  logger?: Logger;
  /** Stop at once when aborted: no more probes, the socket closed, what was found so far returned. */
  signal?: AbortSignal;
}

const LEGACY_PROBE = xorEncrypt('{"system":{"get_sysinfo":{}}}');
const MAX_RESULTS = 1024;
/**
 * Process-wide cache: the TDP probe's RSA key pair for a caller that gives none (a library discover()
 * call); connect() and the pool pass their Connector's. Only its public half is sent.
 */
const probeKeys = new RsaKeyStore();

/**
 * The 20002 probe: header (version 2, type 0, op 1, payload length, flags 0x11, serial, CRC-32
 * computed with 0x5A6B7C8D in its place) + `{"params":{"rsa_key":PEM}}`. `serial`: 4 bytes or a
 * uint32. Throws KasaTapoError EBADINPUT when the serial is not 4 bytes / a uint32 or the payload
 * exceeds 65535 bytes.
 */
export function buildTdpProbe(rsaPublicPem: string, serial: Uint8Array | number = randomBytes(4)): Buffer {
  const payload = Buffer.from(JSON.stringify({ params: { rsa_key: rsaPublicPem } }), 'utf8');
  if (payload.length > 0xffff) throw new KasaTapoError('EBADINPUT', 'The discovery key is too long');
  const header = Buffer.alloc(16);
  header.writeUInt8(2, 0);
  header.writeUInt8(0, 1);
  header.writeUInt16BE(1, 2);
  header.writeUInt16BE(payload.length, 4);
  header.writeUInt8(0x11, 6);
  if (typeof serial === 'number') {
    if (!Number.isInteger(serial) || serial < 0 || serial > 0xffffffff) throw new KasaTapoError('EBADINPUT', 'serial must be a uint32');
    header.writeUInt32BE(serial, 8);
  } else {
    if (serial.length !== 4) throw new KasaTapoError('EBADINPUT', 'serial must be 4 bytes');
    header.set(serial, 8);
  }
  header.writeUInt32BE(0x5a6b7c8d, 12);
  const packet = Buffer.concat([header, payload]);
  packet.writeUInt32BE(crc32(packet), 12);
  return packet;
}

const s = (v: unknown, max = 128): string | undefined => (typeof v === 'string' && v.length > 0 ? v.slice(0, max) : undefined);

function withModel(r: DiscoveryResult, model: unknown): DiscoveryResult {
  const full = s(model, 64);
  if (full) {
    r.modelFull = full;
    r.model = baseModel(full);
  }
  return r;
}

/** Parse a legacy (UDP 9999, XOR) answer. Returns undefined for anything malformed; never throws. */
export function parseLegacyAnswer(buf: Buffer, host: string, port: number = DISCOVERY_PORTS.legacy): DiscoveryResult | undefined {
  let json: unknown;
  try {
    json = parseJson(xorDecrypt(buf), 'discovery answer');
  } catch {
    return undefined;
  }
  const sys = isObject(json) && isObject(json['system']) ? json['system'] : undefined;
  let info = sys && isObject(sys['get_sysinfo']) ? sys['get_sysinfo'] : undefined;
  if (info && isObject(info['system']) && Object.keys(info['system']).length > Object.keys(info).length) info = info['system']; // Kasa cameras nest once more
  if (!info) return undefined;
  const type = s(info['mic_type'] ?? info['type'], 64) ?? 'IOT.SMARTPLUGSWITCH';
  const route = routeFor(type, 'XOR', type.toUpperCase() === 'IOT.IPCAMERA');
  const r: DiscoveryResult = { host, port, family: classifyIot(info), deviceType: type, protocol: 'iot', supported: route.supported, raw: json };
  if (route.supported) r.transport = route.transport;
  else r.reason = route.reason;
  const alias = s(info['alias']);
  if (alias) r.alias = alias;
  const mac = normaliseMac(info['mac'] ?? info['mic_mac'] ?? info['ethernet_mac']);
  if (mac) r.mac = mac;
  const id = s(info['deviceId']);
  if (id) r.deviceId = id;
  return withModel(r, info['model']);
}

/** Parse a TDP (UDP 20002) answer: 16-byte header + JSON. Returns undefined when malformed; never throws. */
export function parseTdpAnswer(buf: Buffer, host: string): DiscoveryResult | undefined {
  if (buf.length <= 16) return undefined;
  let json: unknown;
  try {
    json = parseJson(buf.subarray(16), 'discovery answer');
  } catch {
    return undefined;
  }
  if (!isObject(json) || !isObject(json['result'])) return undefined;
  if (typeof json['error_code'] === 'number' && json['error_code'] !== 0) return undefined;
  const res = json['result'];
  const type = s(res['device_type'], 64);
  if (!type) return undefined;
  const mgt = isObject(res['mgt_encrypt_schm']) ? res['mgt_encrypt_schm'] : undefined;
  const encInfo = isObject(res['encrypt_info']) ? res['encrypt_info'] : {};
  const encrypt = s(mgt?.['encrypt_type'], 16) ?? s(encInfo['sym_schm'], 16);
  const https = mgt?.['is_support_https'] === true;
  const httpPort = mgt?.['http_port'];
  const route = mgt
    ? routeFor(type, encrypt, https, { profile: res['tpap'], preferred: res['tpap_preferred'] }, { lv: mgt['lv'], newKlap: mgt['new_klap'] })
    : {
        supported: false as const,
        protocol: type.toUpperCase().startsWith('IOT.') ? ('iot' as const) : ('smart' as const),
        reason: 'The discovery answer has no encryption scheme',
      };
  const family = type.toUpperCase().startsWith('IOT.') ? classifyIot({ mic_type: type }) : classifySmart(type, new Set());
  const r: DiscoveryResult = {
    host,
    port: typeof httpPort === 'number' && Number.isInteger(httpPort) && httpPort > 0 && httpPort < 65536 ? httpPort : 80,
    family,
    deviceType: type,
    protocol: route.protocol,
    supported: route.supported,
    raw: json,
  };
  if (route.supported) r.transport = route.transport;
  else r.reason = route.reason;
  // TPAP logs in on its own port (tpap.port), usually the same 80.
  const tpapPort = isObject(res['tpap']) ? res['tpap']['port'] : undefined;
  if (r.transport === 'tpap' && typeof tpapPort === 'number' && Number.isInteger(tpapPort) && tpapPort > 0 && tpapPort < 65536) r.port = tpapPort;
  const lv = mgt?.['lv'];
  if (lv === 1 || lv === 2) r.loginVersion = lv;
  // An IOT device on the v2 KLAP hashes (docs/protocols.md#klap-hash-versions-for-kasa-devices), announced by `new_klap` alone: login version 2.
  else if (r.transport === 'klap' && r.protocol === 'iot') r.loginVersion = 2;
  const alias = s(res['device_name']);
  if (alias) r.alias = alias;
  const mac = normaliseMac(res['mac']);
  if (mac) r.mac = mac;
  const id = s(res['device_id']);
  if (id) r.deviceId = id;
  return withModel(r, res['device_model']);
}

/** Pick the parser from the bytes: XOR JSON starts with 0xd0 ('{' ^ 171), TDP has '{' at offset 16. */
export function parseDiscoveryAnswer(buf: Buffer, host: string, port: number): DiscoveryResult | undefined {
  if (buf.length > 16 && buf[0] === 0x02 && buf[16] === 0x7b) return parseTdpAnswer(buf, host);
  if (buf.length > 0 && buf[0] === 0xd0) return parseLegacyAnswer(buf, host, port);
  return undefined;
}

async function probeKey(opts: DiscoverOptions): Promise<RsaKeyPair> {
  if (typeof opts.keyPair === 'function') return opts.keyPair();
  if (opts.keyPair) return opts.keyPair;
  return probeKeys.get();
}

/**
 * Which source addresses may answer a broadcast to `dest`: an address inside the network whose
 * broadcast `dest` is — the network of one of this machine's interfaces with that broadcast, else
 * the one its trailing 255 octets say (x.y.z.255 → x.y.z.0/24, x.255.255.255 → x.0.0.0/8); for
 * 255.255.255.255, any of this machine's networks. A forged answer from elsewhere (routed in from
 * outside the subnet) is dropped. Never throws.
 */
export function answersFrom(dest: string): (address: string) => boolean {
  const d = ipv4Number(dest);
  const nets = localNetworks();
  const inNets = (list: readonly (readonly [number, number])[]) => (address: string) => {
    if (isIP(address) !== 4) return false;
    const n = ipv4Number(address);
    return list.some(([a, m]) => (n & m) >>> 0 === (a & m) >>> 0);
  };
  if (d === 0xffffffff) return inNets(nets);
  const own = nets.filter(([a, m]) => (a | ~m) >>> 0 === d);
  if (own.length) return inNets(own);
  let mask = 0xffffffff;
  for (let shift = 0; shift < 32 && ((d >>> shift) & 0xff) === 0xff; shift += 8) mask = (mask << 8) >>> 0;
  if (mask === 0xffffffff) return (address) => address === dest; // not a broadcast address: only itself
  return inNets([[d, mask]]);
}

/**
 * Broadcast (or unicast to `target`) both probes for `rounds` rounds and collect answers for
 * `timeoutMs`. Never rejects for network conditions (an unusable socket yields what was found so
 * far, usually []); throws KasaTapoError EBADINPUT for a malformed broadcast/target address.
 */
export async function discover(opts: DiscoverOptions = {}): Promise<DiscoveryResult[]> {
  const dest = opts.target ?? opts.broadcast ?? BROADCAST_ADDRESS;
  if (isIP(dest) !== 4) throw new KasaTapoError('EBADINPUT', `Discovery needs an IPv4 address, got ${JSON.stringify(dest).slice(0, 60)}`);
  const unicast = opts.target !== undefined;
  if (unicast && isGroupAddress(dest)) {
    throw new KasaTapoError('EBADINPUT', `Discovery of one device needs its own address, not the group address ${clip(dest, 60)}`);
  }
  // Who may answer: the target itself, or an address inside the broadcast's network.
  const accepts = unicast ? (a: string): boolean => a === dest : answersFrom(dest);
  const timeoutMs = Math.max(50, Math.min(60000, opts.timeoutMs ?? DISCOVERY_TIMEOUT_MS));
  const rounds = Math.max(1, Math.min(10, Math.floor(opts.rounds ?? 3)));
  const legacyPort = opts.ports?.legacy ?? DISCOVERY_PORTS.legacy;
  const tdpPort = opts.ports?.tdp ?? DISCOVERY_PORTS.tdp;
  const doorbellPort = opts.ports?.doorbell ?? DISCOVERY_PORTS.doorbell;
  let tdpProbe: Buffer | undefined;
  try {
    tdpProbe = buildTdpProbe((await probeKey(opts)).publicPem);
  } catch (e) {
    opts.logger?.warn?.(`discovery: no RSA key for the 20002 probe (${String(e)}); legacy probe only`);
  }

  const found = new Map<string, DiscoveryResult>();
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  return new Promise<DiscoveryResult[]>((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    const signal = opts.signal;
    const finish = (): void => {
      if (done) return;
      done = true;
      signal?.removeEventListener('abort', finish);
      for (const t of timers) clearTimeout(t);
      try {
        sock.close();
      } catch {
        /* already closed */
      }
      resolve([...found.values()]);
    };
    const send = (buf: Buffer, port: number): void => {
      if (done) return;
      sock.send(buf, port, dest, (err) => {
        if (err) opts.logger?.debug?.(`discovery: send to ${dest}:${port} failed: ${err.message}`);
      });
    };
    sock.on('error', (err) => {
      opts.logger?.warn?.(`discovery: socket error: ${err.message}`);
      finish();
    });
    if (signal?.aborted) return finish();
    signal?.addEventListener('abort', finish, { once: true });
    sock.on('message', (msg, rinfo) => {
      if (done || found.has(rinfo.address) || found.size >= MAX_RESULTS) return;
      if (!accepts(rinfo.address)) {
        opts.logger?.debug?.(`discovery: ignored an answer from ${rinfo.address}, outside the network probed (${dest})`);
        return;
      }
      let r: DiscoveryResult | undefined;
      try {
        r = parseDiscoveryAnswer(msg, rinfo.address, rinfo.port);
      } catch {
        // The parsers never throw (fuzzed); this guard only keeps a socket handler from ever
        // raising an uncaught exception on a datagram.
        r = undefined;
      }
      if (!r) {
        opts.logger?.debug?.(`discovery: ignored ${msg.length} unparseable bytes from ${rinfo.address}:${rinfo.port}`);
        return;
      }
      found.set(rinfo.address, r);
      if (opts.target && rinfo.address === opts.target) finish();
    });
    sock.bind({ port: 0, address: '0.0.0.0' }, () => {
      try {
        // Unicast never may reach a group: no SO_BROADCAST then.
        if (!unicast) sock.setBroadcast(true);
      } catch (e) {
        opts.logger?.debug?.(`discovery: setBroadcast failed: ${String(e)}`);
      }
      try {
        // Hundreds of answers arrive within milliseconds; the default buffer drops some of them,
        // and a dropped answer waits for the next probe round.
        sock.setRecvBufferSize(4 << 20);
      } catch (e) {
        opts.logger?.debug?.(`discovery: setRecvBufferSize failed: ${String(e)}`);
      }
      for (let i = 0; i < rounds; i++) {
        timers.push(
          setTimeout(
            () => {
              send(LEGACY_PROBE, legacyPort);
              if (tdpProbe) send(tdpProbe, tdpPort);
              // The same datagram to 20004: doorbells answer there; one device answering both counts once.
              if (tdpProbe && doorbellPort !== tdpPort) send(tdpProbe, doorbellPort);
            },
            Math.floor((i * timeoutMs) / rounds),
          ),
        );
      }
      timers.push(setTimeout(finish, timeoutMs));
    });
  });
}

/**
 * Discover one host by unicast (its name is resolved to IPv4 first). Throws KasaTapoError
 * ENOTFOUND (name does not resolve), ETIMEDOUT (no answer in time), EBADINPUT (bad address: only
 * an IP address or a valid host name is ever looked up).
 */
export async function discoverSingle(host: string, opts: Omit<DiscoverOptions, 'target' | 'broadcast'> = {}): Promise<DiscoveryResult> {
  host = checkHost(host);
  let ip = host;
  if (isIP(host) !== 4) {
    try {
      ip = (await lookup(host, { family: 4 })).address;
    } catch (e) {
      throw new KasaTapoError('ENOTFOUND', `Host ${clip(host)} not found`, { cause: e });
    }
  }
  const results = await discover({ ...opts, target: ip });
  const r = results.find((x) => x.host === ip);
  if (!r) throw new KasaTapoError('ETIMEDOUT', `No discovery answer from ${clip(host)}`, { host, hint: HINTS.timeout });
  return r;
}
