/**
 * Countdown timers ("off in 10 minutes") through the library, tplink-action's payload form and the
 * CLI, against simulated Tapo (KLAP, with a strip outlet) and Kasa (XOR) devices.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { connect } from '../../src/connect';
import { KasaTapoError } from '../../src/errors';
import { startSimulatedHome, type SimulatedHome, type SmartDeviceModel } from '../../src/simulator/index';
import { countdownCommand } from '../../nodes/lib/countdown';
import { randomBase } from '../helpers/net';

const creds = { username: 'countdown@example.com', password: 'countdown-pw' };
const isCode = (code: string) => (e: unknown) => e instanceof KasaTapoError && e.code === code;

describe('countdown timers', function () {
  this.timeout(20000);
  let home: SimulatedHome;
  const open = (id: string) => {
    const d = home.device(id)!;
    return connect({ host: d.host, port: d.port, transport: d.transport as 'klap', credentials: creds });
  };
  before(async () => {
    home = await startSimulatedHome({
      baseAddress: randomBase(),
      profiles: ['p110', 'p304m', 'hs100', 'kl130', 'l530'],
      standardPorts: false,
      discovery: false,
      credentials: creds,
    });
  });
  after(async () => {
    await home?.close();
  });

  it('Tapo: set, read and clear "off in 10 minutes"', async () => {
    const dev = await open('p110');
    try {
      assert.deepEqual(await dev.getCountdown(), { active: false });
      const c = await dev.setCountdown({ on: false, minutes: 10 });
      assert.equal(c.active, true);
      assert.equal(c.on, false);
      assert.equal(c.delayS, 600);
      assert.ok(c.remainS! <= 600 && c.remainS! >= 590);
      assert.deepEqual(await dev.clearCountdown(), { active: false });
    } finally {
      await dev.close();
    }
  });

  it('Tapo: the simulated device switches when the countdown ends', async () => {
    const dev = await open('p110');
    try {
      await dev.setState({ on: true });
      await dev.setCountdown({ on: false, delayS: 1 });
      const model = home.device('p110')!.model as SmartDeviceModel;
      const t0 = Date.now();
      while (model.root.state.on && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
      assert.equal((await dev.getState()).on, false);
      assert.deepEqual(await dev.getCountdown(), { active: false });
    } finally {
      await dev.close();
    }
  });

  it('Kasa: the simulated plug switches when the countdown ends', async () => {
    const dev = await open('hs100');
    try {
      await dev.setState({ on: false });
      const c = await dev.setCountdown({ on: true, delayS: 1 });
      assert.ok(c.remainS! <= 1);
      const t0 = Date.now();
      while (!(await dev.getState()).on && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 100));
      assert.equal((await dev.getState()).on, true);
      assert.deepEqual(await dev.getCountdown(), { active: false });
    } finally {
      await dev.close();
    }
  });

  it('Tapo strip outlet and Kasa plug', async () => {
    const strip = await open('p304m');
    try {
      const c = await strip.setCountdown({ on: true, minutes: 5 }, 'Printer');
      assert.deepEqual([c.active, c.on, c.delayS], [true, true, 300]);
      assert.deepEqual(await strip.getCountdown(0), { active: false });
    } finally {
      await strip.close();
    }
    const kasa = await open('hs100');
    try {
      const c = await kasa.setCountdown({ on: false, minutes: 2 });
      assert.deepEqual([c.active, c.on, c.delayS], [true, false, 120]);
      assert.equal((await kasa.setCountdown({ on: true, minutes: 1 })).delayS, 60); // replaces
      assert.deepEqual(await kasa.clearCountdown(), { active: false });
    } finally {
      await kasa.close();
    }
  });

  it('bad specs and devices without a countdown', async () => {
    const dev = await open('p110');
    try {
      await assert.rejects(dev.setCountdown({ on: false, minutes: 0 }), isCode('EBADINPUT'));
      await assert.rejects(dev.setCountdown({ on: 'no' as unknown as boolean, minutes: 1 }), isCode('EBADINPUT'));
      await assert.rejects(dev.setCountdown({ on: false, delayS: 90000 }), isCode('EBADINPUT'));
    } finally {
      await dev.close();
    }
    const bulb = await open('kl130');
    try {
      await assert.rejects(bulb.setCountdown({ on: false, minutes: 1 }), isCode('EUNSUPPORTED'));
    } finally {
      await bulb.close();
    }
  });

  it('tplink-action payload form', () => {
    assert.deepEqual(countdownCommand({ countdown: { on: false, minutes: 10 } }), { op: 'set', spec: { on: false, minutes: 10 } });
    assert.deepEqual(countdownCommand({ countdown: 'clear' }), { op: 'clear' });
    assert.deepEqual(countdownCommand({ countdown: 'get' }), { op: 'get' });
    assert.equal(countdownCommand({ on: true }), undefined);
    assert.throws(() => countdownCommand({ countdown: { minutes: 3 } }), /countdown.on/);
    assert.throws(() => countdownCommand({ countdown: 'later' }), /countdown/);
  });

  it('CLI: off-in 10 and countdown-clear', async () => {
    const d = home.device('p110')!;
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        const env = { ...process.env, KASA_TAPO_USERNAME: creds.username, KASA_TAPO_PASSWORD: creds.password, HOME: '/nonexistent-kasa-tapo-home' };
        execFile(
          process.execPath,
          [path.join(__dirname, '../../src/cli.js'), '--host', d.host, '--port', String(d.port), '--transport', 'klap', ...args],
          { env, timeout: 15000 },
          (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
        );
      });
    let r = await run(['off-in', '10']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Dishwasher switches off in 10 min/);
    r = await run(['countdown-clear']);
    assert.match(r.stdout, /^Dishwasher: no countdown/);
    r = await run(['off-in']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /EBADINPUT/);
  });
});
