// The fault matrix (issue #6, item 1): every simulator fault × every transport, through the public
// API (a Pool and its PooledDevice; a second Pool where a second client is needed). Each case opens
// a session with one good read, injects the fault, and checks that the request ends with the right
// error code (or, for faults a client must hide, succeeds) within a bound computed from the pool's
// options, that the next request after recovery succeeds, that nothing rejected unhandled, and
// that no socket, server, worker or timer created during the case outlives it (async_hooks, which
// also sees unref'd timers, plus process.getActiveResourcesInfo() before/after).
// Timing is never asserted tightly: bounds are "per-attempt timeout × attempts + backoff + 2 s".
import { strict as assert } from 'node:assert';
import { createHook, type AsyncHook } from 'node:async_hooks';
import * as net from 'node:net';
import { isKasaTapoError, type ErrorCode } from '../../src/errors';
import { Pool, type PoolOptions, type PooledDevice } from '../../src/pool';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator';
import type { TransportKind } from '../../src/types';
import { randomBase } from '../helpers/net';

const credentials = { username: 'faults@example.com', password: 'Fault-Matrix-1' };
const TIMEOUT_MS = 400;
const RETRIES = 1;
const BACKOFF_MS = 50;
const POOL: PoolOptions = {
  credentials,
  timeoutMs: TIMEOUT_MS,
  retries: RETRIES,
  backoffMs: BACKOFF_MS,
  offlineAfter: 2,
  probeMinMs: 100,
  probeMaxMs: 400,
  authRetryMs: 300,
  idleCloseMs: 60000,
};
/** Longest a request under the retry policy may take: every attempt times out, every backoff waited. */
const REQUEST_BOUND_MS = TIMEOUT_MS * (RETRIES + 1) + BACKOFF_MS * RETRIES + 2000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait (bounded) until `cond()` holds. Resolves with whether it did. */
async function until(cond: () => boolean | Promise<boolean>, maxMs: number, stepMs = 20): Promise<boolean> {
  const t0 = Date.now();
  for (let i = 0; i < 1000 && Date.now() - t0 < maxMs; i++) {
    if (await cond()) return true;
    await sleep(stepMs);
  }
  return cond();
}

/** One raw TCP connect to the device: 'open', 'refused' (or reset), or 'hangs' (no answer in 150 ms). */
function tcpState(sim: SimulatedDevice): Promise<'open' | 'refused' | 'hangs'> {
  return new Promise((resolve) => {
    const s = net.connect({ host: sim.host, port: sim.port });
    const done = (v: 'open' | 'refused' | 'hangs'): void => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done('hangs'), 150);
    s.once('connect', () => done('open'));
    s.once('error', () => done('refused'));
  });
}

const waitTcp = async (sim: SimulatedDevice, want: 'open' | 'refused' | 'hangs'): Promise<void> => {
  assert.ok(await until(async () => (await tcpState(sim)) === want, 3000), `the device's port never became ${want}`);
};

/** The TCP sockets the pool's offline probe opens to `port` while `fn` runs (told by the call stack). */
async function probesTo(port: number, fn: () => Promise<void>): Promise<net.Socket[]> {
  const proto = net.Socket.prototype as unknown as { connect: (...args: unknown[]) => net.Socket };
  const original = proto.connect;
  const seen: net.Socket[] = [];
  const portOf = (a: unknown): unknown => (Array.isArray(a) ? portOf(a[0]) : typeof a === 'object' && a ? (a as { port?: unknown }).port : a);
  proto.connect = function (this: net.Socket, ...args: unknown[]) {
    if (Number(portOf(args[0])) === port && /\bprobe\b[^\n]*pool([/\\][a-z-]+)?\.[jt]s/.test(new Error().stack ?? '')) seen.push(this);
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.connect = original;
  }
  return seen;
}

// -------------------------------------------------------------------------------------------------
// Leak tracking

const TRACKED = new Set(['Timeout', 'TCPWRAP', 'TCPSERVERWRAP', 'TCPCONNECTWRAP', 'UDPWRAP', 'WORKER', 'PIPEWRAP']);

/** Resources created while enabled and not yet destroyed (unref'd timers included). */
class Tracker {
  private readonly live = new Map<number, { type: string; resource: unknown }>();
  private readonly hook: AsyncHook = createHook({
    init: (id, type, _trigger, resource) => {
      if (TRACKED.has(type)) this.live.set(id, { type, resource });
    },
    destroy: (id) => {
      this.live.delete(id);
    },
  });

