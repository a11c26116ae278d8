// Devices that change under the pool, on loopback: a protocol
// switch KLAP → TPAP → KLAP while polled (re-detection, one protocol-changed each way, same pool);
// port 80 closed until a UDP 20002 probe (wake-up); a wrong password against a locking device
// (login budget, ELOCKED with the device's unlock time, the right password works at once after
// it); a rate-limited device and a one-request-per-session device served without errors; and
// firmware-changed. Time is scaled down (stated per test); nothing asserts speed.
import { strict as assert } from 'node:assert';
import { clearRouteCache, connect } from '../../src/connect';
import { KasaTapoError } from '../../src/errors';
import { Pool, type DeviceChange, type DeviceStatus } from '../../src/pool';
import { getProfile, startSimulatedDevice, type SimulatedDevice } from '../../src/simulator';
import type { DeviceState } from '../../src/types';

const credentials = { username: 'resil@example.com', password: 'Resil-Pass-1' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait (bounded) until `cond` holds; false when it did not within `ms`. */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await sleep(20);
  }
  return cond();
}

describe('resilience: devices that change under the pool', function () {
  this.timeout(60_000);
  const closers: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
    clearRouteCache();
  });
  const sim = async (id: string, opts: Parameters<typeof startSimulatedDevice>[1]): Promise<SimulatedDevice> => {
    const d = await startSimulatedDevice(id, { credentials, ...opts });
    closers.push(() => d.close());
    return d;
  };
  const pool = (opts: ConstructorParameters<typeof Pool>[0] = {}): Pool => {
    const p = new Pool({ credentials, ...opts });
    closers.push(() => p.close());
    return p;
  };

  describe('re-detection', () => {
    it('KLAP → TPAP while polled: answers again within 2 polls; back to KLAP (weaker) only once the user accepts it', async () => {
      // Scale: polls every 250 ms instead of every second.
      const dev = await sim('p110', { host: '127.0.113.1', discovery: true });
      const p = pool();
      const changes: DeviceChange[] = [];
      p.on('protocol-changed', (_key, c) => changes.push(c));
      const polls: ('ok' | string)[] = [];
      const sub = p.subscribe({ host: dev.host }, { intervalMs: 250 }, (err) => polls.push(err ? err.code : 'ok'));
      closers.push(async () => sub.cancel());
      assert.ok(await until(() => polls.filter((x) => x === 'ok').length >= 2, 10_000), `first readings: ${polls.join(' ')}`);
      let before = polls.length;
      await dev.switchTransport('tpap');
      assert.ok(await until(() => polls.slice(before).includes('ok'), 15_000), `answers again over tpap: ${polls.slice(before).join(' ')}`);
      assert.ok(polls.slice(before).indexOf('ok') < 2, `within 2 polls: ${polls.slice(before).join(' ')}`);
      assert.deepEqual(changes.at(-1), { host: dev.host, from: 'klap', to: 'tpap' });
      assert.equal(p.deviceStats({ host: dev.host })!.transport, 'tpap');
      assert.deepEqual(p.provenRoutes(), { [dev.host]: { kind: 'tpap' } });
      // Back to KLAP: below what the device proved, so not followed; every poll says why.
      before = polls.length;
      await dev.switchTransport('klap');
      assert.ok(await until(() => polls.length >= before + 3, 10_000));
      assert.ok(
        polls.slice(before).every((x) => x === 'ENOTTRUSTED'),
        polls.slice(before).join(' '),
      );
      assert.equal(changes.length, 2, JSON.stringify(changes));
      assert.equal(changes[1]!.to, 'klap');
      assert.equal(changes[1]!.error?.fix, 'protocol-changed');
      // The user accepts the change (Test → Accept the change): the pool follows.
      p.forgetProven(dev.host);
      before = polls.length;
      assert.ok(await until(() => polls.slice(before).includes('ok'), 15_000), `answers again over klap: ${polls.slice(before).join(' ')}`);
      assert.equal(p.deviceStats({ host: dev.host })!.transport, 'klap');
      // Steady again: the next polls answer on the same transport.
      const n = polls.length;
      assert.ok(await until(() => polls.length >= n + 2, 5_000));
      assert.deepEqual(polls.slice(n, n + 2), ['ok', 'ok']);
    });

    it('a protocol change while the idle entry was swept is still protocol-changed on the next use', async () => {
      const dev = await sim('p110', { host: '127.0.113.40', discovery: true });
      const p = pool();
      const changes: DeviceChange[] = [];
      p.on('protocol-changed', (_key, c) => changes.push(c));
      const d = p.device({ host: dev.host });
      assert.equal((await d.getState()).protocol, 'klap');
      d.release();
      await sleep(20); // the job's bookkeeping ends a turn after its answer
      p.sweep(Date.now() + 3_600_000);
      assert.equal(p.deviceStats({ host: dev.host }), undefined, 'the idle entry was swept');
      await dev.switchTransport('tpap');
      const again = p.device({ host: dev.host });
      assert.equal((await again.getState()).protocol, 'tpap');
      again.release();
      assert.deepEqual(changes, [{ host: dev.host, from: 'klap', to: 'tpap' }]);
    });

    it('connect(): a remembered route the device left (new firmware) is asked about once and followed', async () => {
      const dev = await sim('p110', { host: '127.0.113.41', discovery: true });
      const first = await connect({ host: dev.host, credentials });
      assert.equal(first.info()?.protocol, 'klap');
      await first.close();
      await dev.switchTransport('tpap');
      // The route cache says KLAP: its handshake now fails, one unicast discovery names TPAP.
      const again = await connect({ host: dev.host, credentials });
      closers.push(() => again.close());
      assert.equal(again.info()?.protocol, 'tpap');
    });

    it('connect(): an abort while that discovery is still waiting ends connect() at once with ECLOSED', async function () {
      // The discovery would wait 30 s (the device's responder is closed): a hang here until the
      // test's timeout means the abort was not honoured.
      this.timeout(15_000);
      const dev = await sim('p110', { host: '127.0.113.42', discovery: true });
      await (await connect({ host: dev.host, credentials })).close();
      await dev.switchTransport('tpap');
      await dev.discovery!.close();
      const ac = new AbortController();
      const logger = { debug: (m: string) => void (/klap probe failed/.test(m) && setImmediate(() => ac.abort())) };
      await assert.rejects(connect({ host: dev.host, credentials, signal: ac.signal, discoveryTimeoutMs: 30_000, logger }), { code: 'ECLOSED' });
    });

    it('two references to one address that pin different transports are no protocol change', async () => {
      // One address answering XOR on 9999 and KLAP on 80: a pinned XOR reference and a bare one.
      const host = '127.0.113.43';
      await sim('hs100', { host, port: 9999 });
      await sim('p110', { host, discovery: true });
      const p = pool();
      let changed = 0;
      p.on('protocol-changed', () => changed++);
      const use = async (ref: string | { host: string; transport: 'xor' }): Promise<string | undefined> => {
        const d = p.device(ref);
        const s = await d.getState();
        d.release();
        await sleep(20); // the job's bookkeeping ends a turn after its answer
        p.sweep(Date.now() + 3_600_000);
        return s.protocol;
      };
      assert.equal(await use({ host, transport: 'xor' }), 'xor');
      assert.equal(await use(host), 'klap');
      assert.equal(await use({ host, transport: 'xor' }), 'xor');
      assert.equal(changed, 0);
    });

    it('a wrong password after a good session is not mistaken for a change (one discovery, same transport, EAUTH)', async () => {
      const dev = await sim('p110aes', { host: '127.0.113.2', discovery: true });
      const p = pool({ devices: [{ alias: 'd', host: dev.host }] });
      let changed = 0;
      p.on('protocol-changed', () => changed++);
      const d = p.device('d');
      await d.getState();
      dev.faults.wrongCredentials = true;
      dev.expireSessions();
      await assert.rejects(d.getState(), { code: 'EAUTH' });
      assert.equal(changed, 0);
      assert.equal(dev.stats.authFailures, 1, 'one failed login, not one per re-detection');
    });
  });

  describe('wake-up', () => {
    it('port 80 closed until a UDP 20002 probe: the pool connects on the first request', async () => {
      const dev = await sim('p110', { host: '127.0.113.3', discovery: true, faults: { sleepUntilProbed: true, wakeDelayMs: 150 } });
      const p = pool({ devices: [{ alias: 'd', host: dev.host, port: dev.port, transport: 'klap' }] });
      const s = await p.device('d').getState();
      assert.equal(s.protocol, 'klap');
      assert.ok(dev.faults.awakeAt !== undefined, 'woken by a probe');
      assert.equal(p.deviceStats('d')!.errors, 0);
    });

    it("connect(): refused, one probe, a wait until the port opens and one retry; still refused → fix 'unreachable'", async () => {
      // The port opens 1.5 s after the probe ("within seconds"): the one retry waits for it.
      const dev = await sim('p110', { host: '127.0.113.4', discovery: true, faults: { sleepUntilProbed: true, wakeDelayMs: 1500 } });
      const d = await connect({ host: dev.host, port: dev.port, transport: 'klap', credentials });
      closers.push(() => d.close());
      assert.equal(d.info()?.protocol, 'klap');
      const shut = await sim('p110', { host: '127.0.113.5', faults: { refuse: true } });
      const e = await connect({ host: shut.host, port: shut.port, transport: 'klap', credentials }).then(
        () => assert.fail('connected'),
        (x: unknown) => x as KasaTapoError,
      );
      assert.ok(e instanceof KasaTapoError);
      assert.equal(e.code, 'ECONNREFUSED');
      assert.equal(e.fix, 'unreachable');
      assert.match(e.message, /UDP 20002/);
    });
  });

  describe('login budget and lockouts', () => {
    it('wrong password against a locking device, polled: at most 3 logins, ELOCKED until the unlock time, then the right password works at once', async () => {
      // Scale: 10 minutes of polling every second → 2 s of polling every 50 ms; authRetryMs
      // 60 s → 150 ms; the device's lockout (after 2 failed logins) 30 min → 2 s.
      const dev = await sim('p110aes', { host: '127.0.113.6', faults: { wrongCredentials: true, lockAfter: 2, lockoutS: 2 } });
      const p = pool({ authRetryMs: 150, devices: [{ alias: 'd', host: dev.host, port: dev.port, transport: 'aes', loginVersion: 2 }] });
      const statuses: [DeviceStatus, KasaTapoError | undefined][] = [];
      p.on('status', (_k, s, e) => statuses.push([s, e]));
      const errors: KasaTapoError[] = [];
      let ok = 0;
      const sub = p.subscribe('d', { intervalMs: 50 }, (err) => (err ? errors.push(err) : ok++));
      closers.push(async () => sub.cancel());
      await sleep(1500);
      assert.ok(dev.stats.logins <= 3, `logins ${dev.stats.logins}`);
      assert.equal(p.status('d'), 'locked');
      const locked = statuses.find(([s]) => s === 'locked')?.[1];
      assert.ok(locked && locked.code === 'ELOCKED', 'the status carries ELOCKED');
      assert.equal(locked.fix, 'locked');
      assert.ok(locked.until! > Date.now() && locked.until! >= dev.faults.lockedUntil!, `until ${locked.until} device ${dev.faults.lockedUntil}`);
      assert.match(locked.message, /blocked until \d\d:\d\d/);
      assert.ok(errors.filter((e) => e.code === 'ELOCKED').length > 5, 'polls fail at once with ELOCKED');
      assert.equal(ok, 0);
      // The right password comes back while locked: nothing is sent before the time, then one login.
      const wrong = dev.stats.logins;
      dev.faults.wrongCredentials = false;
      assert.ok(await until(() => ok > 0, 5_000), `answers after the unlock: ${p.status('d')}`);
      assert.ok(Date.now() >= locked.until!, 'not before the unlock time');
      assert.equal(dev.stats.logins, wrong + 1, 'the first login after the unlock works');
      assert.equal(p.status('d'), 'online');
    });

    it('the login budget without a device lockout: 3 failed logins, then ELOCKED with our own time', async () => {
      // Scale: authRetryMs 100 ms, loginLockMs 30 min → 1.5 s; polls every 50 ms.
      const dev = await sim('p110aes', { host: '127.0.113.7', faults: { wrongCredentials: true } });
      const p = pool({ authRetryMs: 100, loginLockMs: 1500, devices: [{ alias: 'd', host: dev.host, port: dev.port, transport: 'aes', loginVersion: 2 }] });
      const codes: string[] = [];
      const sub = p.subscribe('d', { intervalMs: 50 }, (err) => codes.push(err ? err.code : 'ok'));
      closers.push(async () => sub.cancel());
      assert.ok(await until(() => p.status('d') === 'locked', 5_000), codes.join(' '));
      const t = Date.now();
      await sleep(600);
      assert.equal(dev.stats.logins, 3);
      assert.ok(codes.includes('EAUTH') && codes.includes('ELOCKED'), codes.join(' '));
      const e = await p
        .device('d')
        .getState()
        .catch((x: KasaTapoError) => x);
      assert.ok(e instanceof KasaTapoError && e.code === 'ELOCKED' && e.until! > t, String(e));
      dev.faults.wrongCredentials = false;
      assert.ok(await until(() => codes.at(-1) === 'ok', 5_000), codes.slice(-5).join(' '));
      assert.equal(dev.stats.logins, 4);
    });

    it('TPAP -40404: ELOCKED with the time the device gave, one login', async () => {
      const dev = await sim('p110tpap', { host: '127.0.113.8', faults: { lockedUntil: Date.now() + 60_000 } });
      const p = pool({ devices: [{ alias: 'd', host: dev.host, port: dev.port, transport: 'tpap' }] });
      const d = p.device('d');
      const e = await d.getState().catch((x: KasaTapoError) => x);
      assert.ok(e instanceof KasaTapoError && e.code === 'ELOCKED', String(e));
      assert.ok(Math.abs(e.until! - dev.faults.lockedUntil!) < 2000);
      await assert.rejects(d.getState(), { code: 'ELOCKED' });
      assert.equal(dev.stats.logins, 1);
      assert.equal(p.status('d'), 'locked');
    });
  });

  describe('pacing', () => {
    it('a rate-limited device: 100 requests, all answered, 0 errors', async () => {
      // The device refuses requests closer than 40 ms (-40109); the pool starts at 25 ms and doubles.
      const dev = await sim('p110', { host: '127.0.113.9', faults: { rateLimitMs: 40 } });
      const p = pool({ paceMs: 25, devices: [{ alias: 'd', host: dev.host, port: dev.port, transport: 'klap' }] });
      const d = p.device('d');
      const results = await Promise.allSettled(Array.from({ length: 100 }, () => d.getState()));
      const failed = results.filter((r) => r.status === 'rejected');
      assert.equal(failed.length, 0, String(failed[0]?.reason));
      assert.ok(dev.stats.rateLimited >= 1, 'the device did rate-limit');
      assert.equal(p.deviceStats('d')!.errors, 0);
    });

    it('close() ends a pacing gap at once: the waiting request fails ECLOSED, nothing sent, no timer outlives the pool', async () => {
      // The device refuses requests closer than 2 s: the pool paces it with a 3 s gap, and the next
      // request waits out that gap before anything is sent.
      const dev = await sim('p110', { host: '127.0.113.12', faults: { rateLimitMs: 2000 } });
      const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      await sleep(50);
      const base = timers(); // before the pool
      const p = new Pool({ credentials, paceMs: 3000, paceMaxMs: 3000, devices: [{ alias: 'd', host: dev.host, port: dev.port, transport: 'klap' }] });
      closers.push(() => p.close());
      const d = p.device('d');
      await d.getState(); // the connect's own read, then this one: rate-limited once, so pacing is on
      assert.ok(dev.stats.rateLimited >= 1, 'the device rate-limited');
      const sent = dev.log.count();
      const second = d.getState().then(
        () => 'answered',
        (e: unknown) => (e instanceof KasaTapoError ? e.code : String(e)),
      );
      await sleep(100); // in the gap
      await p.close();
      // Right after close(): the timers of before the pool; the gap's (3 s) is not left behind.
      assert.ok(await until(() => timers() <= base, 1000), `timers: ${timers()}, before the pool: ${base}`);
      assert.equal(await second, 'ECLOSED');
      assert.equal(dev.log.count(), sent, 'nothing was sent after close()');
    });

    it('a one-request-per-session device (old KLAP): 100 requests, all answered, a handshake per request', async () => {
      const dev = await sim('hs100uk', { host: '127.0.113.10', faults: { expireSessionEvery: 1 } });
      const p = pool({ devices: [{ alias: 'd', host: dev.host, port: dev.port, transport: 'klap-v1' }] });
      const d = p.device('d');
      let ok = 0;
      for (let i = 0; i < 100; i++) if ((await d.getState()).protocol === 'klap-v1') ok++;
      assert.equal(ok, 100);
      assert.equal(p.deviceStats('d')!.errors, 0);
      // Detected after two short sessions: from then on no request is refused.
      assert.ok(dev.stats.expired <= 3, `refused requests ${dev.stats.expired}`);
    });
  });

  describe('firmware watch', () => {
    it('emits firmware-changed when a reading shows another version, not on the first one', async () => {
      const profile = getProfile('p110');
      const dev = await sim(profile.id, { host: '127.0.113.11' });
      const p = pool({ devices: [{ alias: 'd', host: dev.host, port: dev.port, transport: 'klap' }] });
      const changes: DeviceChange[] = [];
      p.on('firmware-changed', (_k, c) => changes.push(c));
      const d = p.device('d');
      const first = (await d.getState()).firmware;
      assert.ok(first);
      await d.getState();
      assert.equal(changes.length, 0);
      setFirmware(dev, '9.9.9 Build 260101 Rel.000000');
      const s: DeviceState = await d.getState();
      assert.equal(s.firmware, '9.9.9 Build 260101 Rel.000000');
      assert.deepEqual(changes, [{ host: dev.host, from: first, to: s.firmware }]);
      await d.getState();
      assert.equal(changes.length, 1);
    });
  });
});

/** Change what a simulated device reports as its firmware version (its model reads the profile). */
function setFirmware(dev: SimulatedDevice, fw: string): void {
  (dev.model as unknown as { profile: { fwVer: string } }).profile.fwVer = fw;
}
