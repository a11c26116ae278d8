/**
 * Library: hub child events from trigger logs (Device.getEvents) and finer energy history
 * (getPowerHistory, getEnergyHistory('hour')) against simulated devices over their real wire
 * protocols on loopback.
 */
import { strict as assert } from 'node:assert';
import { connect } from '../../src/connect';
import type { Device } from '../../src/device';
import { eventName, readHubEvents } from '../../src/device/events';
import { KasaTapoError } from '../../src/errors';
import { simulateHubEvent, startSimulatedDevice, type SimulatedDevice } from '../../src/simulator/index';
import type { SmartDeviceModel } from '../../src/simulator/smart';
import type { ChildState } from '../../src/types';
import { randomBase } from '../helpers/net';

const credentials = { username: 'events@example.com', password: 'events-pw' };
const isCode = (code: string) => (e: unknown) => e instanceof KasaTapoError && e.code === code;

describe('hub events (trigger logs)', function () {
  this.timeout(20000);
  let sim: SimulatedDevice;
  let dev: Device;
  const model = () => sim.model as SmartDeviceModel;

  before(async () => {
    sim = await startSimulatedDevice('h100', { host: `${randomBase()}.1`, credentials });
    dev = await connect({ host: sim.host, port: sim.port, transport: 'aes', credentials });
  });
  after(async () => {
    await dev?.close();
    await sim?.close();
  });

  it('names events in snake_case', () => {
    assert.equal(eventName('singleClick'), 'single_click');
    assert.equal(eventName('waterLeak'), 'water_leak');
    assert.equal(eventName('open'), 'open');
  });

  it('without sinceId answers a baseline; then each new event once, oldest first', async () => {
    const base = await dev.getEvents('Sofa Button');
    assert.deepEqual(base.events, []);
    simulateHubEvent(model(), 'Sofa Button', 'singleClick');
    simulateHubEvent(model(), 'Sofa Button', 'rotation', { degrees: -45 });
    const r = await dev.getEvents('Sofa Button', { sinceId: base.lastId });
    assert.deepEqual(
      r.events.map((e) => [e.event, e.degrees, e.child, e.model]),
      [
        ['single_click', undefined, 'Sofa Button', 'S200B'],
        ['rotation', -45, 'Sofa Button', 'S200B'],
      ],
    );
    assert.ok(r.events.every((e) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/.test(e.at)));
    assert.equal(r.lastId, base.lastId + 2);
    assert.deepEqual((await dev.getEvents('Sofa Button', { sinceId: r.lastId })).events, []);
  });

  it('pages back through many events and sees motion, contact and water leak', async () => {
    const before = (await dev.getEvents('Hallway Motion')).lastId;
    for (let i = 0; i < 23; i++) simulateHubEvent(model(), 'Hallway Motion', 'motion');
    const r = await dev.getEvents('Hallway Motion', { sinceId: before, pageSize: 5, maxPages: 10 });
    assert.equal(r.events.length, 23);
    assert.deepEqual(
      r.events.map((e) => e.id),
      Array.from({ length: 23 }, (_, i) => before + 1 + i),
    );
    simulateHubEvent(model(), 'Front Door', 'open');
    simulateHubEvent(model(), 'Front Door', 'close');
    assert.deepEqual(
      (await dev.getEvents('Front Door', { sinceId: 0 })).events.map((e) => e.event),
      ['open', 'close'],
    );
    simulateHubEvent(model(), 'Under Sink', 'waterLeak');
    assert.deepEqual(
      (await dev.getEvents('Under Sink', { sinceId: 0 })).events.map((e) => e.event),
      ['water_leak'],
    );
    assert.equal((await dev.getState()).children!.find((c) => c.alias === 'Under Sink')!.detected, true);
  });

  it('treats a reset log (newest id below sinceId) as all new', async () => {
    const r = await dev.getEvents('Front Door', { sinceId: 1000 });
    assert.deepEqual(
      r.events.map((e) => e.event),
      ['open', 'close'],
    );
  });

  it('refuses bad options and children that cannot report', async () => {
    await assert.rejects(dev.getEvents('Sofa Button', { sinceId: -1 }), isCode('EBADINPUT'));
    await assert.rejects(dev.getEvents('Sofa Button', { pageSize: 0 }), isCode('EBADINPUT'));
    await assert.rejects(dev.getEvents('Nobody'), isCode('ENOTFOUND'));
    assert.throws(() => simulateHubEvent(model(), 'Front Door', 'rotation'), /cannot report/);
  });

  it('ignores malformed logs (hostile answers)', async () => {
    const child = { id: 'X', alias: 'X' } as ChildState;
    const r = await readHubEvents(
      async () => ({
        start_id: 3,
        logs: [
          { id: 3, event: 'singleClick', timestamp: 1_700_000_000 },
          { id: 'x' },
          null,
          { id: 2, event: '', timestamp: 1 },
          { id: 1, event: 'motion', timestamp: -5 },
        ],
      }),
      child,
      { sinceId: 0 },
    );
    assert.deepEqual(
      r.value.events.map((e) => e.id),
      [3],
    );
  });

  it('a Kasa device reports no events', async () => {
    const kasa = await startSimulatedDevice('hs300', { host: `${randomBase()}.2` });
    const d = await connect({ host: kasa.host, port: kasa.port, transport: 'xor' });
    try {
      await assert.rejects(d.getEvents(0), isCode('EUNSUPPORTED'));
      await assert.rejects(d.getPowerHistory(), isCode('EUNSUPPORTED'));
    } finally {
      await d.close();
      await kasa.close();
    }
  });
});