  start(): void {
    this.hook.enable();
  }

  /** Live resources by type, leaving out Node's own HTTP Date-header cache timer (≤ 1 s, unref'd). */
  left(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { type, resource } of this.live.values()) {
      const onTimeout = (resource as { _onTimeout?: { name?: string } })._onTimeout;
      if (type === 'Timeout' && onTimeout?.name === 'resetCache') continue;
      if (type === 'Timeout' && (resource as { _destroyed?: boolean })._destroyed) continue;
      out[type] = (out[type] ?? 0) + 1;
    }
    return out;
  }

  stop(): void {
    this.hook.disable();
  }
}

const SOCKETS = /TCP|UDP|Pipe|Connect|Shutdown/;

/** Sockets/servers and (ref'd) timers that keep the process alive. */
function active(): { sockets: number; timers: number } {
  let sockets = 0;
  let timers = 0;
  for (const r of process.getActiveResourcesInfo()) {
    if (r === 'Timeout') timers++;
    else if (SOCKETS.test(r)) sockets++;
  }
  return { sockets, timers };
}

// -------------------------------------------------------------------------------------------------
// The matrix

interface Kind {
  name: string;
  transport: TransportKind;
  profile: string;
  /** AES login v1 (p100): the user's choice for that device. */
  loginVersion?: 1;
}

const KINDS: Kind[] = [
  { name: 'XOR', transport: 'xor', profile: 'hs110v1' },
  { name: 'KLAP v1', transport: 'klap-v1', profile: 'hs100uk' },
  { name: 'KLAP v2', transport: 'klap', profile: 'p110' },
  { name: 'AES', transport: 'aes', profile: 'p100', loginVersion: 1 },
];

/** What a case has to work with. */
interface Ctx {
  kind: Kind;
  sim: SimulatedDevice;
  pool: Pool;
  /** The pool handle that made the first read (its session is open when the fault is injected). */
  dev: PooledDevice;
  /** Pools and the like to close at the end, besides `pool`. */
  closers: (() => Promise<void>)[];
  /** Pool events, as `event` strings. */
  events: string[];
  /** What the case opened and has not closed yet. */
  tracker: Tracker;
}

/** 'ok' for a request that succeeds, else its error code. */
type Outcome = ErrorCode | 'ok';

async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    assert.ok(isKasaTapoError(e), `an untyped error: ${String(e)}`);
    return e.code;
  }
}

/** Run `n` requests one after the other and collect their outcomes, each within REQUEST_BOUND_MS. */
async function sequence(n: number, call: () => Promise<unknown>): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = Date.now();
    out.push(await outcome(call()));
    const took = Date.now() - t0;
    assert.ok(took <= REQUEST_BOUND_MS, `request ${i + 1} took ${took} ms (bound ${REQUEST_BOUND_MS} ms)`);
  }
  return out;
}

const clearFaults = (sim: SimulatedDevice): void => {
  for (const k of Object.keys(sim.faults)) delete (sim.faults as Record<string, unknown>)[k];
};

interface FaultRow {
  name: string;
  /** Outcomes of the requests `act` makes, per transport. */
  expect(k: Kind): Outcome[];
  /** Inject the fault and wait until it is in place. */
  inject(c: Ctx): void | Promise<void>;
  /** The request(s) under the fault; default: one getState(). */
  act?(c: Ctx): Promise<Outcome[]>;
  /** Undo the fault and wait until recovery is possible; returns the handle for the final read (default `dev`). */
  recover(c: Ctx): Promise<PooledDevice | void>;
  /** After everything: extra checks (stats). */
  check?(c: Ctx): void;
}

const simple = (name: string, code: Outcome, set: (c: Ctx) => void): FaultRow => ({
  name,
  expect: () => [code],
  inject: set,
  recover: async ({ sim }) => clearFaults(sim),
});

