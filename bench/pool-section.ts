/**
 * Bench section "pool" (issue 3): requests through the public API (new Pool().device().raw() and
 * getState()) next to the raw floor (bench/floor.ts) measured in the same run, for XOR, KLAP v2
 * and AES, at concurrency 1 on one device and 10 over ten devices; plus the cost of renewal with
 * sessions expiring every 20 requests. Handshakes are counted by the simulator.
 */
import { Pool } from '../src/pool';
import type { TransportKind } from '../src/types';
import { openFloor, type FloorClient } from './floor';
import { measure, type BenchContext, type BenchRow, type BenchSection, type Measured, type SimGroup } from './lib';

type Kind = Exclude<TransportKind, 'klap-v1'>;

interface Target {
  kind: Kind;
  label: string;
  profile: string;
  /** The request as the library's raw() takes it, and as the floor sends it. */
  request: unknown;
  floorText(): string;
}

const SMART_REQ = { method: 'get_device_info' };
const smartText = (): string => JSON.stringify({ method: 'get_device_info', request_time_milis: Date.now(), terminal_uuid: 'QkVOQ0g=' });
const IOT_REQ = { system: { get_sysinfo: {} } };
const iotText = (): string => '{"system":{"get_sysinfo":{}}}';

const TARGETS: Target[] = [
  { kind: 'xor', label: 'XOR', profile: 'hs100', request: IOT_REQ, floorText: iotText },
  { kind: 'klap', label: 'KLAP v2', profile: 'p110', request: SMART_REQ, floorText: smartText },
  { kind: 'aes', label: 'AES', profile: 'p110aes', request: SMART_REQ, floorText: smartText },
];

const WIDE = 10;
const WARMUP = 200;

/** What one row runs: open clients on a group's devices, one worker per client, close. */
interface Scenario {
  client: string;
  conc: number;
  /** The group to use: 'one' device, 'wide' (ten devices) or 'expiring' (one, sessions end every 20). */
  group: 'one' | 'wide' | 'expiring';
  /** The row whose figures this one is compared with. */
  baseline?: string;
  open(t: Target, g: SimGroup, ctx: BenchContext): Promise<{ workers: Array<() => Promise<unknown>>; handshakesSeen?: () => number; close(): Promise<void> }>;
}

async function floorClients(t: Target, ports: number[], ctx: BenchContext) {
  const clients: FloorClient[] = [];
  for (const port of ports) clients.push(await openFloor(t.kind, '127.0.0.1', port, ctx.credentials));
  return {
    workers: clients.map((c) => () => c.send(t.floorText())),
    close: async () => clients.forEach((c) => c.close()),
  };
}

async function pooled(t: Target, ports: number[], ctx: BenchContext, call: 'raw' | 'getState') {
  const pool = new Pool({ credentials: ctx.credentials, concurrency: 32 });
  const devs = ports.map((port) => pool.device({ host: '127.0.0.1', port, transport: t.kind }));
  return {
    workers: devs.map((d) => (call === 'raw' ? () => d.raw(t.request) : () => d.getState())),
    handshakesSeen: () => pool.stats().handshakes,
    close: () => pool.close(),
  };
}

const SCENARIOS: Scenario[] = [
  { client: 'floor', conc: 1, group: 'one', open: (t, g, ctx) => floorClients(t, g.ports, ctx) },
  { client: 'pool raw()', conc: 1, group: 'one', baseline: 'floor', open: (t, g, ctx) => pooled(t, g.ports, ctx, 'raw') },
  { client: 'pool getState()', conc: 1, group: 'one', baseline: 'floor', open: (t, g, ctx) => pooled(t, g.ports, ctx, 'getState') },
  { client: 'floor', conc: WIDE, group: 'wide', open: (t, g, ctx) => floorClients(t, g.ports, ctx) },
  { client: 'pool raw()', conc: WIDE, group: 'wide', baseline: 'floor', open: (t, g, ctx) => pooled(t, g.ports, ctx, 'raw') },
  { client: 'pool raw(), expiry/20', conc: 1, group: 'expiring', baseline: 'floor', open: (t, g, ctx) => pooled(t, g.ports, ctx, 'raw') },
];

function row(t: Target, s: Scenario, m: Measured, handshakesPer1k: number, poolHandshakes: number | undefined, base?: Measured): BenchRow {
  return {
    transport: t.label,
    client: s.client,
    conc: s.conc,
    requests: m.requests,
    'req/s': Math.round(m.reqPerS),
    'p50 ms': Number(m.p50Ms.toFixed(3)),
    'p99 ms': Number(m.p99Ms.toFixed(3)),
    'CPU µs/req': Math.round(m.cpuUsPerReq),
    'req/s ×floor': base ? Number((m.reqPerS / base.reqPerS).toFixed(2)) : '',
    'CPU ×floor': base ? Number((m.cpuUsPerReq / base.cpuUsPerReq).toFixed(2)) : '',
    'hs/1k': Number(handshakesPer1k.toFixed(2)),
    'pool hs': poolHandshakes ?? '',
    errors: m.errors,
  };
}

/** Rounds per scenario, interleaved (floor, pooled, floor, pooled...); the best round is kept. */
const ROUNDS = 2;

interface Result {
  m: Measured;
  handshakesPer1k: number;
  poolHandshakes?: number;
}

/** One bounded measurement of a scenario on its group; the simulator counts the handshakes. */
async function runScenario(t: Target, s: Scenario, g: SimGroup, ctx: BenchContext): Promise<Result> {
  const before = (await g.stats()).handshakes;
  const run = await s.open(t, g, ctx);
  let m: Measured;
  let poolHandshakes: number | undefined;
  try {
    await measure(run.workers, WARMUP * s.conc, 5000);
    m = await measure(run.workers, ctx.requests * (s.conc > 1 ? 2 : 1), ctx.rowMaxMs);
    poolHandshakes = run.handshakesSeen?.();
  } finally {
    await run.close();
  }
  const handshakesPer1k = ((await g.stats()).handshakes - before) / ((m.requests + WARMUP * s.conc) / 1000);
  return { m, handshakesPer1k, ...(poolHandshakes !== undefined ? { poolHandshakes } : {}) };
}

export const poolSection: BenchSection = {
  name: 'pool',
  title: 'Pooled requests vs the raw floor (loopback simulator in a child process; best of 2 rounds)',
  async run(ctx) {
    const rows: BenchRow[] = [];
    for (const t of TARGETS) {
      const groups = {
        one: await ctx.sims.start(t.profile, 1, ctx.credentials),
        wide: await ctx.sims.start(t.profile, WIDE, ctx.credentials),
        expiring: await ctx.sims.start(t.profile, 1, ctx.credentials, { expireSessionEvery: 20 }),
      };
      const best = new Map<Scenario, Result>();
      for (let round = 0; round < ROUNDS; round++) {
        for (const s of SCENARIOS) {
          if (Date.now() > ctx.deadline) break;
          const r = await runScenario(t, s, groups[s.group], ctx);
          const prev = best.get(s);
          if (!prev || r.m.reqPerS > prev.m.reqPerS) best.set(s, r);
          ctx.progress(`${t.label} ${s.client} c${s.conc} round ${round + 1}: ${Math.round(r.m.reqPerS)} req/s`);
        }
      }
      for (const s of SCENARIOS) {
        const r = best.get(s);
        if (!r) continue;
        const base = SCENARIOS.find((b) => b.client === s.baseline && b.conc === s.conc);
        rows.push(row(t, s, r.m, r.handshakesPer1k, r.poolHandshakes, base ? best.get(base)?.m : undefined));
      }
    }
    return rows;
  },
};
