/**
 * tplink-action's countdown and child-lock forms (action "from msg.payload"):
 * `{countdown: {on: false, minutes: 10}}` ("off in 10 minutes"; or `delayS`), `{countdown: "clear"}`
 * (or null/false), `{countdown: "get"}` → msg.payload `{active, on, delayS, remainS}`;
 * `{childLock: true|false|"get"}` → msg.payload `{childLock}`;
 * `{autoUpdate: true|false|"get"}` (or the text `"autoUpdate"`) → msg.payload `{autoUpdate, time?, randomMinutes?}`.
 */
import type { AutoUpdate, ChildRef, Countdown, CountdownSpec, DeviceApi } from '../../src/index';
import { NodeError, badInput } from './errors';
import type { NodeStatus } from './red';
import { say } from './status';

export type CountdownCommand =
  { op: 'set'; spec: CountdownSpec } | { op: 'get' } | { op: 'clear' } | { op: 'childLock'; on?: boolean } | { op: 'autoUpdate'; on?: boolean };

export type CountdownAnswer = Countdown | { childLock: boolean } | AutoUpdate;

/** The countdown command in a payload, or undefined when the payload is not one. Throws EBADINPUT. */
export function countdownCommand(p: unknown): CountdownCommand | undefined {
  if (typeof p === 'string' && /^\s*auto-?update\s*$/i.test(p)) return { op: 'autoUpdate' };
  if (!p || typeof p !== 'object' || Array.isArray(p)) return undefined;
  const o = p as Record<string, unknown>;
  if ('autoUpdate' in o) {
    if (Object.keys(o).length !== 1) throw badInput('{"autoUpdate": …} must stand alone in msg.payload');
    const v = o['autoUpdate'];
    if (v === 'get') return { op: 'autoUpdate' };
    if (typeof v !== 'boolean') throw badInput('msg.payload.autoUpdate must be true, false or "get"');
    return { op: 'autoUpdate', on: v };
  }
  if ('childLock' in o) {
    if (Object.keys(o).length !== 1) throw badInput('{"childLock": …} must stand alone in msg.payload');
    const v = o['childLock'];
    if (v === 'get') return { op: 'childLock' };
    if (typeof v !== 'boolean') throw badInput('msg.payload.childLock must be true, false or "get"');
    return { op: 'childLock', on: v };
  }
  if (!('countdown' in o)) return undefined;
  if (Object.keys(o).length !== 1) throw badInput('{"countdown": …} must stand alone in msg.payload');
  const c = o['countdown'];
  if (c === null || c === false || c === 'clear') return { op: 'clear' };
  if (c === 'get') return { op: 'get' };
  if (c && typeof c === 'object' && !Array.isArray(c)) {
    const s = c as Record<string, unknown>;
    if (typeof s['on'] !== 'boolean') throw badInput('countdown.on must be true or false');
    return {
      op: 'set',
      spec: {
        on: s['on'],
        ...(typeof s['minutes'] === 'number' ? { minutes: s['minutes'] } : {}),
        ...(typeof s['delayS'] === 'number' ? { delayS: s['delayS'] } : {}),
      },
    };
  }
  throw badInput('msg.payload.countdown must be {on, minutes | delayS}, "get" or "clear"');
}

/** Run it. Throws EUNSUPPORTED when the device API has no countdown, and what the device throws. */
export function runCountdown(dev: DeviceApi, cmd: CountdownCommand, child: ChildRef | undefined): Promise<CountdownAnswer> {
  if (cmd.op === 'autoUpdate') {
    if (typeof dev.getAutoUpdate !== 'function' || typeof dev.setAutoUpdate !== 'function') {
      throw new NodeError('EUNSUPPORTED', 'This device has no automatic firmware update setting');
    }
    return cmd.on === undefined ? dev.getAutoUpdate() : dev.setAutoUpdate(cmd.on);
  }
  if (cmd.op === 'childLock') {
    if (typeof dev.setChildLock !== 'function' || typeof dev.getChildLock !== 'function') throw new NodeError('EUNSUPPORTED', 'This device has no child lock');
    return cmd.on === undefined ? dev.getChildLock(child) : dev.setChildLock(cmd.on, child);
  }
  if (typeof dev.setCountdown !== 'function' || typeof dev.getCountdown !== 'function' || typeof dev.clearCountdown !== 'function') {
    throw new NodeError('EUNSUPPORTED', 'This device has no countdown timer');
  }
  if (cmd.op === 'set') return dev.setCountdown(cmd.spec, child);
  return cmd.op === 'get' ? dev.getCountdown(child) : dev.clearCountdown(child);
}

export function countdownStatus(c: CountdownAnswer): NodeStatus {
  if ('autoUpdate' in c) return { fill: c.autoUpdate ? 'green' : 'grey', shape: 'dot', text: say(c.autoUpdate ? 'autoUpdateOn' : 'autoUpdateOff') };
  if ('childLock' in c) return { fill: 'green', shape: 'dot', text: c.childLock ? 'child lock on' : 'child lock off' };
  if (!c.active) return { fill: 'grey', shape: 'ring', text: 'no countdown' };
  const min = c.remainS !== undefined ? Math.ceil(c.remainS / 60) : undefined;
  return { fill: 'blue', shape: 'dot', text: `${c.on ? 'on' : 'off'}${min !== undefined ? ` in ${min} min` : ''}` };
}
