/**
 * Countdown timers ("off in 10 minutes"): one pending switch of the device (or an outlet).
 *
 * - IOT (Kasa plugs, strips, switches): module `count_down` — `delete_all_rules`, then
 *   `add_rule {enable: 1, delay: s, act: 1|0, name}`; `get_rules` lists `{id, enable, delay, act,
 *   remain}`. A device keeps one countdown rule, so a new countdown replaces the old one.
 * - SMART (Tapo): `add_countdown_rule {delay, desired_states: {on}, enable: true, remain}`,
 *   `get_countdown_rules` → `{rule_list: [{id, enable, delay, remain, desired_states}]}`, and
 *   `remove_countdown_rules {remove_all: true}` to clear.
 *
 * The answer is normalised to `{active, on?, delayS?, remainS?}`.
 */
import type { Adapter } from './adapter';
import { IotAdapter } from './iot/adapter';
import { SmartAdapter } from './smart/adapter';
import type { Countdown, CountdownSpec } from '../types';
import { KasaTapoError } from '../errors';
import { isObject } from '../json';
import type { IotProtocol } from '../protocols/iot';
import type { SmartProtocol } from '../protocols/smart';

type Obj = Record<string, unknown>;

/** Validate a countdown spec → seconds. Throws KasaTapoError EBADINPUT. */
export function countdownDelay(spec: CountdownSpec): number {
  if (!spec || typeof spec !== 'object' || typeof spec.on !== 'boolean')
    throw new KasaTapoError('EBADINPUT', 'A countdown needs {on: true|false, minutes or delayS}');
  const s = spec.delayS ?? (typeof spec.minutes === 'number' ? Math.round(spec.minutes * 60) : undefined);
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 1 || s > 86400) {
    throw new KasaTapoError(
      'EBADINPUT',
      `A countdown runs 1 s to 24 h (delayS 1-86400 or minutes up to 1440), got ${JSON.stringify(spec.delayS ?? spec.minutes)}`,
    );
  }
  return s;
}

const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1e7 ? Math.round(v) : undefined);

/** The first enabled rule of a rule list → Countdown. Never throws. */
export function countdownOf(list: unknown, smart: boolean): Countdown {
  const rules = Array.isArray(list) ? list.filter(isObject) : [];
  const r = rules.find((x) => x['enable'] === true || x['enable'] === 1);
  if (!r) return { active: false };
  const out: Countdown = { active: true };
  const on = smart ? (isObject(r['desired_states']) ? r['desired_states']['on'] : undefined) : r['act'] === 1 ? true : r['act'] === 0 ? false : undefined;
  if (typeof on === 'boolean') out.on = on;
  const d = int(r['delay']);
  const rem = int(r['remain']);
  if (d !== undefined) out.delayS = d;
  if (rem !== undefined) out.remainS = rem;
  return out;
}

export type CountdownOp = { op: 'set'; spec: CountdownSpec } | { op: 'get' } | { op: 'clear' };

/** IOT countdown. Throws KasaTapoError EBADINPUT, EUNSUPPORTED (no count_down module) and protocol errors. */
export async function iotCountdown(proto: IotProtocol, childIds: string[] | undefined, what: CountdownOp): Promise<Countdown> {
  const mod = 'count_down';
  const call = async (method: string, params: Obj): Promise<Obj> => {
    const a = await proto.query({ [mod]: { [method]: params } }, childIds);
    const body = a[mod]?.[method];
    return isObject(body) ? body : {};
  };
  if (what.op === 'set') {
    const delay = countdownDelay(what.spec);
    await call('delete_all_rules', {});
    await call('add_rule', { enable: 1, delay, act: what.spec.on ? 1 : 0, name: 'countdown' });
  } else if (what.op === 'clear') await call('delete_all_rules', {});
  return countdownOf((await call('get_rules', {}))['rule_list'], false);
}

/** SMART countdown. Throws KasaTapoError EBADINPUT, EUNSUPPORTED and protocol errors. */
export async function smartCountdown(proto: SmartProtocol, childId: string | undefined, what: CountdownOp): Promise<Countdown> {
  const call = (method: string, params?: Obj): Promise<Obj> => (childId ? proto.controlChild(childId, method, params) : proto.query(method, params));
  if (what.op === 'set') {
    const delay = countdownDelay(what.spec);
    await call('remove_countdown_rules', { remove_all: true });
    await call('add_countdown_rule', { delay, desired_states: { on: what.spec.on }, enable: true, remain: delay });
  } else if (what.op === 'clear') await call('remove_countdown_rules', { remove_all: true });
  return countdownOf((await call('get_countdown_rules'))['rule_list'], true);
}

export type { Countdown, CountdownSpec };

/**
 * The countdown on whichever family `adapter` speaks. `what` names the device or child in errors.
 * Throws KasaTapoError: EUNSUPPORTED (no countdown timer), EBADINPUT, protocol/transport errors.
 */
export async function countdownOn(adapter: Adapter, what: string, childId: string | undefined, op: CountdownOp): Promise<Countdown> {
  const none = (cause?: unknown): KasaTapoError => new KasaTapoError('EUNSUPPORTED', `${what} has no countdown timer`, cause ? { cause } : {});
  try {
    if (adapter instanceof SmartAdapter) return await smartCountdown(adapter.proto, childId, op);
    if (adapter instanceof IotAdapter) return await iotCountdown(adapter.proto, childId !== undefined ? [childId] : undefined, op);
  } catch (e) {
    throw e instanceof KasaTapoError && e.code === 'EUNSUPPORTED' ? none(e) : e;
  }
  throw none();
}
