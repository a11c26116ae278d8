/**
 * tplink-action through node-red-node-test-helper against simulated Kasa (XOR) and Tapo (KLAP, AES)
 * devices: every payload form, the configured actions, the output shape, and errors to Catch.
 */
import { strict as assert } from 'node:assert';
import type { SimulatedDevice } from '../../src/simulator/index';
import { CREDS, NODES, collect, deviceEntry, helper, poolCreds, poolNode, roundTrip, statuses, startDevices, type Msg } from './support';

describe('tplink-action', function () {
  this.timeout(30000);
  let devs: SimulatedDevice[];
  let hs100: SimulatedDevice, p110: SimulatedDevice, l530: SimulatedDevice, kl130: SimulatedDevice, hs300: SimulatedDevice, l920: SimulatedDevice;

  before(async () => {
    devs = await startDevices(['hs100', 'p110', 'l530', 'kl130', 'hs300', 'l920']);
    [hs100, p110, l530, kl130, hs300, l920] = devs as [SimulatedDevice, SimulatedDevice, SimulatedDevice, SimulatedDevice, SimulatedDevice, SimulatedDevice];
  });
  after(async () => {
    await helper.unload();
    await Promise.all(devs.map((d) => d.close()));
  });

  const entries = () => [
    deviceEntry(hs100, 'kasa plug'),
    deviceEntry(p110, 'tapo plug'),
    deviceEntry(l530, 'tapo bulb'),
    deviceEntry(kl130, 'kasa bulb'),
    deviceEntry(hs300, 'strip'),
    deviceEntry(l920, 'aes strip'),
  ];

  async function flow(action: Record<string, unknown> = {}, pool: Record<string, unknown> = {}) {
    await helper.unload();
    await helper.load(
      NODES,
      [
        poolNode(entries(), pool),
        {
          id: 'a',
          type: 'tplink-action',
          pool: 'pool',
          device: 'kasa plug',
          child: '',
          action: 'payload',
          value: '',
          valueType: 'str',
          version: 1,
          wires: [['out']],
          ...action,
        },
        { id: 'out', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ],
      poolCreds,
    );
    const a = helper.getNode('a')!;
    return { a, out: collect(helper.getNode('out')!), caught: collect(helper.getNode('caught')!) };
  }

  function assertDevice(m: Msg, host: string, protocol: string, model: string, family: string): void {
    assert.deepEqual(Object.keys(m.device).sort(), ['alias', 'family', 'host', 'model', 'port', 'protocol']);
    assert.equal(m.device.host, host);
    assert.equal(m.device.protocol, protocol);
    assert.equal(m.device.model, model);
    assert.equal(m.device.family, family);
    assert.equal(typeof m.device.port, 'number');
  }

  it('takes a burst of 200 messages for one device with the default queue limit (a split list)', async () => {
    // A pool saved without a queue limit gets the default (1000, the library's too).
    const { a, out, caught } = await flow({ device: 'tapo plug' }, { queueLimit: '' });
    for (let i = 0; i < 200; i++) a.receive({ payload: i % 2 === 0, seq: i });
    const { until } = await import('./support');
    await until(() => out.length + caught.length >= 200, 20_000, '200 endings');
    assert.deepEqual(
      caught.map((m) => m.error.code),
      [],
    );
    assert.equal(out.length, 200);
  });

  it('switches a Kasa XOR plug with true/false and "on"/"off"/"toggle", answering the state after the change', async () => {
    const { a, out } = await flow();
    let m = await roundTrip(a, out, { payload: true });
    assert.equal(m.payload.on, true);
    assert.equal(m.payload.model, 'HS100');
    assert.equal(m.payload.protocol, 'xor');
    assert.ok(m.raw, 'msg.raw carries the device answer');
    assertDevice(m, hs100.host, 'xor', 'HS100', 'plug');
    for (const [p, on] of [
      [false, false],
      ['on', true],
      ['off', false],
      ['toggle', true],
      ['TOGGLE', false],
    ] as const) {
      m = await roundTrip(a, out, { payload: p });
      assert.equal(m.payload.on, on, `payload ${JSON.stringify(p)}`);
    }
    // Absent fields are absent, never null.
    assert.ok(!('brightness' in m.payload) && !('hue' in m.payload));
    assert.ok(Object.values(m.payload).every((v) => v !== null));
  });

  it('switches a Tapo KLAP plug and an AES light strip named by msg.device', async () => {
    const { a, out } = await flow();
    let m = await roundTrip(a, out, { payload: 'on', device: 'tapo plug' });
    assert.equal(m.payload.on, true);
    assertDevice(m, p110.host, 'klap', 'P110', 'plug');
    m = await roundTrip(a, out, { payload: { on: false }, device: `${p110.host}:${p110.port}` });
    assert.equal(m.payload.on, false);
    m = await roundTrip(a, out, { payload: { on: true, brightness: 40 }, device: 'aes strip' });
    assert.equal(m.payload.on, true);
    assert.equal(m.payload.brightness, 40);
    assertDevice(m, l920.host, 'aes', 'L920-5', 'lightstrip');
  });

  it('sets brightness from a number and colour/colour temperature from objects on Kasa and Tapo bulbs', async () => {
    const { a, out } = await flow();
    let m = await roundTrip(a, out, { payload: 25, device: 'kasa bulb' });
    assert.equal(m.payload.brightness, 25);
    m = await roundTrip(a, out, { payload: '60', device: 'tapo bulb' });
    assert.equal(m.payload.brightness, 60);
    m = await roundTrip(a, out, { payload: { color: '#ff0000' }, device: 'tapo bulb' });
    assert.equal(m.payload.hue, 0);
    assert.equal(m.payload.saturation, 100);
    m = await roundTrip(a, out, { payload: { hue: 120, saturation: 50, transition: 200 }, device: 'kasa bulb' });
    assert.equal(m.payload.hue, 120);
    m = await roundTrip(a, out, { payload: { colorTemp: 3000 }, device: 'kasa bulb' });
    assert.equal(m.payload.colorTemp, 3000);
    m = await roundTrip(a, out, { payload: { on: 'toggle' }, device: 'tapo bulb' });
    assert.equal(typeof m.payload.on, 'boolean');
  });

  it('sends raw IOT and SMART commands and returns the device answer', async () => {
    const { a, out } = await flow();
    let m = await roundTrip(a, out, { payload: { raw: { system: { get_sysinfo: {} } } } });
    assert.equal(m.payload.system.get_sysinfo.model, 'HS100(US)');
    assert.deepEqual(m.raw, m.payload);
    m = await roundTrip(a, out, { payload: { raw: { method: 'get_device_info' } }, device: 'tapo plug' });
    assert.equal((m.payload as Msg).model ?? (m.payload as Msg).result?.model, 'P110');
  });

  it('switches a strip outlet by msg.child and by configured child', async () => {
    let { a, out } = await flow({ device: 'strip', child: '1' });
    let m = await roundTrip(a, out, { payload: false });
    assert.equal(m.payload.children[1].on, false);
    m = await roundTrip(a, out, { payload: 'toggle' });
    assert.equal(m.payload.children[1].on, true);
    m = await roundTrip(a, out, { payload: false, child: 2 });
    assert.equal(m.payload.children[2].on, false);
    ({ a, out } = await flow({ device: 'strip', action: 'off', child: '' }));
    m = await roundTrip(a, out, { payload: 'ignored', child: 0 });
    assert.equal(m.payload.children[0].on, false);
  });

  it('runs the configured actions with typed-input values (num, msg, json, bool)', async () => {
    let { a, out } = await flow({ device: 'kasa bulb', action: 'brightness', value: 'level', valueType: 'msg' });
    let m = await roundTrip(a, out, { level: 33 });
    assert.equal(m.payload.brightness, 33);
    ({ a, out } = await flow({ device: 'tapo bulb', action: 'colorTemp', value: '2700', valueType: 'num' }));
    m = await roundTrip(a, out, {});
    assert.equal(m.payload.colorTemp, 2700);
    ({ a, out } = await flow({ device: 'tapo bulb', action: 'color', value: 'blue', valueType: 'str' }));
    m = await roundTrip(a, out, {});
    assert.equal(m.payload.hue, 240);
    ({ a, out } = await flow({ device: 'kasa plug', action: 'led', value: 'false', valueType: 'bool' }));
    m = await roundTrip(a, out, {});
    assert.equal(m.payload.led, false);
    ({ a, out } = await flow({ device: 'tapo plug', action: 'raw', value: '{"method":"get_device_time"}', valueType: 'json' }));
    m = await roundTrip(a, out, {});
    assert.ok(m.raw);
    ({ a, out } = await flow({ device: 'tapo plug', action: 'on' }));
    const seen = statuses(a);
    m = await roundTrip(a, out, {});
    assert.equal(m.payload.on, true);
    assert.deepEqual(seen.at(-1), { fill: 'green', shape: 'dot', text: 'on' });
    for (const dev of ['kasa plug', 'tapo plug']) {
      ({ a, out } = await flow({ device: dev, action: 'reboot' }));
      m = await roundTrip(a, out, {});
      assert.deepEqual(m.payload, { rebooting: true });
    }
  });

  it('reports every error kind to a Catch node with a stable code and a red status, and never leaks credentials', async () => {
    const { a, caught } = await flow();
    const seen = statuses(a);
    const expect = async (msg: Msg, code: string, re?: RegExp): Promise<Msg> => {
      const m = await roundTrip(a, caught, msg);
      assert.equal(m.error.code, code, `${JSON.stringify(msg)} → ${m.error.message}`);
      if (re) assert.match(m.error.message, re);
      assert.ok(!JSON.stringify(m).includes(CREDS.password));
      assert.equal(seen.at(-1)?.fill, 'red');
      assert.equal(seen.at(-1)?.shape, 'ring');
      return m;
    };
    await expect({ payload: { color: 'red' } }, 'EUNSUPPORTED', /HS100/);
    await expect({ payload: { color: 'red' }, device: 'tapo plug' }, 'EUNSUPPORTED', /P110/);
    await expect({ payload: [1, 2] }, 'EBADINPUT', /true\/false.*"on"\/"off"\/"toggle"/);
    await expect({ payload: { colour: 'red' } }, 'EBADINPUT', /unknown field "colour"/);
    await expect({ payload: 'dim' }, 'EBADINPUT', /expected|must be/);
    await expect({ payload: 250, device: 'kasa bulb' }, 'EBADINPUT', /brightness/);
    await expect({ payload: { raw: 'x' } }, 'EBADINPUT', /raw/);
    await expect({ payload: true, device: 'no such device!' }, 'ENOTFOUND');
    await expect({ payload: true, device: { nohost: 1 } }, 'EBADINPUT');
    await expect({ payload: true, device: 'strip', child: 'nope' }, 'ENOTFOUND');
    await expect({ payload: true, device: '127.0.0.1:1' }, 'ECONNREFUSED');
  });

  it('maps a wrong password to EAUTH with the fix, an offline device to EOFFLINE, and a missing pool to ENOPOOL', async () => {
    await helper.unload();
    await helper.load(
      NODES,
      [
        poolNode(entries(), { timeout: 500 }),
        { id: 'a', type: 'tplink-action', pool: 'pool', device: 'tapo plug', action: 'payload', wires: [['out']] },
        { id: 'n', type: 'tplink-action', pool: '', device: 'tapo plug', action: 'payload', wires: [['out']] },
        { id: 'out', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ],
      { pool: { username: CREDS.username, password: 'wrong-password' } },
    );
    const a = helper.getNode('a')!;
    const caught = collect(helper.getNode('caught')!);
    let m = await roundTrip(a, caught, { payload: true });
    assert.equal(m.error.code, 'EAUTH');
    assert.ok(!m.error.message.includes('wrong-password'));
    m = await roundTrip(helper.getNode('n')!, caught, { payload: true });
    assert.equal(m.error.code, 'ENOPOOL');
    hs100.faults.refuse = true;
    try {
      m = await roundTrip(a, caught, { payload: true, device: 'kasa plug' });
      assert.equal(m.error.code, 'ECONNREFUSED');
      m = await roundTrip(a, caught, { payload: true, device: 'kasa plug' });
      assert.ok(['ECONNREFUSED', 'EOFFLINE'].includes(m.error.code));
      m = await roundTrip(a, caught, { payload: true, device: 'kasa plug' });
      assert.equal(m.error.code, 'EOFFLINE');
    } finally {
      hs100.faults.refuse = false;
    }
  });
});
