/**
 * tplink-pool: the config node. Holds the TP-Link account (Node-RED credentials), the known devices,
 * timeouts and poll defaults, and owns the connection pool every device node uses. Pool status
 * events are pushed to the nodes that registered. Also registers the editor's Scan/Test endpoints.
 */
import { POOL_DEFAULTS, Pool } from '../src/index';
import { registerAdminEndpoints } from './lib/admin';
import { CLOSE_BUDGET_MS, closeWithin } from './lib/close';
import { Board, addBoard, registerSidebarEndpoints, removeBoard } from './lib/sidebar';
import { useTranslator } from './lib/status';
import { CHANGE_EVENTS, type PoolConfigNode, type PoolUser } from './lib/device';
import { num, text } from './lib/device';
import { credentialsOf, parseDeviceList } from './lib/pool-config';
import { redact } from './lib/errors';
import { provenStore } from './lib/proven';
import type { Node, RED } from './lib/red';

interface PoolDef {
  id: string;
  type: string;
  name?: string;
  devices?: unknown;
  timeout?: string | number;
  retries?: string | number;
  queueLimit?: string | number;
  pollInterval?: string | number;
  broadcast?: string;
}

export = function register(RED: RED): void {
  useTranslator(RED._);
  function TplinkPoolNode(this: Node & { [k: string]: unknown }, def: PoolDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const creds = credentialsOf(this.credentials);
    const secrets = (): string[] => (creds ? [creds.password, creds.username] : []);
    const users = new Set<PoolUser>();
    const deviceList = parseDeviceList(def.devices);
    const say = (f: (t: string) => void) => (t: string) => f(redact(t, secrets()));
    // What the devices proved survives a restart (lib/proven.ts): no downgrade after one either.
    const proven = provenStore(RED.settings?.userDir, def.id, (t) => node.warn(t));
    const pool = new Pool({
      proven: proven.load(),
      ...(creds ? { credentials: creds } : {}),
      devices: deviceList,
      // The library's defaults (src/defaults.ts POOL_DEFAULTS) where the config has no value.
      timeoutMs: num(def.timeout, POOL_DEFAULTS.timeoutMs, 100, 60000),
      retries: num(def.retries, POOL_DEFAULTS.retries, 0, 5),
      queueLimit: num(def.queueLimit, POOL_DEFAULTS.queueLimit, 1, 10000),
      logger: { debug: say((t) => node.debug(t)), info: say((t) => node.debug(t)), warn: say((t) => node.warn(t)), error: say((t) => node.warn(t)) },
    });
    // The editor's sidebar view of this pool (lib/sidebar.ts): fed by status events and readings.
    const board = new Board(def.id, text(def.name) ?? '', pool, deviceList, secrets);
    addBoard(board);
    const tell = (f: (u: PoolUser) => void): void => {
      for (const u of [...users]) {
        try {
          f(u);
        } catch (e) {
          node.debug(`status listener failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    };
    pool.on('proven', () => proven.save(pool.provenRoutes()));
    pool.on('status', (key, status, err) => {
      board.status(key, status, err);
      tell((u) => u.poolStatus(key, status, err));
    });
    // A device re-detected on another transport, or with other firmware (tplink-state can send them as messages).
    for (const event of CHANGE_EVENTS) pool.on(event, (key, change) => tell((u) => u.poolChange?.(event, key, change)));
    const self = this as unknown as PoolConfigNode & Record<string, unknown>;
    Object.assign(self, {
      pool,
      deviceList,
      pollIntervalMs: num(def.pollInterval, 10, 0.1, 86400) * 1000,
      broadcast: text(def.broadcast) ?? '255.255.255.255',
      register: (u: PoolUser) => void users.add(u),
      deregister: (u: PoolUser) => void users.delete(u),
      secrets,
      board,
    });

    closeWithin(node, CLOSE_BUDGET_MS.POOL, () => {
      (self as { closing?: boolean }).closing = true; // the device nodes' requests end with ECLOSED now: no failure (lib/device.ts)
      users.clear();
      removeBoard(board);
      return pool.close();
    });
  }

  RED.nodes.registerType('tplink-pool', TplinkPoolNode as never, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
  registerAdminEndpoints(RED);
  registerSidebarEndpoints(RED);
};
