/**
 * tplink-action's countdown form (action "from msg.payload"): `{countdown: {on: false, minutes: 10}}`
 * ("off in 10 minutes"; or `delayS`), `{countdown: "clear"}` (or null/false) and
 * `{countdown: "get"}`. Output msg.payload: the countdown now `{active, on, delayS, remainS}`.
 */
import type { ChildRef, Countdown, CountdownSpec, DeviceApi } from '../../src/index';
import { NodeError, badInput } from './errors';
import type { NodeStatus } from './red';

export type CountdownCommand = { op: 'set'; spec: CountdownSpec } | { op: 'get' } | { op: 'clear' };

/** The countdown command in a payload, or undefined when the payload is not one. Throws EBADINPUT. */
export function countdownCommand(p: unknown): CountdownCommand | undefined {
  if (!p || typeof p !== 'object' || Array.isArray(p) || !('countdown' in p)) return undefined;
  const o = p as Record<string, unknown>;
  if (Object.keys(o).length !== 1) throw badInput('{"countdown": …} must stand alone in msg.payload');
  const c = o['countdown'];
  if (c === null || c === false || c === 'clear') return { op: 'clear' };
  if (c === 'get') return { op: 'get' };
  if (c && typeof c === 'object' && !Array.isArray(c)) {
    const s = c as Record<string, unknown>;
    if (typeof s['on'] !== 'boolean') throw badInput('countdown.on must be true or false');
    return { op: 'set', spec: { on: s['on'], ...(typeof s['minutes'] === 'number' ? { minutes: s['minutes'] } : {}), ...(typeof s['delayS'] === 'number' ? { delayS: s['delayS'] } : {}) } };
  }
  throw badInput('msg.payload.countdown must be {on, minutes | delayS}, "get" or "clear"');
}

/** Run it. Throws EUNSUPPORTED when the device API has no countdown, and what the device throws. */
export function runCountdown(dev: DeviceApi, cmd: CountdownCommand, child: ChildRef | undefined): Promise<Countdown> {
  if (typeof dev.setCountdown !== 'function' || typeof dev.getCountdown !== 'function' || typeof dev.clearCountdown !== 'function') {
    throw new NodeError('EUNSUPPORTED', 'This device has no countdown timer');
  }
  if (cmd.op === 'set') return dev.setCountdown(cmd.spec, child);
  return cmd.op === 'get' ? dev.getCountdown(child) : dev.clearCountdown(child);
}

export function countdownStatus(c: Countdown): NodeStatus {
  if (!c.active) return { fill: 'grey', shape: 'ring', text: 'no countdown' };
  const min = c.remainS !== undefined ? Math.ceil(c.remainS / 60) : undefined;
  return { fill: 'blue', shape: 'dot', text: `${c.on ? 'on' : 'off'}${min !== undefined ? ` in ${min} min` : ''}` };
}
