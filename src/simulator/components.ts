/**
 * What each SMART component answers. A device advertises components in `component_nego`; clients
 * (python-kasa, plugp100, ours) then call the component's getters and disable a module whose getter
 * fails. The rule of the simulator: every advertised component answers its getters with the shapes
 * real devices use (learned from device captures; the values here are our own).
 *
 * `COMPONENT_GETTERS` lists, per component id, the getters a client may call. An empty list means
 * the component is reported inside `get_device_info` (or is an account/cloud feature with no local
 * getter). A component missing from the table is an error the component test catches: add the
 * component here, with its getters, when a profile starts advertising it.
 *
 * `addComponentMethods()` installs the getters `smart.ts` does not already implement.
 */
import { EVENTS_OF_KIND, simulateHubEvent, type SimHubEvent } from './hub-events';
import { unitHash } from './meter';
import type { SmartDeviceModel, SmartNode } from './smart';

type Params = Record<string, unknown>;
type Result = Record<string, unknown>;

export const COMPONENT_GETTERS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  device: ['get_device_info'],
  firmware: ['get_latest_fw', 'get_fw_download_state', 'get_auto_update_info'],
  quick_setup: ['qs_component_nego'],
  time: ['get_device_time'],
  wireless: ['get_wireless_scan_info'],
  schedule: ['get_schedule_rules', 'get_next_event'],
  countdown: ['get_countdown_rules'],
  antitheft: ['get_antitheft_rules'],
  account: [],
  synchronize: [],
  sunrise_sunset: [],
  cloud_connect: ['get_connect_cloud_state'],
  iot_cloud: [],
  device_local_time: [],
  default_states: [],
  inherit: ['get_inherit_info'],
  localSmart: [],
  led: ['get_led_info'],
  auto_off: ['get_auto_off_config'],
  energy_monitoring: [
    'get_energy_usage',
    'get_current_power',
    'get_electricity_price_config',
    'get_energy_data',
    'get_power_data',
    'get_emeter_data',
    'get_emeter_vgain_igain',
  ],
  power_protection: ['get_protection_power', 'get_max_power'],
  current_protection: [],
  overheat_protection: [],
  matter: ['get_matter_setup_info'],
  preset: ['get_preset_rules'],
  brightness: [],
  on_off_gradually: ['get_on_off_gradually_info'],
  color: [],
  color_temperature: [],
  light_effect: ['get_dynamic_light_effect_rules'],
  light_strip: ['get_device_segment'],
  light_strip_lighting_effect: ['get_lighting_effect'],
  control_child: [],
  child_device: ['get_child_device_list', 'get_child_device_component_list'],
  child_quick_setup: ['get_support_child_device_category', 'get_scan_child_device_list'],
  alarm: ['get_alarm_configure', 'get_support_alarm_type_list'],
  device_load: ['get_device_load_info'],
  trigger_log: ['get_trigger_logs'],
  battery_detect: [],
  temperature: [],
  humidity: [],
  temp_humidity_record: ['get_temp_humidity_records'],
  comfort_temperature: [],
  comfort_humidity: [],
  report_mode: [],
  contact: [],
  sensitivity: [],
  double_click: [],
  button: [],
  rotation: [],
  water_leak: [],
  child_protection: ['get_device_info'],
});

const hex = (seed: string, n: number) => {
  let out = '';
  for (let i = 0; out.length < n; i++) out += Math.floor(unitHash(`${seed}:${i}`) * 16).toString(16);
  return out;
};