describe('energy history: 5-minute power and hourly energy', function () {
  this.timeout(20000);
  let sim: SimulatedDevice;
  let dev: Device;
  before(async () => {
    sim = await startSimulatedDevice('p110', { host: `${randomBase()}.3`, credentials });
    dev = await connect({ host: sim.host, port: sim.port, transport: 'klap', credentials });
  });
  after(async () => {
    await dev?.close();
    await sim?.close();
  });

  it('power history of a P110 at 5-minute steps: ISO timestamps 5 minutes apart, powerW', async () => {
    const end = Date.now();
    const h = await dev.getPowerHistory({ intervalMin: 5, start: end - 3_600_000, end });
    assert.equal(h.intervalMin, 5);
    assert.ok(h.entries.length >= 12 && h.entries.length <= 13, String(h.entries.length));
    for (const [i, e] of h.entries.entries()) {
      assert.deepEqual(Object.keys(e), ['at', 'powerW']);
      assert.match(e.at, /^\d{4}-\d\d-\d\dT\d\d:\d[05]:00\.000Z$/);
      assert.ok(e.powerW >= 0);
      if (i) assert.equal(Date.parse(e.at) - Date.parse(h.entries[i - 1]!.at), 300_000);
    }
    assert.ok(h.entries.some((e) => e.powerW > 0));
  });

  it('hourly power and energy by hour with kWh', async () => {
    const p = await dev.getPowerHistory({ intervalMin: 60 });
    assert.ok(p.entries.length >= 24 && p.entries.every((e) => /T\d\d:00:00\.000Z$/.test(e.at)));
    const h = await dev.getEnergyHistory('hour', { start: new Date(Date.now() - 6 * 3_600_000) });
    assert.equal(h.period, 'hour');
    assert.ok(h.entries.length >= 6 && h.entries.length <= 7, String(h.entries.length));
    for (const e of h.entries) {
      assert.deepEqual(Object.keys(e), ['at', 'kWh']);
      assert.match(e.at, /T\d\d:00:00\.000Z$/);
    }
    // the day/month contract is unchanged
    const d = await dev.getEnergyHistory('day');
    assert.equal(d.period, 'day');
    assert.match(d.entries[0]!.date, /^\d{4}-\d\d-\d\d$/);
  });

  it('refuses bad ranges and intervals', async () => {
    await assert.rejects(dev.getPowerHistory({ intervalMin: 15 as 5 }), isCode('EBADINPUT'));
    await assert.rejects(dev.getPowerHistory({ start: 'yesterday' }), isCode('EBADINPUT'));
    await assert.rejects(dev.getPowerHistory({ start: Date.now(), end: Date.now() - 3_600_000 }), isCode('EBADINPUT'));
    await assert.rejects(dev.getPowerHistory({ start: Date.now() - 30 * 86_400_000 }), isCode('EBADINPUT'));
  });

  it('a SMART device without a meter has no power history', async () => {
    const bulb = await startSimulatedDevice('l530', { host: `${randomBase()}.4`, credentials });
    const d = await connect({ host: bulb.host, port: bulb.port, transport: 'klap', credentials });
    try {
      await assert.rejects(d.getPowerHistory(), isCode('EUNSUPPORTED'));
      await assert.rejects(d.getEnergyHistory('hour'), isCode('EUNSUPPORTED'));
    } finally {
      await d.close();
      await bulb.close();
    }
  });
});

describe('energy history: Kasa day and month statistics (emeter v1 and v2) and Tapo months', function () {
  this.timeout(20000);
  for (const id of ['hs110v1', 'kp115', 'kp125m']) {
    it(`${id}: days of this month and months of this year, dates and kWh`, async () => {
      const sim = await startSimulatedDevice(id, { host: `${randomBase()}.5`, credentials });
      const dev = await connect({ host: sim.host, port: sim.port, transport: sim.transport as 'xor', credentials });
      try {
        const now = new Date();
        const days = await dev.getEnergyHistory('day');
        assert.equal(days.period, 'day');
        assert.ok(days.entries.length >= 1 && days.entries.every((e) => /^\d{4}-\d\d-\d\d$/.test(e.date) && e.kWh >= 0));
        const months = await dev.getEnergyHistory('month', { year: now.getFullYear() });
        assert.ok(
          months.entries.some((e) => e.date === `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`),
          JSON.stringify(months),
        );
        if (id !== 'kp125m') await assert.rejects(dev.getEnergyHistory('hour'), isCode('EUNSUPPORTED'));
      } finally {
        await dev.close();
        await sim.close();
      }
    });
  }
});
