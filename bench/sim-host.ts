/**
 * The benchmark's device side, in its own process so that the client's CPU time
 * (process.cpuUsage in run.ts) holds the client alone. Started by bench/lib.ts with fork(); speaks
 * over IPC: `start` a group of simulated devices on 127.0.0.1 (ephemeral ports), read a group's
 * summed wire `stats`, `close` everything and exit. Loopback only.
 */
import { startSimulatedDevice, type SimulatedDevice } from '../src/simulator';
import type { Faults, WireStats } from '../src/simulator';
import type { Credentials } from '../src/types';

export type HostRequest =
  | { id: number; cmd: 'start'; profile: string; count: number; credentials: Credentials; faults?: Faults }
  | { id: number; cmd: 'stats'; group: number }
  | { id: number; cmd: 'close' };

export type HostReply = { id: number; ports?: number[]; group?: number; stats?: WireStats; error?: string };

const groups: SimulatedDevice[][] = [];

function sum(devs: SimulatedDevice[]): WireStats {
  const out: WireStats = { handshakes: 0, requests: 0, connections: 0, maxConcurrent: 0, expired: 0, authFailures: 0 };
  for (const d of devs) {
    for (const k of Object.keys(out) as (keyof WireStats)[]) {
      out[k] = k === 'maxConcurrent' ? Math.max(out[k], d.stats[k]) : out[k] + d.stats[k];
    }
  }
  return out;
}

async function handle(m: HostRequest): Promise<HostReply> {
  switch (m.cmd) {
    case 'start': {
      const devs: SimulatedDevice[] = [];
      for (let i = 0; i < Math.min(m.count, 64); i++) {
        devs.push(await startSimulatedDevice(m.profile, { host: '127.0.0.1', port: 0, credentials: m.credentials, faults: { ...m.faults } }));
      }
      groups.push(devs);
      return { id: m.id, group: groups.length - 1, ports: devs.map((d) => d.port) };
    }
    case 'stats':
      return { id: m.id, stats: sum(groups[m.group] ?? []) };
    case 'close':
      await Promise.all(groups.flat().map((d) => d.close()));
      return { id: m.id };
  }
}

process.on('message', (m: HostRequest) => {
  void handle(m)
    .catch((e: unknown) => ({ id: m.id, error: String(e) }))
    .then((reply) => {
      process.send?.(reply);
      if (m.cmd === 'close') process.disconnect?.();
    });
});
process.on('disconnect', () => {
  // The parent went away: stop the devices so this process can exit.
  void Promise.all(groups.flat().map((d) => d.close())).then(() => process.exit(0));
});
