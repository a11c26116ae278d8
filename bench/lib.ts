/**
 * Benchmark plumbing: the simulated devices in a child process (SimHost), a bounded measurement
 * of request rate, latency percentiles and client CPU per request, the table printer, the summary
 * of targets, and small helpers (repository root, forced GC, loopback address lists).
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as inspector from 'node:inspector';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { Faults, WireStats } from '../src/simulator';
import type { Credentials } from '../src/types';
import type { HostReply } from './sim-host';

type Pending = { resolve: (r: HostReply) => void; reject: (e: Error) => void };
type Cmd =
  | { cmd: 'start'; profile: string; count: number; credentials: Credentials; faults?: Faults; hosts?: string[]; sessionTtlS?: number }
  | { cmd: 'stats'; group: number }
  | { cmd: 'stop'; group: number }
  | { cmd: 'discovery'; groups: number[]; xorPort: number; tdpPort: number }
  | { cmd: 'close' };

/** A group of simulated devices of one profile, living in the host process. */
export interface SimGroup {
  readonly id: number;
  readonly profile: string;
  readonly ports: number[];
  /** The devices' addresses (127.0.0.1 unless started with `hosts`). */
  readonly hosts: string[];
  stats(): Promise<WireStats>;
  /** Stop these devices (frees their sockets in the host). */
  stop(): Promise<void>;
}

export interface StartOptions {
  faults?: Faults;
  /** One loopback address per device (default: all on 127.0.0.1, at most 64). */
  hosts?: string[];
  /** The devices' KLAP/AES session lifetime (s). */
  sessionTtlS?: number;
}

/** The child process that runs the simulated devices. */
export class SimHost {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor() {
    // Not the parent's flags: profiling or tracing options are meant for the measuring process.
    this.child = fork(path.join(__dirname, 'sim-host.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    this.child.on('message', (r: HostReply) => {
      const p = this.pending.get(r.id);
      this.pending.delete(r.id);
      if (r.error) p?.reject(new Error(r.error));
      else p?.resolve(r);
    });
    this.child.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error('simulator host exited'));
      this.pending.clear();
    });
  }

  private ask(cmd: Cmd, timeoutMs = 15000): Promise<HostReply> {
    const id = this.nextId++;
    return new Promise<HostReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`simulator host did not answer ${cmd.cmd}`));
      }, timeoutMs);
      const done =
        <T>(f: (v: T) => void) =>
        (v: T) => {
          clearTimeout(timer);
          f(v);
        };
      this.pending.set(id, { resolve: done(resolve), reject: done(reject) });
      this.child.send({ id, ...cmd });
    });
  }

  /**
   * Start `count` devices of `profile` on ephemeral ports: on 127.0.0.1 (at most 64), or on
   * `hosts[i]` each. Rejects on a start failure.
   */
  async start(profile: string, count: number, credentials: Credentials, o: StartOptions = {}): Promise<SimGroup> {
    const r = await this.ask(
      {
        cmd: 'start',
        profile,
        count,
        credentials,
        ...(o.faults ? { faults: o.faults } : {}),
        ...(o.hosts ? { hosts: o.hosts } : {}),
        ...(o.sessionTtlS !== undefined ? { sessionTtlS: o.sessionTtlS } : {}),
      },
      60000,
    );
    const group = r.group!;
    return {
      id: group,
      profile,
      ports: r.ports!,
      hosts: r.hosts!,
      stats: async () => (await this.ask({ cmd: 'stats', group })).stats!,
      stop: async () => void (await this.ask({ cmd: 'stop', group }, 30000)),
    };
  }

  /** Answer UDP discovery for these groups on 127.255.255.255 (and each device's address) at these ports. */
  async discovery(groups: SimGroup[], xorPort: number, tdpPort: number): Promise<void> {
    await this.ask({ cmd: 'discovery', groups: groups.map((g) => g.id), xorPort, tdpPort }, 30000);
  }

  /** Stop every device and the host. Never rejects. */
  async close(): Promise<void> {
    await this.ask({ cmd: 'close' }, 5000).catch(() => undefined);
    if (this.child.exitCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.child.kill();
          resolve();
        }, 2000);
        this.child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

