/**
 * The pool's login holds stay holds (and the trust rules, docs/security.md), found by a
 * review of the first version: requests queued before a login failed do not log in again; a sweep
 * does not forget a lockout; 'auto' probing keeps ELOCKED; a KLAP wrong password spends no login
 * budget; re-detection never makes an unlisted host trusted for an AES login.
 */
import { strict as assert } from 'node:assert';
import { clearRouteCache, connect } from '../../src/connect';
import type { KasaTapoError } from '../../src/errors';
import { Pool } from '../../src/pool';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator';
import { randomBase } from '../helpers/net';

const credentials = { username: 'holds@example.com', password: 'Holds-Pass-1' };
const codeOf = (r: PromiseSettledResult<unknown>): string => (r.status === 'rejected' ? (r.reason as KasaTapoError).code : 'ok');

describe('pool: login holds stay holds', function () {
  this.timeout(30_000);
  const closers: (() => Promise<unknown>)[] = [];
  let base = '';
  beforeEach(() => {
    base = randomBase();
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
    clearRouteCache();
  });
  const sim = async (id: string, n: number, opts: Parameters<typeof startSimulatedDevice>[1]): Promise<SimulatedDevice> => {
    const d = await startSimulatedDevice(id, { credentials, host: `${base}.${n}`, ...opts });
    closers.push(() => d.close());
    return d;
  };
  const pool = (opts: ConstructorParameters<typeof Pool>[0]): Pool => {
    const p = new Pool({ credentials, ...opts });
    closers.push(() => p.close());
    return p;
  };

  it('ten requests queued at once against a wrong password: one login reaches the device, the rest are held', async () => {
    const dev = await sim('p110aes', 1, { faults: { wrongCredentials: true } });
    const p = pool({ authRetryMs: 60_000, devices: [{ alias: 'd', host: dev.host, port: dev.port, transport: 'aes', loginVersion: 2 }] });
    const r = await Promise.allSettled(Array.from({ length: 10 }, () => p.device('d').getState()));
    assert.deepEqual(r.map(codeOf), Array<string>(10).fill('EAUTH'));
    assert.equal(dev.stats.logins, 1);
  });

  it('six requests queued at once against a locked device: one login, all ELOCKED with the time', async () => {
    const until = Date.now() + 60_000;
    const dev = await sim('p110tpap', 2, { faults: { lockedUntil: until } });
    const p = pool({ devices: [{ alias: 'd', host: dev.host, port: dev.port, transport: 'tpap' }] });
    const r = await Promise.allSettled(Array.from({ length: 6 }, () => p.device('d').getState()));
    assert.deepEqual(r.map(codeOf), Array<string>(6).fill('ELOCKED'));
    for (const x of r) assert.ok(x.status === 'rejected' && (x.reason as KasaTapoError).until !== undefined);
    assert.equal(dev.stats.logins, 1);
  });

  it('a sweep of the idle device keeps its lockout: no new login before the time', async () => {
    // Locked for 30 minutes; a message every 10 minutes, the idle session swept in between.
    const dev = await sim('p110tpap', 3, { faults: { lockedUntil: Date.now() + 30 * 60_000 } });
    const p = pool({ devices: [{ alias: 'd', host: dev.host, port: dev.port, transport: 'tpap' }] });
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = p.device('d');
      codes.push(
        await d.getState().then(
          () => 'ok',
          (e: KasaTapoError) => e.code,
        ),
      );
      d.release();
      p.sweep(Date.now() + 10 * 60_000);
    }
    assert.deepEqual(codes, ['ELOCKED', 'ELOCKED', 'ELOCKED', 'ELOCKED']);
    assert.equal(dev.stats.logins, 1);
  });

  it("'auto' probing stops at a device that blocks logins: ELOCKED with its time, one login", async () => {
    const until = Date.now() + 60_000;
    const dev = await sim('p110tpap', 4, { faults: { lockedUntil: until } });
    const e = await connect({ host: dev.host, port: dev.port, credentials, timeoutMs: 1500 }).then(
      () => assert.fail('connected'),
      (x: unknown) => x as KasaTapoError,
    );
    assert.equal(e.code, 'ELOCKED', e.message);
    assert.ok(e.until !== undefined && Math.abs(e.until - until) < 5000);
    assert.equal(dev.stats.logins, 1);
  });

  it("a KLAP device on 'auto' with a wrong password spends the login budget (each handshake1 tests a guess)", async () => {
    const dev = await sim('p110', 5, { faults: { wrongCredentials: true } });
    const p = pool({ authRetryMs: 1, devices: [{ alias: 'd', host: dev.host, port: dev.port }] });
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 5)); // past authRetryMs, so each request tries again
      codes.push(
        await p
          .device('d')
          .getState()
          .then(
            () => 'ok',
            (e: KasaTapoError) => e.code,
          ),
      );
    }
    // The hold doubles after each failed login (1 ms, 2 ms, …): some requests are held, then the block.
    assert.equal(codes[0], 'EAUTH');
    assert.equal(codes.at(-1), 'ELOCKED', codes.join());
    assert.equal(p.status('d'), 'locked');
  });

  it('re-detection never makes an unlisted host trusted: a device reached by address that moves to AES gets no login', async () => {
    const dev = await sim('p110', 6, { discovery: true });
    const p = pool({}); // nothing listed, no pool.discover()
    const d = p.device({ host: dev.host });
    assert.equal((await d.getState()).protocol, 'klap');
    await dev.switchTransport('aes');
    const before = dev.stats.logins;
    const e = await d.getState().then(
      () => assert.fail('an AES login went to an unlisted host'),
      (x: unknown) => x as KasaTapoError,
    );
    assert.equal(e.code, 'ENOTTRUSTED', e.message);
    assert.equal(dev.stats.logins, before);
  });

  it("a listener that throws does not break the pool's bookkeeping", async () => {
    const dev = await sim('p110aes', 7, { faults: { wrongCredentials: true } });
    const errors: string[] = [];
    const p = pool({
      devices: [{ alias: 'd', host: dev.host, port: dev.port, transport: 'aes', loginVersion: 2 }],
      logger: { error: (m) => errors.push(m) },
    });
    p.on('status', () => {
      throw new Error('a careless listener');
    });
    const e = await p
      .device('d')
      .getState()
      .then(
        () => assert.fail('logged in'),
        (x: unknown) => x as KasaTapoError,
      );
    assert.equal(e.code, 'EAUTH');
    assert.ok(errors.some((m) => m.includes('a careless listener')));
  });
});
