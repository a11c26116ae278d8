/**
 * SMART (Tapo and SMART-Kasa) answers normalised into the model of docs/architecture.md#normalised-output: get_device_info
 * with components and children (strip outlets, hub sensors), energy from the three energy methods,
 * and get_energy_data history. Pure; never throws on device data.
 */
import { LIMITS } from '../../defaults';
import { isObject } from '../../json';
import { b64Decode } from '../../protocols/smart';
import type { ChildState, DeviceState, EnergyHistory, EnergyReading, Family } from '../../types';
import { NO_CAPS, type Caps, type Normalised, type Where } from '../caps';
import { bool, int, light, normaliseMac, num, pad2, PCT, put, scaled, str } from '../fields';
import { baseModel, childKind, classifySmart } from '../table';

type Obj = Record<string, unknown>;

function smartAlias(v: unknown): string | undefined {
  const s = str(v, 1024);
  return s === undefined ? undefined : str(b64Decode(s));
}

/** Temperature in °C from a SMART sensor (temp_unit 'fahrenheit' converted). */
function celsius(o: Obj): number | undefined {
  const t = num(o['current_temp'], -100, 200);
  if (t === undefined) return undefined;
  return o['temp_unit'] === 'fahrenheit' ? Math.round((((t - 32) * 5) / 9) * 10) / 10 + 0 : t;
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
  for (const c of Array.isArray(list) ? list.slice(0, LIMITS.components) : []) if (isObject(c) && typeof c['id'] === 'string') out.add(c['id']);
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
      .slice(0, LIMITS.smartChildren)
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
  for (const [i, v] of (Array.isArray(data) ? data.slice(0, LIMITS.historyEntries) : []).entries()) {
    const kWh = scaled(v, 1e-3, 0, 1e9);
    if (kWh === undefined) continue;
    const d =
      period === 'day'
        ? new Date(Date.UTC(d0.getUTCFullYear(), d0.getUTCMonth(), d0.getUTCDate() + i))
        : new Date(Date.UTC(d0.getUTCFullYear(), d0.getUTCMonth() + i, 1));
    if (d.getUTCFullYear() !== year || (period === 'day' && d.getUTCMonth() + 1 !== month)) continue;
    const ym = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}`;
    entries.push({ date: period === 'day' ? `${ym}-${pad2(d.getUTCDate())}` : ym, kWh });
  }
  return { period, entries };
}
