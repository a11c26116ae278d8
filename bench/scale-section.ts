/**
 * Bench section "scale": 1,000 simulated devices (one third each XOR, KLAP v2 and
 * AES, each on its own 127.231.x.y address) polled every 10 s through the pool's poller
 * (pool.subscribe) for a minute after one round of warm-up polling (WARMUP_MS), and the same with
 * 100 devices for comparison. Reported: polls
 * missed (expected − delivered; target 0), client CPU as a share of one core over the polling
 * (target under 5%), memory per device (JS heap + external after a forced GC; targets 10 KB per XOR
 * device and 25 KB per KLAP/AES device; RSS beside it), the longest event-loop stall while polling
 * (seen by a 100 ms timer), and how each figure grows from 100 to 1,000 devices.
 *
 * Memory per transport is measured in steps before polling starts: baseline, then sessions opened
 * to every XOR device (one getState each), then KLAP, then AES; each step's growth divided by its
 * device count. The mixed figure at the end includes the pollers and subscriptions.
 *
 * The floor, in the same run: the raw floor clients of bench/floor.ts (one kept-alive socket and
 * session per device, nothing else) polling the same 1,000 devices on the same schedule with
 * their own timers, measured the same way (CPU share, memory per device).
 */
import { generateRsaKeyPair } from '../src/crypto/rsa';
import { POLL_SLOT_MS } from '../src/defaults';
import { Pool } from '../src/pool';
import type { TransportKind } from '../src/types';
import { openFloor, type FloorClient } from './floor';
import { gc, loopbackHosts, profiled, sleep, wanted, type BenchContext, type BenchRow, type BenchSection, type SimGroup } from './lib';

const INTERVAL_MS = 10_000;
/**
 * Polling before the measured window: one round, so that every device has been polled once and the
 * code of the polling path is compiled. The window then shows what a fleet costs hour after hour;
 * the connect phase (sessions opened, first reads) has its own columns.
 */
const WARMUP_MS = INTERVAL_MS;
/** Slot length of the batched floor variant: the pool's own. */
const SLOT_MS = POLL_SLOT_MS;
const MAX_DEVICES = 1000;
const FIRST_OCTET = 231;
const TARGET = { cpuShare: 0.05, xorKB: 10, sessionKB: 25 };

type Kind = Exclude<TransportKind, 'klap-v1' | 'tpap'>;
const KINDS: { kind: Kind; profile: string; label: string }[] = [
  { kind: 'xor', profile: 'hs100', label: 'XOR' },
  { kind: 'klap', profile: 'p110', label: 'KLAP' },
  { kind: 'aes', profile: 'p110aes', label: 'AES' },
];

interface Fleet {
  byKind: Record<Kind, { host: string; port: number }[]>;
  groups: SimGroup[];
}

/** Device i of the 1,000 is of kind i % 3, on address i of 127.231.0.1… (250 per /24). */
async function startFleet(ctx: BenchContext): Promise<Fleet> {
  const hosts = loopbackHosts(FIRST_OCTET, MAX_DEVICES);
  const byKind = { xor: [], klap: [], aes: [] } as Fleet['byKind'];
  const groups: SimGroup[] = [];
  for (const [k, spec] of KINDS.entries()) {
    const mine = hosts.filter((_, i) => i % 3 === k);
    const g = await ctx.sims.start(spec.profile, mine.length, ctx.credentials, { hosts: mine });
    groups.push(g);
    byKind[spec.kind] = g.hosts.map((host, i) => ({ host, port: g.ports[i]! }));
  }
  return { byKind, groups };
}

interface Mem {
  js: number;
  rss: number;
}
async function settledMem(): Promise<Mem> {
  await sleep(300); // closed sockets of the previous run are freed on the next turns
  return mem();
}
function mem(): Mem {
  gc();
  const m = process.memoryUsage();
  return { js: m.heapUsed + m.external, rss: m.rss };
}

/**
 * The longest event-loop stall seen by a 100 ms timer (a 1 ms watcher would wake the process a
 * thousand times a second and swamp the CPU share being measured).
 */
function coarseLoopWatch(): { stop(): number } {
  let last = performance.now();
  let max = 0;
  const t = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last - 100);
    last = now;
  }, 100);
  return {
    stop: () => {
      clearInterval(t);
      return Math.max(0, max);
    },
  };
}

