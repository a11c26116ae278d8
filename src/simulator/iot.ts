/**
 * Simulated Kasa IOT device (plugs, strips, dimmers, bulbs, light strips): answers
 * `{"<module>":{"<method>":{params}}}` requests the way real devices do — several modules per
 * request, `context.child_ids` for strip outlets, module-level `-1 module not support`, method-level
 * `-2 member not support`, `-3 invalid argument`, `-14 entry not exist` — and keeps state that the
 * commands change. Power drifts a little with time and is 0 when off.
 */
import { isObject, parseJson } from '../json';
import { Meter, unitHash } from './meter';
import type { DeviceProfile, LightSpec } from './profiles';
import type { SimHandler } from './types';

type Params = Record<string, unknown>;
type Result = Record<string, unknown>;

class IotError extends Error {
  constructor(
    readonly errCode: number,
    readonly errMsg: string,
  ) {
    super(errMsg);
  }
}
const invalid = () => new IotError(-3, 'invalid argument');
const lightInvalid = () => new IotError(-10000, 'Invalid input argument');

interface Method {
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

const int = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

function requireInt(p: Params, key: string, min: number, max: number): number {
  const v = p[key];
  if (!int(v, min, max)) throw invalid();
  return v;
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));

export class IotDeviceModel implements SimHandler {
  readonly profile: DeviceProfile;
  readonly state: IotState;
  readonly outlets: IotOutlet[];
  /** The device's own meter (plugs, bulbs); strips meter per outlet. */
  readonly meter: Meter;
  private readonly modules: Record<string, Record<string, Method>>;
  private readonly now: () => number;
  private readonly isBulb: boolean;

  constructor(profile: DeviceProfile, opts: { now?: () => number } = {}) {
    const spec = profile.iot;
    if (!spec) throw new Error(`Profile ${profile.id} is not an IOT device`);
    this.profile = profile;
    this.now = opts.now ?? Date.now;
    const t = this.now();
    const light: LightSpec = spec.light ?? { brightness: 100, hue: 0, saturation: 0, colorTemp: 2700, range: [2700, 2700] };
    this.isBulb = spec.kind === 'bulb' || spec.kind === 'lightstrip';
    this.state = {
      on: profile.on,
      onSince: t - 3600_000 * (1 + Math.floor(unitHash(profile.id) * 48)),
      alias: profile.alias,
      ledOff: false,
      brightness: spec.brightness ?? 100,
      light: { on: profile.on, hue: light.hue, saturation: light.saturation, colorTemp: light.colorTemp, brightness: light.brightness },
      effectEnabled: false,
      countdown: [],
    };
    const load = () => (this.isBulb ? Math.max(0.08, this.state.light.brightness / 100) : spec.kind === 'dimmer' ? this.state.brightness / 100 : 1);
    this.meter = new Meter(profile.deviceId, { baseW: profile.baseW, voltageV: profile.voltageV }, () => this.state.on, load, this.now);
    this.outlets = (spec.outlets ?? []).map((o, i) => {
      const outlet: IotOutlet = {
        id: profile.deviceId + String(i).padStart(2, '0'),
        alias: o.alias,
        on: o.on,
        onSince: this.state.onSince,
        meter: undefined as unknown as Meter,
      };
      outlet.meter = new Meter(outlet.id, { baseW: o.baseW, voltageV: profile.voltageV }, () => outlet.on, undefined, this.now);
      return outlet;
    });
    this.modules = this.buildModules();
  }

  // -------------------------------------------------------------------------------------------
  // Request handling

  handle(request: string): string {
    let req: unknown;
    try {
      req = parseJson(request, 'request');
    } catch {
      return JSON.stringify({ err_code: -1, err_msg: 'json format error' });
    }
    if (!isObject(req)) return JSON.stringify({ err_code: -1, err_msg: 'json format error' });
    const ctx = this.childContext(req['context']);
    const out: Record<string, unknown> = {};
    for (const [modName, body] of Object.entries(req)) {
      if (modName === 'context') continue;
      const mod = Object.prototype.hasOwnProperty.call(this.modules, modName) ? this.modules[modName] : undefined;
      if (!mod) {
        out[modName] = { err_code: -1, err_msg: 'module not support' };
        continue;
      }
      if (!isObject(body)) {
        out[modName] = { err_code: -3, err_msg: 'invalid argument' };
        continue;
      }
      const answers: Record<string, unknown> = {};
      for (const [name, params] of Object.entries(body)) answers[name] = this.call(mod, name, params, ctx);
      out[modName] = answers;
    }
    return JSON.stringify(out);
  }

