/**
 * Smoke test of the simulated home over a real wire: raw XOR TCP get_sysinfo (src/crypto/xor), the
 * request log, an HTTPS-only device's dead-end port, and a clean close.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { KlapCipher, klapAuthHash, klapClientHash, klapServerHash } from '../../src/crypto/klap';
import { xorDecrypt, xorFrame } from '../../src/crypto/xor';
import { startSimulatedDevice, startSimulatedHome, type SimulatedHome } from '../../src/simulator/index';

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One framed XOR request over TCP; resolves with the parsed answer. */
function xorTcp(host: string, port: number, request: unknown): Promise<J> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => (sock.destroy(), reject(new Error('timeout'))), 3000);
    sock.on('connect', () => sock.write(xorFrame(JSON.stringify(request))));
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      const buf = Buffer.concat(chunks);
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        clearTimeout(timer);
        sock.destroy();
        resolve(JSON.parse(xorDecrypt(buf.subarray(4, 4 + buf.readUInt32BE(0))).toString('utf8')) as J);
      }
    });
    sock.on('error', (e) => (clearTimeout(timer), reject(e)));
  });
}

describe('simulated home', function () {
  this.timeout(20000);
  const base = `127.78.${10 + Math.floor(Math.random() * 240)}`;
  let home: SimulatedHome;

  before(async () => {
    home = await startSimulatedHome({ baseAddress: base, profiles: ['hs100', 'hs300', 'p110', 'c210'], standardPorts: false, discovery: false });
  });
  after(async () => {
    await home?.close();
  });

  it('puts each device on its own address', () => {
    assert.deepEqual(
      home.devices.map((d) => d.host),
      [1, 2, 3, 4].map((n) => `${base}.${n}`),
    );
    assert.ok(home.devices.every((d) => d.port > 0));
    assert.deepEqual(home.credentials, { username: 'demo@example.com', password: 'demo-password' });
  });

  it('answers a raw XOR TCP get_sysinfo and logs it', async () => {
    const hs = home.device('hs300')!;
    const r = await xorTcp(hs.host, hs.port, { system: { get_sysinfo: {} } });
    assert.equal(r.system.get_sysinfo.model, 'HS300(US)');
    assert.equal(r.system.get_sysinfo.children[0].id, `${hs.profile.deviceId}00`); // full ids over TCP
    await xorTcp(hs.host, hs.port, { context: { child_ids: ['00'] }, system: { set_relay_state: { state: 0 } }, emeter: { get_realtime: {} } });
    assert.equal(hs.log.count('system.get_sysinfo'), 1);
    assert.equal(hs.log.count('system.set_relay_state'), 1);
    assert.equal(hs.log.count(), 2);
    assert.ok(hs.stats.requests >= 2);
  });

  it('answers SMART requests over KLAP v2 with the account credentials', async () => {
    const credentials = { username: 'klap@example.com', password: 'secret' };
    const dev = await startSimulatedDevice('p304m', { credentials });
    try {
      const url = `http://${dev.host}:${dev.port}/app`;
      const auth = klapAuthHash(2, credentials.username, credentials.password);
      const local = randomBytes(16);
      const h1 = await fetch(`${url}/handshake1`, { method: 'POST', body: local });
      assert.equal(h1.status, 200);
      const b1 = Buffer.from(await h1.arrayBuffer());
      const remote = b1.subarray(0, 16);
      assert.ok(b1.subarray(16).equals(klapServerHash(2, local, remote, auth)));
      const cookie = (h1.headers.get('set-cookie') ?? '').split(';')[0]!;
      const h2 = await fetch(`${url}/handshake2`, { method: 'POST', body: klapClientHash(2, local, remote, auth), headers: { Cookie: cookie } });
      assert.equal(h2.status, 200);
      const cipher = new KlapCipher(local, remote, auth);
      const req = { method: 'multipleRequest', params: { requests: [{ method: 'get_device_info' }, { method: 'get_child_device_list' }] } };
      const { body, seq } = cipher.encrypt(JSON.stringify(req));
      const r = await fetch(`${url}/request?seq=${seq}`, { method: 'POST', body, headers: { Cookie: cookie } });
      assert.equal(r.status, 200);
      const ans = JSON.parse(cipher.decrypt(seq, Buffer.from(await r.arrayBuffer())).toString('utf8')) as J;
      assert.equal(Buffer.from(ans.result.responses[0].result.nickname, 'base64').toString(), 'Office Strip');
      assert.equal(ans.result.responses[1].result.sum, 4);
      assert.equal(dev.log.count('get_child_device_list'), 1);
      assert.equal(dev.stats.handshakes, 1);
    } finally {
      await dev.close();
    }
  });

  it('the HTTPS-only device accepts and hangs up', async () => {
    const cam = home.device('c210')!;
    assert.equal(cam.model, undefined);
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(cam.port, cam.host);
      s.on('close', () => resolve());
      s.on('error', reject);
    });
  });

  it('refuses non-loopback hosts and bad base addresses', async () => {
    await assert.rejects(startSimulatedDevice('hs100', { host: '10.0.0.1' }), /loopback/);
    await assert.rejects(startSimulatedHome({ baseAddress: '192.168.1' }), /127\.x\.y/);
    await assert.rejects(startSimulatedHome({ baseAddress: base, profiles: ['nope'] }), /Unknown simulator profile/);
  });

  it("profile default faults apply and the fault object stays the caller's", async () => {
    const faults = {};
    const dev = await startSimulatedDevice('p110tpap', { faults });
    try {
      assert.equal(dev.faults, faults);
      assert.equal(dev.faults.forbidHandshake, true);
    } finally {
      await dev.close();
      await dev.close();
    }
  });
});
