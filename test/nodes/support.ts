/**
 * Shared support for the node tests: node-red-node-test-helper started once, the compiled node
 * modules (resolved beside this compiled file, so the tests run from dist/ or any out dir),
 * simulated devices on loopback, and small waiting helpers.
 */
import * as path from 'node:path';
import { startSimulatedDevice, type SimulatedDevice } from '../../src/simulator/index';
import { randomBase } from '../helpers/net';

export const helper = require('node-red-node-test-helper') as {
  init(path: string, settings?: unknown): void;
  load(nodes: unknown[], flow: unknown[], credentials?: unknown): Promise<void>;
  setFlows(flow: unknown[], type?: string, credentials?: unknown): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): TestNode | null;
  request(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** A sinon spy on RED.log.log: args[i][0] is the log event {level, msg, …}. */
  log(): { args: unknown[][] };
};
helper.init(require.resolve('node-red'));

export type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export interface TestNode {
  id: string;
  on(ev: string, fn: (x: any) => void): void; // eslint-disable-line @typescript-eslint/no-explicit-any
  receive(msg: Msg): void;
  status(s: unknown): void;
  error(...a: unknown[]): void;
  warn(...a: unknown[]): void;
}

const nodeFile = (n: string): unknown => require(path.join(__dirname, '../../nodes', `${n}.js`));
export const NODES = ['tplink-pool', 'tplink-action', 'tplink-state', 'tplink-energy'].map(nodeFile);

export const CREDS = { username: 'nodes@example.com', password: 'n0des-secret-pw' };

/** Start simulated devices, each on its own 127.x.y.z address and an ephemeral port. */
export async function startDevices(ids: string[]): Promise<SimulatedDevice[]> {
  const base = randomBase();
  const out: SimulatedDevice[] = [];
  for (const [i, id] of ids.entries()) out.push(await startSimulatedDevice(id, { host: `${base}.${i + 1}`, credentials: CREDS }));
  return out;
}

/** A pool list row for a simulated device; AES devices older than login v2 need the user's 'aes-v1' choice. */
export const deviceEntry = (d: SimulatedDevice, alias: string) => ({
  alias,
  host: d.host,
  port: String(d.port),
  transport: d.transport === 'aes' && d.profile.loginVersion === 1 ? 'aes-v1' : d.transport,
});

/** A pool config node (id "pool") with these devices; short timeouts so failures come fast. */
export function poolNode(devices: unknown[], extra: Record<string, unknown> = {}): Msg {
  return {
    id: 'pool',
    type: 'tplink-pool',
    name: 'home',
    devices,
    timeout: 800,
    retries: 0,
    queueLimit: 100,
    pollInterval: 10,
    broadcast: '127.255.255.255',
    version: 1,
    ...extra,
  };
}

export const poolCreds = { pool: { ...CREDS } };

/** Collect messages arriving at a helper node. */
export function collect(n: TestNode): Msg[] {
  const got: Msg[] = [];
  n.on('input', (m: Msg) => got.push(m));
  return got;
}

/** Wait (bounded) until a condition holds. */
export async function until(cond: () => boolean, maxMs = 5000, what = 'condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > maxMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Send a message into a node and wait for the next message on `out` (or the next error on catch). */
export async function roundTrip(input: TestNode, out: Msg[], msg: Msg, maxMs = 5000): Promise<Msg> {
  const n = out.length;
  input.receive(msg);
  await until(() => out.length > n, maxMs, 'an output message');
  return out[n]!;
}

/** Record every status the node shows. */
export function statuses(n: TestNode): Msg[] {
  const seen: Msg[] = [];
  const orig = n.status.bind(n);
  n.status = (s: unknown) => {
    seen.push(s as Msg);
    orig(s);
  };
  return seen;
}
