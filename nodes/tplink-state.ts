/**
 * tplink-state: reads device state on input, or polls through the pool's poller (optionally only
 * on change); reports online/offline changes. Watches one device, a list, or all of the pool's
 * devices; with several, a summary message follows ({allOn, anyOn, on, off, offline, total}).
 */
import type { DeviceState } from '../src/index';
import type { DeviceChange, DeviceStatus } from '../src/pool';
import { childRef, describeDevice, deviceOf, deviceOfRef, findChild, keyOf, num, setupDeviceNode, type ChangeEvent, type DeviceNodeDef } from './lib/device';
import { nodeError } from './lib/errors';
import { toNodeError } from './lib/errors';
import { pollTargets, targetsOf, type Target, type TargetDef } from './lib/poll';
import type { Node, NodeMessage, NodeStatus, RED, SendFn } from './lib/red';
import { stateStatus, statusOf, useTranslator, type ErrorFacts } from './lib/status';
import { eventsBehaviour } from './lib/events';

interface StateDef extends DeviceNodeDef, TargetDef {
  mode?: string;
  interval?: string | number;
  onlyChanges?: boolean;
  /** Send the pool's protocol-changed / firmware-changed events of the watched devices as messages. Default off. */
  changes?: boolean;
}

interface Summary {
  allOn: boolean;
  anyOn: boolean;
  on: string[];
  off: string[];
  offline: string[];
  total: number;
}

interface Seen {
  state?: DeviceState;
  offline?: boolean;
}

function summarise(targets: Target[], seen: Map<string, Seen>): Summary {
  const s: Summary = { allOn: false, anyOn: false, on: [], off: [], offline: [], total: targets.length };
  for (const t of targets) {
    const x = seen.get(t.label);
    if (x?.offline) s.offline.push(t.label);
    else if (x?.state?.on === true) s.on.push(t.label);
    else if (x?.state?.on === false) s.off.push(t.label);
  }
  s.anyOn = s.on.length > 0;
  s.allOn = s.anyOn && s.off.length === 0 && s.offline.length === 0;
  return s;
}

function summaryStatus(s: Summary): NodeStatus {
  return statusOf.summary(s.on.length, s.off.length, s.offline.length, s.anyOn);
}

