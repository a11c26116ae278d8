/**
 * Capabilities: what a device or a child can be asked to do, decided once per read by the family
 * normalisers (iot/, smart/) and checked by the facade before anything is sent.
 */
import type { ChildState, DeviceState, TransportKind } from '../types';

/** What a device (or a child) can be asked to do. */
export interface Caps {
  onOff: boolean;
  brightness: boolean;
  color: boolean;
  colorTemp: boolean;
  led: boolean;
  alias: boolean;
  transition: boolean;
  energy: boolean;
  children: boolean;
}
export const NO_CAPS: Caps = {
  onOff: false,
  brightness: false,
  color: false,
  colorTemp: false,
  led: false,
  alias: false,
  transition: false,
  energy: false,
  children: false,
};
/** Caps of a strip outlet. */
export const OUTLET_CAPS: Caps = { ...NO_CAPS, onOff: true, alias: true };

export interface Normalised {
  state: DeviceState;
  caps: Caps;
}

/** Where a device was reached (copied into its normalised state). */
export interface Where {
  host: string;
  port: number;
  transport: TransportKind;
}

/** Caps of a child: outlets and switches switch, dimmers dim, sensors only take an alias. Never throws. */
export function childCaps(c: ChildState): Caps {
  if (c.kind === 'outlet' || c.family === 'plug' || c.family === 'switch') return OUTLET_CAPS;
  if (c.family === 'dimmer') return { ...OUTLET_CAPS, brightness: true };
  return { ...NO_CAPS, alias: true };
}

/**
 * A deep copy of a normalised state (plain objects, arrays and primitives only, as the normalisers
 * build them), for callers to own: what structuredClone gives for such data, several times faster
 * (every poll copies one). Never throws.
 */
export function cloneState<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(cloneState) as T;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = cloneState((v as Record<string, unknown>)[k]);
    if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
    else out[k] = x;
  }
  return out as T;
}
