// The connection pool against simulated devices on loopback: one handshake
// per device for 1,000 requests, transparent session renewal, one request on the wire at a time in
// arrival order with a bounded queue, offline detection and return, one shared poll stream, EAUTH
// never retried, retries by error class, idle close, and no leaks (unhandled rejections, sockets).
// Every loop is bounded in count and time; nothing here asserts speed (that is the bench's job).
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { clearRouteCache } from '../../src/connect';
import { HINTS, type KasaTapoError } from '../../src/errors';
import { Pool, type PoolOptions, type PooledDevice } from '../../src/pool';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator';
import type { Credentials, TransportChoice, TransportKind } from '../../src/types';
import { openHandles, settleHandles } from '../helpers/net';

const credentials = { username: 'pool@example.com', password: 'Pool-Pass-1' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});

/** One transport under test: a profile, the method a state read sends, and a marker request. */
interface Kind {
  name: string;
  profile: string;
  transport: TransportKind;
  /** The request-log name of the method getState() sends. */
  readMethod: string;
  /** A raw request that sets marker `m` and reads it back in the same exchange. */
  mark(m: string): unknown;
  /** The marker in that request's answer. */
  markOf(answer: unknown): string | undefined;
}

const SMART_MARK = {
  mark: (m: string) => ({
    method: 'multipleRequest',
    params: { requests: [{ method: 'set_device_info', params: { nickname: b64(m) } }, { method: 'get_device_info' }] },
  }),
  markOf: (a: unknown) => {
    const responses = obj(obj(a)['result'])['responses'];
    const info = Array.isArray(responses) ? obj(obj(responses[1])['result']) : {};
    return typeof info['nickname'] === 'string' ? Buffer.from(info['nickname'], 'base64').toString('utf8') : undefined;
  },
};

const IOT_MARK = {
  mark: (m: string) => ({ system: { set_dev_alias: { alias: m }, get_sysinfo: {} } }),
  markOf: (a: unknown) => {
    const alias = obj(obj(obj(a)['system'])['get_sysinfo'])['alias'];
    return typeof alias === 'string' ? alias : undefined;
  },
};

const XOR: Kind = { name: 'XOR', profile: 'hs100', transport: 'xor', readMethod: 'system.get_sysinfo', ...IOT_MARK };
const KLAP: Kind = { name: 'KLAP v2', profile: 'p110', transport: 'klap', readMethod: 'get_device_info', ...SMART_MARK };
const AES: Kind = { name: 'AES', profile: 'p110aes', transport: 'aes', readMethod: 'get_device_info', ...SMART_MARK };
const KLAP1: Kind = { name: 'KLAP v1', profile: 'hs100uk', transport: 'klap-v1', readMethod: 'system.get_sysinfo', ...IOT_MARK };

interface Rig {
  sim: SimulatedDevice;
  pool: Pool;
  /** A pool handle on the simulated device (transport forced unless 'auto' is asked). */
  device(transport?: TransportChoice): PooledDevice;
  /** Everything the pool emitted, as `event` or `event:status`. */
  events: string[];
}

/** Unhandled rejections seen while this file runs (checked after every rig). */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

/**
 * Start a simulated device, a pool on it, run `body`, then close the pool and check that every
 * socket it opened is gone (on both ends: the simulator runs in this process) and that nothing
 * rejected unhandled; finally stop the device.
 */
