/**
 * Field readers for normalisation (docs/architecture.md#normalised-output): a device value becomes a typed field or is left
 * out — never null, never 0 for "missing", never a device object copied (so hostile keys such as
 * `__proto__` cannot reach the output). Pure; never throw on device data.
 */
import { isObject } from '../json';

type Obj = Record<string, unknown>;

/** A finite number within [min, max] (-0 read as 0), else undefined. */
export function num(v: unknown, min = -1e12, max = 1e12): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v + 0 : undefined;
}
/** An integer within [min, max] (-0 read as 0), else undefined. */
export function int(v: unknown, min: number, max: number): number | undefined {
  const n = num(v, min, max);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}
/** A non-empty string (cut to `max` chars), else undefined. */
export function str(v: unknown, max = 256): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v.slice(0, max) : undefined;
}
/** true/false or 0/1, else undefined. */
export function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  return undefined;
}
export function obj(v: unknown): Obj {
  return isObject(v) ? v : {};
}
/** Round to 6 decimals (kWh from Wh, A from mA) to hide float noise; never -0. */
export function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6 + 0;
}
/** Scale a number field (milli-units → units), keeping absence. */
export function scaled(v: unknown, factor: number, min: number, max: number): number | undefined {
  const n = num(v, min, max);
  return n === undefined ? undefined : round6(n * factor);
}

/** Assign only defined values (so absent stays absent). */
export function put<T extends object>(target: T, values: { [K in keyof T]?: T[K] | undefined }): T {
  for (const [k, v] of Object.entries(values)) if (v !== undefined) (target as Record<string, unknown>)[k] = v;
  return target;
}

/** 'AA:BB:CC:DD:EE:FF' from any of 'aa-bb-…', 'aabbcc…'. */
export function normaliseMac(v: unknown): string | undefined {
  const s = str(v, 40);
  if (!s) return undefined;
  const hex = s.replace(/[^0-9a-fA-F]/g, '');
  return hex.length === 12 ? hex.toUpperCase().match(/../g)!.join(':') : undefined;
}

export const PCT = [0, 100] as const;
export const light = (o: Obj) => ({
  brightness: num(o['brightness'], ...PCT),
  hue: num(o['hue'], 0, 360),
  saturation: num(o['saturation'], ...PCT),
  colorTemp: num(o['color_temp'], 1, 20000),
});

/** Two-digit month or day. */
export const pad2 = (n: number): string => String(n).padStart(2, '0');
