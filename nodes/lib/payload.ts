/**
 * tplink-action's commands: the payload forms of docs/architecture.md#payload-forms and the configured actions, parsed
 * into one `Command`. Value checks (ranges, colour names) stay in the library, which answers
 * EBADINPUT saying what it expected.
 */
import type { StatePatch } from '../../src/index';
import { badInput } from './errors';

export type Command = { kind: 'set'; patch: StatePatch } | { kind: 'toggle'; patch: StatePatch } | { kind: 'raw'; request: unknown } | { kind: 'reboot' };

export const ACTIONS = ['payload', 'on', 'off', 'toggle', 'brightness', 'color', 'colorTemp', 'led', 'reboot', 'raw'] as const;
export type Action = (typeof ACTIONS)[number];

const PATCH_KEYS = ['on', 'brightness', 'colorTemp', 'hue', 'saturation', 'color', 'transition', 'led'] as const;

const EXPECTED =
  'msg.payload must be true/false, "on"/"off"/"toggle", a number 0-100 (brightness), ' +
  `an object with any of ${PATCH_KEYS.join(', ')}, or {"raw": <command>}`;

const describe = (v: unknown): string => {
  try {
    return (JSON.stringify(v) ?? String(v)).slice(0, 60);
  } catch {
    return typeof v;
  }
};

/** Parse the payload forms. Throws EBADINPUT naming the accepted forms. */
export function parsePayload(p: unknown): Command {
  if (typeof p === 'boolean') return { kind: 'set', patch: { on: p } };
  if (typeof p === 'number') {
    if (!Number.isFinite(p)) throw badInput(`${EXPECTED}; got ${describe(p)}`);
    return { kind: 'set', patch: { brightness: p } };
  }
  if (typeof p === 'string') {
    const s = p.trim().toLowerCase();
    if (s === 'on' || s === 'true') return { kind: 'set', patch: { on: true } };
    if (s === 'off' || s === 'false') return { kind: 'set', patch: { on: false } };
    if (s === 'toggle') return { kind: 'toggle', patch: {} };
    if (/^\d{1,3}(\.\d+)?$/.test(s)) return { kind: 'set', patch: { brightness: Number(s) } };
    throw badInput(`${EXPECTED}; got ${describe(p)}`);
  }
  if (p && typeof p === 'object' && !Array.isArray(p)) {
    const o = p as Record<string, unknown>;
    if ('raw' in o) {
      if (Object.keys(o).length !== 1 || !o.raw || typeof o.raw !== 'object') {
        throw badInput('{"raw": …} must hold one command object: IOT {"system":{"get_sysinfo":{}}} or SMART {"method":"get_device_info"}');
      }
      return { kind: 'raw', request: o.raw };
    }
    const keys = Object.keys(o);
    const unknown = keys.filter((k) => !(PATCH_KEYS as readonly string[]).includes(k));
    if (keys.length === 0 || unknown.length) {
      throw badInput(`${EXPECTED}; ${keys.length ? `unknown field "${unknown[0]!.slice(0, 30)}"` : 'got an empty object'}`);
    }
    const patch = { ...o } as StatePatch;
    if (typeof o.on === 'string' && o.on.trim().toLowerCase() === 'toggle') {
      delete patch.on;
      return { kind: 'toggle', patch };
    }
    return { kind: 'set', patch };
  }
  throw badInput(`${EXPECTED}; got ${describe(p)}`);
}

/** The command of a configured action, with its (already evaluated) value. */
export function actionCommand(action: string, value: unknown, payload: unknown): Command {
  switch (action as Action) {
    case 'payload':
      return parsePayload(payload);
    case 'on':
      return { kind: 'set', patch: { on: true } };
    case 'off':
      return { kind: 'set', patch: { on: false } };
    case 'toggle':
      return { kind: 'toggle', patch: {} };
    case 'brightness':
      return { kind: 'set', patch: { brightness: toNumber(value, 'Brightness must be a number 0-100') } };
    case 'colorTemp':
      return { kind: 'set', patch: { colorTemp: toNumber(value, 'Colour temperature must be a number of kelvin, e.g. 2700') } };
    case 'color':
      return { kind: 'set', patch: colorPatch(value) };
    case 'led':
      return { kind: 'set', patch: { led: toBool(value, 'LED must be true/false or "on"/"off"') } };
    case 'reboot':
      return { kind: 'reboot' };
    case 'raw':
      return parsePayload({ raw: typeof value === 'string' ? parseJsonValue(value) : value });
    default:
      throw badInput(`Unknown action "${String(action).slice(0, 30)}"; expected one of ${ACTIONS.join(', ')}`);
  }
}

function toNumber(v: unknown, what: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw badInput(`${what}; got ${describe(v)}`);
  return n;
}

function toBool(v: unknown, what: string): boolean {
  if (typeof v === 'boolean') return v;
  const s = typeof v === 'string' ? v.trim().toLowerCase() : typeof v === 'number' ? String(v) : '';
  if (s === 'on' || s === 'true' || s === '1') return true;
  if (s === 'off' || s === 'false' || s === '0') return false;
  throw badInput(`${what}; got ${describe(v)}`);
}

function colorPatch(v: unknown): StatePatch {
  if (typeof v === 'string' && v.trim()) return { color: v.trim() };
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o.hue === 'number' || typeof o.saturation === 'number') {
      const out: StatePatch = {};
      if (o.hue !== undefined) out.hue = o.hue as number;
      if (o.saturation !== undefined) out.saturation = o.saturation as number;
      if (o.brightness !== undefined) out.brightness = o.brightness as number;
      return out;
    }
  }
  throw badInput(`Colour must be "#rrggbb", a colour name, or {hue, saturation}; got ${describe(v)}`);
}

function parseJsonValue(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    throw badInput('The raw command must be JSON, e.g. {"system":{"get_sysinfo":{}}}');
  }
}
