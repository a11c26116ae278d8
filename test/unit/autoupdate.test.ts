/**
 * Automatic firmware updates: read and switch the setting on a simulated Tapo plug (directly and
 * through the pool), the whole window sent back on a change, EUNSUPPORTED on a Kasa plug, and the
 * tplink-action payload forms.
 */
import { strict as assert } from 'node:assert';
import { connect } from '../../src/connect';
import { autoUpdateOf } from '../../src/device/autoupdate';
import { KasaTapoError } from '../../src/errors';
import { Pool } from '../../src/pool';
import { SmartDeviceModel, getProfile, startSimulatedDevice } from '../../src/simulator/index';
import { countdownCommand, countdownStatus } from '../../nodes/lib/countdown';
import { randomBase } from '../helpers/net';

const creds = { username: 'auto@example.com', password: 'auto-update-pw' };
const isCode = (code: string, re?: RegExp) => (e: unknown) => e instanceof KasaTapoError && e.code === code && (!re || re.test(e.message));

describe('automatic firmware updates', function () {
  this.timeout(20000);

  it('reads and switches the setting of a Tapo plug, keeping its window', async () => {
    const sim = await startSimulatedDevice('p110', { host: `${randomBase()}.1`, credentials: creds });
    const dev = await connect({ host: sim.host, port: sim.port, transport: 'klap', credentials: creds });
    try {
      assert.deepEqual(await dev.getAutoUpdate(), { autoUpdate: true, time: '03:00', randomMinutes: 120 });
      assert.deepEqual(await dev.setAutoUpdate(false), { autoUpdate: false, time: '03:00', randomMinutes: 120 });
      assert.deepEqual(await dev.getAutoUpdate(), { autoUpdate: false, time: '03:00', randomMinutes: 120 });
      // The device's own answer, as a raw read sees it.
      assert.deepEqual(await dev.raw({ method: 'get_auto_update_info' }), { error_code: 0, result: { enable: false, time: 180, random_range: 120 } });
      assert.equal((await dev.setAutoUpdate(true)).autoUpdate, true);
      await assert.rejects(dev.setAutoUpdate('no' as unknown as boolean), isCode('EBADINPUT', /autoUpdate must be true or false/));
      // withRaw's view forwards it too (the nodes use that view).
      const r = await dev.withRaw((d) => d.getAutoUpdate!());
      assert.equal(r.value.autoUpdate, true);
    } finally {
      await dev.close();
      await sim.close();
    }
  });

  it('the simulated firmware wants the whole window in set_auto_update_info', () => {
    const m = new SmartDeviceModel(getProfile('p110'));
    const ask = (req: unknown) => JSON.parse(m.handle(JSON.stringify(req))) as { error_code: number; result?: unknown };
    assert.notEqual(ask({ method: 'set_auto_update_info', params: { enable: false } }).error_code, 0);
    assert.equal(ask({ method: 'set_auto_update_info', params: { enable: false, time: 120, random_range: 60 } }).error_code, 0);
    assert.deepEqual(ask({ method: 'get_auto_update_info' }).result, { enable: false, time: 120, random_range: 60 });
  });

  it('through the pool, and EUNSUPPORTED with a clear message on a Kasa plug', async () => {
    const base = randomBase();
    const p110 = await startSimulatedDevice('p110', { host: `${base}.2`, credentials: creds });
    const hs100 = await startSimulatedDevice('hs100', { host: `${base}.3` });
    const pool = new Pool({ credentials: creds, retries: 0 });
    try {
      const d = pool.device({ host: p110.host, port: p110.port, transport: 'klap' });
      assert.equal((await d.setAutoUpdate(false)).autoUpdate, false);
      assert.equal((await d.getAutoUpdate()).autoUpdate, false);
      d.release();
      const k = pool.device({ host: hs100.host, port: hs100.port, transport: 'xor' });
      await assert.rejects(k.getAutoUpdate(), isCode('EUNSUPPORTED', /HS100 has no automatic firmware update setting/));
      await assert.rejects(k.setAutoUpdate(false), isCode('EUNSUPPORTED'));
      k.release();
    } finally {
      await pool.close();
      await p110.close();
      await hs100.close();
    }
  });

  it('normalises the answer shape', () => {
    assert.deepEqual(autoUpdateOf({ enable: true, time: 0, random_range: 0 }), { autoUpdate: true, time: '00:00', randomMinutes: 0 });
    assert.deepEqual(autoUpdateOf({ enable: 0 }), { autoUpdate: false });
    assert.deepEqual(autoUpdateOf({ enable: false, time: 5000, random_range: -1 }), { autoUpdate: false });
    assert.equal(autoUpdateOf({ time: 180 }), undefined);
    assert.equal(autoUpdateOf(null), undefined);
  });

  it('tplink-action payload forms {autoUpdate} and "autoUpdate"', () => {
    assert.deepEqual(countdownCommand({ autoUpdate: false }), { op: 'autoUpdate', on: false });
    assert.deepEqual(countdownCommand({ autoUpdate: 'get' }), { op: 'autoUpdate' });
    assert.deepEqual(countdownCommand('autoUpdate'), { op: 'autoUpdate' });
    assert.deepEqual(countdownCommand(' auto-update '), { op: 'autoUpdate' });
    assert.equal(countdownCommand('on'), undefined);
    assert.throws(() => countdownCommand({ autoUpdate: 'off' }), /autoUpdate must be true, false or "get"/);
    assert.throws(() => countdownCommand({ autoUpdate: true, on: true }), /stand alone/);
    assert.equal(countdownStatus({ autoUpdate: false }).text, 'auto-update off');
    assert.equal(countdownStatus({ autoUpdate: true, time: '03:00' }).text, 'auto-update on');
  });
});
