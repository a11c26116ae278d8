// Pool behaviour with in-memory fake devices: queue order and bound, concurrency, offline and
// return, poller sharing and on-change, idle close, close(). The simulator-based pool tests are
// in pool.test.ts.
import { strict as assert } from 'node:assert';
import { Pool } from '../../src/pool';
import { KasaTapoError } from '../../src/errors';
import type { DeviceApi, DeviceState, TransportKind } from '../../src/types';

interface FakeControl {
  inFlight: number;
  maxInFlight: number;
  calls: number;
  order: number[];
  fail?: KasaTapoError;
  delayMs: number;
  on: boolean;
  closed: number;
  connects: number;
}

function fakeFactory(ctl: FakeControl, protocol: TransportKind = 'klap') {
  return async (opts: { host: string; port?: number }): Promise<DeviceApi> => {
    ctl.connects++;
    if (ctl.fail) throw ctl.fail;
    // Uptime and signal change on every read, as on real devices; "only on change" ignores them.
    const state = (): DeviceState => ({
      on: ctl.on,
      host: opts.host,
      family: 'plug',
      protocol,
      model: 'FAKE1',
      onTimeS: ctl.calls,
      rssi: -40 - (ctl.calls % 7),
    });
    const step = async <T>(fn: () => T): Promise<T> => {
      ctl.inFlight++;
      ctl.maxInFlight = Math.max(ctl.maxInFlight, ctl.inFlight);
      ctl.calls++;
      try {
        await new Promise((r) => setTimeout(r, ctl.delayMs));
        if (ctl.fail) throw ctl.fail;
        return fn();
      } finally {
        ctl.inFlight--;
      }
    };
    const dev: DeviceApi = {
      host: opts.host,
      port: opts.port ?? 80,
      getState: () => step(state),
      toggle: () =>
        step(() => {
          ctl.on = !ctl.on;
          return state();
        }),
      reboot: () => step(() => undefined),
      withRaw: async (fn) => ({ value: await fn(dev), raw: undefined }),
      setState: (p) =>
        step(() => {
          if (p.on !== undefined) ctl.on = p.on;
          return state();
        }),
      getEnergy: () => step(() => ({ powerW: 1 })),
      // One fake for both overloads (hour, day/month): an empty history of the period asked for.
      getEnergyHistory: ((period: 'hour' | 'day' | 'month') => step(() => ({ period, entries: [] }))) as DeviceApi['getEnergyHistory'],
      raw: (req) =>
        step(() => {
          ctl.order.push((req as { n: number }).n);
          return { ok: (req as { n: number }).n };
        }),
      info: () => ({ host: opts.host, port: opts.port ?? 80, family: 'plug', protocol, model: 'FAKE1' }),
      close: async () => {
        ctl.closed++;
      },
    };
    return dev;
  };
}

