/**
 * An impostor on loopback: something at a device's address that answers discovery (UDP 9999 and
 * 20002, unicast, and optionally a broadcast address) claiming to be an AES or an XOR device, and a
 * TCP listener on 9999 that counts the XOR requests it would get. It never answers a request: a
 * test asserts that nothing reached it.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { xorDecrypt, xorEncrypt } from '../../src/crypto/xor';
import { parseTdpPacket, tdpPacket } from '../../src/simulator/discovery';

export interface Impostor {
  /** Discovery probes answered. */
  probes: number;
  /** TCP connections to its XOR port (9999). */
  xorConnections: number;
  close(): Promise<void>;
}

export interface ImpostorOptions {
  host: string;
  /** What it announces: AES (20002, no `lv`: what firmware before login v2 sends) or XOR (9999). */
  as: 'aes' | 'xor';
  /** The `http_port` an AES answer names. Default 80. */
  httpPort?: number;
  /** Also answer probes sent to this broadcast address (answers still come from `host`). */
  broadcast?: string;
  /** Discovery ports. Defaults 9999 and 20002. */
  legacyPort?: number;
  tdpPort?: number;
}

const bind = (address: string, port: number, onMessage: (m: Buffer, r: dgram.RemoteInfo) => void): Promise<dgram.Socket> =>
  new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    s.once('error', reject);
    s.on('message', onMessage);
    s.bind({ address, port }, () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
  });

export async function startImpostor(o: ImpostorOptions): Promise<Impostor> {
  const legacyPort = o.legacyPort ?? 9999;
  const tdpPort = o.tdpPort ?? 20002;
  const state = { probes: 0, xorConnections: 0 };
  const sockets: dgram.Socket[] = [];
  const aesAnswer = (serial: Buffer): Buffer => {
    const result = {
      device_id: 'impostor',
      device_type: 'SMART.TAPOPLUG',
      device_model: 'P100(EU)',
      ip: o.host,
      mac: 'AA-BB-CC-00-11-22',
      mgt_encrypt_schm: { is_support_https: false, encrypt_type: 'AES', http_port: o.httpPort ?? 80 },
    };
    return tdpPacket(Buffer.from(JSON.stringify({ error_code: 0, result })), serial, { flags: 0 });
  };
  const xorAnswer = xorEncrypt(
    JSON.stringify({
      system: { get_sysinfo: { alias: 'impostor', model: 'HS100(US)', mac: 'AA:BB:CC:00:11:22', type: 'IOT.SMARTPLUGSWITCH', relay_state: 0 } },
    }),
  );
  // Answers leave from the device's own address, as a real device's do.
  const from: { legacy?: dgram.Socket; tdp?: dgram.Socket } = {};
  const onLegacy = (m: Buffer, r: dgram.RemoteInfo): void => {
    if (o.as !== 'xor' || !xorDecrypt(m).toString('utf8').startsWith('{')) return;
    state.probes++;
    from.legacy?.send(xorAnswer, r.port, r.address);
  };
  const onTdp = (m: Buffer, r: dgram.RemoteInfo): void => {
    if (o.as !== 'aes' || !parseTdpPacket(m)) return;
    state.probes++;
    from.tdp?.send(aesAnswer(m.subarray(8, 12)), r.port, r.address);
  };
  from.legacy = await bind(o.host, legacyPort, onLegacy);
  from.tdp = await bind(o.host, tdpPort, onTdp);
  sockets.push(from.legacy, from.tdp);
  if (o.broadcast) sockets.push(await bind(o.broadcast, legacyPort, onLegacy), await bind(o.broadcast, tdpPort, onTdp));
  const tcp = net.createServer((c) => {
    state.xorConnections++;
    c.destroy();
  });
  await new Promise<void>((resolve) => tcp.listen(legacyPort, o.host, () => resolve()));
  return {
    get probes() {
      return state.probes;
    },
    get xorConnections() {
      return state.xorConnections;
    },
    close: async () => {
      await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}