  /** undefined: no context; 'bad': child_ids is not an array; else the requested ids. */
  private childContext(ctx: unknown): string[] | 'bad' | undefined {
    if (!isObject(ctx) || !('child_ids' in ctx)) return undefined;
    const ids = ctx['child_ids'];
    if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string')) return 'bad';
    return ids as string[];
  }

  private call(mod: Record<string, Method>, name: string, params: unknown, ctx: string[] | 'bad' | undefined): Result {
    const m = Object.prototype.hasOwnProperty.call(mod, name) ? mod[name] : undefined;
    if (!m) return { err_code: -2, err_msg: 'member not support' };
    try {
      if (params !== null && params !== undefined && !isObject(params)) throw invalid();
      const p = (params ?? {}) as Params;
      let outlets: IotOutlet[] | undefined;
      if (m.child && ctx !== undefined) {
        if (ctx === 'bad') throw invalid();
        outlets = ctx.map((id) => this.findOutlet(id) ?? (() => { throw new IotError(-14, 'entry not exist'); })());
        if (outlets.length === 0) return { err_code: 0 };
        if (m.child === 'first') outlets = outlets.slice(0, 1);
      }
      return { ...m.fn(p, outlets), err_code: 0 };
    } catch (e) {
      if (e instanceof IotError) return { err_code: e.errCode, err_msg: e.errMsg };
      return { err_code: -7, err_msg: 'unknown error' };
    }
  }

  /** Full id (deviceId + 2-digit slot), or a 1-2 character slot. */
  findOutlet(id: string): IotOutlet | undefined {
    const full = id.length <= 2 ? this.profile.deviceId + id.padStart(2, '0') : id;
    return this.outlets.find((o) => o.id.toUpperCase() === full.toUpperCase());
  }

  // -------------------------------------------------------------------------------------------
  // State changes (also used by tests)

  setOn(on: boolean, outlets?: IotOutlet[]): void {
    const t = this.now();
    const targets = outlets ?? (this.outlets.length ? this.outlets : undefined);
    if (targets) {
      for (const o of targets) {
        o.meter.tick();
        if (on && !o.on) o.onSince = t;
        o.on = on;
      }
      return;
    }
    this.meter.tick();
    if (on && !this.state.on) this.state.onSince = t;
    this.state.on = on;
    this.state.light.on = on;
  }

  private onTime(on: boolean, since: number): number {
    return on ? Math.max(0, Math.floor((this.now() - since) / 1000)) : 0;
  }

  // -------------------------------------------------------------------------------------------
  // Answers

  sysinfo(): Result {
    const p = this.profile;
    const spec = p.iot!;
    const s = this.state;
    const info: Result = {
      sw_ver: p.fwVer,
      hw_ver: p.hwVer,
      model: p.model,
      deviceId: p.deviceId,
      oemId: p.deviceId.slice(8, 40),
      hwId: p.deviceId.slice(0, 32),
      rssi: -38 - Math.floor(unitHash(p.deviceId + 'rssi') * 30),
      latitude_i: 0,
      longitude_i: 0,
      alias: s.alias,
      status: 'new',
      [spec.typeKey]: this.isBulb ? 'IOT.SMARTBULB' : 'IOT.SMARTPLUGSWITCH',
      updating: 0,
      active_mode: 'none',
    };
    if (this.isBulb) {
      Object.assign(info, {
        description: spec.devName,
        mic_mac: p.mac.replace(/:/g, ''),
        dev_state: 'normal',
        is_factory: false,
        disco_ver: '1.0',
        ctrl_protocols: { name: 'Linkie', version: '1.0' },
        is_color: 1,
        is_dimmable: 1,
        is_variable_color_temp: 1,
        light_state: this.lightState(),
        preferred_state: [
          { index: 0, hue: 0, saturation: 0, color_temp: 2700, brightness: 50 },
          { index: 1, hue: 120, saturation: 80, color_temp: 0, brightness: 100 },
        ],
      });
      if (spec.kind === 'lightstrip') {
        Object.assign(info, {
          length: spec.length ?? 1,
          LEF: 1,
          lighting_effect_state: { enable: s.effectEnabled ? 1 : 0, name: 'Aurora', custom: 0, id: 'simEffectAurora0001', brightness: 100 },
        });
      }
      return info;
    }
    Object.assign(info, {
      dev_name: spec.devName,
      mac: p.mac,
      icon_hash: '',
      led_off: s.ledOff ? 1 : 0,
      feature: spec.emeter ? 'TIM:ENE' : 'TIM',
    });
    if (spec.kind === 'strip') {
      info['child_num'] = this.outlets.length;
      info['children'] = this.outlets.map((o) => ({
        id: o.id,
        state: o.on ? 1 : 0,
        alias: o.alias,
        on_time: this.onTime(o.on, o.onSince),
        next_action: { type: -1 },
      }));
      return info;
    }
    Object.assign(info, { relay_state: s.on ? 1 : 0, on_time: this.onTime(s.on, s.onSince), next_action: { type: -1 } });
    if (spec.kind === 'dimmer') {
      info['brightness'] = s.brightness;
      info['preferred_state'] = [100, 75, 50, 25].map((b, i) => ({ index: i, brightness: b }));
    }
    return info;
  }

