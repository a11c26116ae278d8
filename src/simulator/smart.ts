/**
 * Simulated SMART device (Tapo, and SMART-speaking Kasa hardware): answers
 * `{method, params, request_time_milis, terminal_uuid}` requests with `{error_code, result}` the way
 * real devices do — `multipleRequest` (processed in order, stopping after the first failing
 * sub-request, which is included with its code), `control_child` with `requestData`/`responseData`
 * (a single request or a nested multipleRequest), `start_index`/`sum` paging of child lists,
 * base64 `nickname`/`ssid`, energy quirks (`get_energy_usage` power in mW and energy in Wh,
 * `get_current_power` in whole W, `get_emeter_data` in milli-units), and stateful setters.
 *
 * Error codes (docs/protocols.md#smart-error-codes): unknown method -1002, bad/missing params -1008, undecodable
 * request -1003, a batch longer than `maxBatch` -1003 (what firmware that rejects big batches answers).
 */
import { isObject, parseJson } from '../json';
import { Meter, localTimeText, unitHash, ymd } from './meter';
import { componentList, type DeviceProfile, type SmartChildSpec } from './profiles';
import { addComponentMethods } from './components';
import { powerData } from './history';
import { triggerLogOf } from './hub-events';
import type { SimHandler } from './types';
import { badParams, optInt, page, SmartError, SmartNode, type Params, type Result, type SmartNodeOwner } from './smart-node';

export { SmartError, SmartNode, type SmartNodeState } from './smart-node';
import { SimWifi, smartJoin, smartScanList } from './wifi';

export interface SmartModelOptions {
  /** The address get_device_info reports as `ip`. */
  ip?: string;
  /** Items per page of child lists. Default 10 (real firmware). */
  pageSize?: number;
  /** Longest multipleRequest accepted; longer → -1003. Default 5. */
  maxBatch?: number;
  now?: () => number;
}

export class SmartDeviceModel implements SimHandler, SmartNodeOwner {
  readonly profile: DeviceProfile;
  readonly root: SmartNode;
  readonly children: SmartNode[];
  readonly componentIds: Set<string>;
  ip: string;
  pageSize: number;
  maxBatch: number;
  readonly now: () => number;
  /** Wi-Fi onboarding state (wifi.ts). */
  readonly wifi: SimWifi;

  constructor(profile: DeviceProfile, opts: SmartModelOptions = {}) {
    if (!profile.smart) throw new Error(`Profile ${profile.id} is not a SMART device`);
    this.profile = profile;
    this.now = opts.now ?? Date.now;
    this.ip = opts.ip ?? '127.0.0.1';
    this.pageSize = opts.pageSize ?? 10;
    this.maxBatch = opts.maxBatch ?? 5;
    this.wifi = new SimWifi(profile.smart.ssid);
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
    const list = n.kind === 'device' ? s.components : (s.childComponents?.[n.kind] ?? '');
    m['component_nego'] = () => ({ component_list: componentList(list) });
    m['get_device_info'] = () => n.info();
    m['set_device_info'] = (q) => (n.setInfo(q), undefined);
    m['get_device_time'] = () => ({ timestamp: Math.floor(this.now() / 1000), time_diff: s.timeDiff, region: s.region });
    m['get_connect_cloud_state'] = () => ({ status: 0 });
    m['get_latest_fw'] = () => ({
      fw_ver: n.child?.fwVer ?? p.fwVer,
      hw_id: p.deviceId.slice(0, 32),
      need_to_upgrade: false,
      oem_id: p.deviceId.slice(8, 40),
      release_date: '',
      release_note: '',
      type: 0,
    });
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
      m['get_wireless_scan_info'] = (q) => ({ ...page(smartScanList(this.wifi), q, 'ap_list', this.pageSize), wep_supported: false });
      m['set_qs_info'] = (q) => {
        const code = smartJoin(this.wifi, q);
        if (code !== 0) throw new SmartError(code);
        return undefined;
      };
    }
    if (comps.has('led')) {
      const led = () => ({
        led_rule: n.state.ledRule,
        led_status: n.state.ledRule !== 'never',
        night_mode: { night_mode_type: 'sunrise_sunset', start_time: 1200, end_time: 420, sunrise_offset: 0, sunset_offset: 0 },
      });
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
      m['get_preset_rules'] = () =>
        n.isLight
          ? {
              states: [
                { brightness: 50, hue: 0, saturation: 0, color_temp: 2700 },
                { brightness: 100, hue: 240, saturation: 100, color_temp: 0 },
              ],
            }
          : { brightness: [100, 75, 50, 25, 1] };
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
      m['get_child_device_list'] = (q) =>
        page(
          kids().map((c) => c.info()),
          q,
          'child_device_list',
          this.pageSize,
        );
      m['get_child_device_component_list'] = (q) =>
        page(
          kids().map((c) => ({ device_id: c.deviceId, component_list: componentList(s.childComponents?.[c.kind as SmartChildSpec['kind']] ?? '') })),
          q,
          'child_component_list',
          this.pageSize,
        );
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
