/**
 * IOT (Kasa JSON) answers normalised into the model of docs/architecture.md#normalised-output: get_sysinfo for every IOT
 * family (plug, strip with its outlets, dimmer, bulb, light strip), emeter realtime readings in both
 * unit generations, and day/month statistics. Pure; never throws on device data.
 */
import { LIMITS } from '../../defaults';
import { isObject } from '../../json';
import type { ChildState, DeviceState, EnergyHistory, EnergyReading } from '../../types';
import { NO_CAPS, type Caps, type Normalised, type Where } from '../caps';
import { bool, int, light, normaliseMac, num, obj, pad2, PCT, put, scaled, str } from '../fields';
import { baseModel, classifyIot } from '../table';

type Obj = Record<string, unknown>;

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
    for (const [i, c] of sysinfo['children'].slice(0, LIMITS.iotChildren).entries()) {
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

/**
 * IOT `get_daystat` (`day_list`) or `get_monthstat` (`month_list`) → history entries sorted by date.
 * Entries with malformed dates or energies are left out. Never throws.
 */
export function normaliseIotStats(period: 'day' | 'month', result: Obj): EnergyHistory {
  const list = result[period === 'day' ? 'day_list' : 'month_list'];
  const entries: EnergyHistory['entries'] = [];
  for (const e of Array.isArray(list) ? list.slice(0, LIMITS.historyEntries) : []) {
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
