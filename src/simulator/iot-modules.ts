/**
 * The method table of a simulated Kasa IOT device: which modules and methods each kind (plug,
 * strip, dimmer, bulb, light strip) answers, with the firmware's parameter checks and error codes.
 */
import type { Meter } from './meter';
import type { DeviceProfile } from './profiles';
import type { SimWifi } from './wifi';

export type Params = Record<string, unknown>;
export type Result = Record<string, unknown>;

export class IotError extends Error {
  constructor(
    readonly errCode: number,
    readonly errMsg: string,
  ) {
    super(errMsg);
  }
}
export const invalid = () => new IotError(-3, 'invalid argument');
export const lightInvalid = () => new IotError(-10000, 'Invalid input argument');

export interface Method {
  fn: (p: Params, outlets?: IotOutlet[]) => Result;
  /** Acts on `context.child_ids`: all listed outlets (`'all'`) or the first one (`'first'`). */
  child?: 'all' | 'first';
}

export interface IotOutlet {
  id: string;
  alias: string;
  on: boolean;
  onSince: number;
  meter: Meter;
}

export interface IotLight {
  on: boolean;
  hue: number;
  saturation: number;
  colorTemp: number;
  brightness: number;
}

export interface IotState {
  on: boolean;
  onSince: number;
  alias: string;
  ledOff: boolean;
  brightness: number;
  light: IotLight;
  effectEnabled: boolean;
  countdown: Result[];
}

/** What the method table needs of its device (IotDeviceModel in iot.ts). */
export interface IotModel {
  readonly profile: DeviceProfile;
  readonly state: IotState;
  readonly outlets: IotOutlet[];
  readonly meter: Meter;
  readonly now: () => number;
  readonly isBulb: boolean;
  /** Wi-Fi onboarding state (wifi.ts). */
  readonly wifi: SimWifi;
  setOn(on: boolean, outlets?: IotOutlet[]): void;
  sysinfo(): Result;
  lightState(): Result;
  setLight(p: Params): Result;
  realtime(meter: Meter, slot?: number): Result;
  meterOf(outlets?: IotOutlet[]): { meter: Meter; slot?: number };
}

export const int = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

export function requireInt(p: Params, key: string, min: number, max: number): number {
  const v = p[key];
  if (!int(v, min, max)) throw invalid();
  return v;
}

export const round = (v: number, digits: number) => Number(v.toFixed(digits));

function stats(m: IotModel, energy: boolean): Record<string, Method> {
  const v1 = m.profile.iot!.emeter === 'v1';
  const value = (meter: Meter, wh: number): Result =>
    energy ? (v1 ? { energy: round(wh / 1000, 3) } : { energy_wh: wh }) : { time: meter.spec.baseW > 0 ? Math.round((wh / meter.spec.baseW) * 60) : 0 };
  return {
    get_daystat: {
      child: 'first',
      fn: (p, o) => {
        const year = requireInt(p, 'year', 2000, 2100);
        const month = requireInt(p, 'month', 1, 12);
        const { meter } = m.meterOf(o);
        return { day_list: meter.days(year, month).map((d) => ({ year, month, day: d.day, ...value(meter, d.wh) })) };
      },
    },
    get_monthstat: {
      child: 'first',
      fn: (p, o) => {
        const year = requireInt(p, 'year', 2000, 2100);
        const { meter } = m.meterOf(o);
        return { month_list: meter.months(year).map((mo) => ({ year, month: mo.month, ...value(meter, mo.wh) })) };
      },
    },
  };
}

