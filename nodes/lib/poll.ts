/**
 * Targets and polling shared by tplink-state and tplink-energy: which devices a node watches (one,
 * a list, or all of the pool's devices), and subscriptions to the pool's poller (one poller per
 * device however many nodes watch it), cancelled on close. Poll errors reach Catch nodes once per
 * change of error code, not on every interval.
 */
import type { ChildRef, DeviceState, EnergyReading } from '../../src/index';
import type { DeviceRef, PollKind, Subscription } from '../../src/pool';
import { nodeError, toNodeError } from './errors';
import { deviceRef, keyOf, text, type DeviceNodeContext } from './device';
import type { NodeMessage } from './red';

export interface Target {
  ref: DeviceRef;
  /** The name in msg.topic and in summaries: the alias, or the host. */
  label: string;
}

export interface TargetDef {
  device?: string;
  /** 'one' (default), 'list' or 'all'. */
  target?: string;
  /** Comma-separated aliases/hosts for 'list'. */
  devices?: string;
}

const MAX_TARGETS = 256;

/** The devices a node watches; msg.device (on input) overrides the configuration with one device. */
export function targetsOf(ctx: DeviceNodeContext, def: TargetDef, msg?: NodeMessage): Target[] {
  const fromMsg = msg && msg.device !== undefined && msg.device !== null && msg.device !== '';
  const mode = fromMsg ? 'one' : (text(def.target) ?? 'one');
  if (mode === 'all') {
    const list = ctx.config.deviceList.slice(0, MAX_TARGETS).map((d) => ({ ref: d, label: d.alias ?? d.host }));
    if (!list.length) throw nodeError('EBADINPUT', 'noDevicesInPool');
    return list;
  }
  if (mode === 'list') {
    const names = (def.devices ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .slice(0, MAX_TARGETS);
    if (!names.length) throw nodeError('EBADINPUT', 'emptyList');
    return names.map((n) => ({ ref: n, label: n }));
  }
  const ref = deviceRef(msg ?? {}, def.device);
  return [{ ref, label: typeof ref === 'string' ? ref : (ref.alias ?? ref.host) }];
}

export interface PollOptions {
  kind: PollKind;
  intervalMs: number;
  onlyChanges: boolean;
  child?: ChildRef;
}

/**
 * Subscribe every target; returns the key of each target (for status events) and a cancel-all.
 * A target that cannot be subscribed (unknown alias) is reported on the node and skipped.
 */
export function pollTargets(
  ctx: DeviceNodeContext,
  targets: Target[],
  opts: PollOptions,
  onValue: (t: Target, value: DeviceState | EnergyReading) => void,
): { keys: Map<string, Target>; cancel: () => void } {
  const subs: Subscription[] = [];
  const keys = new Map<string, Target>();
  for (const t of targets) {
    const lastCode = { v: '' };
    try {
      const key = keyOf(ctx.config.pool, t.ref);
      keys.set(key, t);
      ctx.watch(key);
      subs.push(
        ctx.config.pool.subscribe(
          t.ref,
          { kind: opts.kind, intervalMs: opts.intervalMs, onlyChanges: opts.onlyChanges, ...(opts.child !== undefined ? { child: opts.child } : {}) },
          (err, value) => {
            if (ctx.closed) return;
            if (err) {
              const e = toNodeError(err, ctx.config.secrets());
              // Offline is announced once by the pool's status event; other errors once per code.
              if (e.code !== 'EOFFLINE' && e.code !== lastCode.v) ctx.report(e, { topic: t.label, device: { host: err.host ?? t.label } });
              lastCode.v = e.code;
              return;
            }
            lastCode.v = '';
            if (!value) return;
            if (opts.child === undefined) ctx.config.board?.record(key, value);
            onValue(t, value);
          },
        ),
      );
    } catch (e) {
      ctx.report(e, { topic: t.label });
    }
  }
  return { keys, cancel: () => subs.splice(0).forEach((s) => s.cancel()) };
}
