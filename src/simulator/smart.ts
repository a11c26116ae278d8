/**
 * Simulated SMART device (Tapo, and SMART-speaking Kasa hardware): answers
 * `{method, params, request_time_milis, terminal_uuid}` requests with `{error_code, result}` the way
 * real devices do — `multipleRequest` (processed in order, stopping after the first failing
 * sub-request, which is included with its code), `control_child` with `requestData`/`responseData`
 * (a single request or a nested multipleRequest), `start_index`/`sum` paging of child lists,
 * base64 `nickname`/`ssid`, energy quirks (`get_energy_usage` power in mW and energy in Wh,
 * `get_current_power` in whole W, `get_emeter_data` in milli-units), and stateful setters.
 *
 * Error codes (protocol.md §4.8): unknown method -1002, bad/missing params -1008, undecodable
 * request -1003, a batch longer than `maxBatch` -1003 (what firmware that rejects big batches answers).
 */
import { isObject, parseJson } from '../json';
import { Meter, localTimeText, unitHash, ymd } from './meter';
import { componentList, dashMac, type DeviceProfile, type SmartChildSpec } from './profiles';
import { addComponentMethods } from './components';
import { powerData } from './history';
import { triggerLogOf } from './hub-events';
import type { SimHandler } from './types';

type Params = Record<string, unknown>;
type Result = Record<string, unknown>;
type Method = (p: Params) => Result | undefined;

