/**
 * Hub child events from trigger logs: a SMART hub child (S200B button, T100 motion, T110 contact,
 * T300 water leak, T31x climate) keeps a log of what happened, read through the hub with
 * `control_child` → `get_trigger_logs {page_size, start_id}`. The answer lists the newest logs first
 * (`{start_id: newest id, sum, logs:[{id, event, timestamp, params?}]}`); `start_id` 0 asks from the
 * newest, another value starts the page at that id and goes back in time.
 *
 * `readHubEvents()` returns the events newer than `sinceId`, oldest first, each once: it pages back
 * until it reaches `sinceId` (at most `maxPages` pages), and when the child's newest id is below
 * `sinceId` (its log was reset) it treats every log as new. Event names are turned from the
 * devices' camelCase into snake_case (`singleClick` → `single_click`, `waterLeak` → `water_leak`);
 * a rotation carries `degrees` (negative = anticlockwise).
 */
import type { HubEvent, HubEvents, EventsOptions } from '../types';
import { KasaTapoError } from '../errors';
import { isObject } from '../json';
import type { SmartProtocol } from '../protocols/smart';
import type { ChildState } from '../types';

/** camelCase device event names → snake_case. Never throws. */
export function eventName(raw: string): string {
  return raw
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[\s-]+/g, '_')
    .toLowerCase()
    .slice(0, 40);
}

function intIn(v: unknown, lo: number, hi: number): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? v : undefined;
}

function toEvent(log: unknown, child: ChildState): HubEvent | undefined {
  if (!isObject(log)) return undefined;
  const id = intIn(log['id'], 1, Number.MAX_SAFE_INTEGER);
  const name = typeof log['event'] === 'string' && log['event'] !== '' ? log['event'] : undefined;
  const ts = intIn(log['timestamp'], 0, 4_102_444_800);
  if (id === undefined || name === undefined || ts === undefined) return undefined;
  const out: HubEvent = { id, event: eventName(name), child: child.alias ?? child.id, childId: child.id, at: new Date(ts * 1000).toISOString() };
  if (child.model !== undefined) out.model = child.model;
  const params = isObject(log['params']) ? log['params'] : {};
  const deg = params['rotate_deg'] ?? params['rotation_deg'] ?? params['degrees'];
  if (typeof deg === 'number' && Number.isFinite(deg)) out.degrees = deg;
  return out;
}

/**
 * Read a hub child's new events. `query(params)` sends get_trigger_logs to the child (through
 * control_child) and answers its result. Throws KasaTapoError EBADINPUT (bad options), EUNSUPPORTED
 * (the child keeps no trigger log) and what `query` throws.
 */
export async function readHubEvents(
  query: (params: Record<string, unknown>) => Promise<Record<string, unknown>>,
  child: ChildState,
  opts: EventsOptions = {},
): Promise<{ value: HubEvents; raw: unknown[] }> {
  const pageSize = opts.pageSize ?? 10;
  const maxPages = opts.maxPages ?? 5;
  if (intIn(pageSize, 1, 50) === undefined) throw new KasaTapoError('EBADINPUT', `pageSize must be an integer 1-50, got ${JSON.stringify(pageSize)}`);
  if (intIn(maxPages, 1, 20) === undefined) throw new KasaTapoError('EBADINPUT', `maxPages must be an integer 1-20, got ${JSON.stringify(maxPages)}`);
  if (opts.sinceId !== undefined && intIn(opts.sinceId, 0, Number.MAX_SAFE_INTEGER) === undefined) {
    throw new KasaTapoError('EBADINPUT', `sinceId must be a non-negative integer, got ${JSON.stringify(opts.sinceId)}`);
  }
  const raw: unknown[] = [];
  const seen = new Map<number, HubEvent>();
  let newest = 0;
  let since = opts.sinceId;
  let start = 0;
  for (let page = 0; page < maxPages; page++) {
    let r: Record<string, unknown>;
    try {
      r = await query({ page_size: pageSize, start_id: start });
    } catch (e) {
      if (e instanceof KasaTapoError && e.code === 'EUNSUPPORTED')
        throw new KasaTapoError('EUNSUPPORTED', `${child.alias ?? child.id} keeps no trigger log`, { cause: e });
      throw e;
    }
    raw.push(r);
    const logs = Array.isArray(r['logs']) ? r['logs'] : [];
    const events = logs.map((l) => toEvent(l, child)).filter((e): e is HubEvent => !!e);
    if (page === 0) {
      newest = Math.max(intIn(r['start_id'], 0, Number.MAX_SAFE_INTEGER) ?? 0, ...events.map((e) => e.id));
      if (since === undefined) break;
      if (newest < since) since = 0; // the child's log was reset: everything there is new
    }
    for (const e of events) if (e.id > since! && !seen.has(e.id)) seen.set(e.id, e);
    const oldest = Math.min(...events.map((e) => e.id));
    if (events.length < pageSize || oldest <= since! + 1 || !Number.isFinite(oldest)) break;
    start = oldest - 1;
  }
  const events = [...seen.values()].sort((a, b) => a.id - b.id);
  return { value: { events, lastId: Math.max(newest, ...events.map((e) => e.id)) }, raw };
}

/** Bridge for Device.getEvents: the SMART protocol's control_child. */
export function triggerLogQuery(proto: SmartProtocol, child: ChildState): (params: Record<string, unknown>) => Promise<Record<string, unknown>> {
  return (params) => proto.controlChild(child.id, 'get_trigger_logs', params);
}

export type { HubEvent, HubEvents, EventsOptions };
