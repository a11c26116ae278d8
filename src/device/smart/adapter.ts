/**
 * The SMART adapter: Tapo / SMART-Kasa `{method, params}` requests for every SMART family (plug,
 * strip outlets and hub sensors via get_child_device_list + control_child, dimmer, bulb, light
 * strip) and energy from get_energy_usage / get_emeter_data / get_current_power / get_energy_data.
 */
import { KasaTapoError } from '../../errors';
import { isObject } from '../../json';
import { b64Encode, type SmartProtocol, type SmartRequest } from '../../protocols/smart';
import type { ChildState, EnergyHistory, EnergyReading, TransportKind } from '../../types';
import { describe, type Adapter, type WithRaw } from '../adapter';
import type { Normalised } from '../caps';
import type { NormPatch } from '../patch';
import { normaliseSmartEnergy, normaliseSmartEnergyData, normaliseSmartInfo, smartComponents } from './normalise';

type Obj = Record<string, unknown>;
const ENERGY_METHODS = ['get_energy_usage', 'get_emeter_data', 'get_current_power'] as const;

export class SmartAdapter implements Adapter {
  private components?: Set<string>;

  constructor(
    readonly proto: SmartProtocol,
    private readonly where: { host: string; port: number; transport: TransportKind },
  ) {}

  get stats() {
    return this.proto.stats;
  }

  /** Throws KasaTapoError from the protocol (get_device_info errors, transport errors). */
  async read(): Promise<WithRaw<Normalised>> {
    const first = !this.components;
    const hasChildren = !!this.components && (this.components.has('child_device') || this.components.has('control_child'));
    const reqs: SmartRequest[] = [{ method: 'get_device_info' }];
    if (first) reqs.unshift({ method: 'component_nego' });
    if (hasChildren) reqs.push({ method: 'get_child_device_list', params: { start_index: 0 } });
    const res = await this.proto.multi(reqs);
    const info = res['get_device_info'];
    if (info instanceof KasaTapoError) throw info;
    if (!info) throw new KasaTapoError('EPROTOCOL', 'The device did not answer get_device_info', { host: this.where.host });
    // Every SMART device names itself; an empty result is another dialect's answer read as SMART (device/detect.ts).
    if (!['device_id', 'model', 'type'].some((k) => typeof info[k] === 'string')) {
      throw new KasaTapoError('EPROTOCOL', 'The get_device_info answer names no device (no device_id, model or type): not a SMART answer', {
        host: this.where.host,
        method: 'get_device_info',
      });
    }
    if (first) {
      const nego = res['component_nego'];
      this.components = smartComponents(nego instanceof KasaTapoError ? undefined : nego);
    }
    const raw: Obj = { get_device_info: info };
    let children: unknown[] | undefined;
    const comps = this.components!;
    if (comps.has('child_device') || comps.has('control_child')) {
      const page = res['get_child_device_list'];
      if (page instanceof KasaTapoError) throw page;
      children = await this.proto.list('get_child_device_list', 'child_device_list', {}, page);
      raw['get_child_device_list'] = { child_device_list: children, start_index: 0, sum: children.length };
    }
    return { value: normaliseSmartInfo(info, comps, children, this.where), raw };
  }

  /** Throws KasaTapoError from the protocol. */
  async apply(p: NormPatch, n: Normalised, child?: ChildState): Promise<unknown> {
    const params: Obj = {};
    const off = p.brightness === 0 && p.on === undefined;
    if (p.on !== undefined || off) params['device_on'] = off ? false : p.on;
    if (p.brightness !== undefined && !off) params['brightness'] = Math.max(1, p.brightness);
    if (p.hue !== undefined || p.saturation !== undefined) {
      params['color_temp'] = 0;
      if (p.hue !== undefined) params['hue'] = p.hue;
      if (p.saturation !== undefined) params['saturation'] = p.saturation;
    }
    if (p.colorTemp !== undefined) params['color_temp'] = p.colorTemp;
    if (p.alias !== undefined) params['nickname'] = b64Encode(p.alias);
    const raws: Obj = {};
    if (Object.keys(params).length > 0) {
      if (child) raws['set_device_info'] = await this.proto.controlChild(child.id, 'set_device_info', params);
      else if (n.state.family === 'strip' && Object.keys(params).length === 1 && 'device_on' in params) {
        // The strip itself has no relay: switch every outlet.
        for (const c of n.state.children ?? []) await this.proto.controlChild(c.id, 'set_device_info', params);
      } else raws['set_device_info'] = await this.proto.query('set_device_info', params);
    }
    if (p.led !== undefined) {
      const cur = await this.proto.query('get_led_info');
      const next: Obj = {};
      for (const [k, v] of Object.entries(cur)) if (k !== '__proto__') next[k] = v;
      next['led_rule'] = p.led ? 'always' : 'never';
      if (p.led) next['led_status'] = true;
      raws['set_led_info'] = await this.proto.query('set_led_info', next);
    }
    return raws;
  }