export = function register(RED: RED): void {
  useTranslator(RED._);
  function TplinkStateNode(this: Node, def: StateDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    setupDeviceNode(RED, node, def, (ctx) => {
      if (def.mode === 'events') return eventsBehaviour(ctx, def); // hub children's events (nodes/lib/events.ts)
      const multi = def.target === 'all' || def.target === 'list';
      const seen = new Map<string, Seen>();
      let configured: Target[] = [];
      let lastSummary = '';
      let keys = new Map<string, Target>();
      let cancel = (): void => undefined;

      const emitSummary = (send: SendFn, force: boolean): void => {
        const s = summarise(configured, seen);
        node.status(summaryStatus(s));
        const text = JSON.stringify(s);
        const complete = configured.every((t) => seen.get(t.label)?.state || seen.get(t.label)?.offline);
        if (force || (complete && text !== lastSummary)) send({ topic: 'summary', payload: s });
        lastSummary = text;
      };
      const stateMsg = (t: Target, state: DeviceState, device: Record<string, unknown>, raw?: unknown): NodeMessage => ({
        topic: t.label,
        payload: state,
        device,
        online: true,
        ...(raw !== undefined ? { raw } : {}),
      });
      const onState = (t: Target, state: DeviceState, send: SendFn, msg: NodeMessage): void => {
        seen.set(t.label, { state });
        send(msg);
        if (!multi) node.status(stateStatus(state));
      };

      if (def.mode === 'poll') {
        try {
          configured = targetsOf(ctx, def);
          const intervalMs = num(def.interval, ctx.config.pollIntervalMs / 1000, 0.05, 86400) * 1000;
          const polled = pollTargets(ctx, configured, { kind: 'state', intervalMs, onlyChanges: def.onlyChanges === true }, (t, value) => {
            const state = value as DeviceState;
            onState(t, state, (m) => node.send(m as NodeMessage), stateMsg(t, state, describeDevice({ state })));
            if (multi) emitSummary((m) => node.send(m as NodeMessage), false);
          });
          keys = polled.keys;
          cancel = polled.cancel;
        } catch (e) {
          ctx.report(e, {});
        }
      } else if (multi) {
        try {
          configured = targetsOf(ctx, def);
        } catch {
          /* reported on input */
        }
      }

      if (def.changes === true && def.mode !== 'poll') {
        // Watch the configured devices from the start, so their changes arrive before any input.
        try {
          for (const t of targetsOf(ctx, def)) {
            const key = keyOf(ctx.config.pool, t.ref);
            if (!keys.has(key)) keys.set(key, t);
            ctx.watch(key);
          }
        } catch {
          /* no configured device (msg.device only): learnt on input */
        }
      }

      return {
        async input(msg, send) {
          const targets = targetsOf(ctx, def, msg);
          const results = await Promise.allSettled(
            targets.map((t) =>
              ctx.useDevice(t.ref, async (d) => {
                keys.set(d.key, t);
                const r = await d.withRaw((dev) => dev.getState());
                return { t, r, device: deviceOf(d) };
              }),
            ),
          );
          const single = targets.length === 1 && !(multi && !msg.device);
          if (single) {
            const r = results[0]!;
            if (r.status === 'rejected') throw r.reason;
            const child = childRef(msg, undefined);
            if (child !== undefined) {
              // msg.child: the payload is that child's state (an outlet, a hub's sensor).
              const kid = findChild(r.value.r.value, child);
              if (!kid) throw nodeError('ENOTFOUND', 'noChild', { device: r.value.r.value.model ?? r.value.t.label, child: JSON.stringify(child) });
              node.status(stateStatus(kid));
              send({ ...msg, ...stateMsg(r.value.t, r.value.r.value, r.value.device, r.value.r.raw), payload: kid, child });
              return;
            }
            onState(r.value.t, r.value.r.value, send, { ...msg, ...stateMsg(r.value.t, r.value.r.value, r.value.device, r.value.r.raw) });
            return;
          }
          configured = targets;
          for (const [i, r] of results.entries()) {
            const t = targets[i]!;
            if (r.status === 'fulfilled') onState(t, r.value.r.value, send, stateMsg(t, r.value.r.value, r.value.device, r.value.r.raw));
            else {
              const e = toNodeError(r.reason, ctx.config.secrets());
              seen.set(t.label, { offline: true });
              send({ topic: t.label, online: false, payload: { online: false, code: e.code } });
            }
          }
          emitSummary(send, true);
          if (results.every((r) => r.status === 'rejected')) throw (results[0] as PromiseRejectedResult).reason;
        },
        poolStatus(key: string, status: DeviceStatus, err?: ErrorFacts) {
          const t = keys.get(key);
          if (!t) return;
          const was = seen.get(t.label);
          if (status === 'offline' && !was?.offline) {
            seen.set(t.label, { offline: true });
            node.send({ topic: t.label, online: false, payload: { online: false } });
          } else if (status === 'online' && was?.offline) {
            seen.set(t.label, {});
            node.send({ topic: t.label, online: true, payload: { online: true } });
          }
          if (multi) {
            if (status === 'offline' || status === 'online') emitSummary((m) => node.send(m as NodeMessage), false);
          } else ctx.showPoolStatus(key, status, err);
        },
        poolChange(event: ChangeEvent, key: string, change: DeviceChange) {
          const t = keys.get(key);
          if (def.changes !== true || !t) return;
          let device: Record<string, unknown>;
          try {
            device = deviceOfRef(ctx.config.pool, t.ref);
          } catch {
            device = { host: change.host };
          }
          const payload: Record<string, unknown> = { host: change.host, from: change.from, to: change.to };
          if (change.error) payload.error = { code: change.error.code, message: change.error.message, ...(change.error.fix ? { fix: change.error.fix } : {}) };
          node.send({ topic: event, payload, device });
        },
        close: () => cancel(),
      };
    });
  }
  RED.nodes.registerType('tplink-state', TplinkStateNode);
};
