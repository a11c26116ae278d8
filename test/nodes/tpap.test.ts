/**
 * The three nodes on TPAP devices (2025+ firmware) through node-red-node-test-helper: tplink-action
 * switches and dims, tplink-state reads, tplink-energy meters; a wrong password ends in Catch with
 * EAUTH and never shows the password.
 */
import { strict as assert } from 'node:assert';
import type { SimulatedDevice } from '../../src/simulator/index';
import { CREDS, NODES, collect, deviceEntry, helper, poolNode, roundTrip } from './support';
import { startDevices } from './support';

describe('nodes on TPAP devices', function () {
  this.timeout(30000);
  let devs: SimulatedDevice[];
  let plug: SimulatedDevice, strip: SimulatedDevice, kasa: SimulatedDevice;

  before(async () => {
    devs = await startDevices(['p110tpap', 'l900tpap', 'kp125mtpap']);
    [plug, strip, kasa] = devs as [SimulatedDevice, SimulatedDevice, SimulatedDevice];
  });
  after(async () => {
    await helper.unload();
    await Promise.all(devs.map((d) => d.close()));
  });

  async function flow(node: Record<string, unknown>, creds = CREDS) {
    await helper.unload();
    await helper.load(
      NODES,
      [
        poolNode([deviceEntry(plug, 'heater'), deviceEntry(strip, 'shelf'), deviceEntry(kasa, 'kasa heater')], { timeout: 3000 }),
        { id: 'n', pool: 'pool', version: 1, wires: [['out']], ...node },
        { id: 'out', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ],
      { pool: { ...creds } },
    );
    return { n: helper.getNode('n')!, out: collect(helper.getNode('out')!), caught: collect(helper.getNode('caught')!) };
  }

  it('tplink-action switches a TPAP plug and dims/colours a TPAP light strip', async () => {
    const { n, out } = await flow({ type: 'tplink-action', device: 'heater', child: '', action: 'payload', value: '', valueType: 'str' });
    let m = await roundTrip(n, out, { payload: 'on' });
    assert.equal(m.payload.on, true);
    assert.equal(m.device.protocol, 'tpap');
    m = await roundTrip(n, out, { payload: false });
    assert.equal(m.payload.on, false);
    m = await roundTrip(n, out, { device: 'shelf', payload: { on: true, brightness: 33 } });
    assert.equal(m.payload.brightness, 33);
    m = await roundTrip(n, out, { device: 'shelf', payload: { hue: 120, saturation: 60 } });
    assert.equal(m.payload.hue, 120);
    m = await roundTrip(n, out, { device: 'kasa heater', payload: 'toggle' });
    assert.equal(typeof m.payload.on, 'boolean');
    assert.equal(m.device.protocol, 'tpap');
  });

  it('tplink-state reads TPAP devices', async () => {
    const { n, out } = await flow({ type: 'tplink-state', device: 'heater', mode: 'input' });
    let m = await roundTrip(n, out, { payload: 'go' });
    assert.equal(m.payload.alias, 'Heater');
    assert.equal(m.payload.protocol, 'tpap');
    assert.equal(m.payload.family, 'plug');
    m = await roundTrip(n, out, { device: 'shelf' });
    assert.equal(m.payload.family, 'lightstrip');
  });

  it('tplink-energy meters TPAP plugs (P110 and KP125M)', async () => {
    const { n, out } = await flow({ type: 'tplink-energy', device: 'heater', mode: 'realtime' });
    let m = await roundTrip(n, out, {});
    assert.equal(typeof m.payload.powerW, 'number');
    assert.equal(m.device.protocol, 'tpap');
    m = await roundTrip(n, out, { device: 'kasa heater' });
    assert.equal(typeof m.payload.powerW, 'number');
  });

  it('a wrong password goes to Catch as EAUTH, without the password', async () => {
    const bad = { username: CREDS.username, password: 'Wrong-tpap-pw-1' };
    const { n, caught } = await flow({ type: 'tplink-state', device: 'heater', mode: 'input' }, bad);
    n.receive({ payload: 'go' });
    for (let i = 0; i < 100 && caught.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(caught.length, 1);
    assert.equal(caught[0]!.error.code, 'EAUTH');
    assert.ok(!JSON.stringify(caught[0]).includes(bad.password));
  });
});
