/**
 * What the three device nodes share: finding the pool config node, registering with it for status
 * pushes, the input wrapper (whole async body in try/catch ending in done(err)), an idempotent
 * bounded close, device and child resolution (msg overrides config), typed-input evaluation and the
 * `msg.device` description.
 */
import { clip, type ChildRef, type ChildState, type DeviceInfo, type DeviceState, type EnergyReading, type Pool } from '../../src/index';
import type { DeviceChange, DeviceRef, DeviceStatus, PoolDeviceConfig, PooledDevice } from '../../src/pool';
import { CLOSE_BUDGET_MS, closeWithin } from './close';
import { fail, nodeError, toNodeError } from './errors';
import type { DoneFn, Node, NodeMessage, RED, SendFn } from './red';
import { fixStatus, poolStatusView, statusOf, type ErrorFacts } from './status';

/** The pool's change events a node may hear of (src/pool/types.ts PoolEvents). */
export const CHANGE_EVENTS = ['protocol-changed', 'firmware-changed'] as const;
export type ChangeEvent = (typeof CHANGE_EVENTS)[number];

/** Pool statuses that report a failure (the red ones). */
const FAILED: ReadonlySet<DeviceStatus> = new Set<DeviceStatus>(['offline', 'auth-error', 'locked', 'error']);

/** A node that wants the pool's status events. */
export interface PoolUser {
  poolStatus(key: string, status: DeviceStatus, err?: ErrorFacts): void;
  /** A device's transport or firmware changed (`{host, from, to}`). */
  poolChange?(event: ChangeEvent, key: string, change: DeviceChange): void;
}

/** The runtime side of a tplink-pool config node, as the device nodes see it. */
export interface PoolConfigNode extends Node {
  readonly pool: Pool;
  readonly deviceList: PoolDeviceConfig[];
  /** Default poll interval (ms). */
  readonly pollIntervalMs: number;
  register(user: PoolUser): void;
  deregister(user: PoolUser): void;
  /** Texts that must never leave the node (the password, the e-mail). */
  secrets(): string[];
  /** Set when the config node starts closing (a redeploy, a restart): its pool's ECLOSED is no failure. */
  readonly closing?: boolean;
  /** The sidebar's view of the pool: readings the nodes get are recorded there. */
  readonly board?: { record(key: string, value: DeviceState | EnergyReading): void };
}

export interface DeviceNodeDef {
  id: string;
  type: string;
  name?: string;
  pool?: string;
  device?: string;
  child?: string;
}

/** What a device node's behaviour gets to work with. */
export interface DeviceNodeContext {
  readonly RED: RED;
  readonly node: Node;
  readonly config: PoolConfigNode;
  /** Follow the pool status of this device key on the node's status. */
  watch(key: string): void;
  /** Run fn with a pooled device handle, released afterwards. */
  useDevice<T>(ref: DeviceRef, fn: (d: PooledDevice) => Promise<T>): Promise<T>;
  /** Report an error that has no done() (polling): red status, node.error with a msg so Catch sees it. */
  report(e: unknown, msg: NodeMessage): void;
  /**
   * Show a pool status event of `key` on the node (poolStatusView). A failure shown this way during
   * a request of this node is that request's status: its error then sets no second one.
   */
  showPoolStatus(key: string, status: DeviceStatus, err?: ErrorFacts): void;
  readonly closed: boolean;
}

export interface DeviceNodeBehaviour {
  input(msg: NodeMessage, send: SendFn): Promise<void>;
  /** Replace the default status handling of pool events. */
  poolStatus?(key: string, status: DeviceStatus, err?: ErrorFacts): void;
  /** Hear of a watched device's transport or firmware change (after the status says so). */
  poolChange?(event: ChangeEvent, key: string, change: DeviceChange): void;
  close?(): void | Promise<void>;
}

/**
 * Wire a device node: pool lookup, registration, input and close handlers.
 * `make` builds the node's behaviour once the pool is known.
 */
