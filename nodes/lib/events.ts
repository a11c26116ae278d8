/**
 * tplink-state mode "events": hub children's events (S200B clicks and rotation, motion, contact,
 * water leak) from their trigger logs, one message per event, each once.
 *
 * - Adaptive polling: every `fastMs` (1 s, or the idle interval if that is shorter) for
 *   `FAST_WINDOW_MS` after the last event or input, every `idleMs` (the node's interval; default
 *   10 s) otherwise. One poll at a time; a poll that fails is reported once per error streak.
 * - Deduplication by log id across redeploys and restarts of the poll: the last id per
 *   pool/device/child is kept in this module (it outlives a node instance) and in the node's
 *   context; a first poll without either sends only events from the node's start on.
 * - Children: the configured child (index, id or alias), or else every sensor-like child of the hub.
 */
import type { ChildRef, DeviceApi, DeviceState, HubEvent, HubEvents } from '../../src/index';
import type { DeviceRef, PooledDevice } from '../../src/pool';
import { childRef, deviceOf, deviceRef, num, type DeviceNodeBehaviour, type DeviceNodeContext } from './device';
import { NodeError } from './errors';
import type { NodeMessage, SendFn } from './red';

export interface EventsDef {
  id: string;
  pool?: string;
  device?: string;
  child?: string;
  interval?: string | number;
}

export const FAST_WINDOW_MS = 30_000;
const DEFAULT_IDLE_S = 10;
/** Device timestamps are whole seconds: events this close before the node started count as new. */
const START_SLACK_MS = 2000;

/** pool|device|childId → last log id delivered (survives redeploys of the node). */
const lastIds = new Map<string, number>();
const LAST_IDS_MAX = 2000;

function remember(key: string, id: number): void {
  if (lastIds.size >= LAST_IDS_MAX && !lastIds.has(key)) lastIds.delete(lastIds.keys().next().value!);
  lastIds.set(key, id);
}

/** Which children report events: the sensor-like ones (not outlets, switches or dimmers). */
function eventChildren(state: DeviceState): string[] {
  return (state.children ?? []).filter((c) => c.family === 'sensor').map((c) => c.id);
}

type EventsCapable = DeviceApi & { getEvents: NonNullable<DeviceApi['getEvents']> };

function capable(dev: DeviceApi): EventsCapable {
  if (typeof dev.getEvents !== 'function') throw new NodeError('EUNSUPPORTED', 'This device reports no events');
  return dev as EventsCapable;
}

