/**
 * Issue 13, done-when 2, in Node-RED: a device switched from KLAP to TPAP and back (a firmware
 * update, the Third-Party Compatibility toggle) while a tplink-state node polls it every second.
 * Polling answers again within 2 polls each time, with no redeploy, and the node sends one
 * `protocol-changed` message each way (its "also send protocol and firmware changes" option).
 */
import { strict as assert } from 'node:assert';
import { clearRouteCache } from '../../src/connect';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator/index';
import { randomBase } from '../helpers/net';
import { CREDS, NODES, collect, helper, poolNode, until, type Msg } from './support';

describe('tplink-state: a device that changes protocol while polled (issue 13)', function () {
  this.timeout(60000);
  let dev: SimulatedDevice | undefined;

  afterEach(async () => {
    await helper.unload();
    await dev?.close();
    clearRouteCache();
  });

  it('KLAP → TPAP → KLAP, polled every second: answers within 2 polls of each switch, one protocol-changed each way', async () => {
    // Its own address with discovery on, as on a home network: the pool finds it by unicast discovery.
    dev = await startSimulatedDevice('p110', { host: `${randomBase()}.1`, credentials: CREDS, discovery: true });
    await helper.load(
      NODES,
      [
        poolNode([{ alias: 'heater', host: dev.host }], { timeout: 3000 }),
        { id: 'st', type: 'tplink-state', pool: 'pool', device: 'heater', mode: 'poll', interval: 1, changes: true, wires: [['out']] },
        { id: 'out', type: 'helper' },
        { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', type: 'helper' },
      ],
      { pool: { ...CREDS } },
    );
    const out = collect(helper.getNode('out')!);
    const caught = collect(helper.getNode('caught')!);
    const states = (from: number): Msg[] => out.slice(from).filter((m) => m.topic !== 'protocol-changed' && m.payload && typeof m.payload.on === 'boolean');
    const changes = (): Msg[] => out.filter((m) => m.topic === 'protocol-changed');
    await until(() => states(0).length >= 2, 15000, 'the first two readings');
    assert.equal(states(0).at(-1)!.payload.protocol, 'klap');

    for (const [from, to] of [
      ['klap', 'tpap'],
      ['tpap', 'klap'],
    ] as const) {
      const before = out.length;
      const failedBefore = caught.length;
      await dev.switchTransport(to);
      await until(() => states(before).some((m) => m.payload.protocol === to), 15000, `a reading over ${to}`);
      // Within 2 polls: at most one poll failed (to Catch) before the first reading over `to`.
      const failed = caught.slice(failedBefore).map((m) => String(m.error?.code ?? m.error?.message));
      assert.ok(failed.length <= 1, `polls failed after the switch: ${failed.join(', ')}`);
      assert.equal(states(before)[0]!.payload.protocol, to, `the first reading after the switch is over ${to}`);
      assert.deepEqual(changes().at(-1)!.payload, { host: dev.host, from, to });
    }
    assert.equal(changes().length, 2, JSON.stringify(changes().map((m) => m.payload)));
  });
});