export function setupDeviceNode(RED: RED, node: Node, def: DeviceNodeDef, make: (ctx: DeviceNodeContext) => DeviceNodeBehaviour): void {
  const config = def.pool ? (RED.nodes.getNode(def.pool) as PoolConfigNode | null) : null;
  if (!config || !config.pool) {
    node.status(statusOf.noPool());
    node.on('input', (_msg, _send, done) => {
      done(nodeError('ENOPOOL', 'noPool'));
    });
    return;
  }
  const keys = new Set<string>();
  /** Failure statuses shown per device key (a counter): did one come during a request? */
  const failuresShown = new Map<string, number>();
  /** Errors of requests whose failure the pool's status already showed: fail() sets no second status. */
  const alreadyShown = new WeakSet<object>();
  const showPoolStatus = (key: string, status: DeviceStatus, err?: ErrorFacts): void => {
    const view = poolStatusView(status, err);
    if (!view) return;
    if (FAILED.has(status)) failuresShown.set(key, (failuresShown.get(key) ?? 0) + 1);
    node.status(view);
  };
  let closed = false;
  const secrets = (): string[] => config.secrets();
  /**
   * ECLOSED while this node or its pool closes (a redeploy, a restart, while a device was still
   * connecting or answering): nothing the user asked for failed, the flow was stopped. Silent.
   */
  const stoppedByClose = (e: unknown): boolean =>
    (closed || config.closing === true) && typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ECLOSED';
  // Assigned once, below, after the handlers that read it are set up.
  // eslint-disable-next-line prefer-const
  let behaviour: DeviceNodeBehaviour | undefined;
  const user: PoolUser = {
    poolStatus(key, status, err) {
      if (closed || !keys.has(key)) return;
      if (behaviour?.poolStatus) return behaviour.poolStatus(key, status, err);
      showPoolStatus(key, status, err);
    },
    poolChange(event, key, change) {
      if (closed || !keys.has(key)) return;
      // Briefly on the status (the next reading replaces it): "klap → tpap", "firmware 1.2.3 → 1.3.0";
      // a change the pool did not follow stays red with its guided fix.
      const refused = change.error ? fixStatus(toNodeError(change.error, secrets())) : undefined;
      node.status(refused ?? statusOf.changed(event === 'protocol-changed' ? 'protocolChanged' : 'firmwareChanged', change.from, change.to));
      behaviour?.poolChange?.(event, key, change);
    },
  };
  const ctx: DeviceNodeContext = {
    RED,
    node,
    config,
    watch: (key) => void keys.add(key),
    async useDevice(ref, fn) {
      const d = config.pool.device(ref);
      const key = d.key;
      keys.add(key);
      const shown = failuresShown.get(key) ?? 0;
      try {
        return await fn(d);
      } catch (e) {
        if ((failuresShown.get(key) ?? 0) !== shown && typeof e === 'object' && e !== null) alreadyShown.add(e);
        throw e;
      } finally {
        d.release();
      }
    },
    report(e, msg) {
      if (stoppedByClose(e)) return;
      const err = toNodeError(e, secrets());
      node.status(fixStatus(err) ?? statusOf.error(err.code));
      node.error(err, msg);
    },
    showPoolStatus,
    get closed() {
      return closed;
    },
  };
  behaviour = make(ctx);
  config.register(user);

  node.on('input', (msg, send, done) => {
    void (async () => {
      try {
        await behaviour.input(msg, send);
        done();
      } catch (e) {
        if (stoppedByClose(e)) return done();
        // One status per failure: the pool's event may have shown this one already.
        if (typeof e === 'object' && e !== null && alreadyShown.has(e)) done(toNodeError(e, secrets()));
        else fail(node, done, e, secrets());
      }
    })();
  });

  closeWithin(node, CLOSE_BUDGET_MS.DEVICE_NODE, async () => {
    closed = true;
    config.deregister(user);
    await behaviour.close?.();
  });
}

/** A non-empty trimmed string, or undefined. */
export function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v.trim() : undefined;
}

