/**
 * Guided fixes (src/fixes.ts) in the library's errors, one test per row, end to end against the
 * simulator: Third-Party Compatibility off (KLAP handshake 403), a Kasa device on KLAP v2 refusing
 * the account, a TPAP login refused (names the credential transform), a device locking logins, a
 * port closed until a wake-up probe (woke / still unreachable), a cloud account with two-factor
 * verification. The table itself: one sentence per row, never a credential, and the lockout time
 * as a clock time. (test/nodes/fixes.test.ts shows the same sentences in status, Catch, Test, Scan.)
 */
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cloudLogin } from '../../src/cloud';
import { connect } from '../../src/connect';
import { FIXES, clockTime, fixFor, type FixId } from '../../src/fixes';
import { startSimulatedCloud, startSimulatedDevice } from '../../src/simulator/index';
import { randomBase } from '../helpers/net';
import { failure } from '../helpers/failure';

const creds = { username: 'fixes@example.com', password: 'fixes-secret-pw' };

describe('guided fixes in the library errors', function () {
  this.timeout(30000);

  it('the table has one non-empty sentence per row, and none quotes a credential', () => {
    const ids: FixId[] = [
      'third-party',
      'klap-v2-iot',
      'tpap-credentials',
      'locked',
      'woke',
      'unreachable',
      'two-factor',
      'protocol-changed',
      'no-password',
      'no-credentials',
    ];
    assert.deepEqual(Object.keys(FIXES).sort(), [...ids].sort());
    for (const id of ids) {
      const s = fixFor(id, { host: '127.0.0.1', port: 80, until: Date.now() + 60000, transform: 'password_shadow 2' });
      assert.ok(s.length > 40 && s.length < 400, `${id}: ${s}`);
      assert.ok(!s.includes(creds.password) && !/[\r\n]/.test(s), id);
    }
    const at = new Date();
    at.setHours(14, 32, 0, 0);
    assert.equal(clockTime(at.getTime(), at.getTime()), '14:32');
    assert.match(fixFor('locked', { until: at.getTime() }), /^Login blocked until \d\d:\d\d/);
    assert.match(fixFor('tpap-credentials', { transform: 'password_shadow 2' }), /"password_shadow 2" credential transform/);
    assert.match(fixFor('tpap-credentials', { transform: 'none' }), /plain e-mail and password/);
  });

  it('third-party: a KLAP handshake refused with HTTP 403 carries the Third-Party Compatibility fix', async () => {
    const sim = await startSimulatedDevice('p110', { host: `${randomBase()}.1`, credentials: creds, faults: { forbidHandshake: true } });
    try {
      const e = await failure(connect({ host: sim.host, port: sim.port, transport: 'klap', credentials: creds, retries: 0 }));
      assert.equal(e.code, 'EAUTH');
      assert.equal(e.fix, 'third-party');
      assert.equal(e.hint, fixFor('third-party'));
      assert.ok(e.message.endsWith(fixFor('third-party')), e.message);
    } finally {
      await sim.close();
    }
  });

  it('tpap-credentials: a refused TPAP login names the credential transform tried', async () => {
    const base = randomBase();
    const plain = await startSimulatedDevice('p110tpap', { host: `${base}.2`, credentials: creds });
    const shadow = await startSimulatedDevice('kp125mtpap', { host: `${base}.3`, credentials: creds });
    const wrong = { username: creds.username, password: 'not-the-password' };
    try {
      const a = await failure(connect({ host: plain.host, port: plain.port, transport: 'tpap', credentials: wrong, retries: 0 }));
      assert.equal(a.code, 'EAUTH');
      assert.equal(a.fix, 'tpap-credentials');
      assert.equal(a.hint, fixFor('tpap-credentials', { transform: 'none' }));
      const b = await failure(connect({ host: shadow.host, port: shadow.port, transport: 'tpap', credentials: wrong, retries: 0 }));
      assert.equal(b.fix, 'tpap-credentials');
      assert.equal(b.hint, fixFor('tpap-credentials', { transform: 'password_shadow 2' }));
      assert.ok(b.message.includes('"password_shadow 2" credential transform'), b.message);
      assert.ok(!a.message.includes(wrong.password) && !b.message.includes(wrong.password));
    } finally {
      await plain.close();
      await shadow.close();
    }
  });

  it('klap-v2-iot: a Kasa plug on KLAP v2 (lv 2, new_klap) that refuses the account', async () => {
    const sim = await startSimulatedDevice('hs103klap2', { host: `${randomBase()}.4`, credentials: creds, discovery: true });
    try {
      const wrong = { username: creds.username, password: 'not-the-password' };
      const e = await failure(connect({ host: sim.host, credentials: wrong, retries: 0 }));
      assert.equal(e.code, 'EAUTH');
      assert.equal(e.fix, 'klap-v2-iot');
      assert.equal(e.hint, fixFor('klap-v2-iot'));
    } finally {
      await sim.close();
    }
  });

  it('locked: a device that blocks logins (-40404 with sec_left) → ELOCKED until the time it gave', async () => {
    const until = Date.now() + 20 * 60_000;
    const sim = await startSimulatedDevice('p110aes', { host: `${randomBase()}.5`, credentials: creds, faults: { lockedUntil: until } });
    try {
      const e = await failure(connect({ host: sim.host, port: sim.port, transport: 'aes', loginVersion: 2, credentials: creds, retries: 0 }));
      assert.equal(e.code, 'ELOCKED');
      assert.equal(e.fix, 'locked');
      assert.ok(e.until !== undefined && Math.abs(e.until - until) < 5000, String(e.until));
      assert.equal(e.hint, fixFor('locked', { until: e.until }));
      assert.match(e.message, /Login blocked until (\d{4}-\d\d-\d\d )?\d\d:\d\d/); // the date when it is tomorrow
    } finally {
      await sim.close();
    }
  });

  it('woke / unreachable: a port closed until a UDP 20002 probe; one that stays closed', async () => {
    const base = randomBase();
    const sleepy = await startSimulatedDevice('p110', {
      host: `${base}.6`,
      credentials: creds,
      discovery: true,
      faults: { sleepUntilProbed: true, wakeDelayMs: 100 },
    });
    const shut = await startSimulatedDevice('p110', { host: `${base}.7`, credentials: creds, faults: { refuse: true } });
    const info: string[] = [];
    const logger = { info: (m: string) => info.push(m), warn: () => undefined, debug: () => undefined, error: () => undefined };
    try {
      const dev = await connect({ host: sleepy.host, port: sleepy.port, transport: 'klap', credentials: creds, logger });
      await dev.close();
      assert.ok(
        info.some((m) => m.endsWith(fixFor('woke', { port: sleepy.port }))),
        info.join('\n'),
      );
      const e = await failure(connect({ host: shut.host, port: shut.port, transport: 'klap', credentials: creds, retries: 0 }));
      assert.equal(e.code, 'ECONNREFUSED');
      assert.equal(e.fix, 'unreachable');
      assert.equal(e.hint, fixFor('unreachable', { port: shut.port }));
    } finally {
      await sleepy.close();
      await shut.close();
    }
  });

  it('two-factor: the simulated cloud asks for a code, the login names the fix (and never the password)', async () => {
    const cloud = await startSimulatedCloud({ host: '127.0.0.1', credentials: creds, devices: [], twoFactor: true });
    try {
      const e = await failure(cloudLogin({ ...creds, baseUrl: cloud.url }));
      assert.equal(e.code, 'EAUTH');
      assert.equal(e.deviceCode, -20677);
      assert.equal(e.fix, 'two-factor');
      assert.equal(e.hint, fixFor('two-factor'));
      assert.ok(!e.message.includes(creds.password) && !e.message.includes(creds.username));
      assert.equal(cloud.stats.logins, 0);
      // A wrong password is still a wrong password, not two-factor.
      const w = await failure(cloudLogin({ username: creds.username, password: 'wrong-pw', baseUrl: cloud.url }));
      assert.equal(w.deviceCode, -20601);
      assert.equal(w.fix, undefined);
    } finally {
      await cloud.close();
    }
  });

  it('two-factor: also when the code hides in result.errorCode, or comes as -23003', async () => {
    const answers = [
      { error_code: 0, result: { errorCode: -20677, mfaType: 'verifyCodeLogin' } },
      { error_code: -23003, msg: 'App version is too old' },
    ];
    let n = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(JSON.stringify(answers[n++ % answers.length])));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (let i = 0; i < answers.length; i++) {
        const e = await failure(cloudLogin({ ...creds, baseUrl: url, timeoutMs: 3000 }));
        assert.equal(e.fix, 'two-factor', e.message);
        assert.equal(e.code, 'EAUTH');
      }
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
