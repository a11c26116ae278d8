/**
 * credentials go only where the user sent them. A fake AES device records every
 * decrypted login: unlisted (connect() with 'auto', a pool reference the pool does not list) it
 * gets none at all; listed, it gets the v2 form once and nothing after its -1501. XOR and KLAP
 * keep working for any host. Caller text in errors is clipped and escaped; hosts given as objects
 * are checked like strings. A KLAP device that accepts the default credentials is flagged and
 * logged once.
 */
import { strict as assert } from 'node:assert';
import { AesTrust, DEFAULT_CREDENTIALS_NOTICE, checkHost, discoveredLoginVersion, isValidHost } from '../../src/trust';
import { KasaTapoError, clip } from '../../src/errors';
import { clearRouteCache, connect } from '../../src/connect';
import { Pool } from '../../src/pool';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator/index';
import { startFakeAes, type FakeAes } from '../helpers/fake-aes';
import { randomBase } from '../helpers/net';

const CREDS = { username: 'trust@example.com', password: 'Trust-Pw-1234' };
const TEN_MB = 'x'.repeat(10 * 1024 * 1024);

async function rejects(p: Promise<unknown>, code: string): Promise<KasaTapoError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KasaTapoError, `untyped: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  return assert.fail(`expected ${code}`);
}

describe('trust: text clipping and host checks', () => {
  it('clip() cuts to 200 characters and escapes control characters', () => {
    assert.ok(clip(TEN_MB).length <= 200);
    assert.equal(clip('a\r\nb\t\u0000\u2028'), 'a\\r\\nb\\t\\u0000\\u2028');
    assert.equal(clip('short'), 'short');
    assert.ok(!/[\r\n]/.test(clip('\n'.repeat(1000))));
    assert.equal(
      clip({
        toString: () => {
          throw new Error('x');
        },
      }),
      '[unprintable]',
    );
  });

  it('every KasaTapoError message is escaped and bounded', () => {
    const e = new KasaTapoError('EBADINPUT', `bad ${TEN_MB}\r\nX-Forged: 1`, { host: 'h\r\n', method: 'm\n' });
    assert.ok(e.message.length <= 1000 && !/[\r\n]/.test(e.message));
    assert.ok(!/[\r\n]/.test(e.host!) && !/[\r\n]/.test(e.method!));
  });

  it('isValidHost / checkHost: addresses and host names only', () => {
    for (const h of ['127.0.0.1', '::1', 'fe80::1', 'plug.local', 'a-b.example.org', 'x', 'tapo-p110.']) assert.ok(isValidHost(h), h);
    for (const h of [
      '',
      ' ',
      'a b',
      'evil\r\nhost',
      '-a.com',
      'a-.com',
      'a..b',
      '1.2.3',
      '999.1.1.1',
      'host:80',
      'a/b',
      'x'.repeat(254),
      '%00',
      'ex ample.com',
    ])
      assert.ok(!isValidHost(h), JSON.stringify(h));
    assert.equal(checkHost(' 127.0.0.1 '), '127.0.0.1');
    const e = (() => {
      try {
        checkHost(`evil\r\nX-Forged: 1${TEN_MB}`);
      } catch (x) {
        return x as KasaTapoError;
      }
      return undefined;
    })();
    assert.equal(e?.code, 'EBADINPUT');
    assert.ok(e.message.length < 300 && !/[\r\n]/.test(e.message), e.message.slice(0, 300));
  });

  it('AesTrust: listed and discovered hosts, ports compared when both sides give one', () => {
    const t = new AesTrust();
    t.addListed({ host: 'Plug.Local', port: 80, loginVersion: 1 });
    t.addListed({ host: '127.0.0.9' });
    assert.equal(t.lookup('plug.local', 80)?.loginVersion, 1);
    assert.ok(t.lookup('plug.local'));
    assert.equal(t.lookup('plug.local', 1902), undefined);
    assert.ok(t.lookup('127.0.0.9', 1902));
    assert.equal(t.lookup('127.0.0.10'), undefined);
    t.addDiscovered({ host: '127.0.0.20', port: 80, family: 'plug', protocol: 'smart', transport: 'klap', supported: true, raw: {} });
    assert.equal(t.lookup('127.0.0.20'), undefined, 'KLAP needs no trust');
    t.addDiscovered({ host: '127.0.0.21', port: 80, family: 'plug', protocol: 'smart', transport: 'aes', loginVersion: 1, supported: true, raw: {} });
    assert.equal(t.lookup('127.0.0.21', 80)?.loginVersion, undefined, 'an answer never chooses login v1');
  });
});

describe('trust: where an AES login goes', function () {
  this.timeout(30000);
  let fake: FakeAes;
  let klap: SimulatedDevice;
  const base = randomBase();
  before(async () => {
    fake = await startFakeAes(`${base}.1`);
    klap = await startSimulatedDevice('p110', { host: `${base}.2`, credentials: CREDS });
  });
  after(async () => {
    await fake.close();
    await klap.close();
  });
  beforeEach(() => {
    fake.logins.length = 0;
    fake.handshakes = 0;
    clearRouteCache();
  });
  const isV2 = (p: Record<string, unknown>): boolean => typeof p.password2 === 'string' && p.password === undefined;

  it("library: connect() with 'auto' on an unknown host sends no AES login → ENOTTRUSTED saying how to add it", async () => {
    const e = await rejects(connect({ host: fake.host, port: fake.port, credentials: CREDS, timeoutMs: 2000, retries: 0 }), 'ENOTTRUSTED');
    assert.match(e.message, /device list/);
    assert.equal(fake.logins.length, 0);
    assert.ok(fake.handshakes >= 1, 'found by an RSA handshake without login');
  });

  it('library: allowAesLogin: false wins over transport aes', async () => {
    await rejects(connect({ host: fake.host, port: fake.port, transport: 'aes', allowAesLogin: false, credentials: CREDS, timeoutMs: 2000 }), 'ENOTTRUSTED');
    assert.equal(fake.logins.length, 0);
    assert.equal(fake.handshakes, 0);
  });

  it("library: transport 'aes' is the caller's choice: the v2 form once, nothing after -1501 → EAUTH", async () => {
    await rejects(connect({ host: fake.host, port: fake.port, transport: 'aes', credentials: CREDS, timeoutMs: 2000, retries: 0 }), 'EAUTH');
    assert.equal(fake.logins.length, 1);
    assert.ok(isV2(fake.logins[0]!), JSON.stringify(Object.keys(fake.logins[0]!)));
  });

  it('library: KLAP keeps working for any host with auto', async () => {
    const dev = await connect({ host: klap.host, port: klap.port, credentials: CREDS, timeoutMs: 2000 });
    assert.equal(dev.info()?.protocol, 'klap');
    await dev.close();
  });

  it('pool: an unlisted host:port or {host, port} gets no login; a listed one the v2 form once', async () => {
    const pool = new Pool({ credentials: CREDS, timeoutMs: 2000, retries: 0, devices: [{ alias: 'listed', host: fake.host, port: fake.port }] });
    const other = await startFakeAes(`${base}.3`);
    try {
      await rejects(pool.device(`${other.host}:${other.port}`).getState(), 'ENOTTRUSTED');
      await rejects(pool.device({ host: other.host, port: other.port }).getState(), 'ENOTTRUSTED');
      assert.equal(other.logins.length, 0);
      await rejects(pool.device('listed').getState(), 'EAUTH');
      assert.equal(fake.logins.length, 1);
      assert.ok(isV2(fake.logins[0]!));
      // The same host on another port is not the listed device.
      await rejects(pool.device(`${fake.host}:${other.port}`).getState(), 'ECONNREFUSED');
      assert.equal(fake.logins.length, 1);
      // KLAP on an unlisted host works.
      assert.equal((await pool.device(`${klap.host}:${klap.port}`).getState()).protocol, 'klap');
    } finally {
      await pool.close();
      await other.close();
    }
  });

  it('pool: a 10 MB reference or a host object with CRLF → a short, escaped error, no lookup', async () => {
    const pool = new Pool({ credentials: CREDS });
    try {
      const e1 = await rejects(
        Promise.resolve().then(() => pool.device(TEN_MB)),
        'ENOTFOUND',
      );
      assert.ok(e1.message.length < 300, `${e1.message.length} chars`);
      const e2 = await rejects(
        Promise.resolve().then(() => pool.device({ host: 'evil\r\nX-Forged: yes' })),
        'EBADINPUT',
      );
      assert.ok(!/[\r\n]/.test(e2.message) && e2.message.includes('\\r\\n'));
      await rejects(
        Promise.resolve().then(() => pool.device({ host: 'a..b' })),
        'EBADINPUT',
      );
      await rejects(
        Promise.resolve().then(() => pool.device({ host: '127.0.0.1', port: 70000 })),
        'EBADINPUT',
      );
      await rejects(connect({ host: 'evil\r\nhost' }), 'EBADINPUT');
    } finally {
      await pool.close();
    }
  });

  it("pool.discover(): AES trust only with trustAes; an answer without lv still gets login v2 (v1 is the user's choice)", async () => {
    const sim = await startSimulatedDevice('p100', { host: `${base}.4`, credentials: CREDS, discovery: true });
    const pool = new Pool({ credentials: CREDS, timeoutMs: 2000 });
    try {
      await rejects(pool.device(sim.host).getState(), 'ENOTTRUSTED');
      let found = await pool.discover({ broadcast: '127.255.255.255', timeoutMs: 800 });
      await rejects(pool.device(sim.host).getState(), 'ENOTTRUSTED');
      found = await pool.discover({ broadcast: '127.255.255.255', timeoutMs: 800, trustAes: true });
      const r = found.find((x) => x.host === sim.host);
      assert.ok(r);
      assert.equal(r.transport, 'aes');
      assert.equal(r.loginVersion, undefined);
      assert.equal(discoveredLoginVersion(r), 1, 'announced (shown in Scan), not used');
      // This simulated P100 needs login v1: v2 is refused, and the pool never falls back to v1.
      await rejects(pool.device(sim.host).getState(), 'EAUTH');
      pool.addDevice({ alias: 'old', host: sim.host, port: r.port, transport: 'aes', loginVersion: 1 });
      const s = await pool.device('old').getState();
      assert.equal(s.protocol, 'aes');
    } finally {
      await pool.close();
      await sim.close();
    }
  });

  it('default credentials: a KLAP device bound to no account works, is flagged in state and info, warned once', async () => {
    const blank = await startSimulatedDevice('p110', { host: `${base}.5`, credentials: { username: '', password: '' } });
    const warnings: string[] = [];
    const pool = new Pool({
      credentials: CREDS,
      timeoutMs: 2000,
      logger: { warn: (m) => warnings.push(m) },
      devices: [{ alias: 'fresh', host: blank.host, port: blank.port, transport: 'klap' }],
    });
    try {
      const d = pool.device('fresh');
      const s = await d.getState();
      assert.equal(s.defaultCredentials, true);
      assert.equal(d.info()?.defaultCredentials, true);
      blank.expireSessions();
      await d.getState();
      await d.getState();
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.ok(warnings[0]!.includes(DEFAULT_CREDENTIALS_NOTICE));
      const own = await pool.device(`${klap.host}:${klap.port}`).getState();
      assert.equal(own.defaultCredentials, undefined, 'absent for a device bound to the account');
    } finally {
      await pool.close();
      await blank.close();
    }
  });
});
