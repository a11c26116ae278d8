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
import { TpapCipher, tpapDeriveSecrets, tpapDeviceShare } from '../../src/crypto/tpap';
import type { Credentials } from '../../src/types';
import { randomBase } from '../helpers/net';
import { fakeTpapDevice } from '../helpers/fake-tpap';

const credentials: Credentials = { username: 'dialect@example.com', password: 'Dialect-Pass-1' };
const isCode = (code: string) => (e: unknown) => e instanceof KasaTapoError && e.code === code;
const relayOf = (sim: SimulatedDevice): boolean => (sim.model as SmartDeviceModel).root.state.on;

async function withSim<T>(id: string, body: (sim: SimulatedDevice) => Promise<T>, opts: Parameters<typeof startSimulatedDevice>[1] = {}): Promise<T> {
  const sim = await startSimulatedDevice(id, { host: '127.0.0.1', port: 0, credentials, ...opts });
  try {
    return await body(sim);
  } finally {
    await sim.close();
  }
}

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
