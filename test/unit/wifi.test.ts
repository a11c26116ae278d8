// Wi-Fi onboarding against simulated IOT (XOR) and SMART (KLAP, AES) devices: scan lists the
// simulated networks, join changes the network the device reports, and the Wi-Fi password never
// reaches a trace, an error or the CLI's --verbose output.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { connect } from '../../src/connect';
import { isKasaTapoError } from '../../src/errors';
import { Pool } from '../../src/pool';
import { SIM_NETWORKS, startSimulatedDevice, type IotDeviceModel, type SmartDeviceModel } from '../../src/simulator';
import { redactSecrets, wifiJoin, wifiScan } from '../../src/device/wifi';

const CREDS = { username: 'wifi@example.com', password: 'wifi-account-pw' };
const WIFI_PW = 'Wifi-Secret-77';

describe('Wi-Fi onboarding', function () {
  this.timeout(30000);

  for (const [profile, transport] of [
    ['hs100', 'xor'],
    ['p110', 'klap'],
    ['p100', 'aes'],
  ] as const) {
    it(`${profile} (${transport}): scan, then join; the device reports the new network`, async () => {
      const sim = await startSimulatedDevice(profile, { credentials: CREDS });
      const traced: string[] = [];
      // The simulated P100 is old firmware that needs AES login v1 (logins never downgrade by themselves).
      const dev = await connect({
        host: sim.host,
        port: sim.port,
        transport,
        credentials: CREDS,
        retries: 0,
        trace: (_d, t) => void traced.push(t),
        ...(profile === 'p100' ? { loginVersion: 1 as const } : {}),
      });
      try {
        const nets = await dev.wifiScan();
        assert.deepEqual(
          nets.map((n) => n.ssid),
          SIM_NETWORKS.map((n) => n.ssid),
        );
        assert.equal(nets.find((n) => n.ssid === 'Neighbour')?.keyType, 2);
        const r = await dev.wifiJoin('SimHome-IoT', WIFI_PW);
        assert.deepEqual(r, { ssid: 'SimHome-IoT', confirmed: true });
        const model = sim.model as IotDeviceModel | SmartDeviceModel;
        assert.equal(model.wifi.ssid, 'SimHome-IoT');
        assert.equal(model.wifi.joins.length, 1);
        if (transport === 'xor') {
          const st = (await dev.raw({ netif: { get_stainfo: {} } })) as { netif: { get_stainfo: { ssid: string } } };
          assert.equal(st.netif.get_stainfo.ssid, 'SimHome-IoT');
        } else {
          const info = (await dev.raw({ method: 'get_device_info' })) as { result: { ssid: string } };
          assert.equal(Buffer.from(info.result.ssid, 'base64').toString(), 'SimHome-IoT');
        }
        await assert.rejects(dev.wifiJoin('Not-Around', WIFI_PW), (e: unknown) => {
          assert.ok(isKasaTapoError(e) && e.code === 'EDEVICE', String(e));
          assert.ok(!e.message.includes(WIFI_PW));
          return true;
        });
        const all = traced.join('\n');
        assert.ok(traced.some((t) => /set_stainfo|set_qs_info/.test(t)));
        assert.ok(!all.includes(WIFI_PW) && !all.includes(Buffer.from(WIFI_PW).toString('base64')), 'password in trace');
      } finally {
        await dev.close();
        await sim.close();
      }
    });
  }

  it('bad input → EBADINPUT before anything is sent', async () => {
    const sim = await startSimulatedDevice('hs100', { credentials: CREDS });
    const dev = await connect({ host: sim.host, port: sim.port, transport: 'xor' });
    try {
      for (const [ssid, pw, kt] of [
        ['', 'x', 3],
        ['a'.repeat(33), 'x', 3],
        ['SimHome', 'x', 9],
        ['SimHome', '', 3],
      ] as const) {
        await assert.rejects(wifiJoin(dev, ssid, pw, kt), (e: unknown) => isKasaTapoError(e) && e.code === 'EBADINPUT');
      }
      assert.equal((await wifiScan(dev)).length, SIM_NETWORKS.length);
      assert.equal((await wifiJoin(dev, 'Cafe Open', '', 0)).confirmed, true);
    } finally {
      await dev.close();
      await sim.close();
    }
  });

  it('works on a pooled device too (read once first if the pool has not yet)', async () => {
    const sim = await startSimulatedDevice('p110', { credentials: CREDS });
    const pool = new Pool({ credentials: CREDS });
    try {
      const d = pool.device({ host: sim.host, port: sim.port, transport: 'klap' });
      assert.equal((await wifiScan(d)).length, SIM_NETWORKS.length);
      assert.equal((await wifiJoin(d, 'SimHome-Guest', WIFI_PW)).confirmed, true);
      assert.equal((sim.model as SmartDeviceModel).wifi.ssid, 'SimHome-Guest');
    } finally {
      await pool.close();
      await sim.close();
    }
  });

  it('redactSecrets hides password values, whatever their content', () => {
    assert.equal(
      redactSecrets('{"netif":{"set_stainfo":{"ssid":"A","password":"p\\"w","key_type":3}}}'),
      '{"netif":{"set_stainfo":{"ssid":"A","password":"***","key_type":3}}}',
    );
    assert.equal(redactSecrets('{"wireless":{"password":"cXE=","ssid":"QQ=="}}'), '{"wireless":{"password":"***","ssid":"QQ=="}}');
    assert.equal(redactSecrets('{"system":{"get_sysinfo":{}}}'), '{"system":{"get_sysinfo":{}}}');
  });

  it('kasa-tapo wifi scan / join; --verbose never shows the Wi-Fi password', async () => {
    const sim = await startSimulatedDevice('p110', { credentials: CREDS });
    const cli = path.join(__dirname, '../../src/cli.js');
    const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) =>
        execFile(
          process.execPath,
          [cli, '--host', sim.host, '--port', String(sim.port), '--transport', 'klap', ...args],
          { timeout: 15000, env: { ...process.env, KASA_TAPO_USERNAME: CREDS.username, KASA_TAPO_PASSWORD: CREDS.password } },
          (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 99) : 0, stdout, stderr }),
        ),
      );
    try {
      const scan = await run(['wifi', 'scan']);
      assert.equal(scan.code, 0, scan.stderr);
      for (const n of SIM_NETWORKS) assert.match(scan.stdout, new RegExp(n.ssid));
      const join = await run(['--verbose', 'wifi', 'join', 'SimHome-Guest', '--wifi-password', WIFI_PW, '--keytype', '3']);
      assert.equal(join.code, 0, join.stderr);
      assert.match(join.stderr, /set_qs_info/);
      const out = join.stdout + join.stderr;
      assert.ok(!out.includes(WIFI_PW) && !out.includes(Buffer.from(WIFI_PW).toString('base64')));
      assert.equal((sim.model as SmartDeviceModel).wifi.ssid, 'SimHome-Guest');
      const bad = await run(['--verbose', 'wifi', 'join', 'Nowhere', '--wifi-password', WIFI_PW]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /EDEVICE/);
      assert.ok(!(bad.stdout + bad.stderr).includes(WIFI_PW));
      const missing = await run(['wifi', 'join', 'SimHome']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /--wifi-password/);
    } finally {
      await sim.close();
    }
  });
});