/** CPU (µs) one idle timer wake-up costs this process: a floor under every poll. */
async function wakeupCost(): Promise<number> {
  await sleep(200);
  const n = 100;
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await sleep(10);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}

/** Run `fn` over items, `conc` at a time. */
async function each<T>(items: T[], conc: number, fn: (x: T) => Promise<unknown>): Promise<number> {
  let next = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: Math.min(conc, items.length) }, async () => {
      while (next < items.length) {
        const x = items[next++]!;
        await fn(x).catch(() => void errors++);
      }
    }),
  );
  return errors;
}

interface Run {
  client: string;
  n: number;
  seconds: number;
  expected: number;
  delivered: number;
  missed: number;
  poolMissed: number;
  pollErrors: number;
  cpuShare: number;
  cpuUsPerPoll: number;
  connectS: number;
  connectCpuS: number;
  connectErrors: number;
  kbPer: Record<Kind, number>;
  kbMixed: number;
  rssKbMixed: number;
  stallMs: number;
}

async function runScale(fleet: Fleet, n: number, seconds: number, ctx: BenchContext): Promise<Run> {
  const per = Math.floor(n / 3);
  const counts: Record<Kind, number> = { xor: n - 2 * per, klap: per, aes: per };
  const pool = new Pool({ credentials: ctx.credentials });
  try {
    const m0 = await settledMem();
    const kbPer = {} as Record<Kind, number>;
    let connectErrors = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let prev = m0;
    const targets: { host: string; port: number; kind: Kind }[] = [];
    for (const { kind } of KINDS) {
      const devs = fleet.byKind[kind].slice(0, counts[kind]).map((d) => ({ ...d, kind }));
      targets.push(...devs);
      connectErrors += await each(devs, 20, async (d) => {
        const h = pool.device({ host: d.host, port: d.port, transport: d.kind });
        try {
          await h.getState();
        } finally {
          h.release();
        }
      });
      const m = mem();
      kbPer[kind] = (m.js - prev.js) / 1024 / devs.length;
      prev = m;
    }
    const connectS = (performance.now() - t0) / 1000;
    const cc = process.cpuUsage(c0);
    await sleep(1000); // let background GC and compilation from the connect phase finish
    ctx.progress(
      `${n} devices: sessions open in ${connectS.toFixed(1)} s (${connectErrors} errors); polling every ${INTERVAL_MS / 1000} s, measured for ${seconds} s after ${WARMUP_MS / 1000} s`,
    );

    // Poll: every device every INTERVAL_MS, through the pool's poller.
    const ok = new Map<string, number>();
    let pollErrors = 0;
    const subs = targets.map((d) => {
      const key = `${d.host}:${d.port}`;
      return pool.subscribe({ host: d.host, port: d.port, transport: d.kind }, { intervalMs: INTERVAL_MS }, (err) => {
        if (err) pollErrors++;
        else ok.set(key, (ok.get(key) ?? 0) + 1);
      });
    });
    await sleep(WARMUP_MS);
    const base = new Map(ok);
    const errorsBefore = pollErrors;
    const loop = coarseLoopWatch();
    const { pc, wall } = await profiled(ctx.only.profileDir, `scale-pool-${n}`, async () => {
      const p0 = process.cpuUsage();
      const w0 = performance.now();
      await sleep(seconds * 1000);
      return { pc: process.cpuUsage(p0), wall: (performance.now() - w0) / 1000 };
    });
    const inWindow = (key: string, v: number): number => v - (base.get(key) ?? 0);
    const polls = [...ok].reduce((a, [key, v]) => a + inWindow(key, v), 0) + pollErrors - errorsBefore; // answered inside the window
    const stallMs = loop.stop();
    const k = Math.round((seconds * 1000) / INTERVAL_MS);
    // Polls that started inside the window may still be in flight: give them a moment.
    const expected = k * targets.length;
    const delivered = (): number => [...ok].reduce((a, [key, v]) => a + Math.min(k, inWindow(key, v)), 0);
    const g0 = Date.now();
    while (delivered() < expected && Date.now() - g0 < 3000) await sleep(50);
    const got = delivered();
    const end = mem();
    const st = pool.stats();
    for (const s of subs) s.cancel();
    return {
      client: 'pool',
      n,
      seconds,
      expected,
      delivered: got,
      missed: expected - got,
      poolMissed: st.pollsMissed,
      pollErrors: pollErrors - errorsBefore,
      cpuShare: (pc.user + pc.system) / 1e6 / wall,
      cpuUsPerPoll: (pc.user + pc.system) / Math.max(1, polls),
      connectS,
      connectCpuS: (cc.user + cc.system) / 1e6,
      connectErrors,
      kbPer,
      kbMixed: (end.js - m0.js) / 1024 / targets.length,
      rssKbMixed: (end.rss - m0.rss) / 1024 / targets.length,
      stallMs,
    };
  } finally {
    await pool.close();
  }
}

