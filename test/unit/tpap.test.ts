// The TPAP transport against the simulated TPAP devices (and a few hand-made hostile servers):
// discovery routing, the device API on a plug, a light strip and a Kasa plug with a credential
// transform, each cipher, session expiry, the pool's single handshake, and wrong passwords.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { connect, clearRouteCache } from '../../src/connect';
import { KasaTapoError } from '../../src/errors';
import { Pool } from '../../src/pool';
import { type startSimulatedDevice, type SimulatedDevice } from '../../src/simulator';
import { TpapTransport } from '../../src/transports/tpap';
import type { Credentials } from '../../src/types';
import { randomBase } from '../helpers/net';
import { withSimulatedDevice } from '../helpers/sim';
import { tpapLoginAgainst, tpapAnswers, type TpapAnswers } from '../helpers/fake-tpap';

const credentials: Credentials = { username: 'tpap@example.com', password: 'Tpap-Pass-1' };
const wrong: Credentials = { username: 'tpap@example.com', password: 'not-the-password' };
const isCode = (code: string) => (e: unknown) => e instanceof KasaTapoError && e.code === code;

const withSim = <T>(id: string, body: (sim: SimulatedDevice) => Promise<T>, opts: Parameters<typeof startSimulatedDevice>[1] = {}): Promise<T> =>
  withSimulatedDevice(id, credentials, body, opts);

async function sequential(n: number, fn: (i: number) => Promise<unknown>): Promise<string[]> {
  const errors: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await fn(i);
    } catch (e) {
      errors.push(e instanceof KasaTapoError ? e.code : String(e));
    }
  }
  return errors;
}