const FAULTS: FaultRow[] = [
  simple('latency beyond the timeout', 'ETIMEDOUT', ({ sim }) => (sim.faults.latencyMs = TIMEOUT_MS * 4)),
  simple('dropped connection', 'ECONNRESET', ({ sim }) => (sim.faults.dropConnection = true)),
  simple('truncated frame', 'ECONNRESET', ({ sim }) => (sim.faults.truncate = true)),
  simple('lying length prefix', 'ETOOBIG', ({ sim }) => (sim.faults.lyingLength = true)),
  simple('invalid JSON', 'EPROTOCOL', ({ sim }) => (sim.faults.invalidJson = true)),
  simple('garbage', 'EPROTOCOL', ({ sim }) => (sim.faults.garbage = true)),
  {
    name: 'refused connection',
    expect: () => ['ECONNREFUSED'],
    inject: async ({ sim }) => {
      sim.faults.refuse = true;
      await waitTcp(sim, 'refused');
    },
    recover: async ({ sim }) => {
      clearFaults(sim);
      await waitTcp(sim, 'open');
    },
  },
  {
    // The pool holds the device's one connection; a second client (another pool) is cut off, the
    // holder is not disturbed, and once the holder lets go the second client gets through.
    name: 'one connection at a time',
    expect: () => ['ECONNRESET', 'ok'],
    inject: ({ sim }) => {
      sim.faults.singleConnection = true;
    },
    act: async (c) => {
      const other = new Pool(POOL);
      c.closers.push(() => other.close());
      const second = other.device({
        host: c.sim.host,
        port: c.sim.port,
        transport: c.kind.transport,
        ...(c.kind.loginVersion ? { loginVersion: c.kind.loginVersion } : {}),
      });
      (c as Ctx & { second?: PooledDevice }).second = second;
      return [...(await sequence(1, () => second.getState())), ...(await sequence(1, () => c.dev.getState()))];
    },
    recover: async (c) => {
      await c.pool.close();
      // The holder's connection is closed on both ends once no TCP socket of this case is left.
      const closed = await until(async () => {
        await new Promise((r) => setImmediate(r));
        return !c.tracker.left()['TCPWRAP'];
      }, 3000);
      assert.ok(closed, `the holder connection closed: ${JSON.stringify(c.tracker.left())}`);
      return (c as Ctx & { second?: PooledDevice }).second!;
    },
  },
  {
    // Refused for 1.5 s: two refusals take the device offline, then EOFFLINE at once without
    // touching the device; the probe sees it back and the next request succeeds.
    name: 'offline, then back',
    expect: () => ['ECONNREFUSED', 'ECONNREFUSED', 'EOFFLINE'],
    inject: async ({ sim }) => {
      sim.faults.offlineUntil = Date.now() + 1500;
      await waitTcp(sim, 'refused');
    },
    act: async (c) => {
      const codes = await sequence(2, () => c.dev.getState());
      assert.equal(c.pool.status({ host: c.sim.host, port: c.sim.port }), 'offline');
      const requests = c.pool.deviceStats({ host: c.sim.host, port: c.sim.port })!.requests;
      const t0 = Date.now();
      codes.push(await outcome(c.dev.getState()));
      assert.ok(Date.now() - t0 < 1000, 'EOFFLINE comes at once');
      assert.equal(c.pool.deviceStats({ host: c.sim.host, port: c.sim.port })!.requests, requests, 'EOFFLINE never reached the device');
      return codes;
    },
    recover: async (c) => {
      assert.ok(await until(() => c.events.includes('online:again'), 1500 + 400 + 3000), `back online: ${c.events.join(' ')}`);
    },
  },
  {
    // The session ends every 3 requests during a burst of 12 queued requests: no caller sees it.
    name: 'session expiry mid-burst',
    expect: () => Array<Outcome>(12).fill('ok'),
    inject: ({ sim }) => {
      sim.faults.expireSessionEvery = 3;
    },
    act: async ({ dev }) => {
      const t0 = Date.now();
      const out = await Promise.all(Array.from({ length: 12 }, () => outcome(dev.getState())));
      assert.ok(Date.now() - t0 <= REQUEST_BOUND_MS * 2, `burst took ${Date.now() - t0} ms`);
      return out;
    },
    recover: async ({ sim }) => clearFaults(sim),
    check: ({ kind, sim, pool }) => {
      if (kind.transport === 'xor') assert.ok(sim.stats.connections >= 4, `connections ${sim.stats.connections}`);
      else assert.ok(sim.stats.expired >= 3, `expired ${sim.stats.expired}`);
      assert.equal(pool.deviceStats({ host: sim.host, port: sim.port })?.errors ?? 0, 0);
    },
  },
  {
    // The device's account changes under an open session (which ends): EAUTH, then EAUTH at once
    // from the pool for authRetryMs; after that the next login works again. XOR has no login.
    name: 'wrong credentials',
    expect: (k) => (k.transport === 'xor' ? ['ok', 'ok'] : ['EAUTH', 'EAUTH']),
    inject: ({ sim }) => {
      sim.faults.wrongCredentials = true;
      sim.expireSessions();
    },
    act: async ({ kind, sim, pool, dev }) => {
      const codes = await sequence(1, () => dev.getState());
      const requests = pool.deviceStats({ host: sim.host, port: sim.port })!.requests;
      codes.push(...(await sequence(1, () => dev.getState())));
      const again = pool.deviceStats({ host: sim.host, port: sim.port })!.requests - requests;
      assert.equal(again, kind.transport === 'xor' ? 1 : 0, 'within authRetryMs the pool answers EAUTH without a new login');
      return codes;
    },
    recover: async ({ sim }) => {
      clearFaults(sim);
      await sleep((POOL.authRetryMs ?? 0) + 50);
    },
  },
  simple('device busy codes', 'EBUSY', ({ sim }) => (sim.faults.busyCode = -1301)),
];