const FLOOR_TEXT: Record<Kind, () => string> = {
  xor: () => '{"system":{"get_sysinfo":{}}}',
  klap: () => JSON.stringify({ method: 'get_device_info', request_time_milis: Date.now(), terminal_uuid: 'QkVOQ0g=' }),
  aes: () => JSON.stringify({ method: 'get_device_info', request_time_milis: Date.now(), terminal_uuid: 'QkVOQ0g=' }),
};

/**
 * The floor: raw clients polling the same devices on the same schedule (each device at its own
 * phase, one timer each, like the pool). With `slotMs`, the phases are rounded down to slots of
 * that length, so that one timer wake-up serves every device of a slot (what batching would save).
 */
async function runFloor(fleet: Fleet, n: number, seconds: number, ctx: BenchContext, slotMs = 0): Promise<Run> {
  const per = Math.floor(n / 3);
  const counts: Record<Kind, number> = { xor: n - 2 * per, klap: per, aes: per };
  const key = await generateRsaKeyPair(1024);
  const clients: { c: FloorClient; kind: Kind; ok: number }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  try {
    const m0 = await settledMem();
    const kbPer = {} as Record<Kind, number>;
    let connectErrors = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let prev = m0;
    for (const { kind } of KINDS) {
      const devs = fleet.byKind[kind].slice(0, counts[kind]);
      connectErrors += await each(devs, 20, async (d) => {
        const c = await openFloor(kind, d.host, d.port, ctx.credentials, key);
        clients.push({ c, kind, ok: 0 });
        await c.send(FLOOR_TEXT[kind]());
      });
      const m = mem();
      kbPer[kind] = (m.js - prev.js) / 1024 / devs.length;
      prev = m;
    }
    const connectS = (performance.now() - t0) / 1000;
    const cc = process.cpuUsage(c0);
    await sleep(1000); // let background GC and compilation from the connect phase finish
    ctx.progress(
      `floor, ${n} devices: sessions open in ${connectS.toFixed(1)} s (${connectErrors} errors); polling every ${INTERVAL_MS / 1000} s, measured for ${seconds} s after ${WARMUP_MS / 1000} s`,
    );
    let pollErrors = 0;
    let busySkips = 0;
    let stopped = false;
    const arm = (x: (typeof clients)[number], delay: number): void => {
      let busy = false;
      const tick = (): void => {
        timers.delete(t);
        if (stopped) return;
        const started = performance.now();
        if (busy) busySkips++;
        else {
          busy = true;
          x.c.send(FLOOR_TEXT[x.kind]()).then(
            () => void ((busy = false), x.ok++),
            () => void ((busy = false), pollErrors++),
          );
        }
        t = setTimeout(tick, Math.max(0, INTERVAL_MS - (performance.now() - started)));
        timers.add(t);
      };
      let t = setTimeout(tick, delay);
      timers.add(t);
    };
    clients.forEach((x, i) => {
      const phase = Math.floor((i * INTERVAL_MS) / clients.length);
      arm(x, slotMs ? phase - (phase % slotMs) : phase);
    });
    await sleep(WARMUP_MS);
    const base = clients.map((x) => x.ok);
    const errorsBefore = pollErrors;
    const skipsBefore = busySkips;
    const loop = coarseLoopWatch();
    const p0 = process.cpuUsage();
    const w0 = performance.now();
    await sleep(seconds * 1000);
    const pc = process.cpuUsage(p0);
    const wall = (performance.now() - w0) / 1000;
    const inWindow = (i: number): number => clients[i]!.ok - base[i]!;
    const polls = clients.reduce((a, _, i) => a + inWindow(i), 0) + pollErrors - errorsBefore; // answered inside the window
    const stallMs = loop.stop();
    const k = Math.round((seconds * 1000) / INTERVAL_MS);
    const expected = k * clients.length;
    const delivered = (): number => clients.reduce((a, _, i) => a + Math.min(k, inWindow(i)), 0);
    const g0 = Date.now();
    while (delivered() < expected && Date.now() - g0 < 3000) await sleep(50);
    stopped = true;
    const got = delivered();
    const end = mem();
    return {
      client: slotMs ? `floor, ${slotMs} ms slots` : 'floor',
      n,
      seconds,
      expected,
      delivered: got,
      missed: expected - got,
      poolMissed: busySkips - skipsBefore,
      pollErrors: pollErrors - errorsBefore,
      cpuShare: (pc.user + pc.system) / 1e6 / wall,
      cpuUsPerPoll: (pc.user + pc.system) / Math.max(1, polls),
      connectS,
      connectCpuS: (cc.user + cc.system) / 1e6,
      connectErrors,
      kbPer,
      kbMixed: (end.js - m0.js) / 1024 / clients.length,
      rssKbMixed: (end.rss - m0.rss) / 1024 / clients.length,
      stallMs,
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const x of clients) x.c.close();
  }
}

