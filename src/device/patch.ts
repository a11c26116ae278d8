/**
 * setState patches: validation (EBADINPUT, saying what was expected), colour parsing ('#rrggbb' and
 * a few CSS names → hue/saturation/brightness), and the capability check shared by both protocols
 * (EUNSUPPORTED naming the model).
 */
import { KasaTapoError } from '../errors';
import { isObject } from '../json';
import type { StatePatch } from '../types';
import type { Caps } from './caps';

/** A validated patch: `color` resolved into hue/saturation(/brightness). */
export interface NormPatch {
  on?: boolean;
  brightness?: number;
  colorTemp?: number;
  hue?: number;
  saturation?: number;
  transition?: number;
  led?: boolean;
  alias?: string;
}

const CSS: Readonly<Record<string, string>> = {
  red: '#ff0000',
  green: '#008000',
  lime: '#00ff00',
  blue: '#0000ff',
  yellow: '#ffff00',
  orange: '#ffa500',
  purple: '#800080',
  violet: '#ee82ee',
  pink: '#ffc0cb',
  magenta: '#ff00ff',
  fuchsia: '#ff00ff',
  cyan: '#00ffff',
  aqua: '#00ffff',
  white: '#ffffff',
  warmwhite: '#fdf4dc',
  turquoise: '#40e0d0',
  indigo: '#4b0082',
};

/**
 * '#rrggbb', '#rgb' or a CSS colour name → {hue 0-360, saturation 0-100, brightness 1-100}.
 * Throws KasaTapoError EBADINPUT for anything else.
 */
export function parseColor(color: string): { hue: number; saturation: number; brightness: number } {
  const name = color
    .trim()
    .toLowerCase()
    .replace(/[\s_-]/g, '');
  let hex = CSS[name] ?? name;
  if (/^#[0-9a-f]{3}$/.test(hex)) hex = '#' + [...hex.slice(1)].map((c) => c + c).join('');
  if (!/^#[0-9a-f]{6}$/.test(hex)) {
    throw new KasaTapoError('EBADINPUT', `color must be "#rrggbb" or one of ${Object.keys(CSS).join(', ')}; got ${JSON.stringify(color.slice(0, 40))}`);
  }
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255) as [number, number, number];
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  let h = 0;
  if (d > 0) h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return {
    hue: Math.round((h * 60 + 360) % 360),
    saturation: max === 0 ? 0 : Math.round((d / max) * 100),
    brightness: Math.max(1, Math.round(max * 100)),
  };
}

type Rule = [key: keyof StatePatch, type: 'boolean' | 'number' | 'string', min: number, max: number, expect: string];
const RULES: readonly Rule[] = [
  ['on', 'boolean', 0, 0, 'true or false'],
  ['brightness', 'number', 0, 100, 'a number 0-100'],
  ['colorTemp', 'number', 1000, 12000, 'a colour temperature in kelvin, 1000-12000'],
  ['hue', 'number', 0, 360, 'a number 0-360'],
  ['saturation', 'number', 0, 100, 'a number 0-100'],
  ['color', 'string', 1, 40, '"#rrggbb" or a CSS colour name'],
  ['transition', 'number', 0, 3600000, 'a duration in ms, 0-3600000'],
  ['led', 'boolean', 0, 0, 'true or false'],
  ['alias', 'string', 1, 64, 'a name of 1-64 characters'],
];

/**
 * Validate a setState patch. Throws KasaTapoError EBADINPUT when it is not an object, is empty,
 * has an unknown key, a value of the wrong type or range, or both colorTemp and a colour.
 */
export function validatePatch(patch: unknown): NormPatch {
  const expected = RULES.map((r) => r[0]).join(', ');
  if (!isObject(patch)) throw new KasaTapoError('EBADINPUT', `setState expects an object with any of: ${expected}`);
  for (const k of Object.keys(patch)) {
    if (!RULES.some((r) => r[0] === k)) throw new KasaTapoError('EBADINPUT', `Unknown state field "${k.slice(0, 40)}"; expected any of: ${expected}`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, type, min, max, expect] of RULES) {
    const v = patch[key];
    if (v === undefined) continue;
    const ok =
      typeof v === type &&
      (type === 'boolean' ||
        (type === 'number' && Number.isFinite(v) && (v as number) >= min && (v as number) <= max) ||
        (type === 'string' && (v as string).trim().length >= min && (v as string).length <= max));
    // String(v) only for what JSON.stringify cannot show (undefined, functions, symbols).
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    if (!ok) throw new KasaTapoError('EBADINPUT', `${key} must be ${expect}; got ${JSON.stringify(v)?.slice(0, 40) ?? String(v)}`);
    out[key] = type === 'number' ? Math.round(v as number) : v;
  }
  if (Object.keys(out).length === 0) throw new KasaTapoError('EBADINPUT', `setState expects at least one of: ${expected}`);
  const p = out as NormPatch & { color?: string };
  if (p.color !== undefined) {
    const c = parseColor(p.color);
    p.hue ??= c.hue;
    p.saturation ??= c.saturation;
    p.brightness ??= c.brightness;
    delete p.color;
  }
  if (p.colorTemp !== undefined && (p.hue !== undefined || p.saturation !== undefined)) {
    throw new KasaTapoError('EBADINPUT', 'Give either colorTemp or a colour (hue/saturation/color), not both');
  }
  return p;
}

const NEEDS: readonly [keyof NormPatch, keyof Caps, string][] = [
  ['on', 'onOff', 'switching on/off'],
  ['hue', 'color', 'colour'],
  ['saturation', 'color', 'colour'],
  ['colorTemp', 'colorTemp', 'colour temperature'],
  ['brightness', 'brightness', 'brightness'],
  ['led', 'led', 'the LED setting'],
  ['alias', 'alias', 'renaming'],
];

/** Check a patch against capabilities. Throws KasaTapoError EUNSUPPORTED naming the model. */
export function checkCaps(p: NormPatch, caps: Caps, what: string): void {
  for (const [key, cap, label] of NEEDS) {
    if (p[key] !== undefined && !caps[cap]) throw new KasaTapoError('EUNSUPPORTED', `${what} does not support ${label}`);
  }
}
