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
import {
  buildIotModules,
  IotError,
  invalid,
  lightInvalid,
  round,
  type IotModel,
  type IotOutlet,
  type IotState,
  type Method,
  type Params,
  type Result,
} from './iot-modules';
import { SimWifi } from './wifi';

export type { IotLight, IotOutlet, IotState } from './iot-modules';

export class IotDeviceModel implements SimHandler, IotModel {
  readonly profile: DeviceProfile;
  readonly state: IotState;
  readonly outlets: IotOutlet[];
  /** The device's own meter (plugs, bulbs); strips meter per outlet. */
  readonly meter: Meter;
  private readonly modules: Record<string, Record<string, Method>>;
  /** @internal */
  readonly now: () => number;
  /** @internal */
  readonly isBulb: boolean;
  /** Wi-Fi onboarding state (wifi.ts). */
  readonly wifi = new SimWifi();

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
    this.modules = buildIotModules(this);
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
        outlets = ctx.map(
          (id) =>
            this.findOutlet(id) ??
            (() => {
              throw new IotError(-14, 'entry not exist');
            })(),
        );
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

  /** @internal */
  setLight(p: Params): Result {
    const range = this.profile.iot!.light?.range ?? [2500, 9000];
    const check = (k: string, ok: (v: number) => boolean) => {
      const v = p[k];
      if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && ok(v))) throw lightInvalid();
      return v;
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

  /** @internal */
  realtime(meter: Meter, slot?: number): Result {
    const spec = this.profile.iot!;
    if (this.isBulb) return { power_mw: Math.round(meter.powerW() * 1000), total_wh: meter.totalWh() };
    if (spec.emeter === 'v1') {
      return {
        current: round(meter.currentA(), 6),
        voltage: round(meter.voltageV(), 6),
        power: round(meter.powerW(), 6),
        total: round(meter.totalWh() / 1000, 3),
      };
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
  /** @internal */
  meterOf(outlets?: IotOutlet[]): { meter: Meter; slot?: number } {
    const o = outlets?.[0] ?? this.outlets[0];
    return o ? { meter: o.meter, slot: this.outlets.indexOf(o) } : { meter: this.meter };
  }
}
