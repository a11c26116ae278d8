/**
 * What a newcomer meets first, through node-red-node-test-helper against simulated devices: a pool
 * without credentials says so (not "rejected the credentials"), an empty pool says its list is
 * empty, a malformed action payload is refused before any connection (EBADINPUT, no login spent),
 * and one failure shows one status change per node.
 */
import { strict as assert } from 'node:assert';
import { Pool } from '../../src/index';
import type { SimulatedDevice } from '../../src/simulator/index';
import { NODES, collect, deviceEntry, helper, poolCreds, poolNode, startDevices, statuses, until, type Msg } from './support';

describe('the first hour: clear errors before and without a login', function () {
  this.timeout(30000);
  let devs: SimulatedDevice[];
  let p110: SimulatedDevice, hs100: SimulatedDevice;

  before(async () => {
    devs = await startDevices(['p110', 'hs100']);
    [p110, hs100] = devs as [SimulatedDevice, SimulatedDevice];
  });
  after(async () => {
    await helper.unload();
    await Promise.all(devs.map((d) => d.close()));
  });

  async function flow(devices: unknown[], action: Record<string, unknown>, creds: unknown = poolCreds) {
    await helper.unload();
    await helper.load(
      NODES,
      [
        poolNode(devices),
        {
          id: 'a',
          type: 'tplink-action',
          pool: 'pool',
          device: 'tapo plug',
          child: '',
          action: 'payload',
          value: '',
          valueType: 'str',
          wires: [['out']],
          ...action,
        },
        { id: 'out', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ],
      creds,
    );
    const a = helper.getNode('a')!;
    return { a, seen: statuses(a), out: collect(helper.getNode('out')!), caught: collect(helper.getNode('caught')!) };
  }

  it('a pool without credentials: "no credentials are set in the pool", once on the status', async () => {
    const { a, seen, caught } = await flow([deviceEntry(p110, 'tapo plug')], {}, {});
    a.receive({ payload: true });
    await until(() => caught.length === 1, 10_000, 'the error');
    const err = caught[0]!.error as Msg;
    assert.equal(err.code, 'EAUTH');
    assert.match(err.message, /no credentials are set in the pool/);
    assert.doesNotMatch(err.message, /rejected the credentials/);
    await new Promise((r) => setTimeout(r, 200)); // any late status push
    const red = seen.filter((s) => s.fill === 'red');
    assert.equal(red.length, 1, `one red status per failure, saw ${JSON.stringify(seen)}`);
    assert.equal(red[0]!.text, 'no credentials set');
  });

  it('the library: a pool without credentials says so for a device that needs an account', async () => {
    const pool = new Pool({ devices: [{ alias: 'x', host: p110.host, port: p110.port, transport: 'klap' }], timeoutMs: 2000, retries: 0 });
    const d = pool.device('x');
    try {
      await assert.rejects(d.getState(), (e: Error & { code?: string; fix?: string }) => {
        assert.equal(e.code, 'EAUTH');
        assert.equal(e.fix, 'no-credentials');
        assert.match(e.message, /no credentials are set in the pool/);
        return true;
      });
    } finally {
      d.release();
      await pool.close();
    }
  });

  it('the library: a malformed patch is refused before the pool connects', async () => {
    const pool = new Pool({ devices: [{ alias: 'x', host: p110.host, port: p110.port, transport: 'klap' }], timeoutMs: 2000, retries: 0 });
    const connections = p110.stats.connections;
    const d = pool.device('x');
    try {
      await assert.rejects(d.setState({ brightness: 400 }), { code: 'EBADINPUT' });
      await assert.rejects(d.toggle(undefined, { transition: -1 }), { code: 'EBADINPUT' });
      assert.equal(p110.stats.connections, connections);
    } finally {
      d.release();
      await pool.close();
    }
  });

  it('an empty pool: says the device list is empty, not just "Unknown device"', async () => {
    const { a, caught } = await flow([], { device: 'Tapo plug 2' });
    a.receive({ payload: true });
    await until(() => caught.length === 1, 10_000, 'the error');
    const err = caught[0]!.error as Msg;
    assert.equal(err.code, 'ENOTFOUND');
    assert.match(err.message, /device list is empty/);
  });

  for (const [what, payload] of [
    ['an out-of-range brightness', { brightness: 400 }],
    ['a wrongly typed on', { on: 'yes' }],
    ['a colour temperature with a colour', { colorTemp: 2700, color: 'red' }],
    ['a toggle with a bad transition', { on: 'toggle', transition: -5 }],
    ['a countdown of 0 s', { countdown: { on: false, delayS: 0 } }],
  ] as const) {
    it(`${what}: EBADINPUT before any connection (no login spent), one status`, async () => {
      const logins = p110.stats.logins;
      const connections = p110.stats.connections;
      const { a, seen, caught, out } = await flow([deviceEntry(p110, 'tapo plug')], {}, {});
      a.receive({ payload });
      await until(() => caught.length === 1, 10_000, 'the error');
      assert.equal((caught[0]!.error as Msg).code, 'EBADINPUT', (caught[0]!.error as Msg).message);
      assert.equal(out.length, 0);
      assert.equal(p110.stats.logins, logins, 'a login was spent on a bad payload');
      assert.equal(p110.stats.connections, connections, 'connected for a bad payload');
      assert.equal(seen.filter((s) => s.fill === 'red').length, 1, JSON.stringify(seen));
    });
  }

  it('a device that stops answering: one red status per failure', async () => {
    const { a, seen, caught } = await flow([deviceEntry(hs100, 'kasa plug')], { device: 'kasa plug' });
    a.receive({ payload: true });
    await until(() => seen.some((s) => s.fill === 'green' || s.fill === 'grey') || caught.length > 0, 10_000, 'the first answer');
    assert.equal(caught.length, 0);
    hs100.faults.dropConnection = true;
    const before = seen.length;
    a.receive({ payload: false });
    await until(() => caught.length === 1, 10_000, 'the error');
    await new Promise((r) => setTimeout(r, 200));
    const red = seen.slice(before).filter((s) => s.fill === 'red');
    hs100.faults.dropConnection = false;
    assert.equal(red.length, 1, `one red status per failure, saw ${JSON.stringify(seen.slice(before))}`);
  });
});
