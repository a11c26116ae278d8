/**
 * One node of a simulated SMART device — the device itself or one of its children (strip outlet,
 * hub sensor) — with its state, its meter and its method table, plus the parameter checks the
 * simulated firmware applies (-1008 for bad params).
 */
import { Meter, unitHash } from './meter';
import { dashMac, type DeviceProfile, type SmartChildSpec } from './profiles';

export type Params = Record<string, unknown>;
export type Result = Record<string, unknown>;
export type Method = (p: Params) => Result | undefined;

export class SmartError extends Error {
  constructor(readonly code: number) {
    super(`SMART error ${code}`);
  }
}
export const badParams = () => new SmartError(-1008);

export const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
export const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function optInt(p: Params, key: string, min: number, max: number): number | undefined {
  const v = p[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw badParams();
  return v;
}
export function optBool(p: Params, key: string): boolean | undefined {
  const v = p[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw badParams();
  return v;
}

/** One page of a list: `{start_index, sum, <key>: [...]}`. */
export function page(list: unknown[], p: Params, key: string, size: number): Result {
  const start = optInt(p, 'start_index', 0, 1_000_000) ?? 0;
  return { start_index: start, sum: list.length, [key]: list.slice(start, start + size) };
}

/** What a node needs of its device (SmartDeviceModel in smart.ts). */
export interface SmartNodeOwner {
  readonly profile: DeviceProfile;
  readonly now: () => number;
  readonly children: readonly SmartNode[];
  readonly componentIds: Set<string>;
  ip: string;
  /** Wi-Fi onboarding state (wifi.ts). */
  readonly wifi: { readonly ssid: string };
  childComponentIds(kind: SmartChildSpec['kind']): Set<string>;
}

export interface SmartNodeState {
  on: boolean;
  onSince: number;
  nickname: string;
  brightness: number;
  hue: number;
  saturation: number;
  colorTemp: number;
  ledRule: 'always' | 'never' | 'night_mode';
  effectEnabled: boolean;
  temperatureC: number;
  humidityPercent: number;
  open: boolean;
  detected: boolean;
  batteryLow: boolean;
  batteryPercent: number;
}

/** One addressable SMART node: the device itself, a strip outlet or a hub child. */
export class SmartNode {
  readonly state: SmartNodeState;
  readonly meter: Meter | undefined;
  readonly methods: Record<string, Method> = {};

  constructor(
    readonly owner: SmartNodeOwner,
    readonly deviceId: string,
    readonly kind: 'device' | SmartChildSpec['kind'],
    readonly child: SmartChildSpec | undefined,
    readonly position: number,
  ) {
    const p = owner.profile;
    const s = p.smart!;
    const light = s.light;
    const t = owner.now();
    this.state = {
      on: child ? (child.on ?? false) : p.on,
      onSince: t - 3600_000 * (1 + Math.floor(unitHash(deviceId) * 30)),
      nickname: child ? child.alias : p.alias,
      brightness: light?.brightness ?? s.brightness ?? 100,
      hue: light?.hue ?? 0,
      saturation: light?.saturation ?? 0,
      colorTemp: light?.colorTemp ?? 0,
      ledRule: 'always',
      effectEnabled: !!s.lightingEffect && !p.on,
      temperatureC: child?.temperatureC ?? 21,
      humidityPercent: child?.humidityPercent ?? 50,
      open: child?.open ?? false,
      detected: child?.detected ?? false,
      batteryLow: child?.batteryLow ?? false,
      batteryPercent: child?.batteryPercent ?? 100,
    };
    const metered = kind === 'outlet' ? !!owner.childComponentIds(kind).has('energy_monitoring') : kind === 'device' && !!s.energy;
    const baseW = child?.baseW ?? p.baseW;
    const load = () => (this.isLight || this.isDimmer ? Math.max(0.08, this.state.brightness / 100) : 1);
    this.meter = metered ? new Meter(deviceId, { baseW, voltageV: p.voltageV }, () => this.state.on, load, owner.now) : undefined;
  }

  get components(): Set<string> {
    return this.kind === 'device' ? this.owner.componentIds : this.owner.childComponentIds(this.kind);
  }
  get switchable(): boolean {
    return this.kind === 'outlet' || (this.kind === 'device' && this.owner.profile.family !== 'hub' && !this.owner.profile.smart!.children);
  }
  get isLight(): boolean {
    return this.kind === 'device' && !!this.owner.profile.smart!.light;
  }
  get isDimmer(): boolean {
    return this.kind === 'device' && this.owner.profile.smart!.brightness !== undefined;
  }
  get isSensor(): boolean {
    return this.kind === 'temp-humidity' || this.kind === 'contact' || this.kind === 'motion' || this.kind === 'button' || this.kind === 'water-leak';
  }

  setOn(on: boolean): void {
    this.meter?.tick();
    if (on && !this.state.on) this.state.onSince = this.owner.now();
    this.state.on = on;
    if (on) this.state.effectEnabled = false;
  }

  info(): Result {
    const p = this.owner.profile;
    const s = p.smart!;
    const st = this.state;
    const c = this.child;
    const base: Result = {
      device_id: this.deviceId,
      fw_ver: c?.fwVer ?? p.fwVer,
      hw_ver: p.hwVer,
      model: c?.model ?? p.model.replace(/\(.*\)$/, ''),
      nickname: b64(st.nickname),
      oem_id: p.deviceId.slice(8, 40),
      hw_id: p.deviceId.slice(0, 32),
      region: s.region,
      specs: '',
      rssi: -40 - Math.floor(unitHash(this.deviceId + 'rssi') * 25),
      signal_level: 3,
      avatar: this.kind === 'device' ? s.avatar : this.kind === 'outlet' ? 'plug' : '',
    };
    if (this.kind === 'device') {
      Object.assign(base, {
        type: p.discovery?.deviceType ?? 'SMART.TAPOPLUG',
        mac: dashMac(p.mac),
        fw_id: p.deviceId.slice(4, 36),
        ip: this.owner.ip,
        ssid: b64(this.owner.wifi.ssid),
        lang: 'en_US',
        time_diff: s.timeDiff,
        latitude: 0,
        longitude: 0,
        has_set_location_info: true,
        overheated: false,
      });
      if (p.family === 'hub') Object.assign(base, { in_alarm: false, in_alarm_source: '' });
    } else if (this.kind === 'outlet') {
      Object.assign(base, {
        type: 'SMART.TAPOPLUG',
        category: 'plug.powerstrip.sub-plug',
        mac: p.mac.replace(/:/g, ''),
        original_device_id: p.deviceId,
        position: this.position,
        slot_number: this.owner.children.length,
        bind_count: 1,
        status_follow_edge: true,
        overheat_status: 'normal',
        overcurrent_status: 'normal',
        power_protection_status: 'normal',
        auto_off_status: 'off',
        auto_off_remain_time: 0,
        default_states: { type: 'last_states' },
      });
    } else {
      const category = {
        'temp-humidity': 'subg.trigger.temp-hmdt-sensor',
        contact: 'subg.trigger.contact-sensor',
        motion: 'subg.trigger.motion-sensor',
        button: 'subg.trigger.button',
        'water-leak': 'subg.trigger.water-leak-sensor',
      }[this.kind];
      Object.assign(base, {
        type: 'SMART.TAPOSENSOR',
        category,
        mac: c?.mac ?? '',
        parent_device_id: p.deviceId,
        at_low_battery: st.batteryLow,
        battery_percentage: st.batteryPercent,
        bind_count: 1,
        jamming_rssi: -114,
        jamming_signal_level: 1,
        lastOnboardingTimestamp: Math.floor(this.owner.now() / 1000) - 86400 * 40,
        report_interval: 16,
        status: 'online',
        status_follow_edge: false,
      });
      if (this.kind === 'temp-humidity') {
        Object.assign(base, {
          current_temp: st.temperatureC,
          current_humidity: st.humidityPercent,
          current_temp_exception: 0,
          current_humidity_exception: 0,
          temp_unit: 'celsius',
        });
      }
      if (this.kind === 'contact') base['open'] = st.open;
      if (this.kind === 'motion') base['detected'] = st.detected;
      if (this.kind === 'water-leak') Object.assign(base, { in_alarm: st.detected, water_leak_status: st.detected ? 'water_leak' : 'normal' });
    }
    if (this.switchable) {
      base['device_on'] = st.on;
      base['on_time'] = st.on ? Math.floor((this.owner.now() - st.onSince) / 1000) : 0;
    }
    if (this.meter && this.kind === 'device')
      Object.assign(base, {
        power_protection_status: 'normal',
        auto_off_status: 'off',
        auto_off_remain_time: 0,
        default_states: { type: 'last_states', state: {} },
      });
    if (this.isDimmer || this.isLight) base['brightness'] = st.brightness;
    if (this.isDimmer) base['default_states'] = { type: 'last_states', re_power_type: 'always_off' };
    const light = s.light;
    if (this.isLight && light) {
      const colour = { brightness: st.brightness, hue: st.hue, saturation: st.saturation, color_temp: st.colorTemp };
      Object.assign(base, {
        hue: st.hue,
        saturation: st.saturation,
        color_temp: st.colorTemp,
        color_temp_range: light.range,
        dynamic_light_effect_enable: false,
        default_states: { type: 'last_states', state: colour },
      });
      if (s.lightingEffect) {
        base['lighting_effect'] = {
          enable: st.effectEnabled ? 1 : 0,
          name: 'Aurora',
          id: 'simEffectAurora0001',
          brightness: 100,
          custom: 0,
          display_colors: [
            [120, 100, 100],
            [240, 100, 100],
          ],
        };
      }
    }
    return base;
  }

  /** set_device_info: validate everything first, then apply. */
  setInfo(p: Params): void {
    const light = this.isLight ? this.owner.profile.smart!.light : undefined;
    const on = optBool(p, 'device_on');
    const bri = optInt(p, 'brightness', 1, 100);
    const hue = optInt(p, 'hue', 0, 360);
    const sat = optInt(p, 'saturation', 0, 100);
    const ct = optInt(p, 'color_temp', 0, 10000);
    if (on !== undefined && !this.switchable) throw badParams();
    if (bri !== undefined && !this.isLight && !this.isDimmer) throw badParams();
    if ((hue !== undefined || sat !== undefined || ct !== undefined) && !light) throw badParams();
    if (ct !== undefined && ct !== 0 && light && (ct < light.range[0] || ct > light.range[1])) throw badParams();
    let nickname: string | undefined;
    if (p['nickname'] !== undefined) {
      const n = p['nickname'];
      if (typeof n !== 'string' || !B64_RE.test(n)) throw badParams();
      nickname = Buffer.from(n, 'base64').toString('utf8');
      if (nickname.length === 0 || Buffer.byteLength(nickname) > 64) throw badParams();
    }
    this.meter?.tick();
    const st = this.state;
    if (nickname !== undefined) st.nickname = nickname;
    if (bri !== undefined) st.brightness = bri;
    if (hue !== undefined) st.hue = hue;
    if (sat !== undefined) st.saturation = sat;
    if (ct !== undefined) st.colorTemp = ct;
    else if (hue !== undefined || sat !== undefined) st.colorTemp = 0;
    if (on !== undefined) this.setOn(on);
  }
}
