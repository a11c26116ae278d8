/**
 * Child lock where a SMART device has the child_protection component (a P110 profile given that
 * component here; no stock profile advertises it), and EUNSUPPORTED elsewhere.
 */
import { strict as assert } from 'node:assert';
import { connect } from '../../src/connect';
import { KasaTapoError } from '../../src/errors';
import { getProfile, startSimulatedDevice } from '../../src/simulator/index';
import { countdownCommand } from '../../nodes/lib/countdown';
import { randomBase } from '../helpers/net';

const creds = { username: 'lock@example.com', password: 'lock-pw' };
const isCode = (code: string) => (e: unknown) => e instanceof KasaTapoError && e.code === code;

describe('child lock', function () {
  this.timeout(20000);

  it('locks and unlocks a device with child_protection', async () => {
    const p = getProfile('p110');
    p.smart!.components += ' child_protection:1';
    const sim = await startSimulatedDevice(p, { host: `${randomBase()}.1`, credentials: creds });
    const dev = await connect({ host: sim.host, port: sim.port, transport: 'klap', credentials: creds });
    try {
      assert.deepEqual(await dev.getChildLock(), { childLock: false });
      assert.deepEqual(await dev.setChildLock(true), { childLock: true });
      assert.deepEqual(await dev.getChildLock(), { childLock: true });
      assert.deepEqual(await dev.setChildLock(false), { childLock: false });
      await assert.rejects(dev.setChildLock('yes' as unknown as boolean), isCode('EBADINPUT'));
    } finally {
      await dev.close();
      await sim.close();
    }
  });

  it('is EUNSUPPORTED on devices without it (Tapo plug without the component, Kasa plug)', async () => {
    const base = randomBase();
    const p110 = await startSimulatedDevice('p110', { host: `${base}.2`, credentials: creds });
    const hs100 = await startSimulatedDevice('hs100', { host: `${base}.3` });
    try {
      const a = await connect({ host: p110.host, port: p110.port, transport: 'klap', credentials: creds });
      await assert.rejects(a.setChildLock(true), isCode('EUNSUPPORTED'));
      await a.close();
      const b = await connect({ host: hs100.host, port: hs100.port, transport: 'xor' });
      await assert.rejects(b.getChildLock(), isCode('EUNSUPPORTED'));
      await b.close();
    } finally {
      await p110.close();
      await hs100.close();
    }
  });

  it('tplink-action payload form {childLock}', () => {
    assert.deepEqual(countdownCommand({ childLock: true }), { op: 'childLock', on: true });
    assert.deepEqual(countdownCommand({ childLock: 'get' }), { op: 'childLock' });
    assert.throws(() => countdownCommand({ childLock: 1 }), /childLock/);
    assert.throws(() => countdownCommand({ childLock: true, on: true }), /stand alone/);
  });
});
