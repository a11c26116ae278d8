/**
 * tplink-state and tplink-energy through node-red-node-test-helper: reads on input for Kasa and
 * Tapo devices, polling and only-on-change, online/offline, the all-devices summary, energy now
 * and history per outlet, and errors to Catch.
 */
import { strict as assert } from 'node:assert';
import type { IotDeviceModel, SimulatedDevice, SmartDeviceModel } from '../../src/simulator/index';
import { NODES, collect, deviceEntry, helper, poolCreds, poolNode, roundTrip, statuses, startDevices, until } from './support';

describe('tplink-state and tplink-energy', function () {
  this.timeout(30000);
  let devs: SimulatedDevice[];
  let hs100: SimulatedDevice, p110: SimulatedDevice, hs300: SimulatedDevice, hs110: SimulatedDevice;

  before(async () => {
    devs = await startDevices(['hs100', 'p110', 'hs300', 'hs110v1']);
    [hs100, p110, hs300, hs110] = devs as [SimulatedDevice, SimulatedDevice, SimulatedDevice, SimulatedDevice];
  });
  after(async () => {
    await helper.unload();
    await Promise.all(devs.map((d) => d.close()));
  });
  const entries = () => [deviceEntry(hs100, 'kasa plug'), deviceEntry(p110, 'tapo plug'), deviceEntry(hs300, 'strip'), deviceEntry(hs110, 'kasa meter')];

  async function flow(node: Record<string, unknown>, pool: Record<string, unknown> = {}) {
    await helper.unload();
    await helper.load(
      NODES,
      [
        poolNode(entries(), pool),
        { id: 'n', pool: 'pool', version: 1, wires: [['out']], ...node },
        { id: 'out', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ],
      poolCreds,
    );
    return { n: helper.getNode('n')!, out: collect(helper.getNode('out')!), caught: collect(helper.getNode('caught')!) };
  }

  const setOn = (d: SimulatedDevice, on: boolean): void => {
    const m = d.model as IotDeviceModel | SmartDeviceModel;
    if ('root' in m) m.root.setOn(on);
    else m.setOn(on);
  };

  describe('tplink-state', () => {
    it('reads a Kasa and a Tapo device on input with the normalised shape', async () => {
      const { n, out } = await flow({ type: 'tplink-state', device: 'kasa plug', mode: 'input' });
      const seen = statuses(n);
      setOn(hs100, false);
      let m = await roundTrip(n, out, { payload: 'go', topic: 'keep?' });
      assert.equal(m.payload.on, false);
      assert.equal(m.payload.model, 'HS100');
      assert.equal(m.payload.family, 'plug');
      assert.equal(m.online, true);
      assert.ok(m.raw);
      assert.deepEqual(Object.keys(m.device).sort(), ['alias', 'family', 'host', 'model', 'port', 'protocol']);
      assert.deepEqual(seen.at(-1), { fill: 'grey', shape: 'dot', text: 'off' });
      setOn(p110, true);
      m = await roundTrip(n, out, { device: 'tapo plug' });
      assert.equal(m.payload.on, true);
      assert.equal(m.payload.protocol, 'klap');
      assert.equal(typeof m.payload.rssi, 'number');
      assert.deepEqual(seen.at(-1), { fill: 'green', shape: 'dot', text: 'on' });
      m = await roundTrip(n, out, { device: 'strip' });
      assert.equal(m.payload.family, 'strip');
      assert.equal(m.payload.children.length, 6);
    });

    it('polls and, with only-on-change, emits only when the state changes', async () => {
      setOn(p110, false);
      const { out } = await flow({ type: 'tplink-state', device: 'tapo plug', mode: 'poll', interval: 0.1, onlyChanges: true });
      await until(() => out.length >= 1, 3000, 'first poll');
      await new Promise((r) => setTimeout(r, 450));
      assert.equal(out.length, 1, 'no repeat while unchanged');
      assert.equal(out[0]!.payload.on, false);
      setOn(p110, true);
      await until(() => out.length >= 2, 3000, 'change');
      assert.equal(out[1]!.payload.on, true);
      assert.equal(out[1]!.device.host, p110.host);
    });

    it('polls every interval without only-on-change', async () => {
      const { out } = await flow({ type: 'tplink-state', device: 'kasa plug', mode: 'poll', interval: 0.1, onlyChanges: false });
      await until(() => out.length >= 3, 3000, 'three polls');
    });

    it('reports offline and back online while polling', async () => {
      const { n, out } = await flow({ type: 'tplink-state', device: 'kasa plug', mode: 'poll', interval: 0.1, onlyChanges: true }, { timeout: 300 });
      const seen = statuses(n);
      await until(() => out.length >= 1, 3000, 'first poll');
      hs100.faults.refuse = true;
      try {
        await until(() => out.some((m) => m.online === false), 6000, 'offline message');
        assert.deepEqual(out.find((m) => m.online === false)!.payload, { online: false });
        assert.ok(seen.some((s) => s.text === 'offline' && s.fill === 'red'));
      } finally {
        hs100.faults.refuse = false;
      }
      await until(() => out.some((m) => m.online === true && m.payload?.online === true), 8000, 'online message');
      await until(() => out.filter((m) => m.payload?.model === 'HS100').length >= 2, 5000, 'state after recovery');
      assert.equal(out.filter((m) => m.online === false).length, 1, 'offline announced once');
    });

    it('reads one child with msg.child: an outlet of a strip', async () => {
      const { n, out, caught } = await flow({ type: 'tplink-state', device: 'strip', mode: 'input' });
      let m = await roundTrip(n, out, { child: 1 });
      assert.equal(m.child, 1);
      assert.equal(m.payload.index, 1);
      assert.equal(typeof m.payload.on, 'boolean');
      assert.equal(m.device.model.startsWith('HS300'), true);
      m = await roundTrip(n, caught, { child: 'no such outlet' });
      assert.equal(m.error.code, 'ENOTFOUND');
    });

    it("watches all of the pool's devices and emits a summary", async () => {
      for (const d of [hs100, p110, hs110]) setOn(d, true);
      setOn(hs300, true);
      const { n, out } = await flow({ type: 'tplink-state', target: 'all', mode: 'input' });
      n.receive({});
      await until(() => out.some((m) => m.topic === 'summary'), 5000, 'summary');
      const s = out.find((m) => m.topic === 'summary')!.payload;
      assert.equal(out.filter((m) => m.topic !== 'summary').length, 4);
      assert.deepEqual(s, { allOn: true, anyOn: true, on: ['kasa plug', 'tapo plug', 'strip', 'kasa meter'], off: [], offline: [], total: 4 });
      setOn(p110, false);
      hs110.faults.dropConnection = true;
      try {
        out.length = 0;
        n.receive({});
        await until(() => out.some((m) => m.topic === 'summary'), 5000, 'summary');
        const s2 = out.find((m) => m.topic === 'summary')!.payload;
        assert.equal(s2.allOn, false);
        assert.deepEqual(s2.off, ['tapo plug']);
        assert.deepEqual(s2.offline, ['kasa meter']);
        assert.equal(out.find((m) => m.topic === 'kasa meter')!.online, false);
      } finally {
        hs110.faults.dropConnection = false;
      }
    });

    it('polls a list of devices and emits the summary when it changes', async () => {
      setOn(hs100, true);
      setOn(p110, true);
      const { out } = await flow({ type: 'tplink-state', target: 'list', devices: 'kasa plug, tapo plug', mode: 'poll', interval: 0.1, onlyChanges: true });
      await until(() => out.some((m) => m.topic === 'summary'), 3000, 'summary');
      assert.equal(out.find((m) => m.topic === 'summary')!.payload.allOn, true);
      setOn(hs100, false);
      await until(() => out.filter((m) => m.topic === 'summary').length >= 2, 3000, 'second summary');
      assert.deepEqual(out.filter((m) => m.topic === 'summary')[1]!.payload.off, ['kasa plug']);
    });

    it('sends errors to Catch', async () => {
      const { n, caught } = await flow({ type: 'tplink-state', device: '', mode: 'input' });
      let m = await roundTrip(n, caught, {});
      assert.equal(m.error.code, 'EBADINPUT');
      m = await roundTrip(n, caught, { device: '127.0.0.1:1' });
      assert.equal(m.error.code, 'ECONNREFUSED');
    });
  });

  describe('tplink-energy', () => {
    it('reads realtime energy from a Kasa and a Tapo plug', async () => {
      const { n, out } = await flow({ type: 'tplink-energy', device: 'kasa meter', mode: 'realtime' });
      let m = await roundTrip(n, out, {});
      for (const k of ['powerW', 'voltageV', 'currentA', 'totalKWh']) assert.equal(typeof m.payload[k], 'number', k);
      assert.ok(Object.keys(m.payload).every((k) => ['powerW', 'voltageV', 'currentA', 'todayKWh', 'monthKWh', 'totalKWh'].includes(k)));
      assert.ok(m.raw);
      assert.equal(m.device.model, 'HS110');
      m = await roundTrip(n, out, { device: 'tapo plug' });
      assert.equal(typeof m.payload.powerW, 'number');
      assert.equal(typeof m.payload.todayKWh, 'number');
      assert.equal(m.device.protocol, 'klap');
    });

    it('reads per strip outlet and day/month history', async () => {
      const now = new Date();
      let { n, out } = await flow({ type: 'tplink-energy', device: 'strip', child: '2', mode: 'realtime' });
      let m = await roundTrip(n, out, {});
      assert.equal(typeof m.payload.powerW, 'number');
      m = await roundTrip(n, out, { payload: { period: 'day', year: now.getFullYear(), month: now.getMonth() + 1 }, child: 0 });
      assert.equal(m.payload.period, 'day');
      assert.ok(m.payload.entries.length > 0);
      assert.match(m.payload.entries[0].date, /^\d{4}-\d{2}-\d{2}$/);
      assert.equal(typeof m.payload.entries[0].kWh, 'number');
      ({ n, out } = await flow({ type: 'tplink-energy', device: 'tapo plug', mode: 'month' }));
      m = await roundTrip(n, out, {});
      assert.equal(m.payload.period, 'month');
      assert.match(m.payload.entries[0].date, /^\d{4}-\d{2}$/);
      m = await roundTrip(n, out, { payload: { period: 'day' }, device: 'kasa meter' });
      assert.equal(m.payload.period, 'day');
    });

    it('polls energy', async () => {
      const { n, out } = await flow({ type: 'tplink-energy', device: 'tapo plug', mode: 'realtime', poll: true, interval: 0.1 });
      const seen = statuses(n);
      await until(() => out.length >= 2, 3000, 'two readings');
      assert.equal(typeof out[0]!.payload.powerW, 'number');
      assert.equal(out[0]!.device.host, p110.host);
      // A polled reading's msg.device is the same as on input (describeDevice): model, family, protocol too.
      assert.deepEqual(Object.keys(out[1]!.device).sort(), ['alias', 'family', 'host', 'model', 'port', 'protocol']);
      assert.equal(out[1]!.device.protocol, 'klap');
      await until(() => seen.some((s) => / W$/.test(String(s.text))), 2000, 'power status');
    });

    it('sends EUNSUPPORTED for a plug without a meter and EBADINPUT for a bad period to Catch', async () => {
      const { n, caught } = await flow({ type: 'tplink-energy', device: 'kasa plug', mode: 'realtime' });
      let m = await roundTrip(n, caught, {});
      assert.equal(m.error.code, 'EUNSUPPORTED');
      assert.match(m.error.message, /HS100/);
      m = await roundTrip(n, caught, { payload: { period: 'week' }, device: 'kasa meter' });
      assert.equal(m.error.code, 'EBADINPUT');
      m = await roundTrip(n, caught, { payload: { period: 'day', month: 13 }, device: 'kasa meter' });
      assert.equal(m.error.code, 'EBADINPUT');
    });
  });
});
