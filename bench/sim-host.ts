/**
 * The benchmark's device side, in its own process so that the client's CPU time
 * (process.cpuUsage in run.ts) holds the client alone. Started by bench/lib.ts with fork(); speaks
 * over IPC: `start` a group of simulated devices (on 127.0.0.1, or one loopback address each, on
 * ephemeral ports), read a group's summed wire `stats`, `stop` a group, start a UDP `discovery`
 * responder for some groups (on 127.255.255.255 and the devices' own addresses, on the ports given),
 * `close` everything and exit. Loopback only.
 */
import { startDiscoveryResponder, startSimulatedDevice, type DiscoveryResponder, type DiscoveryTarget, type SimulatedDevice } from '../src/simulator';
import type { Faults, WireStats } from '../src/simulator';
import type { Credentials } from '../src/types';

export type HostRequest =
  | { id: number; cmd: 'start'; profile: string; count: number; credentials: Credentials; faults?: Faults; hosts?: string[]; sessionTtlS?: number }
  | { id: number; cmd: 'stats'; group: number }
  | { id: number; cmd: 'stop'; group: number }
  | { id: number; cmd: 'discovery'; groups: number[]; xorPort: number; tdpPort: number }
  | { id: number; cmd: 'close' };

export type HostReply = { id: number; ports?: number[]; hosts?: string[]; group?: number; stats?: WireStats; error?: string };

/** Most devices one `start` may ask for. */
export const MAX_GROUP = 1200;
const PARALLEL_STARTS = 50;

const groups: SimulatedDevice[][] = [];
/** Discovery responders, with the groups they answer for (stopping one of those groups stops the responder). */
const responders: { groups: number[]; responder: DiscoveryResponder }[] = [];

function sum(devs: SimulatedDevice[]): WireStats {
  const out: WireStats = { handshakes: 0, requests: 0, connections: 0, maxConcurrent: 0, expired: 0, authFailures: 0, logins: 0, rateLimited: 0, discovers: 0 };
  for (const d of devs) {
    for (const k of Object.keys(out) as (keyof WireStats)[]) {
      out[k] = k === 'maxConcurrent' ? Math.max(out[k], d.stats[k]) : out[k] + d.stats[k];
    }
  }
  return out;
}

const isLoopback = (h: string): boolean => /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);

async function start(m: Extract<HostRequest, { cmd: 'start' }>): Promise<SimulatedDevice[]> {
  const count = Math.min(m.count, m.hosts ? m.hosts.length : 64, MAX_GROUP);
  const devs: SimulatedDevice[] = [];
  try {
    for (let i = 0; i < count; i += PARALLEL_STARTS) {
      const batch: Promise<SimulatedDevice>[] = [];
      for (let j = i; j < Math.min(count, i + PARALLEL_STARTS); j++) {
        const host = m.hosts?.[j] ?? '127.0.0.1';
        if (!isLoopback(host)) throw new Error(`not a loopback address: ${host}`);
        batch.push(
          startSimulatedDevice(m.profile, {
            host,
            port: 0,
            credentials: m.credentials,
            faults: { ...m.faults },
            logSize: 1,
            ...(m.sessionTtlS !== undefined ? { sessionTtlS: m.sessionTtlS } : {}),
          }),
        );
      }
      const settled = await Promise.allSettled(batch);
      for (const s of settled) if (s.status === 'fulfilled') devs.push(s.value);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
    }
  } catch (e) {
    await Promise.all(devs.map((d) => d.close()));
    throw e;
  }
  return devs;
}

function target(d: SimulatedDevice): DiscoveryTarget {
  return {
    host: d.host,
    profile: d.profile,
    ...(d.model && d.profile.transport === 'xor' ? { handler: d.model } : {}),
    httpPort: d.port,
  };
}

async function handle(m: HostRequest): Promise<HostReply> {
  switch (m.cmd) {
    case 'start': {
      const devs = await start(m);
      groups.push(devs);
      return { id: m.id, group: groups.length - 1, ports: devs.map((d) => d.port), hosts: devs.map((d) => d.host) };
    }
    case 'stats':
      return { id: m.id, stats: sum(groups[m.group] ?? []) };
    case 'stop': {
      const devs = groups[m.group] ?? [];
      groups[m.group] = [];
      const mine = responders.filter((r) => r.groups.includes(m.group));
      for (const r of mine) responders.splice(responders.indexOf(r), 1);
      await Promise.all([...devs.map((d) => d.close()), ...mine.map((r) => r.responder.close())]);
      return { id: m.id };
    }
    case 'discovery': {
      const targets = m.groups.flatMap((g) => (groups[g] ?? []).map(target));
      const responder = await startDiscoveryResponder({ targets, broadcastAddress: '127.255.255.255', xorPort: m.xorPort, tdpPort: m.tdpPort });
      responders.push({ groups: m.groups, responder });
      return { id: m.id };
    }
    case 'close':
      await closeAll();
      return { id: m.id };
  }
}

function closeAll(): Promise<unknown> {
  return Promise.all([...groups.flat().map((d) => d.close()), ...responders.map((r) => r.responder.close())]);
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
  void closeAll().then(() => process.exit(0));
});
