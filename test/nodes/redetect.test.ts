/**
 * In Node-RED: a device switched from KLAP to TPAP and back (a firmware
 * update, the Third-Party Compatibility toggle) while a tplink-state node polls it every second.
 * Polling answers again within 2 polls each time, with no redeploy, and the node sends one
 * `protocol-changed` message each way (its "also send protocol and firmware changes" option).
 */
import { strict as assert } from 'node:assert';
import { clearRouteCache } from '../../src/connect';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator/index';
import { randomBase } from '../helpers/net';
import { CREDS, NODES, collect, helper, poolNode, until, type Msg } from './support';

describe('tplink-state: a device that changes protocol while polled', function () {
  this.timeout(60000);
  let dev: SimulatedDevice | undefined;

  afterEach(async () => {
    await helper.unload();
    await dev?.close();
    clearRouteCache();
  });

  it('KLAP → TPAP → KLAP, polled every second: follows the upgrade within 2 polls; the way back after Test → Accept the change', async () => {
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

    let before = out.length;
    let failedBefore = caught.length;
    await dev.switchTransport('tpap');
    await until(() => states(before).some((m) => m.payload.protocol === 'tpap'), 15000, 'a reading over tpap');
    // Within 2 polls: at most one poll failed (to Catch) before the first reading over TPAP.
    const failed = caught.slice(failedBefore).map((m) => String(m.error?.code ?? m.error?.message));
    assert.ok(failed.length <= 1, `polls failed after the switch: ${failed.join(', ')}`);
    assert.equal(states(before)[0]!.payload.protocol, 'tpap', 'the first reading after the switch is over tpap');
    assert.deepEqual(changes().at(-1)!.payload, { host: dev.host, from: 'klap', to: 'tpap' });

    // Back to KLAP: weaker than what the device proved, so not followed (an impostor could say the same).
    before = out.length;
    failedBefore = caught.length;
    await dev.switchTransport('klap');
    await until(() => caught.length >= failedBefore + 1 && changes().length >= 2, 15000, 'a refused poll');
    assert.ok(
      caught.slice(failedBefore).every((m) => m.error?.code === 'ENOTTRUSTED'),
      JSON.stringify(caught.slice(failedBefore).map((m) => m.error)),
    );
    const refused = changes().at(-1)!.payload;
    assert.equal(refused.to, 'klap');
    assert.equal(refused.error.code, 'ENOTTRUSTED');
    assert.equal(refused.error.fix, 'protocol-changed');
    assert.equal(states(before).length, 0, 'no reading over klap before the user accepts');
    // The user presses Test beside the device and accepts the change: readings resume over KLAP.
    const t = await helper.request().post('/tplink-pool/test').send({ id: 'pool', host: dev.host, transport: 'auto', acceptChange: true }).expect(200);
    assert.equal(t.body.ok, true, JSON.stringify(t.body));
    await until(() => states(before).some((m) => m.payload.protocol === 'klap'), 15000, 'a reading over klap');
    assert.equal(changes().length, 3, JSON.stringify(changes().map((m) => m.payload)));
  });
});