  lightState(): Result {
    const l = this.state.light;
    const st = { mode: 'normal', hue: l.hue, saturation: l.saturation, color_temp: l.colorTemp, brightness: l.brightness };
    return l.on ? { on_off: 1, ...st } : { on_off: 0, dft_on_state: st };
  }

  private setLight(p: Params): Result {
    const range = this.profile.iot!.light?.range ?? [2500, 9000];
    const check = (k: string, ok: (v: number) => boolean) => {
      const v = p[k];
      if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && ok(v))) throw lightInvalid();
      return v as number | undefined;
    };
    const onOff = check('on_off', (v) => v === 0 || v === 1);
    const hue = check('hue', (v) => v >= 0 && v <= 360);
    const sat = check('saturation', (v) => v >= 0 && v <= 100);
    const bri = check('brightness', (v) => v >= 0 && v <= 100);
    const ct = check('color_temp', (v) => v === 0 || (v >= range[0] && v <= range[1]));
    check('transition_period', (v) => v >= 0);
    if (p['mode'] !== undefined && p['mode'] !== 'normal') throw lightInvalid();
    this.meter.tick();
    const l = this.state.light;
    if (hue !== undefined) l.hue = hue;
    if (sat !== undefined) l.saturation = sat;
    if (bri !== undefined) l.brightness = bri;
    if (ct !== undefined) l.colorTemp = ct;
    else if (hue !== undefined || sat !== undefined) l.colorTemp = 0;
    if (onOff !== undefined) this.setOn(onOff === 1);
    if (hue !== undefined || sat !== undefined || ct !== undefined) this.state.effectEnabled = false;
    const out = this.lightState();
    if (this.profile.iot!.kind === 'lightstrip') Object.assign(out, { length: this.profile.iot!.length ?? 1, transition: 500 });
    return out;
  }

  private realtime(meter: Meter, slot?: number): Result {
    const spec = this.profile.iot!;
    if (this.isBulb) return { power_mw: Math.round(meter.powerW() * 1000), total_wh: meter.totalWh() };
    if (spec.emeter === 'v1') {
      return { current: round(meter.currentA(), 6), voltage: round(meter.voltageV(), 6), power: round(meter.powerW(), 6), total: round(meter.totalWh() / 1000, 3) };
    }
    const r: Result = {
      current_ma: Math.round(meter.currentA() * 1000),
      voltage_mv: Math.round(meter.voltageV() * 1000),
      power_mw: Math.round(meter.powerW() * 1000),
      total_wh: meter.totalWh(),
    };
    if (slot !== undefined) r['slot_id'] = slot;
    return r;
  }

  /** The meter a request addresses: the listed outlet, outlet 0 of a strip without context (as HS300s answer), or the device's own. */
  private meterOf(outlets?: IotOutlet[]): { meter: Meter; slot?: number } {
    const o = outlets?.[0] ?? this.outlets[0];
    return o ? { meter: o.meter, slot: this.outlets.indexOf(o) } : { meter: this.meter };
  }

  private stats(energy: boolean): Record<string, Method> {
    const v1 = this.profile.iot!.emeter === 'v1';
    const value = (m: Meter, wh: number): Result =>
      energy ? (v1 ? { energy: round(wh / 1000, 3) } : { energy_wh: wh }) : { time: m.spec.baseW > 0 ? Math.round((wh / m.spec.baseW) * 60) : 0 };
    return {
      get_daystat: {
        child: 'first',
        fn: (p, o) => {
          const year = requireInt(p, 'year', 2000, 2100);
          const month = requireInt(p, 'month', 1, 12);
          const { meter } = this.meterOf(o);
          return { day_list: meter.days(year, month).map((d) => ({ year, month, day: d.day, ...value(meter, d.wh) })) };
        },
      },
      get_monthstat: {
        child: 'first',
        fn: (p, o) => {
          const year = requireInt(p, 'year', 2000, 2100);
          const { meter } = this.meterOf(o);
          return { month_list: meter.months(year).map((m) => ({ year, month: m.month, ...value(meter, m.wh) })) };
        },
      },
    };
  }

  private buildModules(): Record<string, Record<string, Method>> {
    const spec = this.profile.iot!;
    const ok = (): Result => ({});
    const names = this.isBulb
      ? { emeter: 'smartlife.iot.common.emeter', schedule: 'smartlife.iot.common.schedule', time: 'smartlife.iot.common.timesetting', cloud: 'smartlife.iot.common.cloud', anti: 'smartlife.iot.common.anti_theft', countdown: 'countdown' }
      : { emeter: 'emeter', schedule: 'schedule', time: 'time', cloud: 'cnCloud', anti: 'anti_theft', countdown: 'count_down' };

    const setAlias: Method = {
      child: 'first',
      fn: (p, o) => {
        const alias = p['alias'];
        if (typeof alias !== 'string' || alias.length > 64) throw invalid();
        if (o?.[0]) o[0].alias = alias;
        else this.state.alias = alias;
        return {};
      },
    };
    const system: Record<string, Method> = {
      get_sysinfo: { fn: () => this.sysinfo() },
      set_dev_alias: setAlias,
      reboot: { fn: ok },
      reset: { fn: ok },
      set_dev_location: { fn: ok },
    };
    if (!this.isBulb) {
      system['set_relay_state'] = {
        child: 'all',
        fn: (p, o) => {
          const st = requireInt(p, 'state', 0, 1);
          this.setOn(st === 1, o);
          return {};
        },
      };
      system['set_led_off'] = {
        fn: (p) => {
          this.state.ledOff = requireInt(p, 'off', 0, 1) === 1;
          return {};
        },
      };
    }
    const rules = (extra: Result = {}): Method => ({ child: 'all', fn: () => ({ rule_list: [], enable: 0, version: 2, ...extra }) });
    const time = () => {
      const d = new Date(this.now());
      return { year: d.getFullYear(), month: d.getMonth() + 1, mday: d.getDate(), hour: d.getHours(), min: d.getMinutes(), sec: d.getSeconds() };
    };
    const modules: Record<string, Record<string, Method>> = {
      system,
      [names.schedule]: { get_rules: rules(), get_next_action: { child: 'all', fn: () => ({ type: -1 }) }, ...this.stats(false) },
      [names.anti]: { get_rules: rules() },
      [names.countdown]: {
        // The rule runs: `remain` counts down and the relay switches when it reaches 0 (an unref'd
        // timer, so it never keeps a process alive).
        get_rules: { child: 'all', fn: () => ({ rule_list: this.state.countdown.map((r) => ({ ...r, remain: Math.max(0, Number(r['delay']) - Math.floor((this.now() - Number(r['at'] ?? this.now())) / 1000)), at: undefined })) }) },
        add_rule: {
          child: 'all',
          fn: (p, o) => {
            const delay = requireInt(p, 'delay', 1, 86400);
            const act = requireInt(p, 'act', 0, 1);
            if (this.state.countdown.length) throw new IotError(-10, 'table is full');
            const id = `SIMCD${this.now().toString(16).toUpperCase()}`;
            const rule: Result = { id, name: typeof p['name'] === 'string' ? p['name'] : 'countdown', enable: 1, delay, act, remain: delay, at: this.now() };
            this.state.countdown.push(rule);
            setTimeout(() => {
              if (!this.state.countdown.includes(rule)) return;
              this.setOn(act === 1, o);
              this.state.countdown = this.state.countdown.filter((r) => r !== rule);
            }, delay * 1000).unref();
            return { id };
          },
        },
        delete_all_rules: { child: 'all', fn: () => ((this.state.countdown = []), {}) },
      },
      [names.time]: { get_time: { fn: time }, get_timezone: { fn: () => ({ index: 39, zone_str: '(UTC) Greenwich Mean Time', dst_offset: 60, tz_str: 'GMT0BST,M3.5.0/1,M10.5.0' }) } },
      [names.cloud]: {
        get_info: {
          fn: () => ({ username: 'user@example.com', server: 'devs.tplinkcloud.com', binded: 1, cld_connection: 1, illegalType: 0, stopConnect: 0, tcspStatus: 1, fwDlPage: '', tcspInfo: '', fwNotifyType: -1 }),
        },
        get_intl_fw_list: { fn: () => ({ fw_list: [] }) },
      },
      netif: {
        get_scaninfo: {
          fn: () => ({
            ap_list: [
              { ssid: 'SimHome', key_type: 3 },
              { ssid: 'SimHome-Guest', key_type: 3 },
              { ssid: 'Neighbour', key_type: 2 },
            ],
            wpa3_support: 0,
          }),
        },
        get_stainfo: { fn: () => ({ ssid: 'SimHome', key_type: 3, rssi: -50 }) },
      },
    };
    if (spec.emeter || this.isBulb) {
      modules[names.emeter] = {
        get_realtime: { child: 'first', fn: (_p, o) => { const m = this.meterOf(o); return this.realtime(m.meter, spec.kind === 'strip' ? m.slot : undefined); } },
        erase_emeter_stat: { child: 'all', fn: (_p, o) => { for (const m of o ?? (this.outlets.length ? this.outlets : [this])) m.meter.erase(); return {}; } },
        get_vgain_igain: { fn: () => ({ vgain: 13462, igain: 16835 }) },
        ...this.stats(true),
      };
    }
    if (spec.kind === 'strip') {
      modules['smartlife.iot.smartpowerstrip.manage'] = {
        get_relationship: { fn: () => ({ data: this.outlets.map((o, i) => ({ child_id: o.id, hw_slot: i })) }) },
      };
    }
    if (spec.kind === 'dimmer') {
      const setBrightness = (p: Params) => {
        const b = requireInt(p, 'brightness', 1, 100);
        this.meter.tick();
        this.state.brightness = b;
        return b;
      };
      modules['smartlife.iot.dimmer'] = {
        set_brightness: { fn: (p) => (setBrightness(p), {}) },
        set_dimmer_transition: {
          fn: (p) => {
            if (p['duration'] !== undefined && !int(p['duration'], 0, 600_000)) throw invalid();
            setBrightness(p);
            this.setOn(true);
            return {};
          },
        },
        get_dimmer_parameters: { fn: () => ({ minThreshold: 5, fadeOnTime: 1000, fadeOffTime: 1000, gentleOnTime: 3000, gentleOffTime: 10000, rampRate: 30, bulb_type: 1 }) },
        get_default_behavior: { fn: () => ({ hard_on: { mode: 'last_status' }, soft_on: { mode: 'last_status' }, long_press: { mode: 'instant_on_off' }, double_click: { mode: 'none' } }) },
      };
    }
    if (this.isBulb) {
      modules['smartlife.iot.common.system'] = { set_dev_alias: setAlias, reboot: { fn: ok }, reset: { fn: ok } };
      const details = () => ({ lamp_beam_angle: 150, min_voltage: 110, max_voltage: 240, wattage: Math.round(this.profile.baseW), incandescent_equivalent: 60, max_lumens: 800, color_rendering_index: 80 });
      const common = {
        get_light_state: { fn: () => (spec.kind === 'lightstrip' ? { ...this.lightState(), length: spec.length ?? 1, transition: 500 } : this.lightState()) },
        get_light_details: { fn: details },
        get_default_behavior: { fn: () => ({ hard_on: { mode: 'last_status' }, soft_on: { mode: 'last_status' } }) },
      };
      if (spec.kind === 'bulb') {
        modules['smartlife.iot.smartbulb.lightingservice'] = { ...common, transition_light_state: { fn: (p) => this.setLight(p) } };
      } else {
        modules['smartlife.iot.lightStrip'] = { ...common, set_light_state: { fn: (p) => this.setLight(p) } };
        modules['smartlife.iot.lighting_effect'] = {
          set_lighting_effect: {
            fn: (p) => {
              if (p['enable'] !== undefined && !int(p['enable'], 0, 1)) throw lightInvalid();
              this.state.effectEnabled = p['enable'] !== 0;
              return {};
            },
          },
        };
      }
    }
    return modules;
  }
}