const newCtl = (): FakeControl => ({ inFlight: 0, maxInFlight: 0, calls: 0, order: [], delayMs: 1, on: false, closed: 0, connects: 0 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pool (fake devices)', () => {
  it('answers 200 concurrent requests in order, one on the wire at a time', async () => {
    const ctl = newCtl();
    const pool = new Pool({ connect: fakeFactory(ctl), queueLimit: 500 });
    try {
      const d = pool.device('127.0.0.1:1');
      const res = await Promise.all(Array.from({ length: 200 }, (_, n) => d.raw({ n })));
      assert.deepEqual(
        res.map((r) => (r as { ok: number }).ok),
        Array.from({ length: 200 }, (_, n) => n),
      );
      assert.deepEqual(
        ctl.order,
        Array.from({ length: 200 }, (_, n) => n),
      );
      assert.equal(ctl.maxInFlight, 1);
      assert.equal(ctl.connects, 1);
    } finally {
      await pool.close();
    }
  });

  it('rejects the overflow with EQUEUEFULL at once and serves the rest', async () => {
    const ctl = newCtl();
    const pool = new Pool({ connect: fakeFactory(ctl), queueLimit: 50 });
    try {
      const d = pool.device('127.0.0.1:1');
      const settled = await Promise.allSettled(Array.from({ length: 200 }, (_, n) => d.raw({ n })));
      const ok = settled.filter((s) => s.status === 'fulfilled').length;
      const full = settled.filter((s) => s.status === 'rejected' && (s.reason as KasaTapoError).code === 'EQUEUEFULL').length;
      assert.equal(ok + full, 200);
      assert.equal(ok, 51); // one running + fifty waiting
      assert.equal(ctl.maxInFlight, 1);
    } finally {
      await pool.close();
    }
  });

  it('runs different devices concurrently within the pool-wide limit', async () => {
    const ctl = newCtl();
    ctl.delayMs = 5;
    const pool = new Pool({ connect: fakeFactory(ctl), concurrency: 3 });
    try {
      await Promise.all(Array.from({ length: 10 }, (_, i) => pool.device(`127.0.0.${i + 1}:1`).getState()));
      assert.equal(ctl.maxInFlight, 3);
    } finally {
      await pool.close();
    }
  });

  it('marks a failing device offline, fails fast, and comes back after the probe', async () => {
    const ctl = newCtl();
    const pool = new Pool({ connect: fakeFactory(ctl), offlineAfter: 2, probeMinMs: 50 });
    const events: string[] = [];
    pool.on('status', (_k: string, s: string) => events.push(s));
    try {
      const d = pool.device('127.0.0.1:1'); // nothing listens on port 1: the TCP probe fails
      await d.getState();
      ctl.fail = new KasaTapoError('ECONNREFUSED', 'refused');
      await assert.rejects(d.getState(), { code: 'ECONNREFUSED' });
      await assert.rejects(d.getState(), { code: 'ECONNREFUSED' });
      const before = ctl.calls + ctl.connects;
      await assert.rejects(d.getState(), { code: 'EOFFLINE' });
      assert.equal(ctl.calls + ctl.connects, before, 'offline requests never reach the device');
      assert.equal(pool.status('127.0.0.1:1'), 'offline');
      assert.deepEqual(events, ['connecting', 'online', 'error', 'offline']);
    } finally {
      await pool.close();
    }
  });

  it('shares one poll stream between subscribers at the shortest interval, with on-change', async () => {
    const ctl = newCtl();
    const pool = new Pool({ connect: fakeFactory(ctl) });
    try {
      const all: number[] = [];
      let changes = 0;
      const subs = [400, 300, 200, 100].map((ms, i) =>
        pool.subscribe('127.0.0.1:1', { intervalMs: ms, onlyChanges: i === 0 }, (err) => {
          if (err) throw err;
          if (i === 0) changes++;
          else all.push(i);
        }),
      );
      await sleep(650);
      const polls = pool.deviceStats('127.0.0.1:1')!.polls;
      assert.ok(polls >= 4 && polls <= 8, `one stream at 100 ms: ${polls} polls`);
      assert.equal(ctl.calls, polls);
      assert.equal(changes, 1, 'on-change subscriber saw one reading (uptime and rssi moved, nothing else)');
      ctl.on = true;
      for (let t0 = Date.now(); changes < 2 && Date.now() - t0 < 5000;) await sleep(20);
      assert.equal(changes, 2, 'switching the device is a change');
      for (const s of subs) s.cancel();
    } finally {
      await pool.close();
    }
  });

  it('closes sessions nobody uses after the idle time', async () => {
    const ctl = newCtl();
    const pool = new Pool({ connect: fakeFactory(ctl), idleCloseMs: 10 });
    try {
      const d = pool.device('127.0.0.1:1');
      await d.getState();
      d.release();
      await sleep(20);
      pool.sweep();
      await sleep(1);
      assert.equal(ctl.closed, 1);
      assert.equal(pool.deviceStats('127.0.0.1:1'), undefined);
    } finally {
      await pool.close();
    }
  });

  it('resolves aliases, hosts and host:port; refuses bad references', async () => {
    const ctl = newCtl();
    const pool = new Pool({ connect: fakeFactory(ctl), devices: [{ alias: 'Hall Lamp', host: '127.0.0.9', port: 80 }] });
    try {
      assert.deepEqual(pool.resolve('hall lamp'), { alias: 'Hall Lamp', host: '127.0.0.9', port: 80 });
      assert.deepEqual(pool.resolve('127.0.0.3:9999'), { host: '127.0.0.3', port: 9999 });
      assert.deepEqual(pool.resolve('127.0.0.3'), { host: '127.0.0.3' });
      assert.throws(() => pool.resolve(''), { code: 'EBADINPUT' });
      assert.throws(() => pool.resolve('no such lamp'), { code: 'ENOTFOUND' });
      assert.throws(() => pool.resolve(42 as unknown as string), { code: 'EBADINPUT' });
    } finally {
      await pool.close();
    }
  });

  it('fails queued and new requests with ECLOSED after close()', async () => {
    const ctl = newCtl();
    ctl.delayMs = 20;
    const pool = new Pool({ connect: fakeFactory(ctl) });
    const d = pool.device('127.0.0.1:1');
    const p = Promise.allSettled([d.getState(), d.getState(), d.getState()]);
    await sleep(5);
    await pool.close();
    const r = await p;
    assert.ok(r.slice(1).every((s) => s.status === 'rejected' && (s.reason as KasaTapoError).code === 'ECLOSED'));
    await assert.rejects(d.getState(), { code: 'ECLOSED' });
  });
});