export class SmartError extends Error {
  constructor(readonly code: number) {
    super(`SMART error ${code}`);
  }
}
const badParams = () => new SmartError(-1008);

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function optInt(p: Params, key: string, min: number, max: number): number | undefined {
  const v = p[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw badParams();
  return v;
}
function optBool(p: Params, key: string): boolean | undefined {
  const v = p[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw badParams();
  return v;
}

/** One page of a list: `{start_index, sum, <key>: [...]}`. */
function page(list: unknown[], p: Params, key: string, size: number): Result {
  const start = optInt(p, 'start_index', 0, 1_000_000) ?? 0;
  return { start_index: start, sum: list.length, [key]: list.slice(start, start + size) };
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
    readonly owner: SmartDeviceModel,
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
      on: child ? child.on ?? false : p.on,
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
        ssid: b64(s.ssid),
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
      const category = { 'temp-humidity': 'subg.trigger.temp-hmdt-sensor', contact: 'subg.trigger.contact-sensor', motion: 'subg.trigger.motion-sensor', button: 'subg.trigger.button', 'water-leak': 'subg.trigger.water-leak-sensor' }[this.kind];
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
        Object.assign(base, { current_temp: st.temperatureC, current_humidity: st.humidityPercent, current_temp_exception: 0, current_humidity_exception: 0, temp_unit: 'celsius' });
      }
      if (this.kind === 'contact') base['open'] = st.open;
      if (this.kind === 'motion') base['detected'] = st.detected;
      if (this.kind === 'water-leak') Object.assign(base, { in_alarm: st.detected, water_leak_status: st.detected ? 'water_leak' : 'normal' });
    }
    if (this.switchable) {
      base['device_on'] = st.on;
      base['on_time'] = st.on ? Math.floor((this.owner.now() - st.onSince) / 1000) : 0;
    }
    if (this.meter && this.kind === 'device') Object.assign(base, { power_protection_status: 'normal', auto_off_status: 'off', auto_off_remain_time: 0, default_states: { type: 'last_states', state: {} } });
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
        base['lighting_effect'] = { enable: st.effectEnabled ? 1 : 0, name: 'Aurora', id: 'simEffectAurora0001', brightness: 100, custom: 0, display_colors: [[120, 100, 100], [240, 100, 100]] };
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

export interface SmartModelOptions {
  /** The address get_device_info reports as `ip`. */
  ip?: string;
  /** Items per page of child lists. Default 10 (real firmware). */
  pageSize?: number;
  /** Longest multipleRequest accepted; longer → -1003. Default 5. */
  maxBatch?: number;
  now?: () => number;
}

export class SmartDeviceModel implements SimHandler {
  readonly profile: DeviceProfile;
  readonly root: SmartNode;
  readonly children: SmartNode[];
  readonly componentIds: Set<string>;
  ip: string;
  pageSize: number;
  maxBatch: number;
  readonly now: () => number;

  constructor(profile: DeviceProfile, opts: SmartModelOptions = {}) {
    if (!profile.smart) throw new Error(`Profile ${profile.id} is not a SMART device`);
    this.profile = profile;
    this.now = opts.now ?? Date.now;
    this.ip = opts.ip ?? '127.0.0.1';
    this.pageSize = opts.pageSize ?? 10;
    this.maxBatch = opts.maxBatch ?? 5;
    this.componentIds = new Set(componentList(profile.smart.components).map((c) => c.id));
    this.root = new SmartNode(this, profile.deviceId, 'device', undefined, 0);
    this.children = (profile.smart.children ?? []).map(
      (c, i) => new SmartNode(this, c.deviceId ?? profile.deviceId + String(i).padStart(2, '0'), c.kind, c, i + 1),
    );
    for (const n of [this.root, ...this.children]) {
      this.buildMethods(n);
      addComponentMethods(this, n, badParams);
    }
  }

  childComponentIds(kind: SmartChildSpec['kind']): Set<string> {
    return new Set(componentList(this.profile.smart!.childComponents?.[kind] ?? '').map((c) => c.id));
  }

  /** A child by device_id, or by 0-based index. */
  child(ref: string | number): SmartNode | undefined {
    return typeof ref === 'number' ? this.children[ref] : this.children.find((c) => c.deviceId === ref);
  }

  handle(request: string): string {
    let req: unknown;
    try {
      req = parseJson(request, 'request');
    } catch {
      return JSON.stringify({ error_code: -1003 });
    }
    return JSON.stringify(this.exec(this.root, req, true));
  }

  /** Run one request object on a node. */
  exec(node: SmartNode, req: unknown, allowBatch: boolean): Result {
    if (!isObject(req) || typeof req['method'] !== 'string') return { error_code: -1003 };
    const method = req['method'];
    const raw = req['params'];
    // `"params": null` is what some clients (plugp100) send for getters; real devices accept it.
    if ('params' in req && raw !== null && !isObject(raw)) return { error_code: -1008 };
    const params = (raw ?? {}) as Params;
    if (method === 'multipleRequest') {
      if (!allowBatch) return { error_code: -1002 };
      const list = params['requests'];
      if (!Array.isArray(list)) return { error_code: -1008 };
      if (list.length > this.maxBatch) return { error_code: -1003 };
      const responses: Result[] = [];
      for (const sub of list) {
        const r = this.exec(node, sub, false);
        responses.push({ method: isObject(sub) && typeof sub['method'] === 'string' ? sub['method'] : '', ...r });
        if (r['error_code'] !== 0) break; // real devices stop at the first failing sub-request
      }
      return { error_code: 0, result: { responses } };
    }
    const fn = Object.prototype.hasOwnProperty.call(node.methods, method) ? node.methods[method] : undefined;
    if (!fn) return { error_code: -1002 };
    try {
      const result = fn(params);
      return result === undefined ? { error_code: 0 } : { error_code: 0, result };
    } catch (e) {
      return { error_code: e instanceof SmartError ? e.code : -1 };
    }
  }

  // -------------------------------------------------------------------------------------------

  private buildMethods(n: SmartNode): void {
    const p = this.profile;
    const s = p.smart!;
    const comps = n.components;
    const m = n.methods;
    const list = n.kind === 'device' ? s.components : s.childComponents?.[n.kind as SmartChildSpec['kind']] ?? '';
    m['component_nego'] = () => ({ component_list: componentList(list) });
    m['get_device_info'] = () => n.info();
    m['set_device_info'] = (q) => (n.setInfo(q), undefined);
    m['get_device_time'] = () => ({ timestamp: Math.floor(this.now() / 1000), time_diff: s.timeDiff, region: s.region });
    m['get_connect_cloud_state'] = () => ({ status: 0 });
    m['get_latest_fw'] = () => ({ fw_ver: n.child?.fwVer ?? p.fwVer, hw_id: p.deviceId.slice(0, 32), need_to_upgrade: false, oem_id: p.deviceId.slice(8, 40), release_date: '', release_note: '', type: 0 });
    m['get_fw_download_state'] = () => ({ status: 0, download_progress: 0, reboot_time: 5, upgrade_time: 5, auto_upgrade: false });
    if (n.isSensor) {
      m['get_trigger_logs'] = (q) => {
        try {
          return triggerLogOf(n).page(q);
        } catch {
          throw badParams();
        }
      };
      if (n.kind === 'temp-humidity') m['get_temp_humidity_records'] = () => this.tempRecords(n);
      return;
    }
    if (n.kind === 'device') {
      m['device_reboot'] = (q) => (optInt(q, 'delay', 0, 3600), undefined);
      m['device_reset'] = () => undefined;
      m['get_auto_update_info'] = () => ({ enable: true, time: 180, random_range: 120 });
      m['get_wireless_scan_info'] = (q) => ({
        ...page(['SimHome', 'SimHome-Guest', 'Neighbour'].map((ssid, i) => ({ ssid: b64(ssid), bssid: `00:5F:67:00:00:0${i}`, channel: 6, key_type: 'wpa2_psk', signal_level: 3 - i, cipher_type: 2 })), q, 'ap_list', this.pageSize),
        wep_supported: false,
      });
    }
    if (comps.has('led')) {
      const led = () => ({ led_rule: n.state.ledRule, led_status: n.state.ledRule !== 'never', night_mode: { night_mode_type: 'sunrise_sunset', start_time: 1200, end_time: 420, sunrise_offset: 0, sunset_offset: 0 } });
      m['get_led_info'] = led;
      m['set_led_info'] = (q) => {
        const rule = q['led_rule'];
        if (rule !== 'always' && rule !== 'never' && rule !== 'night_mode') throw badParams();
        n.state.ledRule = rule;
        return undefined;
      };
    }
    if (comps.has('schedule')) m['get_schedule_rules'] = (q) => ({ ...page([], q, 'rule_list', this.pageSize), enable: false, schedule_rule_max_count: 32 });
    if (comps.has('countdown')) m['get_countdown_rules'] = () => ({ enable: false, countdown_rule_max_count: 1, rule_list: [] });
    if (comps.has('antitheft')) m['get_antitheft_rules'] = () => ({ enable: false, antitheft_rule_max_count: 1, rule_list: [] });
    if (comps.has('auto_off')) m['get_auto_off_config'] = () => ({ enable: false, delay_min: 120 });
    if (comps.has('brightness')) {
      m['get_preset_rules'] = () => (n.isLight ? { states: [{ brightness: 50, hue: 0, saturation: 0, color_temp: 2700 }, { brightness: 100, hue: 240, saturation: 100, color_temp: 0 }] } : { brightness: [100, 75, 50, 25, 1] });
      m['get_on_off_gradually_info'] = () => ({ enable: true, on_state: { enable: true, duration: 1 }, off_state: { enable: true, duration: 1 } });
    }
    if (s.lightingEffect && n.kind === 'device') {
      m['get_lighting_effect'] = () => ({ ...(n.info()['lighting_effect'] as Result), type: 'sequence', transition: 400, duration: 0 });
      m['set_lighting_effect'] = (q) => {
        const en = optInt(q, 'enable', 0, 1);
        if (en === undefined) throw badParams();
        if (en === 1) n.setOn(true);
        n.state.effectEnabled = en === 1;
        return undefined;
      };
    }
    m['get_device_usage'] = () => this.usage(n);
    if (n.meter) this.energyMethods(n, n.meter);
    if (n.kind === 'device' && this.children.length) {
      const kids = () => this.children;
      m['get_child_device_list'] = (q) => page(kids().map((c) => c.info()), q, 'child_device_list', this.pageSize);
      m['get_child_device_component_list'] = (q) =>
        page(kids().map((c) => ({ device_id: c.deviceId, component_list: componentList(s.childComponents?.[c.kind as SmartChildSpec['kind']] ?? '') })), q, 'child_component_list', this.pageSize);
      m['control_child'] = (q) => {
        const id = q['device_id'];
        const child = typeof id === 'string' ? this.child(id) : undefined;
        if (!child || !isObject(q['requestData'])) throw badParams();
        return { responseData: this.exec(child, q['requestData'], true) };
      };
    }
  }

  private usage(n: SmartNode): Result {
    if (this.profile.family === 'hub' && n.kind === 'device') return {};
    const m = n.meter ?? new Meter(n.deviceId, { baseW: 10, voltageV: 230 }, () => n.state.on, undefined, this.now);
    const win = (f: (d: number) => number) => ({ today: f(1), past7: f(7), past30: f(30) });
    const out: Result = { time_usage: win((d) => m.runtimeMin(d)) };
    if (n.meter) {
      const meter = n.meter;
      out['power_usage'] = win((d) => meter.energyWhOverDays(d));
      out['saved_power'] = win((d) => Math.max(0, Math.round((d * 1440 - meter.runtimeMin(d)) * 0.9)));
    }
    return out;
  }

  private energyMethods(n: SmartNode, meter: Meter): void {
    const m = n.methods;
    const emeter = this.profile.smart!.energy === 'emeter';
    m['get_energy_usage'] = () => {
      const out: Result = {
        today_runtime: meter.runtimeMin(1),
        month_runtime: this.monthRuntime(meter),
        today_energy: meter.todayWh(),
        month_energy: meter.thisMonthWh(),
        local_time: localTimeText(this.now()),
        electricity_charge: [0, 0, 0],
      };
      // Quirk of strip outlets (P304M): no current_power in get_energy_usage.
      if (n.kind === 'device') out['current_power'] = Math.round(meter.powerW() * 1000);
      return out;
    };
    m['get_current_power'] = () => ({ current_power: Math.floor(meter.powerW()) });
    if (emeter) {
      m['get_emeter_data'] = () => ({
        power_mw: Math.round(meter.powerW() * 1000),
        voltage_mv: Math.round(meter.voltageV() * 1000),
        current_ma: Math.round(meter.currentA() * 1000),
        energy_wh: meter.thisMonthWh(),
      });
      m['get_emeter_vgain_igain'] = () => ({ vgain: 118_000 + Math.floor(unitHash(n.deviceId) * 2000), igain: 10_800 });
    }
    m['get_electricity_price_config'] = () => ({ type: 'constant', constant_price: 0 });
    m['get_energy_data'] = (q) => this.energyData(meter, q);
    m['get_power_data'] = (q) => powerData(meter, q, this.now(), badParams);
  }

  private monthRuntime(meter: Meter): number {
    const d = ymd(this.now());
    return meter.runtimeMin(d.day);
  }

  /**
   * get_energy_data `{start_timestamp, end_timestamp, interval}` (epoch seconds; interval in minutes).
   * Our shape: `{local_time, start_timestamp, end_timestamp, interval, data:[Wh per interval]}`, with
   * one entry per hour (60), day (1440) or month (43200) from the start up to the end (future
   * intervals are 0), capped at 24*8 hours, 366 days or 36 months.
   */
  private energyData(meter: Meter, q: Params): Result {
    const start = optInt(q, 'start_timestamp', 0, 4_102_444_800);
    const end = optInt(q, 'end_timestamp', 0, 4_102_444_800);
    const interval = q['interval'];
    if (start === undefined || end === undefined || end < start || (interval !== 60 && interval !== 1440 && interval !== 43200)) throw badParams();
    const data: number[] = [];
    const now = this.now();
    if (interval === 43200) {
      const a = ymd(start * 1000);
      const b = ymd(end * 1000);
      for (let y = a.year, mo = a.month; (y < b.year || (y === b.year && mo <= b.month)) && data.length < 36; mo === 12 ? ((mo = 1), y++) : mo++) {
        data.push(meter.monthWh(y, mo));
      }
    } else if (interval === 1440) {
      for (let t = start * 1000; t <= end * 1000 && data.length < 366; t += 86_400_000) {
        const d = ymd(t);
        data.push(meter.dayWh(d.year, d.month, d.day));
      }
    } else {
      for (let t = start * 1000; t <= end * 1000 && data.length < 24 * 8; t += 3_600_000) {
        const d = ymd(t);
        const hour = new Date(t).getHours();
        const weights = Array.from({ length: 24 }, (_, h) => 0.2 + unitHash(`${meter.seed}:${d.year}-${d.month}-${d.day}:${h}`));
        const sum = weights.reduce((x, y) => x + y, 0);
        data.push(t > now ? 0 : Math.round((meter.dayWh(d.year, d.month, d.day) * weights[hour]!) / sum));
      }
    }
    return { local_time: localTimeText(now), start_timestamp: start, end_timestamp: end, interval, data };
  }

  private tempRecords(n: SmartNode): Result {
    const t = Math.floor(this.now() / 1000);
    const temps = Array.from({ length: 96 }, (_, i) => Math.round(n.state.temperatureC * 10 + 6 * Math.sin(i / 12)));
    const hums = Array.from({ length: 96 }, (_, i) => Math.round(n.state.humidityPercent + 3 * Math.sin(i / 15)));
    const zeros = new Array<number>(96).fill(0);
    return { local_time: t, past24h_temp: temps, past24h_humidity: hums, past24h_temp_exception: zeros, past24h_humidity_exception: zeros };
  }
}
