// The TP-Link cloud client against the simulated cloud on loopback, and the independent npm
// client tplink-cloud-api against the same simulated cloud. tplink-cloud-api has the production
// URL built in for login and getDeviceList (no option to change it); we rewrite that one URL to
// the simulated cloud with an axios request interceptor on the axios copy it loads, and the
// interceptor refuses every other non-loopback URL. The loopback guard stays active underneath.
import type { CloudSession } from '../../src/cloud';
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { cloudLogin, DEFAULT_CLOUD_URL } from '../../src/cloud';
import { isKasaTapoError } from '../../src/errors';
import { startSimulatedHome, type SimulatedHome } from '../../src/simulator';
import type { IotDeviceModel } from '../../src/simulator';
import { randomBase } from '../helpers/net';

const CREDS = { username: 'cloud@example.com', password: 'cloud-secret-pw' };

describe('cloud client against the simulated cloud', function () {
  this.timeout(30000);
  let home: SimulatedHome;
  let url: string;

  before(async () => {
    home = await startSimulatedHome({
      baseAddress: randomBase(),
      profiles: ['hs100', 'hs110v1', 'p110'],
      credentials: CREDS,
      standardPorts: false,
      discovery: false,
      cloud: true,
    });
    url = home.cloud!.url;
  });
  after(() => home.close());

  it('login → device list with appServerUrl, model, alias, status', async () => {
    const s = await cloudLogin({ ...CREDS, baseUrl: url });
    const list = await s.devices();
    assert.deepEqual(
      list.map((d) => d.model),
      ['HS100(US)', 'HS110(EU)', 'P110(UK)'],
    );
    for (const d of list) {
      assert.equal(d.appServerUrl, url);
      assert.equal(d.status, 1);
      assert.ok(d.alias && d.deviceId.length === 40 && d.deviceType);
    }
  });

  it('passthrough get_sysinfo and set_relay_state reach the simulated device', async () => {
    const s = await cloudLogin({ ...CREDS, baseUrl: url });
    const dev = home.device('hs100')!;
    const model = dev.model as IotDeviceModel;
    const info = (await s.passthrough(dev.profile.deviceId, { system: { get_sysinfo: {} } })) as {
      system: { get_sysinfo: { alias: string; deviceId: string } };
    };
    assert.equal(info.system.get_sysinfo.deviceId, dev.profile.deviceId);
    model.setOn(true);
    await s.passthrough(dev.profile.deviceId, { system: { set_relay_state: { state: 0 } } });
    assert.equal(model.state.on, false);
    await s.passthrough(dev.profile.deviceId, { system: { set_relay_state: { state: 1 } } });
    assert.equal(model.state.on, true);
    assert.ok(dev.log.count('system.set_relay_state') >= 2);
  });

  it('wrong password / unknown account → EAUTH without the password in the error', async () => {
    for (const c of [
      { ...CREDS, password: 'Wrong-pw-123' },
      { username: 'nobody@example.com', password: 'Wrong-pw-123' },
    ]) {
      await assert.rejects(cloudLogin({ ...c, baseUrl: url }), (e: unknown) => {
        assert.ok(isKasaTapoError(e) && e.code === 'EAUTH', String(e));
        assert.ok(!e.message.includes('Wrong-pw-123') && !inspect(e).includes('Wrong-pw-123'));
        return true;
      });
    }
    await assert.rejects(cloudLogin({ username: '', password: '', baseUrl: url }), (e: unknown) => isKasaTapoError(e) && e.code === 'EBADINPUT');
  });

  it('typed errors: Tapo passthrough (-1), offline (-20571), unknown device, bad request', async () => {
    const s = await cloudLogin({ ...CREDS, baseUrl: url });
    await assert.rejects(
      s.passthrough(home.device('p110')!.profile.deviceId, { system: { get_sysinfo: {} } }),
      (e: unknown) => isKasaTapoError(e) && e.code === 'EUNSUPPORTED' && e.deviceCode === -1 && /locally/.test(e.message),
    );
    const hs110 = home.device('hs110v1')!;
    hs110.faults.unreachable = true;
    try {
      assert.equal((await s.devices()).find((d) => d.deviceId === hs110.profile.deviceId)?.status, 0);
      await assert.rejects(
        s.passthrough(hs110.profile.deviceId, { system: { get_sysinfo: {} } }),
        (e: unknown) => isKasaTapoError(e) && e.code === 'EOFFLINE' && e.deviceCode === -20571,
      );
    } finally {
      hs110.faults.unreachable = false;
    }
    await assert.rejects(s.passthrough('F'.repeat(40), { system: { get_sysinfo: {} } }), (e: unknown) => isKasaTapoError(e) && e.code === 'ENOTFOUND');
    await assert.rejects(s.passthrough(hs110.profile.deviceId, 'text'), (e: unknown) => isKasaTapoError(e) && e.code === 'EBADINPUT');
  });

  it('keeps the token out of inspect() and JSON; a stale token → ESESSION', async () => {
    const s = await cloudLogin({ ...CREDS, baseUrl: url });
    assert.ok(s.token.length > 0);
    assert.ok(!inspect(s).includes(s.token) && !JSON.stringify(s).includes(s.token));
    const stale = new (s.constructor as typeof CloudSession)(url, 'not-a-token', s.terminalUUID, 5000);
    await assert.rejects(stale.devices(), (e: unknown) => isKasaTapoError(e) && e.code === 'ESESSION' && !e.message.includes('not-a-token'));
  });

  it('the production URL is only a default; nothing unreachable is retried forever', async () => {
    assert.equal(DEFAULT_CLOUD_URL, 'https://wap.tplinkcloud.com');
    await assert.rejects(
      cloudLogin({ ...CREDS, baseUrl: 'http://127.0.0.1:1' }),
      (e: unknown) => isKasaTapoError(e) && e.code === 'ECONNREFUSED' && !e.message.includes(CREDS.password),
    );
    await assert.rejects(cloudLogin({ ...CREDS, baseUrl: 'ftp://x' }), (e: unknown) => isKasaTapoError(e) && e.code === 'EBADINPUT');
  });

  it('never sends the token to a regional server over plain HTTP on another host', async () => {
    let hits = 0;
    const fake = http.createServer((req, res) => {
      hits++;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const m = (JSON.parse(Buffer.concat(chunks).toString()) as { method: string }).method;
        const result = m === 'login' ? { token: 'tok-123' } : { deviceList: [{ deviceId: 'D1', alias: 'x', appServerUrl: 'http://127.0.0.2:9/' }] };
        res.end(JSON.stringify({ error_code: 0, result }));
      });
    });
    await new Promise<void>((ok) => fake.listen(0, '127.0.0.1', () => ok()));
    try {
      const s = await cloudLogin({ ...CREDS, baseUrl: `http://127.0.0.1:${(fake.address() as AddressInfo).port}` });
      await assert.rejects(
        s.passthrough('D1', { system: { get_sysinfo: {} } }),
        (e: unknown) => isKasaTapoError(e) && e.code === 'EBADINPUT' && !e.message.includes('tok-123'),
      );
      assert.equal(hits, 2); // login and getDeviceList only
    } finally {
      fake.closeAllConnections();
      await new Promise<void>((ok) => fake.close(() => ok()));
    }
  });

  it('tplink-cloud-api (an independent client) lists the same devices and switches one', async () => {
    const pkgDir = path.dirname(require.resolve('tplink-cloud-api'));

    const axios = require(require.resolve('axios', { paths: [pkgDir] })) as {
      interceptors: { request: { use(f: (c: { url?: string }) => unknown): number; eject(id: number): void } };
    };
    const id = axios.interceptors.request.use((config) => {
      if (config.url === DEFAULT_CLOUD_URL) config.url = url; // the one URL it has built in
      if (!/^http:\/\/127\.\d+\.\d+\.\d+:\d+/.test(config.url ?? '')) throw new Error(`test refused a non-loopback URL: ${config.url}`);
      return config;
    });
    try {
      const api = require('tplink-cloud-api') as {
        login(
          u: string,
          p: string,
          term?: string,
        ): Promise<{
          getDeviceList(): Promise<{ deviceId: string; alias: string; deviceModel: string }[]>;
          getHS100(alias: string): { powerOff(): Promise<unknown>; powerOn(): Promise<unknown>; getRelayState(): Promise<number> };
        }>;
      };
      const tplink = await api.login(CREDS.username, CREDS.password, 'test-term');
      const theirs = await tplink.getDeviceList();
      const ours = await (await cloudLogin({ ...CREDS, baseUrl: url })).devices();
      assert.deepEqual(
        theirs.map((d) => [d.deviceId, d.alias, d.deviceModel]),
        ours.map((d) => [d.deviceId, d.alias, d.model]),
      );
      const dev = home.device('hs100')!;
      const model = dev.model as IotDeviceModel;
      const plug = tplink.getHS100(dev.profile.alias);
      await plug.powerOff();
      assert.equal(model.state.on, false);
      assert.equal(await plug.getRelayState(), 0);
      await plug.powerOn();
      assert.equal(model.state.on, true);
      await assert.rejects(api.login(CREDS.username, 'wrong-pw'), /-20601/);
    } finally {
      axios.interceptors.request.eject(id);
    }
  });

  it('kasa-tapo cloud devices / --device ID COMMAND (URL from --cloud-url or KASA_TAPO_CLOUD_URL)', async () => {
    const cli = path.join(__dirname, '../../src/cli.js');
    const run = (args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) =>
        execFile(
          process.execPath,
          [cli, ...args],
          { timeout: 15000, env: { ...process.env, KASA_TAPO_USERNAME: CREDS.username, KASA_TAPO_PASSWORD: CREDS.password, KASA_TAPO_CLOUD_URL: '', ...env } },
          (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 99) : 0, stdout, stderr }),
        ),
      );
    const list = await run(['cloud', 'devices', '--json'], { KASA_TAPO_CLOUD_URL: url });
    assert.equal(list.code, 0, list.stderr);
    assert.equal((JSON.parse(list.stdout) as unknown[]).length, 3);
    const dev = home.device('hs110v1')!;
    const model = dev.model as IotDeviceModel;
    const off = await run(['cloud', '--cloud-url', url, '--device', dev.profile.deviceId, 'off']);
    assert.equal(off.code, 0, off.stderr);
    assert.equal(model.state.on, false);
    const raw = await run(['cloud', '--cloud-url', url, '--device', dev.profile.deviceId, 'raw', '{"system":{"set_relay_state":{"state":1}}}']);
    assert.equal(raw.code, 0, raw.stderr);
    assert.equal(model.state.on, true);
    const bad = await run(['cloud', 'devices', '--cloud-url', url], { KASA_TAPO_PASSWORD: 'Nope-not-it' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /EAUTH/);
    assert.ok(!bad.stderr.includes('Nope-not-it'));
  });
});