/** Unhandled rejections seen while this file runs. */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

let addr = 0;
const base = randomBase();

interface CaseSpec extends Omit<FaultRow, 'name'> {
  /** The pool is closed by `act`: no read after recovery. */
  noFinalRead?: boolean;
  /** How long everything may take to close after the case. Default 3000 ms. */
  settleMs?: number;
}

/** One case: baseline, device + pool, first read, fault, outcomes, recovery, final read, leak check. */
async function runCase(kind: Kind, row: CaseSpec, poolOpts: PoolOptions = POOL): Promise<void> {
  // After one turn: mocha arms its test timer once the test function has returned its promise.
  await new Promise((r) => setImmediate(r));
  const baseline = active();
  const tracker = new Tracker();
  tracker.start();
  const closers: (() => Promise<void>)[] = [];
  let sim: SimulatedDevice | undefined;
  let pool: Pool | undefined;
  try {
    sim = await startSimulatedDevice(kind.profile, { host: `${base}.${++addr}`, port: 0, credentials, faults: {} });
    pool = new Pool(poolOpts);
    const events: string[] = [];
    let wentOffline = false;
    pool.on('offline', () => {
      wentOffline = true;
      events.push('offline');
    });
    pool.on('online', () => events.push(wentOffline ? 'online:again' : 'online'));
    const dev = pool.device({ host: sim.host, port: sim.port, transport: kind.transport, ...(kind.loginVersion ? { loginVersion: kind.loginVersion } : {}) });
    const c: Ctx = { kind, sim, pool, dev, closers, events, tracker };
    assert.equal((await dev.getState()).protocol, kind.transport, 'first read');

    await row.inject(c);
    const got = row.act ? await row.act(c) : await sequence(1, () => dev.getState());
    assert.deepEqual(got, row.expect(kind));

    const final = (await row.recover(c)) ?? dev;
    if (!row.noFinalRead) assert.equal((await final.getState()).protocol, kind.transport, 'the request after recovery succeeds');
    row.check?.(c);
  } finally {
    await pool?.close();
    for (const close of closers) await close();
    await sim?.close();
  }
  // Everything this case opened is closed: sockets and servers on both ends, workers, timers.
  let left: Record<string, number> = {};
  const settled = await until(async () => {
    await new Promise((r) => setImmediate(r));
    left = tracker.left();
    const now = active();
    return Object.keys(left).length === 0 && now.sockets <= baseline.sockets && now.timers <= baseline.timers;
  }, row.settleMs ?? 3000);
  tracker.stop();
  assert.ok(settled, `left open after close: ${JSON.stringify(left)}; active ${JSON.stringify(active())} vs ${JSON.stringify(baseline)}`);
  await sleep(1); // let a stray rejection surface
  assert.deepEqual(unhandled.map(String), [], 'no unhandled rejection');
}