/** Install the component getters `smart.ts` does not implement itself (never replaces one). */
export function addComponentMethods(model: SmartDeviceModel, n: SmartNode, badParams: () => Error): void {
  const comps = n.components;
  const m = n.methods;
  const add = (name: string, fn: (p: Params) => Result | undefined) => {
    if (!Object.prototype.hasOwnProperty.call(m, name)) m[name] = fn;
  };
  const id = n.deviceId;
  if (comps.has('quick_setup')) {
    add('qs_component_nego', () => ({
      component_list: [...comps]
        .filter((c) => ['quick_setup', 'sunrise_sunset', 'iot_cloud', 'inherit', 'firmware', 'matter'].includes(c))
        .map((c) => ({ id: c, ver_code: 1 })),
      extra_info: {
        device_model: model.profile.model.replace(/\(.*\)$/, ''),
        device_type: model.profile.discovery?.deviceType ?? 'SMART.TAPOPLUG',
        is_klap: model.profile.transport === 'klap',
      },
    }));
  }
  if (comps.has('schedule')) add('get_next_event', () => ({}));
  if (comps.has('inherit')) add('get_inherit_info', () => undefined);
  if (comps.has('power_protection')) {
    let enabled = false;
    let limit = 0;
    const max = Math.round(model.profile.voltageV * 16);
    add('get_protection_power', () => ({ enabled, protection_power: limit }));
    add('get_max_power', () => ({ max_power: max }));
    add('set_protection_power', (q) => {
      if (typeof q['enabled'] !== 'boolean') throw badParams();
      const p = q['protection_power'];
      if (p !== undefined && (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > max)) throw badParams();
      enabled = q['enabled'];
      if (typeof p === 'number') limit = p;
      return undefined;
    });
  }
  if (comps.has('matter'))
    add('get_matter_setup_info', () => ({
      setup_code: String(10_000_000_000 + Math.floor(unitHash(`${id}:mc`) * 8e10)),
      setup_payload: `MT:${hex(id, 19).toUpperCase()}`,
    }));
  if (comps.has('light_effect')) {
    add('get_dynamic_light_effect_rules', (q) => {
      const rules = [
        {
          id: 'L1',
          scene_name: '',
          change_mode: 'direct',
          change_time: 1000,
          color_status_list: [
            [100, 0, 0, 2700],
            [100, 320, 100, 0],
            [100, 200, 100, 0],
            [100, 120, 100, 0],
          ],
        },
        {
          id: 'L2',
          scene_name: '',
          change_mode: 'bln',
          change_time: 2000,
          color_status_list: [
            [100, 50, 10, 0],
            [100, 20, 40, 0],
            [100, 190, 50, 0],
          ],
        },
      ];
      const start = typeof q['start_index'] === 'number' ? q['start_index'] : 0;
      return { enable: false, max_count: 2, start_index: start, sum: rules.length, rule_list: rules.slice(start) };
    });
  }
  if (comps.has('light_strip')) add('get_device_segment', () => ({ segment: 50 }));
  if (comps.has('alarm')) {
    add('get_alarm_configure', () => ({ type: 'Doorbell Ring 2', volume: 'normal', duration: 10 }));
    add('get_support_alarm_type_list', () => ({
      alarm_type_list: ['Doorbell Ring 1', 'Doorbell Ring 2', 'Phone Ring', 'Alarm 1', 'Alarm 2', 'Dripping Tap', 'Connection 1'],
    }));
  }
  if (comps.has('child_quick_setup')) {
    add('get_support_child_device_category', () => ({
      device_category_list: [{ category: 'subg.trv' }, { category: 'subg.trigger' }, { category: 'subg.plugswitch' }],
    }));
    add('get_scan_child_device_list', () => ({ child_device_list: [], scan_status: 'idle', scan_wait_time: 0 }));
  }
  if (comps.has('trigger_log') && (EVENTS_OF_KIND[n.kind] ?? []).length) {
    // Simulator-only control over the wire (not a device method): make the child report an event,
    // so a flow (tplink-action raw, with the child) can press a simulated button.
    add('sim_trigger_event', (q) => {
      const event = q['event'];
      const deg = q['degrees'];
      if (typeof event !== 'string' || !(EVENTS_OF_KIND[n.kind] ?? []).includes(event as SimHubEvent)) throw badParams();
      if (deg !== undefined && (typeof deg !== 'number' || !Number.isFinite(deg) || Math.abs(deg) > 3600)) throw badParams();
      const e = simulateHubEvent(model, n.deviceId, event as SimHubEvent, typeof deg === 'number' ? { degrees: deg } : {});
      return { id: e.id };
    });
  }
  if (comps.has('child_protection')) {
    // The lock is reported in get_device_info and set with set_child_protection {enable}.
    let locked = false;
    const info = m['get_device_info']!;
    m['get_device_info'] = (q) => ({ ...info(q), child_protection: locked });
    add('set_child_protection', (q) => {
      if (typeof q['enable'] !== 'boolean') throw badParams();
      locked = q['enable'];
      return undefined;
    });
  }
  if (comps.has('firmware')) {
    // Automatic firmware updates: the nightly window (minutes after midnight) and a random spread.
    // Like the firmware, set_auto_update_info wants all three fields, not only `enable`.
    const auto = { enable: true, time: 180, random_range: 120 };
    add('get_auto_update_info', () => ({ ...auto }));
    add('set_auto_update_info', (q) => {
      const { enable, time, random_range: range } = q;
      const minutes = (v: unknown, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
      if (typeof enable !== 'boolean' || !minutes(time, 1439) || !minutes(range, 1440)) throw badParams();
      Object.assign(auto, { enable, time, random_range: range });
      return undefined;
    });
  }
  if (comps.has('countdown') && n.switchable) installCountdown(model, n, badParams);
  if (comps.has('device_load'))
    add('get_device_load_info', () => ({
      cur_load_num: model.children.length,
      load_level: 'light',
      max_load_num: 64,
      total_memory: 4352,
      used_memory: 1200 + 40 * model.children.length,
    }));
  if (comps.has('energy_monitoring') && n.meter) {
    const meter = n.meter;
    add('get_emeter_data', () => ({
      power_mw: Math.round(meter.powerW() * 1000),
      voltage_mv: Math.round(meter.voltageV() * 1000),
      current_ma: Math.round(meter.currentA() * 1000),
      energy_wh: meter.thisMonthWh(),
    }));
    add('get_emeter_vgain_igain', () => ({ vgain: 118_000 + Math.floor(unitHash(id) * 2000), igain: 10_800 }));
  }
}

/**
 * SMART countdown rules, stateful: add_countdown_rule {delay, desired_states:{on}, enable, remain}
 * (one rule: a new one replaces it), get_countdown_rules with the live
 * `remain`, edit_countdown_rule {id, enable}, remove_countdown_rules {remove_all | id}. When the
 * delay ends the node switches (an unref'd timer: it never keeps a process alive).
 */
function installCountdown(model: SmartDeviceModel, n: SmartNode, badParams: () => Error): void {
  let rule: { id: string; delay: number; on: boolean; at: number; enable: boolean } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  const remain = () => (rule ? Math.max(0, rule.delay - Math.floor((model.now() - rule.at) / 1000)) : 0);
  const m = n.methods;
  m['get_countdown_rules'] = () => ({
    enable: !!rule?.enable,
    countdown_rule_max_count: 1,
    rule_list: rule ? [{ id: rule.id, enable: rule.enable, delay: rule.delay, remain: rule.enable ? remain() : 0, desired_states: { on: rule.on } }] : [],
  });
  m['add_countdown_rule'] = (q) => {
    const delay = q['delay'];
    const ds = q['desired_states'];
    const on = ds && typeof ds === 'object' ? (ds as Record<string, unknown>)['on'] : undefined;
    if (typeof delay !== 'number' || !Number.isInteger(delay) || delay < 1 || delay > 86400 || typeof on !== 'boolean') throw badParams();
    stop();
    rule = { id: `C${hex(`${n.deviceId}:${model.now()}`, 7).toUpperCase()}`, delay, on, at: model.now(), enable: q['enable'] !== false };
    const r = rule;
    timer = setTimeout(() => {
      if (rule === r && r.enable) {
        n.setOn(r.on);
        rule = undefined;
      }
    }, delay * 1000);
    timer.unref();
    return { id: r.id };
  };
  m['edit_countdown_rule'] = (q) => {
    if (!rule || q['id'] !== rule.id || typeof q['enable'] !== 'boolean') throw badParams();
    rule.enable = q['enable'];
    if (!rule.enable) stop();
    return undefined;
  };
  m['remove_countdown_rules'] = (q) => {
    if (q['remove_all'] !== true && (typeof q['id'] !== 'string' || q['id'] !== rule?.id)) throw badParams();
    stop();
    rule = undefined;
    return undefined;
  };
}
