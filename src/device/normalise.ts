/**
 * Normalisation of device answers into the model of design.md §1 (src/types.ts): camelCase, units in
 * names, and fields a device lacks (or sends malformed: wrong type, absurd value) left out — never
 * null or 0. Pure functions: they never throw on device data and never copy device objects, so
 * hostile keys (`__proto__`, ...) cannot reach the output.
 */
import { isObject } from '../json';
import type { ChildState, DeviceState, EnergyHistory, EnergyReading, Family, TransportKind } from '../types';
import { b64Decode } from '../protocols/smart';
import { baseModel, childKind, classifyIot, classifySmart } from './table';

type Obj = Record<string, unknown>;

// --- field readers ------------------------------------------------------------------------------

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
function scaled(v: unknown, factor: number, min: number, max: number): number | undefined {
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

const PCT = [0, 100] as const;
const light = (o: Obj) => ({
  brightness: num(o['brightness'], ...PCT),
  hue: num(o['hue'], 0, 360),
  saturation: num(o['saturation'], ...PCT),
  colorTemp: num(o['color_temp'], 1, 20000),
});

// --- capabilities -------------------------------------------------------------------------------

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

interface Where {
  host: string;
  port: number;
  transport: TransportKind;
}

// --- IOT ----------------------------------------------------------------------------------------

/** Full child id from an IOT strip child id (UDP answers carry only the 2-digit slot). */
function iotChildId(id: string, parentId: string | undefined): string {
  return id.length <= 2 && parentId ? parentId + id.padStart(2, '0') : id;
}

/** Normalise an IOT `system.get_sysinfo` result. Never throws. */
export function normaliseIotSysinfo(sysinfo: Obj, where: Where): Normalised {
  const family = classifyIot(sysinfo);
  const modelFull = str(sysinfo['model'], 64);
  const deviceId = str(sysinfo['deviceId'], 128);
  const state = put<DeviceState>(
    { host: where.host, port: where.port, family, protocol: where.transport },
    {
      alias: str(sysinfo['alias']),
      model: modelFull ? baseModel(modelFull) : undefined,
      mac: normaliseMac(sysinfo['mac'] ?? sysinfo['mic_mac'] ?? sysinfo['ethernet_mac']),
      deviceId,
      firmware: str(sysinfo['sw_ver'], 64),
      hardware: str(sysinfo['hw_ver'], 32),
      rssi: num(sysinfo['rssi'], -150, 0),
    },
  );
  const caps: Caps = { ...NO_CAPS, alias: true };
  const feature = typeof sysinfo['feature'] === 'string' ? sysinfo['feature'] : '';
  if (family === 'bulb' || family === 'lightstrip') {
    const ls = obj(sysinfo['light_state']);
    const on = bool(ls['on_off']);
    // When off, the remembered state sits in dft_on_state.
    const l = light(on === false && isObject(ls['dft_on_state']) ? ls['dft_on_state'] : ls);
    caps.onOff = true;
    caps.transition = true;
    caps.brightness = bool(sysinfo['is_dimmable']) !== false;
    caps.color = bool(sysinfo['is_color']) === true;
    caps.colorTemp = bool(sysinfo['is_variable_color_temp']) === true;
    put(state, {
      on,
      brightness: caps.brightness ? l.brightness : undefined,
      hue: caps.color ? l.hue : undefined,
      saturation: caps.color ? l.saturation : undefined,
      colorTemp: caps.colorTemp ? l.colorTemp : undefined,
    });
  } else if (family !== 'unknown') {
    caps.onOff = true;
    caps.led = 'led_off' in sysinfo;
    caps.energy = feature.split(':').includes('ENE');
    caps.brightness = family === 'dimmer';
    caps.transition = family === 'dimmer';
    const ledOff = bool(sysinfo['led_off']);
    put(state, {
      on: bool(sysinfo['relay_state']),
      brightness: caps.brightness ? num(sysinfo['brightness'], ...PCT) : undefined,
      led: ledOff === undefined ? undefined : !ledOff,
      onTimeS: num(sysinfo['on_time'], 0),
      hasEnergyMeter: caps.energy,
    });
  }
  if (family === 'strip' && Array.isArray(sysinfo['children'])) {
    caps.children = true;
    const children: ChildState[] = [];
    for (const [i, c] of sysinfo['children'].slice(0, 64).entries()) {
      if (!isObject(c) || typeof c['id'] !== 'string' || c['id'].length === 0) continue;
      children.push(
        put<ChildState>(
          { id: iotChildId(c['id'].slice(0, 128), deviceId), index: i, family: 'plug', kind: 'outlet' },
          { alias: str(c['alias']), on: bool(c['state']), onTimeS: num(c['on_time'], 0) },
        ),
      );
    }
    state.children = children;
    if (children.some((c) => c.on !== undefined)) state.on = children.some((c) => c.on === true);
  }
  return { state, caps };
}

/** IOT emeter `get_realtime`, v1 (A, V, W, kWh) or v2 (mA, mV, mW, Wh). Never throws. */
export function normaliseIotRealtime(rt: Obj): EnergyReading {
  const lim = 1e9;
  return put<EnergyReading>(
    {},
    {
      powerW: scaled(rt['power_mw'], 1e-3, -lim, lim) ?? scaled(rt['power'], 1, -lim, lim),
      voltageV: scaled(rt['voltage_mv'], 1e-3, 0, lim) ?? scaled(rt['voltage'], 1, 0, lim),
      currentA: scaled(rt['current_ma'], 1e-3, 0, lim) ?? scaled(rt['current'], 1, 0, lim),
      totalKWh: scaled(rt['total_wh'], 1e-3, 0, lim) ?? scaled(rt['total'], 1, 0, lim),
    },
  );
}

/** kWh of one IOT day_list/month_list entry (`energy` kWh or `energy_wh`). */
function iotEntryKWh(e: Obj): number | undefined {
  return scaled(e['energy_wh'], 1e-3, 0, 1e9) ?? scaled(e['energy'], 1, 0, 1e9);
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * IOT `get_daystat` (`day_list`) or `get_monthstat` (`month_list`) → history entries sorted by date.
 * Entries with malformed dates or energies are left out. Never throws.
 */
export function normaliseIotStats(period: 'day' | 'month', result: Obj): EnergyHistory {
  const list = result[period === 'day' ? 'day_list' : 'month_list'];
  const entries: EnergyHistory['entries'] = [];
  for (const e of Array.isArray(list) ? list.slice(0, 400) : []) {
    if (!isObject(e)) continue;
    const y = int(e['year'], 1970, 2200);
    const m = int(e['month'], 1, 12);
    const d = period === 'day' ? int(e['day'], 1, 31) : 1;
    const kWh = iotEntryKWh(e);
    if (y === undefined || m === undefined || d === undefined || kWh === undefined) continue;
    entries.push({ date: period === 'day' ? `${y}-${pad2(m)}-${pad2(d)}` : `${y}-${pad2(m)}`, kWh });
  }
  entries.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  return { period, entries };
}

/** Today's and this month's kWh from IOT stats. Never throws. */
export function iotTodayMonth(day: Obj | undefined, month: Obj | undefined, now: Date): EnergyReading {
  const ymd = `${now.getFullYear()}-${pad2(now.getMonth() + 1)}-${pad2(now.getDate())}`;
  const ym = ymd.slice(0, 7);
  const today = day ? normaliseIotStats('day', day).entries.find((e) => e.date === ymd) : undefined;
  const mon = month ? normaliseIotStats('month', month).entries.find((e) => e.date === ym) : undefined;
  return put<EnergyReading>({}, { todayKWh: today?.kWh, monthKWh: mon?.kWh });
}

// --- SMART --------------------------------------------------------------------------------------

function smartAlias(v: unknown): string | undefined {
  const s = str(v, 1024);
  return s === undefined ? undefined : str(b64Decode(s));
}

/** Temperature in °C from a SMART sensor (temp_unit 'fahrenheit' converted). */
function celsius(o: Obj): number | undefined {
  const t = num(o['current_temp'], -100, 200);
  if (t === undefined) return undefined;
  return o['temp_unit'] === 'fahrenheit' ? Math.round(((t - 32) * 5) / 9 * 10) / 10 + 0 : t;
}

/** One SMART child (strip outlet or hub sensor) from get_child_device_list. Never throws. */
export function normaliseSmartChild(c: Obj, i: number): ChildState | undefined {
  const id = str(c['device_id'], 128);
  if (!id) return undefined;
  const category = str(c['category'], 64) ?? '';
  const kind = childKind(category);
  const position = int(c['position'], 1, 64);
  const isOutlet = kind === 'outlet';
  const model = str(c['model'], 64);
  const family: Family = isOutlet ? 'plug' : kind === 'dimmer' ? 'dimmer' : kind === 'switch' || kind === 'fan' ? 'switch' : 'sensor';
  const status = str(c['status'], 32);
  return put<ChildState>(
    { id, index: position !== undefined ? position - 1 : i, family },
    {
      alias: smartAlias(c['nickname']),
      model: model ? baseModel(model) : undefined,
      kind,
      on: bool(c['device_on']),
      brightness: num(c['brightness'], ...PCT),
      temperatureC: kind === 'trv' || kind === 'temperature-humidity' ? celsius(c) : undefined,
      humidityPercent: num(c['current_humidity'], 0, 100),
      open: bool(c['open']),
      detected: bool(c['detected']) ?? (kind === 'water-leak' ? bool(c['in_alarm']) : undefined),
      batteryLow: bool(c['at_low_battery']),
      targetTemperatureC: kind === 'trv' ? num(c['target_temp'], -50, 100) : undefined,
      rssi: num(c['rssi'], -150, 0),
      online: status === undefined ? undefined : status === 'online',
      onTimeS: num(c['on_time'], 0),
    },
  );
}

/** Component ids from a `component_nego` result. Never throws. */
export function smartComponents(nego: Obj | undefined): Set<string> {
  const out = new Set<string>();
  const list = nego?.['component_list'];
  for (const c of Array.isArray(list) ? list.slice(0, 200) : []) if (isObject(c) && typeof c['id'] === 'string') out.add(c['id']);
  return out;
}

/** Normalise SMART `get_device_info` (+ components, + children list). Never throws. */
export function normaliseSmartInfo(info: Obj, components: ReadonlySet<string>, children: unknown[] | undefined, where: Where): Normalised {
  const type = str(info['type'], 64) ?? '';
  const family = classifySmart(type, components);
  const has = (c: string, field: string): boolean => components.has(c) || (components.size === 0 && field in info);
  const caps: Caps = {
    ...NO_CAPS,
    onOff: 'device_on' in info || family === 'strip',
    alias: true,
    brightness: has('brightness', 'brightness'),
    color: has('color', 'hue'),
    colorTemp: has('color_temperature', 'color_temp'),
    led: components.has('led'),
    energy: components.has('energy_monitoring'),
    children: components.has('child_device') || family === 'hub' || family === 'strip',
  };
  const model = str(info['model'], 64);
  const l = light(info);
  const range = info['color_temp_range'];
  const lo = Array.isArray(range) ? num(range[0], 1, 20000) : undefined;
  const hi = Array.isArray(range) ? num(range[1], 1, 20000) : undefined;
  const state = put<DeviceState>(
    { host: where.host, port: where.port, family, protocol: where.transport },
    {
      on: bool(info['device_on']),
      brightness: caps.brightness ? l.brightness : undefined,
      hue: caps.color ? l.hue : undefined,
      saturation: caps.color ? l.saturation : undefined,
      colorTemp: caps.colorTemp ? l.colorTemp : undefined,
      alias: smartAlias(info['nickname']),
      model: model ? baseModel(model) : undefined,
      mac: normaliseMac(info['mac']),
      deviceId: str(info['device_id'], 128),
      firmware: str(info['fw_ver'], 64),
      hardware: str(info['hw_ver'], 32),
      rssi: num(info['rssi'], -150, 0),
      onTimeS: num(info['on_time'], 0),
      hasEnergyMeter: components.size > 0 ? caps.energy : undefined,
      colorTempRange: caps.colorTemp && lo !== undefined && hi !== undefined && lo <= hi ? ([lo, hi] as [number, number]) : undefined,
    },
  );
  if (children) {
    state.children = children
      .slice(0, 256)
      .map((c, i) => (isObject(c) ? normaliseSmartChild(c, i) : undefined))
      .filter((c): c is ChildState => c !== undefined);
    if (family === 'strip' && state.on === undefined && state.children.some((c) => c.on !== undefined)) {
      state.on = state.children.some((c) => c.on === true);
    }
  }
  return { state, caps };
}

/**
 * SMART energy: `get_energy_usage` (current_power mW, today/month_energy Wh), `get_emeter_data`
 * (power_mw, voltage_mv, current_ma) and `get_current_power` (whole W). Never throws.
 */
export function normaliseSmartEnergy(usage: Obj | undefined, emeter: Obj | undefined, power: Obj | undefined): EnergyReading {
  const lim = 1e9;
  const u = usage ?? {};
  const e = emeter ?? {};
  return put<EnergyReading>(
    {},
    {
      powerW: scaled(e['power_mw'], 1e-3, -lim, lim) ?? scaled(u['current_power'], 1e-3, -lim, lim) ?? scaled(power?.['current_power'], 1, -lim, lim),
      voltageV: scaled(e['voltage_mv'], 1e-3, 0, lim),
      currentA: scaled(e['current_ma'], 1e-3, 0, lim),
      todayKWh: scaled(u['today_energy'], 1e-3, 0, lim),
      monthKWh: scaled(u['month_energy'], 1e-3, 0, lim),
    },
  );
}

/**
 * SMART `get_energy_data` (Wh per interval, from `start_timestamp`) → history entries. The dates
 * come from the start the device echoes (else `sentStart`), read as UTC; only entries of the
 * requested `year` (and `month` for days) are kept. Never throws.
 */
export function normaliseSmartEnergyData(period: 'day' | 'month', result: Obj, sentStart: number, year: number, month: number): EnergyHistory {
  const start = num(result['start_timestamp'], 0, 1e11) ?? sentStart;
  const d0 = new Date(start * 1000);
  const data = result['data'];
  const entries: EnergyHistory['entries'] = [];
  for (const [i, v] of (Array.isArray(data) ? data.slice(0, 400) : []).entries()) {
    const kWh = scaled(v, 1e-3, 0, 1e9);
    if (kWh === undefined) continue;
    const d = period === 'day' ? new Date(Date.UTC(d0.getUTCFullYear(), d0.getUTCMonth(), d0.getUTCDate() + i)) : new Date(Date.UTC(d0.getUTCFullYear(), d0.getUTCMonth() + i, 1));
    if (d.getUTCFullYear() !== year || (period === 'day' && d.getUTCMonth() + 1 !== month)) continue;
    const ym = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}`;
    entries.push({ date: period === 'day' ? `${ym}-${pad2(d.getUTCDate())}` : ym, kWh });
  }
  return { period, entries };
}