async function withRig(
  kind: Kind,
  poolOpts: PoolOptions,
  body: (r: Rig) => Promise<void>,
  simOpts: { credentials?: Credentials; sessionTtlS?: number } = {},
): Promise<void> {
  const sim = await startSimulatedDevice(kind.profile, { host: '127.0.0.1', port: 0, credentials, faults: {}, ...simOpts });
  try {
    const baseline = openHandles();
    // Listed, as a user's device is: 'auto' may then try AES there.
    const pool = new Pool({
      credentials,
      timeoutMs: 2000,
      backoffMs: 50,
      probeMinMs: 100,
      probeMaxMs: 400,
      devices: [{ host: sim.host, port: sim.port }],
      ...poolOpts,
    });
    const events: string[] = [];
    pool.on('status', (_k: string, s: string) => events.push(`status:${s}`));
    for (const ev of ['online', 'offline', 'connecting', 'auth-error'] as const) pool.on(ev, () => events.push(ev));
    const rig: Rig = {
      sim,
      pool,
      events,
      device: (transport = kind.transport) => pool.device({ host: sim.host, port: sim.port, transport }),
    };
    try {
      await body(rig);
    } finally {
      await pool.close();
    }
    const left = await settleHandles(baseline, 3000);
    for (const k of Object.keys(left))
      assert.ok((left[k] ?? 0) <= (baseline[k] ?? 0), `open after close(): ${JSON.stringify(left)} vs ${JSON.stringify(baseline)}`);
    await sleep(1); // let a stray rejection surface
    assert.deepEqual(unhandled.map(String), [], 'no unhandled rejection');
  } finally {
    await sim.close();
    clearRouteCache();
  }
}

/** Run `n` calls one after the other; resolve with the error codes seen (none expected). */
async function sequential(n: number, call: (i: number) => Promise<unknown>): Promise<string[]> {
  const codes: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await call(i);
    } catch (e) {
      codes.push((e as KasaTapoError).code ?? String(e));
    }
  }
  return codes;
}

/** Wait (bounded) until `cond()` holds; resolves with whether it did. */
async function until(cond: () => boolean, maxMs: number, stepMs = 20): Promise<boolean> {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < maxMs) await sleep(stepMs);
  return cond();
}

/** Count outgoing TCP connection attempts to `port` while `fn` runs (refused ones included). */
async function countConnects<T>(port: number, fn: () => Promise<T>): Promise<{ value: T; attempts: number }> {
  const proto = net.Socket.prototype as unknown as { connect: (...args: unknown[]) => net.Socket };
  const original = proto.connect;
  let attempts = 0;
  const portOf = (a: unknown): unknown => (Array.isArray(a) ? portOf(a[0]) : typeof a === 'object' && a ? (a as Obj)['port'] : a);
  proto.connect = function (this: net.Socket, ...args: unknown[]) {
    if (Number(portOf(args[0])) === port) attempts++;
    return original.apply(this, args);
  };
  try {
    return { value: await fn(), attempts };
  } finally {
    proto.connect = original;
  }
}

