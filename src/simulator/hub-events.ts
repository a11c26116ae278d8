/**
 * Hub children's trigger logs (S200B button, T100 motion, T110 contact, T300 water leak, T31x
 * climate): what the device answers to `get_trigger_logs` through the hub's `control_child`, and
 * the simulator's control API that makes something happen (`simulateHubEvent`).
 *
 * Wire shape (as real children answer): request `{page_size, start_id}`; answer
 * `{start_id, sum, logs:[{id, eventId, event, timestamp, params?}]}`, newest first. `id` grows by
 * one per event; `start_id` of the answer is the newest id (0 when empty) and `sum` the number of
 * stored logs. A request's `start_id` 0 means "from the newest"; any other value starts the page at
 * that id (inclusive) and goes back in time. Event names are the devices' camelCase ones
 * (`singleClick`, `doubleClick`, `rotation` with `params.rotate_deg`, `motion`, `open`, `close`,
 * `waterLeak`, `waterDry`). A child keeps its last 200 logs.
 */
import { randomUUID } from 'node:crypto';
import type { SmartDeviceModel, SmartNode } from './smart';

export type SimHubEvent = 'singleClick' | 'doubleClick' | 'rotation' | 'motion' | 'open' | 'close' | 'waterLeak' | 'waterDry';

export interface TriggerLogEntry {
  id: number;
  eventId: string;
  event: string;
  /** Epoch seconds. */
  timestamp: number;
  params?: Record<string, unknown>;
}

const KEEP = 200;

/** Which events each child kind can produce. */
export const EVENTS_OF_KIND: Readonly<Record<string, readonly SimHubEvent[]>> = Object.freeze({
  button: ['singleClick', 'doubleClick', 'rotation'],
  motion: ['motion'],
  contact: ['open', 'close'],
  'water-leak': ['waterLeak', 'waterDry'],
  'temp-humidity': [],
});

export class TriggerLog {
  private logs: TriggerLogEntry[] = [];
  private nextId = 1;

  push(event: string, timestampS: number, params?: Record<string, unknown>): TriggerLogEntry {
    const e: TriggerLogEntry = { id: this.nextId++, eventId: randomUUID(), event, timestamp: timestampS, ...(params ? { params } : {}) };
    this.logs.push(e);
    if (this.logs.length > KEEP) this.logs.splice(0, this.logs.length - KEEP);
    return e;
  }

  /** The get_trigger_logs answer. Throws RangeError on bad paging values (the caller maps it to -1008). */
  page(q: Record<string, unknown>): Record<string, unknown> {
    const size = q['page_size'] ?? 5;
    const start = q['start_id'] ?? 0;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 50) throw new RangeError('page_size');
    if (typeof start !== 'number' || !Number.isInteger(start) || start < 0) throw new RangeError('start_id');
    const newest = this.logs.length ? this.logs[this.logs.length - 1]!.id : 0;
    const from = start === 0 ? newest : start;
    const logs = this.logs
      .filter((l) => l.id <= from)
      .reverse()
      .slice(0, size)
      .map((l) => structuredClone(l));
    return { start_id: newest, sum: this.logs.length, logs };
  }

  /** Forget everything (a child reset); ids start again at 1. */
  clear(): void {
    this.logs = [];
    this.nextId = 1;
  }

  get size(): number {
    return this.logs.length;
  }
}

const logs = new WeakMap<SmartNode, TriggerLog>();

/** The trigger log of a hub child (created on first use). Never throws. */
export function triggerLogOf(node: SmartNode): TriggerLog {
  let l = logs.get(node);
  if (!l) logs.set(node, (l = new TriggerLog()));
  return l;
}

/**
 * Make a hub child report an event, as if the button were pressed or the sensor triggered: the
 * event is appended to the child's trigger log and the child's state follows (`open`/`close` set
 * the contact, `motion` sets `detected`, `waterLeak`/`waterDry` the leak state). `child` is the
 * child's device_id, alias or 0-based index. `degrees` is the rotation (negative = anticlockwise).
 * Throws Error for an unknown child or an event the child cannot produce.
 */
export function simulateHubEvent(model: SmartDeviceModel, child: string | number, event: SimHubEvent, opts: { degrees?: number } = {}): TriggerLogEntry {
  const node = typeof child === 'number' ? model.child(child) : (model.child(child) ?? model.children.find((c) => c.state.nickname === child));
  if (!node) throw new Error(`No hub child ${JSON.stringify(child)}`);
  const allowed = EVENTS_OF_KIND[node.kind] ?? [];
  if (!allowed.includes(event))
    throw new Error(`A ${node.child?.model ?? node.kind} cannot report "${event}" (it reports: ${allowed.join(', ') || 'nothing'})`);
  const t = Math.floor(model.now() / 1000);
  if (event === 'open' || event === 'close') node.state.open = event === 'open';
  if (event === 'motion') node.state.detected = true;
  if (event === 'waterLeak' || event === 'waterDry') node.state.detected = event === 'waterLeak';
  const params = event === 'rotation' ? { rotate_deg: Math.round(opts.degrees ?? 30) } : undefined;
  return triggerLogOf(node).push(event, t, params);
}