describe('pool (fake devices): fairness and session setups', () => {
  it('serves a device that waited for a slot before the next request of a device in a tight loop', async () => {
    const ctl = newCtl();
    ctl.delayMs = 25;
    const pool = new Pool({ connect: fakeFactory(ctl), concurrency: 1 });
    try {
      const order: string[] = [];
      const loop = (async () => {
        for (let i = 0; i < 6; i++) {
          await pool.device('127.0.0.1:1').raw({ n: i });
          order.push(`a${i}`);
        }
      })();
      await sleep(5);
      const b = pool
        .device('127.0.0.2:1')
        .raw({ n: 99 })
        .then(() => order.push('b'));
      await Promise.all([loop, b]);
      assert.ok(order.indexOf('b') <= 2, `b waited behind the loop: ${order.join(' ')}`);
    } finally {
      await pool.close();
    }
  });

  it('starts at most connectConcurrency session setups at once, and a hanging one does not hold up the rest', async () => {
    let now = 0;
    let max = 0;
    const hang = new Set(['127.0.0.1']);
    const base = fakeFactory(newCtl());
    const connect = async (opts: { host: string; port?: number; signal?: AbortSignal }) => {
      now++;
      max = Math.max(max, now);
      try {
        if (hang.has(opts.host)) {
          await new Promise((_r, reject) => opts.signal?.addEventListener('abort', () => reject(new KasaTapoError('ECLOSED', 'closed'))));
        }
        await sleep(30);
        return await base(opts);
      } finally {
        now--;
      }
    };
    const pool = new Pool({ connect: connect, connectConcurrency: 2 });
    try {
      const stuck = pool
        .device('127.0.0.1:1')
        .getState()
        .catch((e: KasaTapoError) => e.code);
      const rest = await Promise.all(Array.from({ length: 8 }, (_, i) => pool.device(`127.0.1.${i + 1}:1`).getState()));
      assert.equal(rest.length, 8, 'the other devices connected although one setup hangs');
      assert.ok(max <= 3, `at most 2 setups at once (plus a hanging one past its 250 ms lease): ${max}`);
      await pool.close();
      assert.equal(await stuck, 'ECLOSED');
    } finally {
      await pool.close();
    }
  });
});

describe('pool (fake devices): reconnects', () => {
  it('reuses the transport and port found on the first connect after the device was offline', async () => {
    const ctl = newCtl();
    const seen: { transport?: string; port?: number }[] = [];
    const base = fakeFactory(ctl);
    const pool = new Pool({
      offlineAfter: 1,
      probeMinMs: 10_000,
      connect: async (opts) => {
        seen.push({ transport: opts.transport, port: opts.port });
        const d = await base({ host: opts.host, port: opts.port ?? 8123 });
        return d;
      },
    });
    try {
      const d = pool.device('127.0.0.1');
      await d.getState();
      ctl.fail = new KasaTapoError('ECONNREFUSED', 'refused');
      await assert.rejects(d.getState(), { code: 'ECONNREFUSED' });
      assert.equal(pool.status('127.0.0.1'), 'offline');
      ctl.fail = undefined;
      (pool as unknown as { entries: Map<string, { status: string }> }).entries.get('127.0.0.1')!.status = 'online';
      await d.getState();
      assert.deepEqual(seen, [
        { transport: 'auto', port: undefined },
        { transport: 'klap', port: 8123 },
      ]);
    } finally {
      await pool.close();
    }
  });
});
