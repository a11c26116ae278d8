/**
 * Benchmark plumbing: the simulated devices in a child process (SimHost), a bounded measurement
 * of request rate, latency percentiles and client CPU per request, and the table printer.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { Faults, WireStats } from '../src/simulator';
import type { Credentials } from '../src/types';
import type { HostReply, HostRequest } from './sim-host';

type Pending = { resolve: (r: HostReply) => void; reject: (e: Error) => void };
type Cmd = { cmd: 'start'; profile: string; count: number; credentials: Credentials; faults?: Faults } | { cmd: 'stats'; group: number } | { cmd: 'close' };

/** A group of simulated devices of one profile, living in the host process. */
export interface SimGroup {
  readonly ports: number[];
  stats(): Promise<WireStats>;
}

/** The child process that runs the simulated devices. */
export class SimHost {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor() {
    this.child = fork(path.join(__dirname, 'sim-host.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
      const done = <T>(f: (v: T) => void) => (v: T) => {
        clearTimeout(timer);
        f(v);
      };
      this.pending.set(id, { resolve: done(resolve), reject: done(reject) });
      this.child.send({ id, ...cmd } as HostRequest);
    });
  }

  /** Start `count` devices of `profile` on 127.0.0.1. Rejects on a start failure. */
  async start(profile: string, count: number, credentials: Credentials, faults?: Faults): Promise<SimGroup> {
    const r = await this.ask({ cmd: 'start', profile, count, credentials, ...(faults ? { faults } : {}) });
    const group = r.group!;
    return { ports: r.ports!, stats: async () => (await this.ask({ cmd: 'stats', group })).stats! };
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
  const cell = (v: string | number | undefined): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 0)) : v ?? '');
  const cells = [keys, ...rows.map((r) => keys.map((k) => cell(r[k])))];
  const widths = keys.map((_, i) => Math.max(...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** One line of a section's table (also written to results.json). */
export type BenchRow = Record<string, string | number>;

/** What every bench section gets. */
export interface BenchContext {
  /** The simulated devices (another process). */
  sims: SimHost;
  credentials: Credentials;
  /** Epoch ms after which sections start no new row. */
  deadline: number;
  /** Measured requests per row at concurrency 1 (rows at higher concurrency run twice as many). */
  requests: number;
  /** Longest a row's measurement may take. */
  rowMaxMs: number;
  progress(msg: string): void;
}

/** A part of `npm run bench`; issue 7 appends its own sections to the list in run.ts. */
export interface BenchSection {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}
