// TPAP as the field speaks it: the KLAP-or-TPAP decision from the login discover (a KP125M on
// 1.4.1 announces TPAP and speaks KLAP v2), `noc: 1` profiles, the three AEADs offered, the error
// policy, and the passcode types and credential transforms, with the unit vectors.
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, clearRouteCache } from '../../src/connect';
import { routeFor } from '../../src/device/table';
import { KasaTapoError } from '../../src/errors';
import { Pool } from '../../src/pool';
import { getProfile, startSimulatedDevice, type SimulatedDevice } from '../../src/simulator';
import type { SmartDeviceModel } from '../../src/simulator/smart';
import { TpapTransport, tpapSpeaksKlap } from '../../src/transports/tpap';
import {
  TpapCipher,
  md5Crypt,
  tpapClientFinish,
  tpapClientShare,
  tpapCredential,
  tpapCredentialAsync,
  tpapCredentialWithoutPassword,
  tpapDefaultPasscode,
  tpapDeriveSecrets,
  tpapDeviceShare,
  tpapPasscodeType,
} from '../../src/crypto/tpap';
import type { Credentials } from '../../src/types';
import { randomBase } from '../helpers/net';
import { withSimulatedDevice } from '../helpers/sim';
import { fakeTpapDevice } from '../helpers/fake-tpap';

const credentials: Credentials = { username: 'dialect@example.com', password: 'Dialect-Pass-1' };
const isCode = (code: string) => (e: unknown) => e instanceof KasaTapoError && e.code === code;
const relayOf = (sim: SimulatedDevice): boolean => (sim.model as SmartDeviceModel).root.state.on;

const withSim = <T>(id: string, body: (sim: SimulatedDevice) => Promise<T>, opts: Parameters<typeof startSimulatedDevice>[1] = {}): Promise<T> =>
  withSimulatedDevice(id, credentials, body, opts);

/** A device on an address of its own, answering UDP discovery there. */
const ownHost = (): string => `${randomBase()}.${2 + Math.floor(Math.random() * 200)}`;