/** The device a message addresses: msg.device (alias, host, host:port or {host, port}) over the configured one. */
export function deviceRef(msg: NodeMessage, configured: string | undefined): DeviceRef {
  const m = msg.device;
  if (m !== undefined && m !== null && m !== '') {
    if (typeof m === 'string') return m.trim();
    if (typeof m === 'object' && typeof (m as { host?: unknown }).host === 'string') {
      const o = m as { host: string; port?: unknown; alias?: unknown };
      const port = Number(o.port);
      return { host: o.host, ...(Number.isInteger(port) && port > 0 && port < 65536 ? { port } : {}) };
    }
    throw nodeError('EBADINPUT', 'badDevice');
  }
  const c = text(configured);
  if (!c) throw nodeError('EBADINPUT', 'noDevice');
  return c;
}

/** The child a message addresses: msg.child (index, id or alias) over the configured one. */
export function childRef(msg: NodeMessage, configured: string | undefined): ChildRef | undefined {
  const m = msg.child;
  if (typeof m === 'number') {
    if (!Number.isInteger(m) || m < 0) throw nodeError('EBADINPUT', 'badChild');
    return m;
  }
  if (typeof m === 'string' && m.trim()) return m.trim();
  if (m !== undefined && m !== null && m !== '') throw nodeError('EBADINPUT', 'badChild');
  return text(configured);
}

/** A child in a state, by index, id or alias (as the library resolves it). */
export function findChild(s: DeviceState, ref: ChildRef): ChildState | undefined {
  const kids = s.children ?? [];
  if (typeof ref === 'number') return kids.find((k) => k.index === ref) ?? kids[ref];
  const low = ref.toLowerCase();
  return (
    kids.find((k) => k.id === ref) ??
    kids.find((k) => k.alias?.toLowerCase() === low) ??
    (/^\d{1,3}$/.test(ref) ? kids.find((k) => k.index === Number(ref)) : undefined)
  );
}

/** The pool's key for a reference (host or host:port), as used in its status events. */
export function keyOf(pool: Pool, ref: DeviceRef): string {
  const cfg = pool.resolve(ref);
  return cfg.port !== undefined ? `${cfg.host}:${cfg.port}` : cfg.host;
}

/** What is known of a device: its session's info, else a state it answered, else the pool's list entry. */
export interface DeviceFacts {
  info?: DeviceInfo | undefined;
  state?: DeviceState | undefined;
  config?: { host: string; port?: number | undefined; alias?: string | undefined } | undefined;
}

// defaultCredentials: the device accepts TP-Link's default credentials (src/trust.ts).
const DEVICE_FIELDS = ['host', 'port', 'alias', 'model', 'family', 'protocol', 'defaultCredentials'] as const;

/**
 * The one `msg.device` of every output: {host, port, alias, model, family, protocol}, each field
 * from the first source that has it (info, state, config); absent fields left out.
 */
export function describeDevice(f: DeviceFacts): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const sources = [f.info, f.state, f.config] as (Record<string, unknown> | undefined)[];
  for (const k of DEVICE_FIELDS) {
    for (const s of sources) {
      if (s?.[k] !== undefined) {
        out[k] = s[k];
        break;
      }
    }
  }
  return out;
}

/** msg.device for a pooled device handle. */
export const deviceOf = (d: PooledDevice): Record<string, unknown> => describeDevice({ info: d.info(), config: { host: d.host, port: d.port } });

/** msg.device for a device the pool polls: what its session knows, else the pool's list entry. Throws like pool.device(). */
export function deviceOfRef(pool: Pool, ref: DeviceRef): Record<string, unknown> {
  const d = pool.device(ref);
  try {
    return describeDevice({ info: d.info(), config: pool.resolve(ref) });
  } finally {
    d.release();
  }
}

/** Evaluate a typed-input property (str, num, bool, json, msg, flow, global, env). */
export function evalProperty(RED: RED, node: Node, value: unknown, type: string | undefined, msg: NodeMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    try {
      RED.util.evaluateNodeProperty(value, type || 'str', node, msg, (err, v) =>
        err ? reject(nodeError('EBADINPUT', 'badValue', { reason: clip(err.message) })) : resolve(v),
      );
    } catch (e) {
      reject(nodeError('EBADINPUT', 'badValue', { reason: clip(e instanceof Error ? e.message : e) }));
    }
  });
}

/** A number from config text, bounded, with a default. */
export function num(v: unknown, dflt: number, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() ? Number(v) : NaN;
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : dflt;
}

export type { DoneFn };
