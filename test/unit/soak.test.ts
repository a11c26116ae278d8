// Soak (issue #6, item 6): 50 simulated devices over all four transports, polled by one Pool's
// subscribe poller every second while a seeded PRNG switches the simulator's faults on and off,
// for KASA_SOAK_S seconds (default 30; e.g. KASA_SOAK_S=600 for the ten-minute run; KASA_SOAK_SEED
// picks another fault schedule). Reports requests, errors by code, handles and memory; asserts no
// unhandled rejection or uncaught exception, only the error codes those faults can cause, every
// device readable again once the faults are cleared, handles back to the baseline after close, and
// a bounded heap growth. Every loop is bounded in count and time; nothing asserts speed.
import { strict as assert } from 'node:assert';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { isKasaTapoError, type ErrorCode } from '../../src/errors';
import { Pool, type Subscription } from '../../src/pool';
import { startSimulatedDevice, type Faults, type SimulatedDevice } from '../../src/simulator';
import type { TransportKind } from '../../src/types';
import { randomBase } from '../helpers/net';

const DURATION_S = Math.max(5, Number(process.env.KASA_SOAK_S ?? 30) || 30);
const SEED = Number(process.env.KASA_SOAK_SEED ?? 20261121) >>> 0;
const DEVICES = 50;
const POLL_MS = 1000;
const credentials = { username: 'soak@example.com', password: 'Soak-Pass-1' };
const POOL = {
  credentials,
  timeoutMs: 500,
  retries: 1,
  backoffMs: 100,
  offlineAfter: 2,
  probeMinMs: 200,
  probeMaxMs: 1000,
  authRetryMs: 1000,
  // The login budget's own lock (3 failed logins in a row), scaled down like authRetryMs.
  loginLockMs: 1000,
};
/** Codes the injected faults can cause; anything else is a bug. */
const EXPECTED: ReadonlySet<ErrorCode> = new Set(['ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'ETOOBIG', 'EPROTOCOL', 'EBUSY', 'EAUTH', 'EOFFLINE', 'ELOCKED']);
/** Heap growth allowed between before and after (both after a full GC). Generous on purpose. */
const HEAP_GROWTH_MAX = 48 << 20;
/** Devices unreachable at once (each holds a blocked worker thread). */
const MAX_UNREACHABLE = 3;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded PRNG, so a failing schedule can be replayed with KASA_SOAK_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A full GC (the flag can be set at run time; the function comes from a fresh context). */
function gc(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

const mb = (n: number): string => `${(n / (1 << 20)).toFixed(1)} MB`;

const SOCKETS = /TCP|UDP|Pipe|Connect|Shutdown/;
function handles(): { sockets: number; timers: number; other: number } {
  const out = { sockets: 0, timers: 0, other: 0 };
  for (const r of process.getActiveResourcesInfo()) {
    if (r === 'Timeout') out.timers++;
    else if (SOCKETS.test(r)) out.sockets++;
    else out.other++;
  }
  return out;
}

/** Profiles per transport; device i speaks TRANSPORTS[i % 4] and takes that list's next profile. */
const TRANSPORTS: { transport: TransportKind; profiles: string[] }[] = [
  { transport: 'xor', profiles: ['hs110v1', 'hs300', 'kl130', 'hs100', 'hs220', 'kp303'] },
  { transport: 'klap-v1', profiles: ['hs100uk'] },
  { transport: 'klap', profiles: ['p110', 'l530', 'p304m', 'ks225', 'kp125m'] },
  { transport: 'aes', profiles: ['p100', 'h100', 'p110aes', 'l920'] },
];
const METERED = new Set(['hs110v1', 'p110', 'p110aes', 'kp125m']);

/** The faults the chaos switches on (one at a time per device), with how each is set. */
const FAULTS: { name: string; set(f: Faults, sim: SimulatedDevice, rnd: () => number): void }[] = [
  { name: 'latency>timeout', set: (f) => (f.latencyMs = 1200) },
  { name: 'latency<timeout', set: (f) => (f.latencyMs = 150) },
  { name: 'dropConnection', set: (f) => (f.dropConnection = true) },
  { name: 'truncate', set: (f) => (f.truncate = true) },
  { name: 'lyingLength', set: (f) => (f.lyingLength = true) },
  { name: 'invalidJson', set: (f) => (f.invalidJson = true) },
  { name: 'garbage', set: (f) => (f.garbage = true) },
  { name: 'refuse', set: (f) => (f.refuse = true) },
  { name: 'offlineUntil', set: (f, _s, rnd) => (f.offlineUntil = Date.now() + 500 + Math.floor(rnd() * 3000)) },
  { name: 'singleConnection', set: (f) => (f.singleConnection = true) },
  { name: 'expireSessionEvery', set: (f, _s, rnd) => (f.expireSessionEvery = 1 + Math.floor(rnd() * 3)) },
  { name: 'busyCode', set: (f) => (f.busyCode = -1301) },
  {
    name: 'wrongCredentials',
    set: (f, sim) => {
      f.wrongCredentials = true;
      sim.expireSessions();
    },
  },
  { name: 'unreachable', set: (f) => (f.unreachable = true) },
];

const clearFaults = (f: Faults): void => {
  for (const k of Object.keys(f)) delete (f as Record<string, unknown>)[k];
};

const inc = <K extends string>(m: Partial<Record<K, number>>, k: K, n = 1): void => {
  m[k] = (m[k] ?? 0) + n;
};

describe(`soak: ${DEVICES} simulated devices, random faults, ${DURATION_S} s (KASA_SOAK_S)`, function () {
  this.timeout(DURATION_S * 1000 + 180_000);

  const unhandled: unknown[] = [];
  const uncaught: unknown[] = [];
  const onUnhandled = (r: unknown): void => void unhandled.push(r);
  const onUncaught = (e: unknown): void => void uncaught.push(e);
  before(() => {
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUncaught);
  });
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUncaught);
  });

  it('polls through random faults, then every device answers again, nothing leaks', async () => {
    await new Promise((r) => setImmediate(r)); // mocha's test timer is armed now: part of the baseline
    const rnd = prng(SEED);
    const base = randomBase();
    gc();
    const handlesBefore = handles();
    const heapBefore = process.memoryUsage();

    const sims: SimulatedDevice[] = [];
    let pool: Pool | undefined;
    const subs: Subscription[] = [];
    const polled: Partial<Record<ErrorCode | 'ok', number>> = {};
    const acted: Partial<Record<ErrorCode | 'ok', number>> = {};
    const injected: Record<string, number> = {};
    const unexpected: string[] = [];
    const note = (m: Partial<Record<ErrorCode | 'ok', number>>, e: unknown): void => {
      if (!e) return inc(m, 'ok');
      const code = isKasaTapoError(e) ? e.code : undefined;
      if (!code || !EXPECTED.has(code)) {
        if (unexpected.length < 20) unexpected.push(isKasaTapoError(e) ? `${e.code}: ${e.message}` : String(e));
        return;
      }
      inc(m, code);
    };
    let heapPeak = heapBefore.heapUsed;
    let rssPeak = heapBefore.rss;
    let recoverMs = 0;
    let poolStats: ReturnType<Pool['stats']> | undefined;
    try {
      for (let i = 0; i < DEVICES; i++) {
        const t = TRANSPORTS[i % TRANSPORTS.length]!;
        const profile = t.profiles[Math.floor(i / TRANSPORTS.length) % t.profiles.length]!;
        sims.push(await startSimulatedDevice(profile, { host: `${base}.${i + 1}`, port: 0, credentials, faults: {}, logSize: 50 }));
      }
      pool = new Pool(POOL);
      const p = pool;
      const ref = (s: SimulatedDevice) => ({
        host: s.host,
        port: s.port,
        transport: s.transport as TransportKind,
        ...(s.profile.loginVersion === 1 && s.transport === 'aes' ? { loginVersion: 1 as const } : {}),
      });
      for (const s of sims) {
        subs.push(p.subscribe(ref(s), { intervalMs: POLL_MS }, (err) => note(polled, err)));
        if (METERED.has(s.profile.id)) subs.push(p.subscribe(ref(s), { intervalMs: POLL_MS * 2, kind: 'energy' }, (err) => note(polled, err)));
      }

      // Chaos: every 100 ms clear the faults that have run their time, and now and then switch one
      // on for 0.3–4 s on a healthy device; also switch a random device now and then.
      const until = new Map<SimulatedDevice, number>();
      const end = Date.now() + DURATION_S * 1000;
      const actions: Promise<void>[] = [];
      for (let tick = 0; tick < DURATION_S * 20 && Date.now() < end; tick++) {
        const now = Date.now();
        for (const [s, t] of until) {
          if (now >= t) {
            clearFaults(s.faults);
            until.delete(s);
          }
        }
        if (rnd() < 0.6 && until.size < DEVICES / 3) {
          const s = sims[Math.floor(rnd() * sims.length)]!;
          const f = FAULTS[Math.floor(rnd() * FAULTS.length)]!;
          const dark = [...until.keys()].filter((d) => d.faults.unreachable).length;
          if (!until.has(s) && (f.name !== 'unreachable' || dark < MAX_UNREACHABLE)) {
            f.set(s.faults, s, rnd);
            until.set(s, now + 300 + Math.floor(rnd() * 3700));
            injected[f.name] = (injected[f.name] ?? 0) + 1;
          }
        }
        if (rnd() < 0.1 && actions.length < 2000) {
          const switchable = sims.filter((x) => x.profile.family !== 'hub');
          const d = p.device(ref(switchable[Math.floor(rnd() * switchable.length)]!));
          actions.push(
            d
              .setState({ on: rnd() < 0.5 })
              .then(
                () => note(acted, undefined),
                (e: unknown) => note(acted, e),
              )
              .finally(() => d.release()),
          );
        }
        if (tick % 10 === 0) {
          const m = process.memoryUsage();
          heapPeak = Math.max(heapPeak, m.heapUsed);
          rssPeak = Math.max(rssPeak, m.rss);
        }
        await sleep(100);
      }

      // Clear every fault; every device must answer again (offline ones once the probe sees them,
      // auth-error ones once authRetryMs has passed).
      for (const s of sims) clearFaults(s.faults);
      const t0 = Date.now();
      const deadline = t0 + POOL.authRetryMs + POOL.probeMaxMs + 15_000;
      const readable = await Promise.all(
        sims.map(async (s) => {
          const d = p.device(ref(s));
          try {
            for (let i = 0; i < 400 && Date.now() < deadline; i++) {
              try {
                await d.getState();
                return true;
              } catch {
                await sleep(100);
              }
            }
            return false;
          } finally {
            d.release();
          }
        }),
      );
      recoverMs = Date.now() - t0;
      await Promise.all(actions);
      const stuck = sims.filter((_, i) => !readable[i]).map((s) => `${s.profile.id}@${s.host} (${p.status(ref(s))})`);
      assert.deepEqual(stuck, [], 'every device readable again once the faults are cleared');
      poolStats = p.stats();
    } finally {
      for (const s of subs) s.cancel();
      await pool?.close();
      await Promise.all(sims.map((s) => s.close()));
    }

    // Handles back to the baseline (closing sockets need a moment), then memory after a full GC.
    let handlesAfter = handles();
    for (let i = 0; i < 100; i++) {
      handlesAfter = handles();
      if (handlesAfter.sockets <= handlesBefore.sockets && handlesAfter.timers <= handlesBefore.timers) break;
      await sleep(50);
    }
    gc();
    const heapAfter = process.memoryUsage();

    const errorsByCode: Partial<Record<ErrorCode, number>> = {};
    for (const d of poolStats?.perDevice ?? []) for (const [k, v] of Object.entries(d.errorsByCode)) inc(errorsByCode, k as ErrorCode, v ?? 0);
    const byTransport: Record<string, number> = {};
    for (const s of sims) byTransport[s.transport] = (byTransport[s.transport] ?? 0) + 1;
    const report = {
      seconds: DURATION_S,
      seed: SEED,
      devices: byTransport,
      faultsInjected: injected,
      pool: poolStats && {
        requests: poolStats.requests,
        errors: poolStats.errors,
        handshakes: poolStats.handshakes,
        retries: poolStats.retries,
        polls: poolStats.polls,
        pollsMissed: poolStats.pollsMissed,
      },
      errorsByCode,
      pollResults: polled,
      actionResults: acted,
      recoverMs,
      handles: { before: handlesBefore, after: handlesAfter },
      heap: { before: mb(heapBefore.heapUsed), peak: mb(heapPeak), after: mb(heapAfter.heapUsed), rssPeak: mb(rssPeak) },
    };
    console.log(`      soak report: ${JSON.stringify(report, null, 2).replace(/\n/g, '\n      ')}`);

    assert.deepEqual(unexpected, [], 'only the error codes the faults can cause');
    assert.deepEqual(unhandled.map(String), [], 'no unhandled rejection');
    assert.deepEqual(uncaught.map(String), [], 'no uncaught exception');
    assert.ok((polled.ok ?? 0) > 0 && (poolStats?.requests ?? 0) > DEVICES, 'the poller ran');
    assert.ok(handlesAfter.sockets <= handlesBefore.sockets, `sockets back to baseline: ${JSON.stringify(handlesAfter)} vs ${JSON.stringify(handlesBefore)}`);
    assert.ok(handlesAfter.timers <= handlesBefore.timers, `timers back to baseline: ${JSON.stringify(handlesAfter)} vs ${JSON.stringify(handlesBefore)}`);
    assert.ok(heapAfter.heapUsed - heapBefore.heapUsed < HEAP_GROWTH_MAX, `heap grew ${mb(heapAfter.heapUsed - heapBefore.heapUsed)}`);
  });
});
