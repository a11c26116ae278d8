/**
 * Simulated discovery over real UDP on loopback: probes go to 127.255.255.255 on the standard ports
 * 9999 and 20002; devices sit on unusual 127.77.<random>.<n> addresses so parallel runs don't
 * collide, and answers from other addresses (another home) are ignored.
 */
import { strict as assert } from 'node:assert';
import { createDecipheriv, generateKeyPairSync, privateDecrypt, constants } from 'node:crypto';
import * as dgram from 'node:dgram';
import { crc32 } from '../../src/crypto/crc32';
import { xorDecrypt, xorEncrypt } from '../../src/crypto/xor';
import { parseTdpPacket, tdpPacket } from '../../src/simulator/discovery';
import { startSimulatedDevice, startSimulatedHome, type SimulatedHome } from '../../src/simulator/index';
import { type IotDeviceModel } from '../../src/simulator/iot';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Answer {
  address: string;
  port: number;
  msg: Buffer;
}

const BCAST = '127.255.255.255';

async function probe(to: string, port: number, data: Buffer, prefix: string, waitMs = 400): Promise<Answer[]> {
  const s = dgram.createSocket('udp4');
  const got: Answer[] = [];
  s.on('message', (msg, r) => {
    if (r.address.startsWith(prefix)) got.push({ address: r.address, port: r.port, msg });
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  s.setBroadcast(true);
  s.send(data, port, to);
  await new Promise((r) => setTimeout(r, waitMs));
  await new Promise<void>((r) => s.close(() => r()));
  return got;
}

const xorProbe = () => xorEncrypt('{"system":{"get_sysinfo":{}}}');
const xorJson = (a: Answer): J => JSON.parse(xorDecrypt(a.msg).toString('utf8')) as J;
const tdpJson = (a: Answer): J => JSON.parse(parseTdpPacket(a.msg)!.toString('utf8')) as J;

describe('simulated discovery (UDP on loopback)', function () {
  this.timeout(20000);
  const base = `127.77.${10 + Math.floor(Math.random() * 240)}`;
  const prefix = `${base}.`;
  const ids = ['hs100', 'hs300', 'kl130', 'hs100uk', 'p110', 'h100', 'p110tpap', 'c210'];
  let home: SimulatedHome;

  before(async () => {
    home = await startSimulatedHome({ baseAddress: base, profiles: ids, standardPorts: false, credentials: { username: 'u@example.com', password: 'pw' } });
  });
  after(async () => {
    await home?.close();
  });

  it('the test probe helper builds the python-kasa payload-less probe bytes', () => {
    const p = tdpPacket(Buffer.alloc(0), Buffer.alloc(4), { flags: 0 });
    assert.equal(p.toString('hex'), '020000010000000000000000463cb5d3');
    assert.ok(parseTdpPacket(p));
  });

  it("answers the XOR probe on 9999 from each XOR device's own address, with short child ids", async () => {
    const got = await probe(BCAST, 9999, xorProbe(), prefix);
    const byAddr = new Map(got.map((a) => [a.address, a]));
    assert.equal(byAddr.size, 3, got.map((a) => a.address).join());
    for (const [i, id] of ids.entries()) {
      const a = byAddr.get(`${base}.${i + 1}`);
      const xor = home.device(id)!.profile.transport === 'xor';
      assert.equal(!!a, xor, id);
      if (!a) continue;
      assert.equal(a.port, 9999);
      const info = xorJson(a).system.get_sysinfo;
      assert.equal(info.deviceId, home.device(id)!.profile.deviceId);
      if (id === 'hs300')
        assert.deepEqual(
          info.children.map((c: J) => c.id),
          ['00', '01', '02', '03', '04', '05'],
        );
    }
  });

  it('answers the 20002 probe with a valid header and mgt_encrypt_schm from each device address', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const got = await probe(BCAST, 20002, tdpPacket(Buffer.from(JSON.stringify({ params: { rsa_key: pem } }))), prefix);
    const byAddr = new Map(got.map((a) => [a.address, a]));
    assert.equal(byAddr.size, 5, got.map((a) => a.address).join());
    for (const a of got) {
      assert.equal(a.port, 20002);
      assert.equal(a.msg[0], 2);
      assert.equal(a.msg.readUInt16BE(4), a.msg.length - 16);
      const copy = Buffer.from(a.msg);
      copy.writeUInt32BE(0x5a6b7c8d, 12);
      assert.equal(crc32(copy), a.msg.readUInt32BE(12));
    }
    const res = (id: string) => tdpJson(byAddr.get(home.device(id)!.host)!).result as J;
    const p110 = res('p110');
    assert.equal(p110.device_type, 'SMART.TAPOPLUG');
    assert.equal(p110.device_model, 'P110(UK)');
    assert.equal(p110.ip, home.device('p110')!.host);
    assert.deepEqual(p110.mgt_encrypt_schm, { is_support_https: false, http_port: home.device('p110')!.port, encrypt_type: 'KLAP', lv: 2 });
    const uk = res('hs100uk');
    assert.equal(uk.device_type, 'IOT.SMARTPLUGSWITCH');
    assert.equal(uk.mgt_encrypt_schm.lv, undefined);
    assert.equal(res('h100').mgt_encrypt_schm.encrypt_type, 'AES');
    assert.equal(res('p110tpap').mgt_encrypt_schm.encrypt_type, 'TPAP');
    const cam = res('c210');
    assert.equal(cam.mgt_encrypt_schm.is_support_https, true);
    assert.equal(cam.mgt_encrypt_schm.encrypt_type, undefined);
    assert.deepEqual(cam.encrypt_type, ['3']);
    const keyIv = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.from(cam.encrypt_info.key, 'base64'));
    const d = createDecipheriv('aes-128-cbc', keyIv.subarray(0, 16), keyIv.subarray(16));
    const data = JSON.parse(Buffer.concat([d.update(Buffer.from(cam.encrypt_info.data, 'base64')), d.final()]).toString()) as J;
    assert.equal(data.connect_type, 'wireless');
  });

  it('ignores 20002 probes with a bad CRC, version or length', async () => {
    const good = tdpPacket(Buffer.from('{"params":{}}'));
    const badCrc = Buffer.from(good);
    badCrc[13] = badCrc[13]! ^ 0xff;
    const badVer = Buffer.from(good);
    badVer[0] = 1;
    const badLen = Buffer.concat([good, Buffer.from('x')]);
    for (const p of [badCrc, badVer, badLen]) assert.equal((await probe(BCAST, 20002, p, prefix, 200)).length, 0);
    assert.ok(home.discovery!.stats.rejected >= 3);
  });

  it('answers a unicast probe only from the addressed device', async () => {
    const hs = home.device('hs300')!;
    const got = await probe(hs.host, 9999, xorProbe(), prefix, 250);
    assert.deepEqual(
      got.map((a) => a.address),
      [hs.host],
    );
    const p = home.device('p110')!;
    const got2 = await probe(p.host, 20002, tdpPacket(Buffer.from('{}')), prefix, 250);
    assert.deepEqual(
      got2.map((a) => a.address),
      [p.host],
    );
  });

  it('serves other XOR commands over UDP and stays silent while offline', async () => {
    const plug = home.device('hs100')!;
    const got = await probe(plug.host, 9999, xorEncrypt('{"system":{"set_relay_state":{"state":1}}}'), prefix, 250);
    assert.equal(xorJson(got[0]!).system.set_relay_state.err_code, 0);
    assert.equal((plug.model as IotDeviceModel).state.on, true);
    plug.faults.offlineUntil = Date.now() + 60_000;
    try {
      const all = await probe(BCAST, 9999, xorProbe(), prefix, 300);
      assert.ok(!all.some((a) => a.address === plug.host));
      assert.equal(all.length, 2);
    } finally {
      delete plug.faults.offlineUntil;
    }
  });

  it('a single device can run its own responder beside a home', async () => {
    const host = `${base}.200`;
    const dev = await startSimulatedDevice('kp125m', { host, discovery: true });
    try {
      const got = await probe(BCAST, 20002, tdpPacket(Buffer.from('{}')), prefix);
      assert.ok(got.some((a) => a.address === host));
      assert.equal(got.length, 6);
      assert.equal(tdpJson(got.find((a) => a.address === host)!).result.mgt_encrypt_schm.http_port, dev.port);
    } finally {
      await dev.close();
    }
  });
});