export function eventsBehaviour(ctx: DeviceNodeContext, def: EventsDef): DeviceNodeBehaviour {
  const node = ctx.node;
  const idleMs = num(def.interval, DEFAULT_IDLE_S, 0.05, 86400) * 1000;
  const fastMs = Math.min(1000, idleMs);
  const ctxStore = (): { get(k: string): unknown; set(k: string, v: unknown): void } | undefined => {
    const c = (node as unknown as { context?: () => { get(k: string): unknown; set(k: string, v: unknown): void } }).context;
    return typeof c === 'function' ? c.call(node) : undefined;
  };
  let lastActivity = 0;
  const startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let failing = false;
  /** Resolved children per device/child reference: [{id}] (ids do not depend on how a child was named). */
  const resolved = new Map<string, string[]>();
  const keyOf = (ref: DeviceRef, childId: string) => `${def.pool ?? ''}|${typeof ref === 'string' ? ref : `${ref.host}:${ref.port ?? ''}`}|${childId}`;

  const readLast = (key: string): number | undefined => {
    const m = lastIds.get(key);
    if (m !== undefined) return m;
    const stored = ctxStore()?.get('tplinkEventIds') as Record<string, number> | undefined;
    const v = stored?.[key];
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
  };
  const writeLast = (key: string, id: number): void => {
    remember(key, id);
    const store = ctxStore();
    if (!store) return;
    const stored = { ...((store.get('tplinkEventIds') as Record<string, number> | undefined) ?? {}), [key]: id };
    store.set('tplinkEventIds', stored);
  };

  /** One poll of every child; sends one message per new event. Throws what the device throws. */
  async function pollOnce(ref: DeviceRef, only: ChildRef | undefined, send: SendFn): Promise<number> {
    return ctx.useDevice(ref, async (d: PooledDevice) => {
      let sent = 0;
      const rkey = `${JSON.stringify(ref)}|${JSON.stringify(only ?? null)}`;
      let ids = resolved.get(rkey);
      if (!ids) {
        const state = await d.getState();
        if (only === undefined) ids = eventChildren(state);
        else {
          const c = (state.children ?? []).find(
            (k) => k.id === only || k.alias === only || k.index === only || (typeof only === 'string' && k.alias?.toLowerCase() === only.toLowerCase()),
          );
          if (!c) throw new NodeError('ENOTFOUND', `${state.alias ?? state.host} has no child ${JSON.stringify(only)}`);
          ids = [c.id];
        }
        resolved.set(rkey, ids);
      }
      for (const id of ids) {
        const since = readLast(keyOf(ref, id));
        // First time for this child: read the newest page and keep only what happened since the
        // node started (nothing old is replayed; a press right after a deploy is not lost).
        const r = await d.withRaw((dev) => capable(dev).getEvents(id, since === undefined ? { sinceId: 0, maxPages: 1 } : { sinceId: since }));
        const got: HubEvents = r.value;
        writeLast(keyOf(ref, id), got.lastId);
        const fresh = since === undefined ? got.events.filter((e) => Date.parse(e.at) >= startedAt - START_SLACK_MS) : got.events;
        for (const e of fresh) {
          send(eventMessage(e, deviceOf(d)));
          sent++;
        }
      }
      return sent;
    });
  }

  function schedule(): void {
    if (ctx.closed) return;
    const delay = Date.now() - lastActivity < FAST_WINDOW_MS ? fastMs : idleMs;
    timer = setTimeout(tick, delay);
  }

  function tick(): void {
    timer = undefined;
    if (ctx.closed || running) return;
    let ref: DeviceRef;
    let child: ChildRef | undefined;
    try {
      ref = deviceRef({}, def.device);
      child = childRef({}, def.child);
    } catch (e) {
      ctx.report(e, {});
      return;
    }
    running = pollOnce(ref, child, (m) => node.send(m as NodeMessage))
      .then((n) => {
        if (n > 0) lastActivity = Date.now();
        if (failing || n > 0) node.status({ fill: 'green', shape: 'dot', text: n > 0 ? `${n} event${n === 1 ? '' : 's'}` : 'listening' });
        failing = false;
      })
      .catch((e) => {
        if (!failing) ctx.report(e, {});
        failing = true;
      })
      .finally(() => {
        running = undefined;
        schedule();
      });
  }

  if (def.device) {
    node.status({ fill: 'grey', shape: 'ring', text: 'listening' });
    timer = setTimeout(tick, 0);
  }

  return {
    async input(msg, send) {
      const ref = deviceRef(msg, def.device);
      const child = childRef(msg, def.child);
      await running?.catch(() => undefined);
      lastActivity = Date.now();
      const n = await pollOnce(ref, child, send);
      if (n > 0) node.status({ fill: 'green', shape: 'dot', text: `${n} event${n === 1 ? '' : 's'}` });
    },
    async close() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
}

/** The message of one event: payload `{event, degrees?, child, at, id, childId, model?}`. */
export function eventMessage(e: HubEvent, device: Record<string, unknown>): NodeMessage {
  return { topic: `${String(device['alias'] ?? device['host'])}/${e.child}`, payload: { ...e }, device, event: e.event };
}

/** For tests: forget the remembered ids. */
export function forgetEventIds(): void {
  lastIds.clear();
}