const r1 = (v: number): number => Number(v.toFixed(1));

function row(r: Run): BenchRow {
  return {
    client: r.client,
    devices: r.n,
    's polled': r.seconds,
    'polls expected': r.expected,
    delivered: r.delivered,
    missed: r.missed,
    'busy skips': r.poolMissed,
    'poll errors': r.pollErrors,
    'CPU % core': Number((r.cpuShare * 100).toFixed(2)),
    'CPU µs/poll': Math.round(r.cpuUsPerPoll),
    'KB/XOR': r1(r.kbPer.xor),
    'KB/KLAP': r1(r.kbPer.klap),
    'KB/AES': r1(r.kbPer.aes),
    'KB/dev mixed': r1(r.kbMixed),
    // RSS can fall during a run (memory of earlier sections handed back to the OS): no figure then.
    'RSS KB/dev': r.rssKbMixed >= 0 ? r1(r.rssKbMixed) : 'n/a',
    'stall ms': r1(r.stallMs),
    'connect s': r1(r.connectS),
    'connect CPU s': Number(r.connectCpuS.toFixed(2)),
  };
}

export const scaleSection: BenchSection = {
  name: 'scale',
  title: `Scale: 100 and 1,000 devices (⅓ XOR, KLAP, AES on 127.${FIRST_OCTET}.x.y) polled every ${INTERVAL_MS / 1000} s through pool.subscribe`,
  async run(ctx) {
    const full: { n: number; s: number; floor?: boolean; slotMs?: number }[] = ctx.quick
      ? [
          { n: 100, s: 10 },
          { n: MAX_DEVICES, s: 10, floor: true },
          { n: MAX_DEVICES, s: 20 },
        ]
      : [
          { n: 100, s: 20 },
          { n: MAX_DEVICES, s: 20, floor: true },
          { n: MAX_DEVICES, s: 20, floor: true, slotMs: SLOT_MS },
          { n: MAX_DEVICES, s: 60 },
        ];
    const plan = full
      .filter((p) => wanted(ctx.only.devices, p.n) && !(p.floor && ctx.only.noFloor))
      .map((p) => (ctx.only.seconds ? { ...p, s: ctx.only.seconds } : p));
    const wake = await wakeupCost();
    ctx.progress(`starting ${MAX_DEVICES} simulated devices`);
    const fleet = await startFleet(ctx);
    const runs: Run[] = [];
    try {
      for (const p of plan) {
        if (Date.now() > ctx.deadline) break;
        runs.push(await (p.floor ? runFloor(fleet, p.n, p.s, ctx, p.slotMs) : runScale(fleet, p.n, p.s, ctx)));
      }
    } finally {
      await Promise.all(fleet.groups.map((g) => g.stop()));
    }
    const rows = runs.map(row);
    const small = runs.find((r) => r.n === 100 && r.client === 'pool');
    const big = runs.find((r) => r.n === MAX_DEVICES && r.client === 'pool');
    const floor = runs.find((r) => r.client === 'floor');
    const slotted = runs.find((r) => r.client.startsWith('floor,'));
    if (small && big) {
      const g = (a: number, b: number): number => Number((b / a).toFixed(2));
      rows.push({
        client: 'pool',
        devices: `×${big.n / small.n} growth`,
        's polled': '',
        'polls expected': g(small.expected, big.expected),
        delivered: g(small.delivered, big.delivered),
        missed: '',
        'busy skips': '',
        'poll errors': '',
        'CPU % core': g(small.cpuShare, big.cpuShare),
        'CPU µs/poll': g(small.cpuUsPerPoll, big.cpuUsPerPoll),
        'KB/XOR': g(small.kbPer.xor, big.kbPer.xor),
        'KB/KLAP': g(small.kbPer.klap, big.kbPer.klap),
        'KB/AES': g(small.kbPer.aes, big.kbPer.aes),
        'KB/dev mixed': g(small.kbMixed, big.kbMixed),
        'RSS KB/dev': small.rssKbMixed > 0 && big.rssKbMixed > 0 ? g(small.rssKbMixed, big.rssKbMixed) : '',
        'stall ms': '',
        'connect s': g(small.connectS, big.connectS),
        'connect CPU s': g(small.connectCpuS, big.connectCpuS),
      });
    }
    const r = big ?? small;
    if (r) {
      const label = `${r.n} devices, ${r.seconds} s`;
      ctx.summary({
        metric: `polls missed (${label})`,
        value: `${r.missed} of ${r.expected} (${r.pollErrors} errors, ${r.poolMissed} busy skips)`,
        target: '0',
        met: r.missed === 0 && r.pollErrors === 0,
      });
      const vsFloor = floor ? `; ${(r.cpuShare / floor.cpuShare).toFixed(2)}× the floor's ${(floor.cpuShare * 100).toFixed(2)}%` : '';
      ctx.summary({
        metric: 'CPU of one bare timer wake-up on this machine / floor polling with wake-ups shared in slots',
        value: `${Math.round(wake)} µs / ${slotted ? `${(slotted.cpuShare * 100).toFixed(2)}% of a core (${Math.round(slotted.cpuUsPerPoll)} µs/poll, ${SLOT_MS} ms slots)` : '—'}`,
        target: '— (explains the CPU share)',
      });
      ctx.summary({
        metric: `client CPU while polling (${label})`,
        value: `${(r.cpuShare * 100).toFixed(2)}% of one core (${Math.round(r.cpuUsPerPoll)} µs/poll${vsFloor})`,
        target: `<${TARGET.cpuShare * 100}%`,
        met: r.cpuShare < TARGET.cpuShare,
      });
      ctx.summary({
        metric: `memory per XOR device (${r.n} devices)`,
        value: `${r.kbPer.xor.toFixed(1)} KB`,
        target: `≤${TARGET.xorKB} KB`,
        met: r.kbPer.xor <= TARGET.xorKB,
      });
      for (const k of ['klap', 'aes'] as const) {
        ctx.summary({
          metric: `memory per ${k.toUpperCase()} device (${r.n} devices)`,
          value: `${r.kbPer[k].toFixed(1)} KB`,
          target: `≤${TARGET.sessionKB} KB`,
          met: r.kbPer[k] <= TARGET.sessionKB,
        });
      }
      ctx.summary({
        metric: `memory per device with poller, mixed (${r.n} devices)`,
        value: `${r.kbMixed.toFixed(1)} KB JS, ${r.rssKbMixed.toFixed(1)} KB RSS${floor ? ` (floor clients: ${floor.kbMixed.toFixed(1)} KB JS)` : ''}`,
        target: '—',
      });
    }
    if (small && big) {
      ctx.summary({
        metric: 'growth 100 → 1,000 devices: CPU/poll, KB/device',
        value: `${(big.cpuUsPerPoll / small.cpuUsPerPoll).toFixed(2)}×, ${(big.kbMixed / small.kbMixed).toFixed(2)}×`,
        target: '≈1× (linear)',
      });
    }
    return rows;
  },
};