describe('fault matrix: every simulator fault × every transport (through the pool)', function () {
  this.timeout(20000);

  before(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  after(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  for (const row of FAULTS) {
    describe(row.name, () => {
      for (const kind of KINDS) {
        it(`${kind.name} → ${row.expect(kind).join(', ')}`, () => runCase(kind, row));
      }
    });
  }

  // close() in the middle of a fault: a request waiting on a silent device, a retry waiting out
  // its backoff, a probe hanging on an unreachable device. The request ends with ECLOSED at once
  // and nothing of the case is left open well before any of the (long) timers would have fired.
  describe('closing the pool in the middle of a fault leaves nothing open', () => {
    const LONG: PoolOptions = { ...POOL, timeoutMs: 3000, backoffMs: 3000, probeMinMs: 50, probeMaxMs: 100 };
    const SHORT_TIMEOUT: PoolOptions = { ...LONG, timeoutMs: 300 };
    const WHAT = ['connecting', 'waiting for an answer', 'in retry backoff', 'offline, probe hanging'] as const;
    for (const kind of KINDS) {
      for (const what of WHAT) {
        it(`${kind.name}: ${what}`, () =>
          runCase(
            kind,
            {
              expect: () => (what === 'offline, probe hanging' ? ['ECONNREFUSED', 'ECONNREFUSED', 'ECLOSED'] : ['ECLOSED']),
              inject: async ({ sim }) => {
                if (what === 'offline, probe hanging') {
                  sim.faults.refuse = true;
                  await waitTcp(sim, 'refused');
                } else sim.faults.latencyMs = 60000;
              },
              act: async (c) => {
                if (what === 'offline, probe hanging') {
                  // Offline after two refusals; then connects hang, and so does the next probe.
                  const codes = await sequence(2, () => c.dev.getState());
                  assert.equal(c.pool.status({ host: c.sim.host, port: c.sim.port }), 'offline');
                  const probes = await probesTo(c.sim.port, async () => {
                    c.sim.faults.unreachable = true;
                    c.sim.faults.refuse = false;
                    await waitTcp(c.sim, 'hangs');
                    await sleep(250);
                    await c.pool.close();
                  });
                  assert.ok(probes.length >= 1, 'the pool probed');
                  assert.ok(
                    probes.every((p) => p.destroyed),
                    'close() ended the hanging probe',
                  );
                  return [...codes, await outcome(c.dev.getState())];
                }
                if (what === 'connecting') {
                  // A second pool whose first connect (and its read) waits on the silent device.
                  const other = new Pool(LONG);
                  c.closers.push(() => other.close());
                  const p = outcome(
                    other
                      .device({
                        host: c.sim.host,
                        port: c.sim.port,
                        transport: c.kind.transport,
                        ...(c.kind.loginVersion ? { loginVersion: c.kind.loginVersion } : {}),
                      })
                      .getState(),
                  );
                  await sleep(200);
                  const t0 = Date.now();
                  await other.close();
                  const code = await p;
                  assert.ok(Date.now() - t0 < 1000, `the connect ended ${Date.now() - t0} ms after close()`);
                  return [code];
                }
                const p = outcome(c.dev.getState());
                // In retry backoff: the first attempt timed out (after SHORT_TIMEOUT.timeoutMs).
                await sleep(what === 'in retry backoff' ? SHORT_TIMEOUT.timeoutMs! + 200 : 200);
                const t0 = Date.now();
                await c.pool.close();
                const code = await p;
                assert.ok(Date.now() - t0 < 1000, `the request ended ${Date.now() - t0} ms after close()`);
                return [code];
              },
              recover: async ({ sim }) => {
                clearFaults(sim);
              },
              noFinalRead: true,
              // Well below the 3 s timeout, backoff and probe timeout that would otherwise end them.
              settleMs: 1000,
            },
            what === 'in retry backoff' ? SHORT_TIMEOUT : LONG,
          ));
      }
    }
  });

  // The timeout/offline decision (src/pool.ts, src/protocols/retry.ts): a device that stops
  // answering at all — its connects time out rather than being refused — is offline after one
  // request (no retry of the connect timeout), and comes back through the probe.
  describe('a device that stops answering (connects time out), then comes back', () => {
    for (const kind of KINDS) {
      it(`${kind.name} → ETIMEDOUT, offline at once, EOFFLINE, back`, () =>
        runCase(kind, {
          expect: () => ['ETIMEDOUT', 'EOFFLINE'],
          inject: async ({ sim }) => {
            sim.faults.unreachable = true;
            await waitTcp(sim, 'hangs');
          },
          act: async (c) => {
            const codes = await sequence(1, () => c.dev.getState());
            assert.equal(c.pool.status({ host: c.sim.host, port: c.sim.port }), 'offline', 'offline after one request');
            codes.push(await outcome(c.dev.getState()));
            return codes;
          },
          recover: async (c) => {
            clearFaults(c.sim);
            assert.ok(await until(() => c.events.includes('online:again'), 5000), `back online: ${c.events.join(' ')}`);
          },
        }));
    }
  });
});