describe('TPAP dialects: routing', function () {
  this.timeout(60000);
  afterEach(() => clearRouteCache());

  it('only encrypt_type decides: KLAP stays KLAP whatever tpap_preferred says; noc never blocks; cameras are not TPAP', () => {
    const smart = (transport: string) => ({ supported: true, transport, protocol: 'smart' });
    assert.deepEqual(routeFor('SMART.TAPOPLUG', 'KLAP', false, { profile: { tls: 0, pake: [2] }, preferred: true }), smart('klap'));
    assert.deepEqual(routeFor('SMART.TAPOPLUG', 'TPAP', false, { profile: { tls: 0, dac: 1, noc: 1, pake: [2] } }), smart('tpap'));
    assert.deepEqual(routeFor('SMART.KASAPLUG', 'TPAP', false), smart('tpap'));
    assert.equal(routeFor('SMART.IPCAMERA', 'TPAP', true, { profile: { tls: 1, noc: 1, pake: [2] } }).supported, false);
    assert.equal(routeFor('SMART.TAPODOORBELL', 'TPAP', false).supported, false);
  });

  it("KP125M 1.4.1 (announces TPAP, speaks KLAP): 'auto' uses KLAP v2 after one login discover; on/off reaches it", async () => {
    const host = ownHost();
    await withSim(
      'kp125m141',
      async (sim) => {
        const d = await connect({ host, credentials, discoveryTimeoutMs: 1500, timeoutMs: 3000 });
        try {
          assert.equal(d.info()?.protocol, 'klap');
          assert.equal(d.port, sim.port);
          assert.equal((await d.getState()).alias, 'Dehumidifier');
          assert.equal((await d.setState({ on: false })).on, false);
          assert.equal(relayOf(sim), false);
          assert.equal((await d.setState({ on: true })).on, true);
          assert.equal(relayOf(sim), true);
        } finally {
          await d.close();
        }
        assert.equal(sim.stats.discovers, 1);
        // The route is remembered: the next 'auto' connect goes to KLAP at once.
        const again = await connect({ host, credentials, discoveryTimeoutMs: 1500, timeoutMs: 3000 });
        try {
          assert.equal(again.info()?.protocol, 'klap');
        } finally {
          await again.close();
        }
        assert.equal(sim.stats.discovers, 1);
      },
      { host, discovery: true },
    );
  });

  it('KP125M 1.4.1 through the pool: state true to the device, at most one login discover', async () => {
    const host = ownHost();
    await withSim(
      'kp125m141',
      async (sim) => {
        const pool = new Pool({ credentials, timeoutMs: 3000 });
        try {
          const d = pool.device({ host });
          assert.equal((await d.getState()).on, relayOf(sim));
          await d.setState({ on: false });
          assert.equal(relayOf(sim), false);
          assert.equal((await d.getState()).on, false);
          await d.setState({ on: true });
          assert.equal(relayOf(sim), true);
          // A dropped session is reopened on KLAP, not through another TPAP discover.
          sim.expireSessions();
          assert.equal((await d.getState()).on, true);
          const s = pool.deviceStats({ host })!;
          assert.equal(s.transport, 'klap');
          assert.equal(s.errors, 0);
        } finally {
          await pool.close();
        }
        assert.ok(sim.stats.discovers <= 1, `discovers ${sim.stats.discovers}`);
      },
      { host, discovery: true },
    );
  });

  it("KP125M 1.4.1 with an explicit 'tpap' transport: EUNSUPPORTED naming KLAP, nothing else sent", () =>
    withSim('kp125m141', async (sim) => {
      await assert.rejects(connect({ host: sim.host, port: sim.port, transport: 'tpap', credentials }), (e: unknown) => {
        assert.ok(isCode('EUNSUPPORTED')(e), String(e));
        assert.ok(tpapSpeaksKlap(e));
        assert.match((e as Error).message, /speaks KLAP/);
        return true;
      });
      assert.equal(sim.stats.discovers, 1);
      assert.equal(sim.stats.logins, 0);
    }));

  it('a device that proved TPAP before is not moved to KLAP by a discover without profile (ENOTTRUSTED)', async () => {
    const host = ownHost();
    await withSim(
      'kp125m141',
      async (sim) => {
        await assert.rejects(connect({ host, credentials, discoveryTimeoutMs: 1500, floor: { kind: 'tpap' } }), isCode('ENOTTRUSTED'));
        assert.equal(sim.stats.logins, 0);
      },
      { host, discovery: true },
    );
  });

  it('P125M 1.4.4 (tls 0, dac 1, noc 1, pake [2]): connect auto and the pool log in with the password', async () => {
    const host = ownHost();
    await withSim(
      'p125m',
      async (sim) => {
        const d = await connect({ host, credentials, discoveryTimeoutMs: 1500, timeoutMs: 3000 });
        try {
          assert.equal(d.info()?.protocol, 'tpap');
          assert.equal((await d.setState({ on: true })).on, true);
          assert.equal(relayOf(sim), true);
        } finally {
          await d.close();
        }
        clearRouteCache();
        const pool = new Pool({ credentials, timeoutMs: 3000 });
        try {
          const p = pool.device({ host });
          await p.setState({ on: false });
          assert.equal(relayOf(sim), false);
          assert.equal((await p.getState()).on, false);
          assert.equal(pool.deviceStats({ host })!.transport, 'tpap');
        } finally {
          await pool.close();
        }
      },
      { host, discovery: true },
    );
  });

  it('dac 1 at tls 0: pake_share carries a 32-byte dac_nonce (none at tls 1 or dac 0)', async () => {
    const salt = Buffer.alloc(16, 7);
    const w = (await tpapDeriveSecrets(`${credentials.username}/${credentials.password}`, salt, 10)).w;
    const register = () => ({
      error_code: 0,
      result: {
        dev_random: Buffer.alloc(32, 1).toString('base64'),
        dev_salt: salt.toString('base64'),
        dev_share: tpapDeviceShare(w).R.toString('base64'),
        cipher_suites: 1,
        iterations: 10,
        encryption: 'aes_128_ccm',
      },
    });
    const nonceFor = async (profile: Record<string, unknown>): Promise<unknown> => {
      let nonce: unknown = 'not asked';
      const dev = await fakeTpapDevice({
        discover: () => ({ error_code: 0, result: { mac: '00-11-22-33-44-55', tpap: profile } }),
        pake_register: register,
        pake_share: (p) => {
          nonce = p.dac_nonce;
          return { error_code: -1501 };
        },
      });
      const t = new TpapTransport({ host: '127.0.0.1', port: dev.port, credentials, timeoutMs: 2000 });
      try {
        await assert.rejects(t.send('{}'), isCode('EAUTH'));
      } finally {
        await t.close();
        await dev.close();
      }
      return nonce;
    };
    const n = await nonceFor({ tls: 0, dac: 1, noc: 1, pake: [2], port: 80 });
    assert.equal(typeof n, 'string');
    assert.equal(Buffer.from(n as string, 'base64').length, 32);
    assert.equal(n, Buffer.from(n as string, 'base64').toString('base64'));
    assert.equal(await nonceFor({ tls: 0, dac: true, pake: [2] }).then((x) => typeof x), 'string');
    assert.equal(await nonceFor({ tls: 0, dac: 0, pake: [2] }), undefined);
  });
});