/** The module → method table of a simulated IOT device. Never throws. */
export function buildIotModules(m: IotModel): Record<string, Record<string, Method>> {
  const spec = m.profile.iot!;
  const ok = (): Result => ({});
  const names = m.isBulb
    ? {
        emeter: 'smartlife.iot.common.emeter',
        schedule: 'smartlife.iot.common.schedule',
        time: 'smartlife.iot.common.timesetting',
        cloud: 'smartlife.iot.common.cloud',
        anti: 'smartlife.iot.common.anti_theft',
        countdown: 'countdown',
      }
    : { emeter: 'emeter', schedule: 'schedule', time: 'time', cloud: 'cnCloud', anti: 'anti_theft', countdown: 'count_down' };

  const setAlias: Method = {
    child: 'first',
    fn: (p, o) => {
      const alias = p['alias'];
      if (typeof alias !== 'string' || alias.length > 64) throw invalid();
      if (o?.[0]) o[0].alias = alias;
      else m.state.alias = alias;
      return {};
    },
  };
  const system: Record<string, Method> = {
    get_sysinfo: { fn: () => m.sysinfo() },
    set_dev_alias: setAlias,
    reboot: { fn: ok },
    reset: { fn: ok },
    set_dev_location: { fn: ok },
  };
  if (!m.isBulb) {
    system['set_relay_state'] = {
      child: 'all',
      fn: (p, o) => {
        const st = requireInt(p, 'state', 0, 1);
        m.setOn(st === 1, o);
        return {};
      },
    };
    system['set_led_off'] = {
      fn: (p) => {
        m.state.ledOff = requireInt(p, 'off', 0, 1) === 1;
        return {};
      },
    };
  }
  const rules = (extra: Result = {}): Method => ({ child: 'all', fn: () => ({ rule_list: [], enable: 0, version: 2, ...extra }) });
  const time = () => {
    const d = new Date(m.now());
    return { year: d.getFullYear(), month: d.getMonth() + 1, mday: d.getDate(), hour: d.getHours(), min: d.getMinutes(), sec: d.getSeconds() };
  };
  const modules: Record<string, Record<string, Method>> = {
    system,
    [names.schedule]: { get_rules: rules(), get_next_action: { child: 'all', fn: () => ({ type: -1 }) }, ...stats(m, false) },
    [names.anti]: { get_rules: rules() },
    [names.countdown]: {
      // The rule runs: `remain` counts down and the relay switches when it reaches 0 (an unref'd
      // timer, so it never keeps a process alive).
      get_rules: {
        child: 'all',
        fn: () => ({
          rule_list: m.state.countdown.map((r) => ({
            ...r,
            remain: Math.max(0, Number(r['delay']) - Math.floor((m.now() - Number(r['at'] ?? m.now())) / 1000)),
            at: undefined,
          })),
        }),
      },
      add_rule: {
        child: 'all',
        fn: (p, o) => {
          const delay = requireInt(p, 'delay', 1, 86400);
          const act = requireInt(p, 'act', 0, 1);
          if (m.state.countdown.length) throw new IotError(-10, 'table is full');
          const id = `SIMCD${m.now().toString(16).toUpperCase()}`;
          const rule: Result = { id, name: typeof p['name'] === 'string' ? p['name'] : 'countdown', enable: 1, delay, act, remain: delay, at: m.now() };
          m.state.countdown.push(rule);
          setTimeout(() => {
            if (!m.state.countdown.includes(rule)) return;
            m.setOn(act === 1, o);
            m.state.countdown = m.state.countdown.filter((r) => r !== rule);
          }, delay * 1000).unref();
          return { id };
        },
      },
      delete_all_rules: { child: 'all', fn: () => ((m.state.countdown = []), {}) },
    },
    [names.time]: {
      get_time: { fn: time },
      get_timezone: { fn: () => ({ index: 39, zone_str: '(UTC) Greenwich Mean Time', dst_offset: 60, tz_str: 'GMT0BST,M3.5.0/1,M10.5.0' }) },
    },
    [names.cloud]: {
      get_info: {
        fn: () => ({
          username: 'user@example.com',
          server: 'devs.tplinkcloud.com',
          binded: 1,
          cld_connection: 1,
          illegalType: 0,
          stopConnect: 0,
          tcspStatus: 1,
          fwDlPage: '',
          tcspInfo: '',
          fwNotifyType: -1,
        }),
      },
      get_intl_fw_list: { fn: () => ({ fw_list: [] }) },
    },
    netif: {
      get_scaninfo: { fn: () => ({ ap_list: m.wifi.networks.map((n) => ({ ssid: n.ssid, key_type: n.keyType })), wpa3_support: 0 }) },
      get_stainfo: { fn: () => ({ ssid: m.wifi.ssid, key_type: m.wifi.keyType, rssi: m.wifi.rssi() }) },
      set_stainfo: {
        fn: (p) => {
          const keyType = requireInt(p, 'key_type', 0, 3);
          if (typeof p['ssid'] !== 'string' || typeof p['password'] !== 'string' || !m.wifi.join(p['ssid'], keyType)) throw invalid();
          return {};
        },
      },
    },
  };
  if (spec.emeter || m.isBulb) {
    modules[names.emeter] = {
      get_realtime: {
        child: 'first',
        fn: (_p, o) => {
          const at = m.meterOf(o);
          return m.realtime(at.meter, spec.kind === 'strip' ? at.slot : undefined);
        },
      },
      erase_emeter_stat: {
        child: 'all',
        fn: (_p, o) => {
          for (const x of o ?? (m.outlets.length ? m.outlets : [m])) x.meter.erase();
          return {};
        },
      },
      get_vgain_igain: { fn: () => ({ vgain: 13462, igain: 16835 }) },
      ...stats(m, true),
    };
  }
  if (spec.kind === 'strip') {
    modules['smartlife.iot.smartpowerstrip.manage'] = {
      get_relationship: { fn: () => ({ data: m.outlets.map((o, i) => ({ child_id: o.id, hw_slot: i })) }) },
    };
  }
  if (spec.kind === 'dimmer') {
    const setBrightness = (p: Params) => {
      const b = requireInt(p, 'brightness', 1, 100);
      m.meter.tick();
      m.state.brightness = b;
      return b;
    };
    modules['smartlife.iot.dimmer'] = {
      set_brightness: { fn: (p) => (setBrightness(p), {}) },
      set_dimmer_transition: {
        fn: (p) => {
          if (p['duration'] !== undefined && !int(p['duration'], 0, 600_000)) throw invalid();
          setBrightness(p);
          m.setOn(true);
          return {};
        },
      },
      get_dimmer_parameters: {
        fn: () => ({ minThreshold: 5, fadeOnTime: 1000, fadeOffTime: 1000, gentleOnTime: 3000, gentleOffTime: 10000, rampRate: 30, bulb_type: 1 }),
      },
      get_default_behavior: {
        fn: () => ({
          hard_on: { mode: 'last_status' },
          soft_on: { mode: 'last_status' },
          long_press: { mode: 'instant_on_off' },
          double_click: { mode: 'none' },
        }),
      },
    };
  }
  if (m.isBulb) {
    modules['smartlife.iot.common.system'] = { set_dev_alias: setAlias, reboot: { fn: ok }, reset: { fn: ok } };
    const details = () => ({
      lamp_beam_angle: 150,
      min_voltage: 110,
      max_voltage: 240,
      wattage: Math.round(m.profile.baseW),
      incandescent_equivalent: 60,
      max_lumens: 800,
      color_rendering_index: 80,
    });
    const common = {
      get_light_state: { fn: () => (spec.kind === 'lightstrip' ? { ...m.lightState(), length: spec.length ?? 1, transition: 500 } : m.lightState()) },
      get_light_details: { fn: details },
      get_default_behavior: { fn: () => ({ hard_on: { mode: 'last_status' }, soft_on: { mode: 'last_status' } }) },
    };
    if (spec.kind === 'bulb') {
      modules['smartlife.iot.smartbulb.lightingservice'] = { ...common, transition_light_state: { fn: (p) => m.setLight(p) } };
    } else {
      modules['smartlife.iot.lightStrip'] = { ...common, set_light_state: { fn: (p) => m.setLight(p) } };
      modules['smartlife.iot.lighting_effect'] = {
        set_lighting_effect: {
          fn: (p) => {
            if (p['enable'] !== undefined && !int(p['enable'], 0, 1)) throw lightInvalid();
            m.state.effectEnabled = p['enable'] !== 0;
            return {};
          },
        },
      };
    }
  }
  return modules;
}