describe('pool (simulated devices on loopback)', function () {
  this.timeout(30000);

  before(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  after(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  for (const kind of [KLAP, AES]) {
    it(`${kind.name}: 1,000 requests cost one handshake (transport found by 'auto' once)`, () =>
      withRig(kind, {}, async ({ sim, pool, device }) => {
        const d = device('auto');
        const errors = await sequential(1000, (i) => (i % 2 ? d.getState() : d.raw({ method: 'get_device_info' })));
        assert.deepEqual(errors, []);
        assert.equal(sim.stats.handshakes, 1, 'handshakes counted by the simulator');
        assert.ok(sim.stats.connections <= 3, `kept-alive connection (plus 'auto' probes): ${sim.stats.connections}`);
        assert.equal(sim.stats.requests, 1000 + 1, 'plus the read connect() makes');
        const s = pool.deviceStats({ host: sim.host, port: sim.port })!;
        assert.equal(s.handshakes, 1, 'the pool agrees');
        assert.equal(s.requests, 1000);
        assert.equal(s.errors, 0);
        assert.equal(s.transport, kind.transport);
        assert.equal(pool.stats().handshakes, 1);
      }));
  }

  for (const kind of [XOR, KLAP, AES, KLAP1]) {
    it(`${kind.name}: sessions expiring every 20 requests are renewed without a caller-visible error`, () =>
      withRig(kind, {}, async ({ sim, pool, device }) => {
        sim.faults.expireSessionEvery = 20;
        const d = device();
        const errors = await sequential(1000, () => d.getState());
        assert.deepEqual(errors, []);
        // 1,001 reads in sessions of 20: 51 handshakes (XOR: connections), at most a few more.
        assert.ok(sim.stats.handshakes >= 50 && sim.stats.handshakes <= 53, `handshakes ${sim.stats.handshakes}`);
        const s = pool.deviceStats({ host: sim.host, port: sim.port })!;
        assert.equal(s.handshakes, sim.stats.handshakes, 'the pool agrees with the simulator');
        assert.equal(s.errors, 0);
        if (kind.transport !== 'xor') assert.ok(sim.stats.expired >= 45, `expired ${sim.stats.expired}`);
      }));
  }

  for (const kind of [KLAP, AES]) {
    it(`${kind.name}: a session is renewed shortly before its TIMEOUT, so the device never sees it expire`, () =>
      withRig(
        kind,
        {},
        async ({ sim, device }) => {
          const d = device();
          // TIMEOUT=1 s: renewal at 0.9 s. Reads 20 ms apart for 1.5 s (at most 100 of them).
          const t0 = Date.now();
          const errors = await sequential(100, async () => {
            if (Date.now() - t0 < 1500) {
              await d.getState();
              await sleep(20);
            }
          });
          assert.deepEqual(errors, []);
          assert.equal(sim.stats.expired, 0, 'no request hit an expired session');
          assert.ok(sim.stats.handshakes >= 2 && sim.stats.handshakes <= 3, `handshakes ${sim.stats.handshakes}`);
        },
        { sessionTtlS: 1 },
      ));
  }

  for (const kind of [XOR, KLAP, AES]) {
    it(`${kind.name}: 200 concurrent requests are answered in order, one on the wire at a time`, () =>
      withRig(kind, { queueLimit: 500 }, async ({ sim, device }) => {
        const d = device();
        const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => d.raw(kind.mark(`m${i}`))));
        assert.deepEqual(
          answers.map((a) => kind.markOf(a)),
          Array.from({ length: 200 }, (_, i) => `m${i}`),
        );
        assert.equal(sim.stats.maxConcurrent, 1);
        assert.equal(sim.stats.handshakes, 1);
      }));
  }

  it('with queueLimit 50 the overflow fails at once with EQUEUEFULL and the rest succeed', () =>
    withRig(KLAP, { queueLimit: 50 }, async ({ sim, pool, device }) => {
      const d = device();
      const settledOrder: string[] = [];
      const calls = Array.from({ length: 200 }, (_, i) =>
        d.raw(KLAP.mark(`q${i}`)).then(
          (a) => {
            settledOrder.push('ok');
            return KLAP.markOf(a);
          },
          (e: KasaTapoError) => {
            settledOrder.push(e.code);
            throw e;
          },
        ),
      );
      const results = await Promise.allSettled(calls);
      const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const full = results.filter((r) => r.status === 'rejected' && (r.reason as KasaTapoError).code === 'EQUEUEFULL');
      assert.equal(ok.length, 51, 'one on the wire and fifty waiting');
      assert.equal(full.length, 149);
      assert.deepEqual(
        ok,
        Array.from({ length: 51 }, (_, i) => `q${i}`),
        'the first 51 in order',
      );
      assert.deepEqual(settledOrder.slice(0, 149), Array(149).fill('EQUEUEFULL'), 'every EQUEUEFULL before any answer');
      assert.equal(sim.stats.maxConcurrent, 1);
      assert.deepEqual(pool.deviceStats({ host: sim.host, port: sim.port })!.errorsByCode, { EQUEUEFULL: 149 });
    }));

  it('KLAP: a device offline for a while fails fast with EOFFLINE, then answers again unaided', () =>
    withRig(KLAP, {}, async ({ sim, pool, device, events }) => {
      const d = device();
      await d.getState();
      sim.faults.offlineUntil = Date.now() + 2500;
      const codes: string[] = [];
      let backAt = 0;
      // At most 150 tries 30 ms apart (≈ 5 s): every one fails until the device is back.
      for (let i = 0; i < 150 && !backAt; i++) {
        try {
          await d.getState();
          backAt = Date.now();
        } catch (e) {
          codes.push((e as KasaTapoError).code);
          await sleep(30);
        }
      }
      assert.ok(backAt > 0, `came back: ${codes.join(',')}`);
      const first = codes.indexOf('EOFFLINE');
      assert.ok(first >= 1 && first <= 3, `EOFFLINE after the first failures: ${codes.slice(0, 6).join(',')}`);
      assert.ok(
        codes.slice(0, first).every((c) => c === 'ECONNREFUSED' || c === 'ECONNRESET'),
        codes.slice(0, first).join(','),
      );
      assert.ok(
        codes.slice(first).every((c) => c === 'EOFFLINE'),
        'then only EOFFLINE',
      );
      assert.ok(codes.length - first >= 20, `many fast failures while offline: ${codes.length - first}`);
      const s = pool.deviceStats({ host: sim.host, port: sim.port })!;
      assert.ok(s.requests <= 1 + first + 1, `EOFFLINE requests never reached the device (${s.requests} executed)`);
      const off = events.indexOf('offline');
      assert.ok(off >= 0 && events.indexOf('online', off) > off, events.join(' '));
      assert.equal(pool.status({ host: sim.host, port: sim.port }), 'online');
    }));

  it('XOR: a refusing device is not hammered, and the pool sees it return', () =>
    withRig(XOR, {}, async ({ sim, device, events }) => {
      const d = device();
      await d.getState();
      const { value: codes, attempts } = await countConnects(sim.port, async () => {
        sim.faults.refuse = true;
        await sleep(60); // the simulator closes its listener on its next check
        const out: string[] = [];
        for (let i = 0; i < 50; i++) {
          await d.getState().catch((e: KasaTapoError) => out.push(e.code));
          await sleep(20);
        }
        return out;
      });
      assert.equal(codes.length, 50, 'all refused');
      assert.ok(codes.filter((c) => c === 'EOFFLINE').length >= 45, codes.join(','));
      // Two failures, then light probes with backoff (100, 200, 400, 400 ms ...) in ≈ 1.1 s.
      assert.ok(attempts <= 10, `${attempts} connection attempts for 50 requests`);
      sim.faults.refuse = false;
      assert.ok(await until(() => events.includes('online') && events.lastIndexOf('online') > events.indexOf('offline'), 3000), events.join(' '));
      assert.ok((await d.getState()).on !== undefined);
    }));

  it('ten subscribers at 200..2000 ms share one poll stream at 200 ms', () =>
    withRig(KLAP, {}, async ({ sim, pool }) => {
      const intervals = [1400, 200, 2000, 600, 1000, 400, 1800, 800, 1200, 1600];
      const got = intervals.map(() => 0);
      const errors: unknown[] = [];
      const subs = intervals.map((ms, i) =>
        pool.subscribe({ host: sim.host, port: sim.port, transport: 'klap' }, { intervalMs: ms }, (err, v) => {
          if (err) errors.push(err);
          else if (v) got[i]!++;
        }),
      );
      await until(() => got.every((n) => n > 0), 2000); // connected and polling
      const t0 = Date.now();
      await sleep(2000);
      const polls = sim.log.count(KLAP.readMethod, t0);
      const all = sim.log.count(undefined, t0);
      for (const s of subs) s.cancel();
      assert.ok(polls >= 7 && polls <= 12, `one stream at 200 ms over 2 s: ${polls} polls`);
      assert.equal(all, polls, 'nothing but the one stream');
      assert.deepEqual(errors, []);
      const spread = Math.max(...got) - Math.min(...got);
      assert.ok(spread <= 1, `every subscriber got every reading: ${got.join(',')}`);
    }));

  for (const kind of [KLAP, AES]) {
    it(`${kind.name}: wrong credentials give EAUTH with the hint, never retried, and 'auth-error'`, () =>
      withRig(
        kind,
        { authRetryMs: 300 },
        async ({ sim, pool, device, events }) => {
          const d = device();
          const errs: KasaTapoError[] = [];
          for (let i = 0; i < 10; i++) await d.getState().catch((e: KasaTapoError) => errs.push(e));
          assert.equal(errs.length, 10);
          for (const e of errs) {
            assert.equal(e.code, 'EAUTH');
            assert.equal(e.hint, HINTS.auth);
          }
          assert.equal(sim.stats.handshakes, 0);
          // One connect: AES tries the account in both login versions, then the Tapo default; KLAP
          // checks the device's hash locally and never sends a wrong proof.
          assert.ok(sim.stats.authFailures <= 3, `authFailures ${sim.stats.authFailures}`);
          assert.equal(events.filter((e) => e === 'auth-error').length, 1, events.join(' '));
          assert.equal(pool.status({ host: sim.host, port: sim.port }), 'auth-error');
          assert.equal(pool.deviceStats({ host: sim.host, port: sim.port })!.retries, 0);
          // After authRetryMs, one new attempt (a user may have fixed the device), then quiet again.
          const failures = sim.stats.authFailures;
          await sleep(350);
          for (let i = 0; i < 5; i++) await assert.rejects(d.getState(), { code: 'EAUTH' });
          assert.ok(sim.stats.authFailures - failures <= 3, `one more attempt: ${sim.stats.authFailures - failures}`);
          assert.equal(events.filter((e) => e === 'connecting').length, 2, events.join(' '));
        },
        { credentials: { username: 'other@example.com', password: 'not-the-same' } },
      ));
  }

  it('KLAP: an answer later than the timeout is retried and the request succeeds', () =>
    withRig(KLAP, { timeoutMs: 300, retries: 2, backoffMs: 50 }, async ({ sim, pool, device }) => {
      const d = device();
      await d.getState();
      sim.faults.latencyMs = 1000;
      const p = d.getState();
      setTimeout(() => (sim.faults.latencyMs = 0), 100); // only the first attempt is slow
      assert.equal((await p).protocol, 'klap');
      const s = pool.deviceStats({ host: sim.host, port: sim.port })!;
      assert.ok(s.retries >= 1, `retries ${s.retries}`);
      assert.equal(s.errors, 0);
      assert.equal(s.status, 'online');
    }));

  for (const kind of [XOR, KLAP]) {
    it(`${kind.name}: an idle device's connection is closed by the sweep, and reopened on demand`, () =>
      withRig(kind, { idleCloseMs: 50 }, async ({ sim, pool, device }) => {
        const listening = openHandles();
        const d = device();
        await d.getState();
        assert.equal(sim.stats.connections, 1);
        d.release();
        await sleep(80);
        pool.sweep();
        const left = await settleHandles(listening);
        assert.deepEqual(left, listening, 'both ends of the connection are closed');
        assert.equal(pool.deviceStats({ host: sim.host, port: sim.port }), undefined);
        const again = device();
        await again.getState();
        assert.equal(sim.stats.connections, 2);
      }));
  }

  it('a handle used after release and sweep does not leak its session past close()', () =>
    withRig(KLAP, { idleCloseMs: 10 }, async ({ sim, pool, device }) => {
      const d = device();
      await d.getState();
      d.release();
      await sleep(20);
      pool.sweep();
      await d.getState(); // still works; its session must belong to the pool again
      assert.ok(pool.deviceStats({ host: sim.host, port: sim.port }), 'the pool tracks the device again');
    }));
});