describe('TPAP against the simulator', function () {
  this.timeout(60000);
  afterEach(() => clearRouteCache());

  it("'auto' finds TPAP from the 20002 discovery answer", async () => {
    const host = `${randomBase()}.${2 + Math.floor(Math.random() * 200)}`;
    await withSim(
      'p110tpap',
      async (sim) => {
        const d = await connect({ host, credentials, discoveryTimeoutMs: 1500, timeoutMs: 3000 });
        try {
          assert.equal(d.info()?.protocol, 'tpap');
          assert.equal(d.port, sim.port);
          assert.equal((await d.getState()).alias, 'Heater');
          assert.equal(sim.stats.handshakes, 1);
        } finally {
          await d.close();
        }
      },
      { host, discovery: true },
    );
  });

  it("'auto' without discovery probes through to TPAP (the KLAP probe gets 403)", () =>
    withSim('p110tpap', async (sim) => {
      const d = await connect({ host: sim.host, port: sim.port, credentials, timeoutMs: 3000 });
      try {
        assert.equal(d.info()?.protocol, 'tpap');
      } finally {
        await d.close();
      }
    }));

  it('plug (P110 1.4.x): getState, on/off, getEnergy, raw', () =>
    withSim('p110tpap', async (sim) => {
      const d = await connect({ host: sim.host, port: sim.port, transport: 'tpap', credentials });
      try {
        const s = await d.getState();
        assert.equal(s.family, 'plug');
        assert.equal(s.protocol, 'tpap');
        assert.equal(s.model, 'P110');
        assert.equal((await d.setState({ on: true })).on, true);
        assert.equal((await d.setState({ on: false })).on, false);
        const e = await d.getEnergy();
        assert.equal(typeof e.powerW, 'number');
        const raw = (await d.raw({ method: 'get_device_info' })) as { error_code: number; result: { nickname: string } };
        assert.equal(raw.error_code, 0);
        assert.equal(Buffer.from(raw.result.nickname, 'base64').toString(), 'Heater');
        assert.equal(sim.stats.handshakes, 1);
      } finally {
        await d.close();
      }
    }));

  it('light strip (L900): brightness and colour; each cipher the device accepts', async () => {
    for (const cipher of ['aes_128_ccm', 'aes_256_ccm', 'chacha20_poly1305'] as const) {
      await withSim('l900tpap', async (sim) => {
        const d = await connect({
          host: sim.host,
          port: sim.port,
          transport: 'tpap',
          credentials,
          createTransport: (_k, o) => new TpapTransport({ ...o, tpapCiphers: [cipher] }),
        });
        try {
          const s = await d.setState({ on: true, brightness: 42 });
          assert.equal(s.family, 'lightstrip');
          assert.equal(s.brightness, 42);
          const c = await d.setState({ hue: 200, saturation: 55 });
          assert.equal(c.hue, 200);
          assert.equal(c.saturation, 55);
          const off = await d.setState({ on: false });
          assert.equal(off.on, false);
        } finally {
          await d.close();
        }
      });
    }
  });

  it('the device picks its own preference among the offered ciphers', () =>
    withSim('l900tpap', async (sim) => {
      const t = new TpapTransport({ host: sim.host, port: sim.port, credentials, tpapCiphers: ['aes_128_ccm', 'chacha20_poly1305'] });
      try {
        await t.send(JSON.stringify({ method: 'get_device_info' }));
        const session = (t as unknown as { session: { cipher: { cipher: string } } }).session;
        assert.equal(session.cipher.cipher, 'chacha20_poly1305');
      } finally {
        await t.close();
      }
    }));

  it('Kasa KP125M (password_shadow 2): state, switch, energy', () =>
    withSim('kp125mtpap', async (sim) => {
      const d = await connect({ host: sim.host, port: sim.port, transport: 'tpap', credentials });
      try {
        assert.equal((await d.getState()).alias, 'Space Heater');
        assert.equal((await d.setState({ on: true })).on, true);
        assert.equal(typeof (await d.getEnergy()).powerW, 'number');
      } finally {
        await d.close();
      }
    }));

  for (const id of ['p110tpap', 'l900tpap', 'kp125mtpap']) {
    it(`${id}: a wrong password is EAUTH after exactly one login, naming the transform`, () =>
      withSim(id, async (sim) => {
        const t = new TpapTransport({ host: sim.host, port: sim.port, credentials: wrong });
        await assert.rejects(connect({ host: sim.host, port: sim.port, transport: 'tpap', credentials: wrong, createTransport: () => t }), (e: unknown) => {
          assert.ok(e instanceof KasaTapoError);
          assert.equal(e.code, 'EAUTH');
          assert.match(e.message, /credential transform tried: (none|password_shadow 2)/);
          assert.ok(!e.message.includes(wrong.password));
          return true;
        });
        assert.equal(t.logins, 1);
        assert.equal(sim.stats.authFailures, 1);
        assert.equal(sim.stats.handshakes, 0);
      }));
  }

  it('the device bound to another account (wrongCredentials fault): EAUTH, one login', () =>
    withSim('p110tpap', async (sim) => {
      sim.faults.wrongCredentials = true;
      await assert.rejects(connect({ host: sim.host, port: sim.port, transport: 'tpap', credentials }), isCode('EAUTH'));
      assert.equal(sim.stats.authFailures, 1);
    }));

  it('an expired token (unencrypted -2203) is ESESSION at the transport; seq advances on failures too', () =>
    withSim('p110tpap', async (sim) => {
      const t = new TpapTransport({ host: sim.host, port: sim.port, credentials });
      try {
        await t.send('{"method":"get_device_info"}');
        const s = (t as unknown as { session: { seq: number } }).session;
        const before = s.seq;
        sim.expireSessions();
        await assert.rejects(
          t.send('{"method":"get_device_info"}'),
          (e: unknown) => e instanceof KasaTapoError && e.code === 'ESESSION' && e.deviceCode === -2203,
        );
        assert.equal(s.seq, before + 1);
        // The next send logs in again by itself.
        await t.send('{"method":"get_device_info"}');
        assert.equal(t.logins, 2);
      } finally {
        await t.close();
      }
    }));

  it('sessions expiring every 20 requests: 0 errors seen by the caller (device and pool)', () =>
    withSim('p110tpap', async (sim) => {
      sim.faults.expireSessionEvery = 20;
      const d = await connect({ host: sim.host, port: sim.port, transport: 'tpap', credentials });
      try {
        assert.deepEqual(await sequential(200, () => d.getState()), []);
      } finally {
        await d.close();
      }
      assert.ok(sim.stats.handshakes >= 10 && sim.stats.handshakes <= 12, `handshakes ${sim.stats.handshakes}`);
      const pool = new Pool({ credentials, timeoutMs: 3000, backoffMs: 50 });
      try {
        const p = pool.device({ host: sim.host, port: sim.port, transport: 'tpap' });
        assert.deepEqual(await sequential(200, () => p.getState()), []);
        assert.equal(pool.deviceStats({ host: sim.host, port: sim.port })!.errors, 0);
      } finally {
        await pool.close();
      }
    }));

  it('pool: 1,000 requests cost one handshake', () =>
    withSim('p110tpap', async (sim) => {
      const pool = new Pool({ credentials, timeoutMs: 3000 });
      try {
        const d = pool.device({ host: sim.host, port: sim.port, transport: 'tpap' });
        const errors = await sequential(1000, (i) => (i % 2 ? d.getState() : d.raw({ method: 'get_device_info' })));
        assert.deepEqual(errors, []);
        assert.equal(sim.stats.handshakes, 1);
        const s = pool.deviceStats({ host: sim.host, port: sim.port })!;
        assert.equal(s.handshakes, 1);
        assert.equal(s.transport, 'tpap');
      } finally {
        await pool.close();
      }
    }));

  it('pool: a wrong password is one login, EAUTH, and the device shows auth-error', () =>
    withSim('p110tpap', async (sim) => {
      const pool = new Pool({ credentials: wrong, timeoutMs: 3000 });
      try {
        const d = pool.device({ host: sim.host, port: sim.port, transport: 'tpap' });
        await assert.rejects(d.getState(), isCode('EAUTH'));
        assert.equal(sim.stats.authFailures, 1);
      } finally {
        await pool.close();
      }
    }));

  it('CLI: --transport tpap switches the device; --verbose shows the decrypted request and answer', () =>
    withSim('kp125mtpap', async (sim) => {
      const cli = path.join(__dirname, '../../src/cli.js');
      const env = {
        ...process.env,
        KASA_TAPO_USERNAME: credentials.username,
        KASA_TAPO_PASSWORD: credentials.password,
        HOME: path.join(__dirname, 'no-such-home'),
      };
      const r = await new Promise<{ code: unknown; stdout: string; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [cli, '--host', sim.host, '--port', String(sim.port), '--transport', 'tpap', '--verbose', 'on'],
          { env, timeout: 20000 },
          (e, stdout, stderr) => resolve({ code: e ? e.code : 0, stdout, stderr }),
        ),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Space Heater switched on/);
      assert.match(r.stderr, />> \{"method":"multipleRequest"/);
      assert.match(r.stderr, /<< \{"error_code":0/);
      assert.ok(!r.stderr.includes(credentials.password));
      assert.equal(sim.stats.handshakes, 1);
    }));

  it('garbage on the data channel: one re-login and replay, then a typed error (no loop)', () =>
    withSim('p110tpap', async (sim) => {
      const t = new TpapTransport({ host: sim.host, port: sim.port, credentials });
      const d = await connect({ host: sim.host, port: sim.port, transport: 'tpap', credentials, createTransport: () => t });
      try {
        sim.faults.garbage = true;
        await assert.rejects(d.getState(), (e: unknown) => e instanceof KasaTapoError && ['ESESSION', 'EPROTOCOL'].includes(e.code));
        assert.ok(t.logins <= 2, `logins ${t.logins}`);
        sim.faults.garbage = false;
        assert.equal((await d.getState()).alias, 'Heater');
      } finally {
        await d.close();
      }
    }));

  it('proactive renewal after tpapRenewAfterMs', () =>
    withSim('p110tpap', async (sim) => {
      const t = new TpapTransport({ host: sim.host, port: sim.port, credentials, tpapRenewAfterMs: 0 });
      try {
        await t.send('{"method":"get_device_info"}');
        await t.send('{"method":"get_device_info"}');
        assert.equal(t.logins, 2);
        assert.equal(sim.stats.expired, 0);
      } finally {
        await t.close();
      }
    }));
});

describe('TPAP against misbehaving devices', () => {
  let answers: TpapAnswers;
  before(async () => {
    answers = await tpapAnswers('tpap@example.com/Tpap-Pass-1');
  });
  const discoverOk = () => answers.discover();
  const register =
    (over: Record<string, unknown> = {}) =>
    () =>
      answers.register(over);

  const login = (steps: Record<string, (p: Record<string, unknown>) => unknown>) => tpapLoginAgainst(steps, { credentials });

  it('a wrong device confirmation is EAUTH and no request is sent', async () => {
    const { error, calls } = await login({
      discover: discoverOk,
      pake_register: register(),
      pake_share: () => ({ error_code: 0, result: { dev_confirm: Buffer.alloc(32, 9).toString('base64'), sessionId: 'abc', start_seq: 5 } }),
    });
    assert.ok(isCode('EAUTH')(error));
    assert.match((error as Error).message, /could not prove/);
    assert.deepEqual(calls, ['discover', 'pake_register', 'pake_share']);
  });

  for (const [what, profile, re] of [
    ['tls 1', { tls: 1, noc: 0, pake: [2] }, /HTTPS/],
    ['tls 2', { tls: 2, noc: 1, pake: [2] }, /root certificate \(tpap\.tls 2/],
  ] as const) {
    it(`refuses a ${what} profile with EUNSUPPORTED before registering`, async () => {
      const { error, calls } = await login({ discover: () => ({ error_code: 0, result: { mac: 'x', tpap: profile } }) });
      assert.ok(isCode('EUNSUPPORTED')(error), String(error));
      assert.match((error as Error).message, re);
      assert.deepEqual(calls, ['discover']);
    });
  }

  it('refuses an unknown credential transform by name', async () => {
    const { error } = await login({ discover: discoverOk, pake_register: register({ extra_crypt: { type: 'password_rsa', params: {} } }) });
    assert.ok(isCode('EUNSUPPORTED')(error));
    assert.match((error as Error).message, /password_rsa/);
  });

  it('refuses a cipher or suite that was not offered', async () => {
    const a = await login({ discover: discoverOk, pake_register: register({ encryption: 'aes_256_gcm' }) });
    assert.ok(isCode('EUNSUPPORTED')(a.error));
    assert.match((a.error as Error).message, /aes_256_gcm/);
    const b = await login({ discover: discoverOk, pake_register: register({ cipher_suites: 2 }) });
    assert.ok(isCode('EUNSUPPORTED')(b.error));
    assert.match((b.error as Error).message, /suite/);
  });

  it('rejects an absurd iteration count and an invalid share (EPROTOCOL)', async () => {
    const a = await login({ discover: discoverOk, pake_register: register({ iterations: 10_000_000 }) });
    assert.ok(isCode('EPROTOCOL')(a.error));
    const b = await login({ discover: discoverOk, pake_register: register({ dev_share: Buffer.alloc(65, 4).toString('base64') }) });
    assert.ok(isCode('EPROTOCOL')(b.error));
  });

  it('hostile login answers (random values in every field) always end in a typed error', async () => {
    const junk = [null, true, 0, -1, 1e308, 2 ** 53, '', 'x', '====', 'AAAA', [], [1], {}, { a: 1 }, 'a'.repeat(5000)];
    const pick = (i: number) => junk[(i * 7919) % junk.length];
    const keys = ['dev_random', 'dev_salt', 'dev_share', 'cipher_suites', 'iterations', 'encryption', 'extra_crypt'];
    const codes = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const over = { [keys[i % keys.length]!]: pick(i) };
      const { error } = await login({
        discover: i % 5 === 0 ? () => ({ error_code: 0, result: { mac: pick(i), tpap: pick(i + 1) } }) : discoverOk,
        pake_register: register(over),
        pake_share: () => ({ error_code: 0, result: { dev_confirm: pick(i), sessionId: pick(i + 2), start_seq: pick(i + 3) } }),
      });
      assert.ok(error instanceof KasaTapoError, `case ${i}: ${String(error)}`);
      codes.add(error.code);
    }
    for (const c of codes) assert.ok(['EAUTH', 'EPROTOCOL', 'EUNSUPPORTED', 'EDEVICE'].includes(c), c);
  });

  it('-40404 at pake_share: ELOCKED until the time the device gave', async () => {
    const { error } = await login({ discover: discoverOk, pake_register: register(), pake_share: () => ({ error_code: -40404, result: { sec_left: 120 } }) });
    assert.ok(isCode('ELOCKED')(error));
    assert.match((error as Error).message, /blocks logins.*120 s left/);
    const e = error as KasaTapoError;
    assert.equal(e.fix, 'locked');
    assert.ok(e.until !== undefined && Math.abs(e.until - Date.now() - 120_000) < 10_000, String(e.until));
  });
});