  /** Throws KasaTapoError EUNSUPPORTED (no meter) and protocol errors. */
  async energy(n: Normalised, child?: ChildState): Promise<WithRaw<EnergyReading>> {
    if (!child && !n.caps.energy) throw new KasaTapoError('EUNSUPPORTED', `${describe(n)} has no energy meter`);
    const got: Record<string, Obj | KasaTapoError> = child ? {} : await this.proto.multi(ENERGY_METHODS.map((method) => ({ method })));
    if (child) {
      for (const m of ENERGY_METHODS) {
        try {
          got[m] = await this.proto.controlChild(child.id, m);
        } catch (e) {
          if (!(e instanceof KasaTapoError) || (e.code !== 'EDEVICE' && e.code !== 'EUNSUPPORTED')) throw e;
          got[m] = e;
        }
      }
    }
    const ok = (m: string): Obj | undefined => {
      const v = got[m];
      return v && !(v instanceof KasaTapoError) ? v : undefined;
    };
    if (ENERGY_METHODS.every((m) => !ok(m))) {
      throw new KasaTapoError('EUNSUPPORTED', `${describe(n, child)} has no energy meter`, { cause: got[ENERGY_METHODS[0]] });
    }
    const raw: Obj = {};
    for (const m of ENERGY_METHODS) if (ok(m)) raw[m] = ok(m);
    return { value: normaliseSmartEnergy(ok('get_energy_usage'), ok('get_emeter_data'), ok('get_current_power')), raw };
  }

  /**
   * get_energy_data: days of a month (interval 1440, asked from the first day of the quarter, as
   * devices require) or months of a year (interval 43200). Throws KasaTapoError EUNSUPPORTED and
   * protocol errors.
   */
  async history(period: 'day' | 'month', year: number, month: number, n: Normalised, child?: ChildState): Promise<WithRaw<EnergyHistory>> {
    if (!child && !n.caps.energy) throw new KasaTapoError('EUNSUPPORTED', `${describe(n)} has no energy meter`);
    const startMonth = period === 'day' ? 3 * Math.floor((month - 1) / 3) : 0;
    const start = Date.UTC(year, startMonth, 1) / 1000;
    const end = (period === 'day' ? Date.UTC(year, month, 0) : Date.UTC(year, 11, 31)) / 1000;
    const params = { start_timestamp: start, end_timestamp: end, interval: period === 'day' ? 1440 : 43200 };
    try {
      const r = child ? await this.proto.controlChild(child.id, 'get_energy_data', params) : await this.proto.query('get_energy_data', params);
      return { value: normaliseSmartEnergyData(period, r, start, year, month), raw: { get_energy_data: r } };
    } catch (e) {
      if (e instanceof KasaTapoError && e.code === 'EUNSUPPORTED') {
        throw new KasaTapoError('EUNSUPPORTED', `${describe(n, child)} has no energy history`, { cause: e });
      }
      throw e;
    }
  }

  /** device_reboot. Throws KasaTapoError EDEVICE and protocol errors. */
  async reboot(_n: Normalised): Promise<unknown> {
    return { device_reboot: await this.proto.query('device_reboot', { delay: 1 }) };
  }

  /** Throws KasaTapoError EBADINPUT and transport/session errors. */
  async raw(request: unknown, child?: ChildState): Promise<unknown> {
    if (!child) return this.proto.raw(request);
    if (!isObject(request) || typeof request['method'] !== 'string') {
      throw new KasaTapoError('EBADINPUT', 'A SMART raw request must be {"method": "...", "params": {...}}');
    }
    return this.proto.raw({ method: 'control_child', params: { device_id: child.id, requestData: request } });
  }
}
