/**
 * Nodes: tplink-state mode "events" (a simulated S200B press and rotation reach the flow as
 * two messages, each exactly once, also across a redeploy) and tplink-energy "power" / "hour".
 */
import { strict as assert } from 'node:assert';
import { simulateHubEvent, type SimulatedDevice, type SmartDeviceModel } from '../../src/simulator/index';
import { NODES, collect, deviceEntry, helper, poolCreds, poolNode, roundTrip, startDevices, until, type Msg } from './support';

describe('tplink-state events and tplink-energy power history', function () {
  this.timeout(30000);
  let hub: SimulatedDevice, p110: SimulatedDevice;

  before(async () => {
    [hub, p110] = (await startDevices(['h100', 'p110'])) as [SimulatedDevice, SimulatedDevice];
  });
  after(async () => {
    await helper.unload();
    await hub.close();
    await p110.close();
  });

  const flowOf = (node: Record<string, unknown>) => [
    poolNode([deviceEntry(hub, 'hub'), deviceEntry(p110, 'dishwasher')]),
    { id: 'n', pool: 'pool', version: 1, wires: [['out']], ...node },
    { id: 'out', type: 'helper' },
    { id: 'c', type: 'catch', scope: null, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];
  const polls = () => hub.log.count('child:get_trigger_logs');
  /** Wait until the node has polled `n` more times (bounded). */
  const morePolls = async (n: number) => {
    const start = polls();
    await until(() => polls() >= start + n, 8000, `${n} more polls`);
  };

  it('a simulated S200B press and rotation reach the flow as two messages, each once, also across a redeploy', async () => {
    const model = hub.model as SmartDeviceModel;
    const stateNode = { type: 'tplink-state', device: 'hub', child: 'Sofa Button', mode: 'events', interval: '0.1' };
    await helper.unload();
    await helper.load(NODES, flowOf(stateNode), poolCreds);
    const out: Msg[] = collect(helper.getNode('out')!);
    const caught: Msg[] = collect(helper.getNode('caught')!);
    await morePolls(1); // the baseline

    simulateHubEvent(model, 'Sofa Button', 'singleClick');
    simulateHubEvent(model, 'Sofa Button', 'rotation', { degrees: 30 });
    await until(() => out.length >= 2, 8000, 'two event messages');
    await morePolls(3);
    assert.equal(out.length, 2, JSON.stringify(out.map((m) => m.payload)));
    assert.deepEqual(
      out.map((m) => [m.payload.event, m.payload.degrees, m.payload.child]),
      [
        ['single_click', undefined, 'Sofa Button'],
        ['rotation', 30, 'Sofa Button'],
      ],
    );
    assert.match(out[0]!.payload.at, /^\d{4}-\d\d-\d\dT/);
    assert.equal(out[0]!.topic, 'Hub/Sofa Button'); // the hub's own name
    assert.equal(out[0]!.device.host, hub.host);

    // Redeploy (a full deploy restarts the node): nothing is sent again, and a press during the
    // restart arrives once.
    await helper.setFlows(flowOf({ ...stateNode, name: 'buttons' }), 'full');
    const out2: Msg[] = collect(helper.getNode('out')!);
    simulateHubEvent(model, 'Sofa Button', 'doubleClick');
    await until(() => out2.length >= 1, 8000, 'the press after the redeploy');
    await morePolls(3);
    assert.deepEqual(
      out2.map((m) => m.payload.event),
      ['double_click'],
    );
    assert.equal(caught.length, 0);
  });

  it('without a child it watches every sensor of the hub; an input polls at once', async () => {
    const model = hub.model as SmartDeviceModel;
    await helper.unload();
    await helper.load(NODES, flowOf({ type: 'tplink-state', device: 'hub', mode: 'events', interval: '30' }), poolCreds);
    const n = helper.getNode('n')!;
    const out: Msg[] = collect(helper.getNode('out')!);
    await until(() => polls() > 0, 8000, 'the first poll');
    await new Promise((r) => setTimeout(r, 300));
    simulateHubEvent(model, 'Front Door', 'open');
    simulateHubEvent(model, 'Under Sink', 'waterLeak');
    simulateHubEvent(model, 'Hallway Motion', 'motion');
    n.receive({ payload: 'now' });
    await until(() => out.length >= 3, 8000, 'three events');
    assert.deepEqual(out.map((m) => m.payload.event).sort(), ['motion', 'open', 'water_leak']);
  });

  it('a Kasa device or an unknown child ends in a Catch-able error', async () => {
    await helper.unload();
    await helper.load(NODES, flowOf({ type: 'tplink-state', device: 'hub', mode: 'events', child: 'Nobody', interval: '30' }), poolCreds);
    const caught: Msg[] = collect(helper.getNode('caught')!);
    await until(() => caught.length >= 1, 8000, 'an error');
    assert.equal(caught[0]!.error.code, 'ENOTFOUND');
  });

  it('tplink-action {"countdown": {on: false, minutes: 10}} sets "off in 10 minutes"', async () => {
    await helper.unload();
    await helper.load(NODES, flowOf({ type: 'tplink-action', device: 'dishwasher', action: 'payload' }), poolCreds);
    const n = helper.getNode('n')!;
    const out: Msg[] = collect(helper.getNode('out')!);
    const m = await roundTrip(n, out, { payload: { countdown: { on: false, minutes: 10 } } });
    assert.deepEqual([m.payload.active, m.payload.on, m.payload.delayS], [true, false, 600]);
    const cleared = await roundTrip(n, out, { payload: { countdown: 'clear' } });
    assert.deepEqual(cleared.payload, { active: false });
  });

  it('tplink-energy "power": 5-minute power history of a P110 with ISO timestamps and powerW', async () => {
    await helper.unload();
    await helper.load(NODES, flowOf({ type: 'tplink-energy', device: 'dishwasher', mode: 'power', rangeHours: '1', step: '5' }), poolCreds);
    const n = helper.getNode('n')!;
    const out: Msg[] = collect(helper.getNode('out')!);
    const m = await roundTrip(n, out, { payload: 'go' });
    assert.equal(m.payload.intervalMin, 5);
    assert.ok(m.payload.entries.length >= 12);
    assert.deepEqual(Object.keys(m.payload.entries[0]), ['at', 'powerW']);
    assert.ok(m.raw.get_power_data);
    const h = await roundTrip(n, out, { payload: { period: 'hour', start: new Date(Date.now() - 3 * 3_600_000).toISOString() } });
    assert.equal(h.payload.period, 'hour');
    assert.deepEqual(Object.keys(h.payload.entries[0]), ['at', 'kWh']);
    const hourly = await roundTrip(n, out, { payload: { period: 'power', intervalMin: 60 } });
    assert.equal(hourly.payload.intervalMin, 60);
  });
});