describe('TPAP dialects: the three AEADs', function () {
  this.timeout(60000);

  // Suite 1 shared key of the suite-1 vector (test/unit/tpap-crypto.test.ts); ds body at seq 1000.
  const shared = Buffer.from('611a67c86dcc3c2fcf83ae238d36206bfa7f4307bcd309821f1164664d57da53', 'hex');
  for (const [cipher, body] of [
    ['aes_256_ccm', '000003e82d714357639ea0d582a6b6319b9da93af01fd3bde14d64110c2854e931c74ac703703c245c93b88d109939e7'],
    ['chacha20_poly1305', '000003e88ce4c0d1c9740f26f1d472172968728bee55026f3a66a017a65c00d235af94112299b1e02e8cd632df629289'],
  ] as const) {
    it(`${cipher}: the suite-1 data frame vector`, () => {
      const c = new TpapCipher(cipher, shared);
      assert.equal(c.seal(1000, '{"method":"get_device_info"}').toString('hex'), body);
      assert.equal(c.open(Buffer.from(body, 'hex'), 1000).plain.toString(), '{"method":"get_device_info"}');
    });
  }

  it('the defaults offer all three, AES-128-CCM first', async () => {
    let offered: unknown;
    const dev = await fakeTpapDevice({
      discover: () => ({ error_code: 0, result: { mac: '00-11-22-33-44-55', tpap: { tls: 0, dac: 0, noc: 0, pake: [2], port: 80 } } }),
      pake_register: (p) => {
        offered = p.encryption;
        return { error_code: -1008 };
      },
    });
    const t = new TpapTransport({ host: '127.0.0.1', port: dev.port, credentials, timeoutMs: 2000 });
    try {
      await assert.rejects(t.send('{}'));
    } finally {
      await t.close();
      await dev.close();
    }
    assert.deepEqual(offered, ['aes_128_ccm', 'aes_256_ccm', 'chacha20_poly1305']);
  });

  for (const cipher of ['chacha20_poly1305', 'aes_256_ccm'] as const) {
    it(`a device that accepts only ${cipher} works with the defaults`, async () => {
      const profile = getProfile('p110tpap');
      profile.tpap = { ...profile.tpap, ciphers: [cipher] };
      const sim = await startSimulatedDevice(profile, { host: '127.0.0.1', port: 0, credentials });
      try {
        const d = await connect({ host: sim.host, port: sim.port, transport: 'tpap', credentials });
        try {
          assert.equal((await d.setState({ on: true })).on, true);
          assert.equal(relayOf(sim), true);
          assert.equal((await d.setState({ on: false })).on, false);
        } finally {
          await d.close();
        }
        assert.equal(sim.stats.handshakes, 1);
      } finally {
        await sim.close();
      }
    });
  }
});

/**
 * A loopback HTTP proxy in front of a simulated TPAP device: login calls go through; a data-channel
 * request is answered by `ds` when it returns something (its JSON, with or without a content type), else forwarded.
 */