export interface Measured {
  requests: number;
  errors: number;
  seconds: number;
  reqPerS: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerReq: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Run `workers` (one per concurrent caller), each calling its function until `total` requests
 * were started overall or `maxMs` passed; latency per call, client CPU over the whole run.
 */
export async function measure(workers: Array<() => Promise<unknown>>, total: number, maxMs: number): Promise<Measured> {
  const lat: number[] = [];
  let started = 0;
  let errors = 0;
  const deadline = performance.now() + maxMs;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    workers.map(async (call) => {
      while (started < total && performance.now() < deadline) {
        started++;
        const s = performance.now();
        try {
          await call();
        } catch {
          errors++;
        }
        lat.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  return {
    requests: lat.length,
    errors,
    seconds,
    reqPerS: lat.length / seconds,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    cpuUsPerReq: (cpu.user + cpu.system) / Math.max(1, lat.length),
  };
}

/** Print rows as an aligned text table (first row of keys is the header). */
export function table(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '';
  const keys = Object.keys(rows[0]!);
  const cell = (v: string | number | undefined): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 0)) : (v ?? ''));
  const cells = [keys, ...rows.map((r) => keys.map((k) => cell(r[k])))];
  const widths = keys.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** One line of a section's table (also written to results.json). */
export type BenchRow = Record<string, string | number>;

/** One line of the final summary: a headline figure next to its target. */
export interface SummaryItem {
  section: string;
  metric: string;
  value: string;
  target: string;
  /** undefined: informational, no target. */
  met?: boolean;
}

/** What every bench section gets. */
export interface BenchContext {
  /** The simulated devices (another process). */
  sims: SimHost;
  credentials: Credentials;
  quick: boolean;
  /** Epoch ms after which sections start no new row. */
  deadline: number;
  /** Add a headline figure to the final summary table. */
  summary(item: Omit<SummaryItem, 'section'>): void;
  /** Measured requests per row at concurrency 1 (rows at higher concurrency run twice as many). */
  requests: number;
  /** Longest a row's measurement may take. */
  rowMaxMs: number;
  progress(msg: string): void;
  /** Narrowing from the command line, to run part of a section while iterating (see run.ts). */
  only: BenchFilter;
}

/** Rows to keep (command-line options of run.ts); empty: every row. */
export interface BenchFilter {
  /** Transports by kind (xor, klap, aes). */
  transports?: string[];
  /** Concurrency levels (pool section). */
  conc?: number[];
  /** Fleet sizes (scale section). */
  devices?: number[];
  /** Skip the floor rows where a section measures them on their own (scale). */
  noFloor?: boolean;
  /** Polling time per scale row (s), instead of the plan's. */
  seconds?: number;
  /** Rounds of alternating slices (pool), instead of the plan's. */
  rounds?: number;
  /** Write a CPU profile (.cpuprofile) of each measured polling window (scale) into this directory. */
  profileDir?: string;
}

/**
 * Run `fn` under the V8 CPU profiler when `dir` is set, and write the profile to
 * `<dir>/<label>.cpuprofile` (open it in Chrome DevTools). Only the window of `fn` is profiled, so
 * that setup and teardown stay out of it. Sampling every 1 ms keeps the profiler's own cost small.
 */
export async function profiled<T>(dir: string | undefined, label: string, fn: () => Promise<T>): Promise<T> {
  if (!dir) return fn();
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 1000 });
  await post('Profiler.start');
  try {
    return await fn();
  } finally {
    const r = (await post('Profiler.stop')) as { profile: unknown };
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${label.replace(/[^\w.-]+/g, '-')}.cpuprofile`), JSON.stringify(r.profile));
    session.disconnect();
  }
}

/** Whether `value` passes a filter list (no list: everything passes). */
export function wanted<T>(list: T[] | undefined, value: T): boolean {
  return !list || list.length === 0 || list.includes(value);
}

/** A part of `npm run bench`; sections are listed in run.ts. */
export interface BenchSection {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

/** The repository root: the nearest directory above this file with this package's package.json (works from dist/ and any out dir). */
export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if ((JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'node-red-contrib-kasa-tapo') return dir;
      } catch {
        /* keep looking */
      }
    }
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..', '..');
}

let gcFn: (() => void) | undefined;
/** Force a full garbage collection (enables --expose-gc at run time when needed). */
export function gc(): void {
  if (!gcFn) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) gcFn = g;
    else {
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as () => void;
    }
  }
  gcFn();
  gcFn();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `count` loopback addresses 127.<a>.<b>.<c> starting at 127.<first>.0.1, 250 per /24 (.1 to .250),
 * so that no address ends in .0 or .255.
 */
export function loopbackHosts(first: number, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const b = Math.floor(i / 250);
    out.push(`127.${first + Math.floor(b / 256)}.${b % 256}.${(i % 250) + 1}`);
  }
  return out;
}

/** The markdown summary table (metric, value, target, met). */
export function summaryMarkdown(items: SummaryItem[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = ['| section | metric | value | target | met |', '|---|---|---|---|---|'];
  for (const i of items)
    lines.push(`| ${esc(i.section)} | ${esc(i.metric)} | ${esc(i.value)} | ${esc(i.target)} | ${i.met === undefined ? '—' : i.met ? 'yes' : 'no'} |`);
  return lines.join('\n');
}

/** What a LoopWatch saw: the longest gaps between its 1 ms ticks, beyond the tick itself. */
export interface LoopStall {
  /** Longest wall-clock stall (ms): what a timer due then waited. Includes time the OS gave the CPU to other processes. */
  wallMs: number;
  /** Longest stall spent on the CPU by this process's main thread (ms): the loop busy with our own code (GC included). NaN where the kernel does not say. */
  cpuMs: number;
  /** Of the longest wall stall, the part on the CPU (ms). */
  cpuOfWallMs: number;
}

/**
 * Watches the event loop with a 1 ms interval timer. For each gap between ticks it takes the wall
 * time and the main thread's own on-CPU time (Linux /proc/self/task/<pid>/schedstat, ns), so that a
 * stall caused by our code (on the CPU) can be told apart from one where the machine ran another
 * process (runnable but waiting) — the machines the bench runs on are shared and noisy.
 */
export class LoopWatch {
  private timer?: NodeJS.Timeout;
  private fd: number | undefined;
  private readonly buf = Buffer.alloc(128);
  private lastT = 0;
  private lastRun = 0;
  private out: LoopStall = { wallMs: 0, cpuMs: 0, cpuOfWallMs: 0 };

  constructor() {
    try {
      this.fd = fs.openSync(`/proc/self/task/${process.pid}/schedstat`, 'r');
      if (Number.isNaN(this.run())) this.closeFd();
    } catch {
      this.fd = undefined;
    }
  }

  private closeFd(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  /** The main thread's on-CPU time so far (ns), NaN when unknown. */
  private run(): number {
    if (this.fd === undefined) return NaN;
    const n = fs.readSync(this.fd, this.buf, 0, this.buf.length, 0);
    return Number(this.buf.toString('latin1', 0, n).split(' ')[0]);
  }

  start(): void {
    this.out = { wallMs: 0, cpuMs: this.fd === undefined ? NaN : 0, cpuOfWallMs: this.fd === undefined ? NaN : 0 };
    this.lastT = performance.now();
    this.lastRun = this.run();
    this.timer = setInterval(() => {
      const t = performance.now();
      const r = this.run();
      const wall = t - this.lastT - 1;
      // On-CPU time inside the gap, at most the stall itself (the tick's own few µs are in it).
      const cpu = Math.min((r - this.lastRun) / 1e6, Math.max(0, wall));
      if (wall > this.out.wallMs) {
        this.out.wallMs = wall;
        this.out.cpuOfWallMs = Math.max(0, cpu);
      }
      if (cpu > this.out.cpuMs) this.out.cpuMs = cpu;
      this.lastT = t;
      this.lastRun = r;
    }, 1);
  }

  stop(): LoopStall {
    clearInterval(this.timer);
    this.timer = undefined;
    return { wallMs: Math.max(0, this.out.wallMs), cpuMs: Math.max(0, this.out.cpuMs), cpuOfWallMs: this.out.cpuOfWallMs };
  }

  close(): void {
    this.stop();
    this.closeFd();
  }
}

/** Median of a list (NaN when empty). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Measure several clients in short alternating slices: `rounds` rounds, each running every client
 * once for `slice` requests (at most `maxMs`), the order rotated every round. Background load on a
 * shared machine comes and goes over seconds; slices a fraction of a second long, alternated,
 * expose every client to the same load, and the median over the rounds drops the disturbed ones.
 * Returns each client's slices, in round order.
 */
export async function alternate(clients: Array<Array<() => Promise<unknown>>>, rounds: number, slice: number, maxMs: number): Promise<Measured[][]> {
  const out = clients.map(() => [] as Measured[]);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < clients.length; j++) {
      const i = (j + r) % clients.length;
      out[i]!.push(await measure(clients[i]!, slice, maxMs));
    }
  }
  return out;
}

/** One figure per client from its slices: medians of rate, latency and CPU; sums of counts. */
export function combine(slices: Measured[]): Measured {
  return {
    requests: slices.reduce((a, m) => a + m.requests, 0),
    errors: slices.reduce((a, m) => a + m.errors, 0),
    seconds: slices.reduce((a, m) => a + m.seconds, 0),
    reqPerS: median(slices.map((m) => m.reqPerS)),
    p50Ms: median(slices.map((m) => m.p50Ms)),
    p99Ms: median(slices.map((m) => m.p99Ms)),
    cpuUsPerReq: median(slices.map((m) => m.cpuUsPerReq)),
  };
}

/** Median over rounds of a[i] / b[i] for a figure of two clients measured in the same rounds. */
export function pairedRatio(a: Measured[], b: Measured[], f: (m: Measured) => number): number {
  const n = Math.min(a.length, b.length);
  const r: number[] = [];
  for (let i = 0; i < n; i++) r.push(f(a[i]!) / f(b[i]!));
  return median(r);
}