async function tpapProxy(
  sim: SimulatedDevice,
  ds: (n: number) => { json: unknown; contentType?: string } | undefined,
): Promise<{ port: number; dsCalls: number; close(): Promise<void> }> {
  const state = { dsCalls: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url?.endsWith('/ds')) {
        const fake = ds(++state.dsCalls);
        if (fake) {
          const text = JSON.stringify(fake.json);
          res.writeHead(200, { ...(fake.contentType ? { 'Content-Type': fake.contentType } : {}), 'Content-Length': String(Buffer.byteLength(text)) });
          res.end(text);
          return;
        }
      }
      const fwd = http.request(
        {
          host: sim.host,
          port: sim.port,
          method: 'POST',
          path: req.url,
          headers: { 'Content-Type': req.headers['content-type'] ?? '', 'Content-Length': body.length },
        },
        (up) => {
          const parts: Buffer[] = [];
          up.on('data', (c: Buffer) => parts.push(c));
          up.on('end', () => {
            const out = Buffer.concat(parts);
            res.writeHead(up.statusCode ?? 502, { 'Content-Type': up.headers['content-type'] ?? 'application/octet-stream', 'Content-Length': out.length });
            res.end(out);
          });
        },
      );
      fwd.on('error', () => res.destroy());
      fwd.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    get dsCalls() {
      return state.dsCalls;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('TPAP dialects: errors', function () {
  this.timeout(60000);
  afterEach(() => clearRouteCache());

  for (const code of [-2203, -40401, -40413, 9999, 1002]) {
    it(`an unencrypted {"error_code":${code}} on /ds ends the session: one re-login and replay, then ESESSION`, () =>
      withSim('p110tpap', async (sim) => {
        const proxy = await tpapProxy(sim, () => ({ json: { error_code: code }, contentType: 'application/json' }));
        try {
          await assert.rejects(
            connect({ host: '127.0.0.1', port: proxy.port, transport: 'tpap', credentials, timeoutMs: 3000 }),
            (e: unknown) => e instanceof KasaTapoError && e.code === 'ESESSION' && e.deviceCode === code,
          );
          assert.equal(sim.stats.handshakes, 2);
          assert.equal(proxy.dsCalls, 2);
        } finally {
          await proxy.close();
        }
      }));
  }

  it('a JSON error without a content type is seen before decrypting; a one-off -40401 costs one re-login and no error', () =>
    withSim('p110tpap', async (sim) => {
      const proxy = await tpapProxy(sim, (n) => (n === 2 ? { json: { error_code: -40401 } } : undefined));
      try {
        const t = new TpapTransport({ host: '127.0.0.1', port: proxy.port, credentials, timeoutMs: 3000 });
        const d = await connect({ host: '127.0.0.1', port: proxy.port, transport: 'tpap', credentials, createTransport: () => t });
        try {
          assert.equal((await d.getState()).alias, 'Heater');
          assert.equal(t.logins, 2);
          assert.equal(sim.stats.handshakes, 2);
        } finally {
          await d.close();
        }
      } finally {
        await proxy.close();
      }
    }));

  it('another unencrypted code on /ds is EDEVICE, not retried', () =>
    withSim('p110tpap', async (sim) => {
      const proxy = await tpapProxy(sim, () => ({ json: { error_code: -1002 }, contentType: 'application/json' }));
      try {
        await assert.rejects(connect({ host: '127.0.0.1', port: proxy.port, transport: 'tpap', credentials }), (e: unknown) => {
          return e instanceof KasaTapoError && e.code === 'EDEVICE' && e.deviceCode === -1002;
        });
        assert.equal(sim.stats.handshakes, 1);
      } finally {
        await proxy.close();
      }
    }));

  it("a wrong password through 'auto' and a discovery answer: EAUTH after exactly one login", async () => {
    const host = ownHost();
    await withSim(
      'p125m',
      async (sim) => {
        await assert.rejects(connect({ host, credentials: { ...credentials, password: 'wrong-one' }, discoveryTimeoutMs: 1500 }), isCode('EAUTH'));
        assert.equal(sim.stats.logins, 1);
        assert.equal(sim.stats.authFailures, 1);
      },
      { host, discovery: true },
    );
  });

  for (const code of [-40401, -40413, 9999]) {
    it(`${code} at pake_share is not a reason to log in again (one login, counted against the budget)`, async () => {
      const salt = Buffer.alloc(16, 3);
      const w = (await tpapDeriveSecrets(`${credentials.username}/${credentials.password}`, salt, 10)).w;
      const dev = await fakeTpapDevice({
        discover: () => ({ error_code: 0, result: { mac: '00-11-22-33-44-55', tpap: { tls: 0, dac: 0, noc: 0, pake: [2], port: 80 } } }),
        pake_register: () => ({
          error_code: 0,
          result: {
            dev_random: Buffer.alloc(32, 1).toString('base64'),
            dev_salt: salt.toString('base64'),
            dev_share: tpapDeviceShare(w).R.toString('base64'),
            cipher_suites: 1,
            iterations: 10,
            encryption: 'aes_128_ccm',
          },
        }),
        pake_share: () => ({ error_code: code }),
      });
      try {
        await assert.rejects(connect({ host: '127.0.0.1', port: dev.port, transport: 'tpap', credentials, timeoutMs: 2000 }), (e: unknown) => {
          assert.ok(e instanceof KasaTapoError && e.code !== 'ESESSION', String(e));
          assert.equal(e.spentLogin, true);
          return true;
        });
        assert.equal(dev.calls.filter((c) => c === 'pake_share').length, 1);
      } finally {
        await dev.close();
      }
    });
  }
});

describe('TPAP dialects: passcodes and credential transforms (unit vectors)', function () {
  this.timeout(60000);
  const U = 'user@example.com';
  const P = 'Secret-123';
  const MAC = '48-22-54-12-34-56';
  const cred = (type: string, params: Record<string, unknown>, username = U, passcode = P): string => tpapCredential({ type, params }, username, passcode, MAC);
  const range = (from: number, n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => from + i));
  const salt = range(0xa0, 16);
  const x = BigInt('0xe08aae28e30721fae8e7f331908141cf868db0e3ace03421769b4b78155c96df');
  const y = BigInt('0x8fb5bff52eea02e24ab692b72ca9caf3e14e01be0c34ee956bb55cdb3e6d8958');
  const hex64 = (n: bigint): string => n.toString(16).padStart(64, '0');

  it('passcode type from pake (plugs, bulbs, hubs): 0 wins, then 2/5, then 3, else default', () => {
    assert.equal(tpapPasscodeType([2]), 'userpw');
    assert.equal(tpapPasscodeType([5]), 'userpw');
    assert.equal(tpapPasscodeType([3]), 'shared_token');
    assert.equal(tpapPasscodeType([0, 2]), 'default_userpw');
    assert.equal(tpapPasscodeType([]), 'default_userpw');
    assert.equal(tpapPasscodeType(undefined), 'default_userpw');
  });

  it('default_userpw: the MAC-derived passcode and its PBKDF2 output', async () => {
    assert.equal(tpapDefaultPasscode(MAC), 'CC2AF89A859D3540A52E9B0DC384126A6EB497C077CBB016810D0B710D6B7B15');
    assert.equal(tpapDefaultPasscode('AA:BB:CC:DD:EE:FF'), 'F9F270978BAA582014CFC81E2B5966D92923B7F784DD84FD75429E38CC4EEFC9');
    assert.throws(() => tpapDefaultPasscode('not-a-mac'), isCode('EPROTOCOL'));
    const s = await tpapDeriveSecrets(tpapDefaultPasscode(MAC), salt, 3000);
    assert.equal(hex64(s.w), 'c6fd5dc1e6df79c72116ba5246439eb81c5d452437443d9412d79d795eb8115f');
    assert.equal(hex64(s.h), 'abca57ac7150fbf98d71b7df5cc58116628ea85284a73037e1506a621f82fcd3');
  });

  it('Vector B: the default_userpw login (shares, confirmations, session keys, /ds frames at seq 7)', async () => {
    const s = await tpapDeriveSecrets(tpapDefaultPasscode(MAC), salt, 3000);
    const R = tpapDeviceShare(s.w, y).R;
    assert.equal(R.toString('base64'), 'BCHkFb0vlOI5BIy6R4PqTlLu89lnM5UVxlPAqsxtyYvqj+tWxSIU3CHXYbE2ZomZ0gvEqPs69yspg6tdJsHDnHo=');
    const { L } = tpapClientShare(s.w, x);
    assert.equal(L.toString('base64'), 'BDxSTTHIzcbk5iegiIIkwoajzbgCFYm8xczSDAs3gtw2emN8di1KiDs6RMCHqkiIYks4C/zXL087PeKZQufwFpg=');
    const k = tpapClientFinish({ x, w: s.w, h: s.h, L, R, userRandom: range(0, 32), devRandom: range(0x20, 32) });
    assert.equal(k.userConfirm.toString('base64'), 'rafeTzfbgHCI6K/yFLQnK2Fcm2MhJPt479iC0W9tWEA=');
    assert.equal(k.devConfirm.toString('base64'), '599ULQV+ZXMWVCLlg5H36FBxpK+xByKqJuhBXvF2GeQ=');
    assert.equal(k.sharedKey.toString('hex'), 'c601264bb55d54f1604663f798d411af84bfd976d2a1d99c688dc106c5191940');
    const c = new TpapCipher('aes_128_ccm', k.sharedKey);
    assert.equal(c.key.toString('hex'), 'bd832a7517a852ae40471968975b77ff');
    assert.equal(c.baseNonce.toString('hex'), '36ff712ff0e411471df1641e');
    assert.equal(
      c.seal(7, '{"method":"get_device_info"}').toString('hex'),
      '0000000706d8af0d0d6a391cf5d0401072b3eba3c38f113927cc0a87d52f476b357841bdf40832fc7e4df604f10f7fb0',
    );
    const answer = '0000000706d8a71a0b6d2427b485061235fd84eb848b1d2937ff17cb893b477245e296e34fdcf48ef9e1d39eb5ac2ef3145b701537b14d0a36da0d00a5f2f52b';
    assert.equal(c.open(Buffer.from(answer, 'hex'), 7).plain.toString(), '{"error_code":0,"result":{"device_on":true}}');
  });

  it('no extra_crypt, password_shadow 2 and 3', async () => {
    assert.equal(tpapCredential(undefined, U, P), 'user@example.com/Secret-123');
    assert.equal(tpapCredential(undefined, '', P), 'Secret-123');
    assert.equal(cred('password_shadow', { passwd_id: 2 }), '0eb61c7f64f383e4882351e59dbe15957bad1fe0');
    assert.equal(cred('password_shadow', { passwd_id: 3 }), 'd5820af7f69eada09d8433f0ecb92e9f2f2c2843');
    assert.equal(cred('PASSWORD_SHADOW', { passwd_id: 3 }, U, 'any other password'), 'd5820af7f69eada09d8433f0ecb92e9f2f2c2843');
    assert.ok(tpapCredentialWithoutPassword({ type: 'password_shadow', params: { passwd_id: 3 } }, U, MAC));
    // Without a username (or a MAC) passwd_id 3 falls back to the passcode, which involves the password.
    assert.equal(cred('password_shadow', { passwd_id: 3 }, ''), P);
    assert.ok(!tpapCredentialWithoutPassword({ type: 'password_shadow', params: { passwd_id: 3 } }, '', MAC));
    const s = await tpapDeriveSecrets(cred('password_shadow', { passwd_id: 3 }), salt, 3000);
    assert.equal(hex64(s.w), 'c1d54c5254456136baf394ae4d1a81f7b5ee054597db8ecb7bda0c95a1f2932a');
  });

  it('password_shadow 1: MD5-crypt with the prefix salt (cut to 8), else the passcode', async () => {
    assert.equal(md5Crypt(P, 'ABCDEFGH'), '$1$ABCDEFGH$GfW2Gp5aOwxy1V3Ym5SFh.');
    assert.equal(cred('password_shadow', { passwd_id: 1, passwd_prefix: '$1$ABCDEFGH$' }), '$1$ABCDEFGH$GfW2Gp5aOwxy1V3Ym5SFh.');
    assert.equal(cred('password_shadow', { passwd_id: 1, passwd_prefix: '$1$saltsaltEXTRA' }), '$1$saltsalt$5sWDyCQWwUZey5f5vLQ0V0');
    assert.equal(cred('password_shadow', { passwd_id: 1 }), P);
    assert.equal(cred('password_shadow', { passwd_id: 1, passwd_prefix: '$5$ABCDEFGH$' }), P);
    const s = await tpapDeriveSecrets(cred('password_shadow', { passwd_id: 1, passwd_prefix: '$1$ABCDEFGH$' }), salt, 3000);
    assert.equal(hex64(s.w), '327948b18c35acc9dcd6f112d08503592dbaf81e16d4e9f40227be8805a74639');
  });

  it('password_shadow 5: SHA-256-crypt with the prefix rounds and salt, passwd_rounds, clamps and defaults', async () => {
    assert.equal(
      cred('password_shadow', { passwd_id: 5, passwd_prefix: '$5$rounds=10000$abcdefghijklmnop$' }),
      '$5$rounds=10000$abcdefghijklmnop$manSB2dNAJE6A39rXI891WvzGB/IYeMfqYOPRbTKUl.',
    );
    assert.equal(
      cred('password_shadow', { passwd_id: 5, passwd_prefix: '$5$saltstring', passwd_rounds: 5000 }),
      '$5$saltstring$uW.qVCyh8AXOFiCVPgiG429mAiM8lwjOX4s6L7nkSdA',
    );
    assert.equal(
      cred('password_shadow', { passwd_id: 5, passwd_prefix: '$5$saltstring$', passwd_rounds: 10 }),
      '$5$rounds=1000$saltstring$nMTB3czofbw05B6voX36NfQW/gU3fpuxrcM/SS4MHEB',
    );
    assert.equal(
      cred('password_shadow', { passwd_id: 5, passwd_prefix: '$5$rounds=5000$0123456789abcdefXYZ$' }),
      '$5$0123456789abcdef$Ne/3c2euO7GCWCQIoSlI/nIoEVZPkphsy1FXV7g7gGA',
    );
    // No rounds anywhere: 535,000 rounds, computed in slices between event-loop turns.
    assert.equal(
      await tpapCredentialAsync({ type: 'password_shadow', params: { passwd_id: 5, passwd_prefix: '$5$saltstring$' } }, U, P, MAC),
      '$5$rounds=535000$saltstring$VOIYRjH8m4TOzGYPRk851HLw50nxde0xm2eF5ghaf71',
    );
    assert.equal(cred('password_shadow', { passwd_id: 5 }), P);
    assert.throws(() => cred('password_shadow', { passwd_id: 5, passwd_prefix: '$5$salt$', passwd_rounds: 5_000_000 }), isCode('EPROTOCOL'));
    assert.throws(() => cred('password_shadow', { passwd_id: 5, passwd_prefix: '$5$rounds=1000$salt$' }), isCode('EUNSUPPORTED'));
  });

  it('password_authkey and password_sha_with_salt', () => {
    const dict = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    assert.equal(cred('password_authkey', { authkey_tmpkey: 'TmpKey', authkey_dictionary: dict }), 'HIT5ANaONM');
    assert.equal(cred('password_authkey', { authkey_tmpkey: 'xy', authkey_dictionary: '0123456789' }), '3861270876');
    assert.equal(cred('password_authkey', { authkey_tmpkey: '', authkey_dictionary: dict }), P);
    assert.equal(cred('password_sha_with_salt', { sha_name: 0, sha_salt: 'TmFDbA==' }), '813eb463076492c54e9de1e486a9708fc13295919d93797c2bb4204bf2c27f8b');
    assert.equal(cred('password_sha_with_salt', { sha_name: 1, sha_salt: 'TmFDbA==' }), '6cd4e296a00954338b12809ebb8879d4e14668f8ea4876997900cdc91a91a815');
    assert.equal(
      cred('password_sha_with_salt', { sha_name: 0, sha_salt: 'TmFDbA==' }, '', '35eddb1ed5b26db276b9445345bfae2b'),
      'ee41dcf05c8b37b655dbfdfd0f52a60bc981f54c047cb4601cd7130f13442bb6',
    );
    assert.equal(cred('password_sha_with_salt', { sha_name: 'x', sha_salt: 'TmFDbA==' }), P);
    assert.equal(cred('password_sha_with_salt', { sha_name: 0, sha_salt: '%%%' }), P);
    assert.equal(
      cred('password_sha_with_salt', { sha_salt: 'TmFDbA==' }),
      cred('password_sha_with_salt', { sha_name: 1, sha_salt: 'TmFDbA==' }),
      'a missing sha_name means "user"',
    );
  });
});

describe('TPAP dialects: passcodes against simulated devices', function () {
  this.timeout(60000);

  /** p110tpap with another login dialect. */
  async function withDialect<T>(tpap: Record<string, unknown>, body: (sim: SimulatedDevice) => Promise<T>): Promise<T> {
    const profile = getProfile('p110tpap');
    profile.tpap = { ...profile.tpap, ...tpap };
    const sim = await startSimulatedDevice(profile, { host: '127.0.0.1', port: 0, credentials });
    try {
      return await body(sim);
    } finally {
      await sim.close();
    }
  }

  it('pake [0] (L900-5 1.4.3): default_userpw with no account configured, flagged defaultCredentials', () =>
    withDialect({ pake: [0] }, async (sim) => {
      const d = await connect({ host: sim.host, port: sim.port, transport: 'tpap' });
      try {
        const s = await d.setState({ on: true });
        assert.equal(s.on, true);
        assert.equal(relayOf(sim), true);
        assert.equal((await d.getState()).defaultCredentials, true);
      } finally {
        await d.close();
      }
    }));

  it('pake [0, 2]: the default passcode wins over a configured account', () =>
    withDialect({ pake: [0, 2] }, async (sim) => {
      const d = await connect({ host: sim.host, port: sim.port, transport: 'tpap', credentials: { username: 'x@example.com', password: 'unrelated' } });
      try {
        assert.equal((await d.getState()).defaultCredentials, true);
      } finally {
        await d.close();
      }
    }));

  for (const [name, extraCrypt] of [
    ['password_shadow 1', { type: 'password_shadow', params: { passwd_id: 1, passwd_prefix: '$1$Zq3xY7wP$' } }],
    ['password_shadow 5', { type: 'password_shadow', params: { passwd_id: 5, passwd_prefix: '$5$rounds=1000$sim5salt' } }],
    ['password_authkey', { type: 'password_authkey', params: { authkey_tmpkey: 'Tk3yTmp', authkey_dictionary: 'abcdefghijklmnopqrstuvwxyz0123456789' } }],
    ['password_sha_with_salt', { type: 'password_sha_with_salt', params: { sha_name: 0, sha_salt: Buffer.from('Sim-Salt').toString('base64') } }],
  ] as const) {
    it(`${name}: logs in with the account password; a wrong one is EAUTH after one login`, () =>
      withDialect({ extraCrypt }, async (sim) => {
        const d = await connect({ host: sim.host, port: sim.port, transport: 'tpap', credentials });
        try {
          assert.equal((await d.setState({ on: true })).on, true);
          assert.equal(relayOf(sim), true);
          assert.notEqual((await d.getState()).defaultCredentials, true);
        } finally {
          await d.close();
        }
        const t = new TpapTransport({ host: sim.host, port: sim.port, credentials: { ...credentials, password: 'wrong-password' } });
        await assert.rejects(connect({ host: sim.host, port: sim.port, transport: 'tpap', createTransport: () => t }), (e: unknown) => {
          assert.ok(isCode('EAUTH')(e), String(e));
          assert.match((e as Error).message, new RegExp(name));
          return true;
        });
        assert.equal(t.logins, 1);
        assert.equal(sim.stats.authFailures, 1);
      }));
  }

  it('password_shadow 3 (no password in it) stays refused with ENOTTRUSTED unless tpapAllowNoPassword', () =>
    withDialect({ extraCrypt: { type: 'password_shadow', params: { passwd_id: 3 } } }, async (sim) => {
      await assert.rejects(connect({ host: sim.host, port: sim.port, transport: 'tpap', credentials }), isCode('ENOTTRUSTED'));
      assert.equal(sim.stats.logins, 0);
      const d = await connect({ host: sim.host, port: sim.port, transport: 'tpap', credentials, tpapAllowNoPassword: true });
      try {
        assert.equal((await d.getState()).defaultCredentials, true);
      } finally {
        await d.close();
      }
    }));
});
