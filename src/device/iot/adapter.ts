/**
 * The IOT adapter: Kasa `{module:{method:params}}` requests for every IOT family (plug, strip via
 * `context.child_ids`, dimmer, bulb via lightingservice, light strip via lightStrip) and emeter
 * energy in both unit generations.
 */
import { KasaTapoError } from '../../errors';
import { IOT_DIMMER, IOT_LIGHTING, IOT_LIGHTSTRIP, IOT_MODULES, type IotProtocol, type IotRequest } from '../../protocols/iot';
import type { ChildState, EnergyHistory, EnergyReading, TransportKind } from '../../types';
import { describe, type Adapter, type WithRaw } from '../adapter';
import type { Normalised } from '../caps';
import { obj } from '../fields';
import type { NormPatch } from '../patch';
import { iotTodayMonth, normaliseIotRealtime, normaliseIotStats, normaliseIotSysinfo } from './normalise';

const isLight = (n: Normalised): boolean => n.state.family === 'bulb' || n.state.family === 'lightstrip';

export class IotAdapter implements Adapter {
  constructor(
    readonly proto: IotProtocol,
    private readonly where: { host: string; port: number; transport: TransportKind },
  ) {}

  get stats() {
    return this.proto.stats;
  }

  private mods(n: Normalised) {
    return IOT_MODULES[isLight(n) ? 'bulb' : 'plug'];
  }

  /** Throws KasaTapoError from the protocol (EDEVICE, EPROTOCOL, transport errors). */
  async read(): Promise<WithRaw<Normalised>> {
    const ans = await this.proto.exchange({ system: { get_sysinfo: {} } });
    const value = normaliseIotSysinfo(ans.value['system']!['get_sysinfo']!, this.where);
    this.proto.splitMethods = isLight(value);
    return { value, raw: ans.raw };
  }

  /** Throws KasaTapoError from the protocol. */
  async apply(p: NormPatch, n: Normalised, child?: ChildState): Promise<unknown> {
    const raws: unknown[] = [];
    const send = async (req: IotRequest, ids?: string[]) => {
      raws.push((await this.proto.exchange(req, ids)).raw);
    };
    const mods = this.mods(n);
    const family = n.state.family;
    // Turning a whole strip on/off without naming an outlet acts on every outlet.
    const allOutlets = family === 'strip' && !child ? (n.state.children ?? []).map((c) => c.id) : undefined;
    const ids = child ? [child.id] : allOutlets;
    const off = p.brightness === 0 && p.on === undefined;

    if (isLight(n) && !child) {
      const ls: Record<string, unknown> = {};
      if (p.on !== undefined || off) ls['on_off'] = off ? 0 : p.on ? 1 : 0;
      if (p.brightness !== undefined && !off) ls['brightness'] = p.brightness;
      if (p.hue !== undefined || p.saturation !== undefined) {
        ls['color_temp'] = 0;
        if (p.hue !== undefined) ls['hue'] = p.hue;
        if (p.saturation !== undefined) ls['saturation'] = p.saturation;
      }
      if (p.colorTemp !== undefined) ls['color_temp'] = p.colorTemp;
      if (Object.keys(ls).length > 0) {
        const onlyOn = Object.keys(ls).length === 1 && ls['on_off'] === 1;
        ls['ignore_default'] = onlyOn ? 0 : 1;
        ls['mode'] = 'normal';
        if (p.transition !== undefined) ls[family === 'lightstrip' ? 'transition' : 'transition_period'] = p.transition;
        await send(family === 'lightstrip' ? { [IOT_LIGHTSTRIP]: { set_light_state: ls } } : { [IOT_LIGHTING]: { transition_light_state: ls } });
      }
    } else {
      if (p.brightness !== undefined && !off) {
        const b = Math.max(1, p.brightness);
        await send({
          [IOT_DIMMER]:
            p.transition !== undefined ? { set_dimmer_transition: { brightness: b, duration: p.transition } } : { set_brightness: { brightness: b } },
        });
      }
      if (p.on !== undefined || off) await send({ [mods.system]: { set_relay_state: { state: p.on && !off ? 1 : 0 } } }, ids);
    }
    if (p.led !== undefined) await send({ [mods.system]: { set_led_off: { off: p.led ? 0 : 1 } } });
    if (p.alias !== undefined) await send({ [mods.systemSet]: { set_dev_alias: { alias: p.alias } } }, child ? [child.id] : undefined);
    return raws.length === 1 ? raws[0] : raws;
  }

  /** Rewrap "module not support" as EUNSUPPORTED naming the model. */
  private async meter<T>(n: Normalised, child: ChildState | undefined, fn: () => Promise<T>): Promise<T> {
    if (!isLight(n) && !n.caps.energy) throw new KasaTapoError('EUNSUPPORTED', `${describe(n, child)} has no energy meter`);
    try {
      return await fn();
    } catch (e) {
      if (e instanceof KasaTapoError && e.code === 'EUNSUPPORTED') {
        throw new KasaTapoError('EUNSUPPORTED', `${describe(n, child)} has no energy meter`, {
          cause: e,
          ...(e.deviceCode !== undefined ? { deviceCode: e.deviceCode } : {}),
        });
      }
      throw e;
    }
  }

  /** Throws KasaTapoError EUNSUPPORTED (no meter) and protocol errors. */
  async energy(n: Normalised, child?: ChildState): Promise<WithRaw<EnergyReading>> {
    const em = this.mods(n).emeter;
    const ids = child ? [child.id] : undefined;
    return this.meter(n, child, async () => {
      const rt = await this.proto.exchange({ [em]: { get_realtime: {} } }, ids);
      const raw: unknown[] = [rt.raw];
      const value = normaliseIotRealtime(rt.value[em]!['get_realtime']!);
      const now = new Date();
      try {
        const st = await this.proto.exchange(
          { [em]: { get_daystat: { year: now.getFullYear(), month: now.getMonth() + 1 }, get_monthstat: { year: now.getFullYear() } } },
          ids,
        );
        raw.push(st.raw);
        Object.assign(value, iotTodayMonth(obj(st.value[em]?.['get_daystat']), obj(st.value[em]?.['get_monthstat']), now));
      } catch (e) {
        // Statistics are optional: the reading stands without them, but connection problems do not.
        if (!(e instanceof KasaTapoError) || !['EDEVICE', 'EUNSUPPORTED', 'EPROTOCOL'].includes(e.code)) throw e;
      }
      return { value, raw: raw.length === 1 ? raw[0] : raw };
    });
  }

  /** Throws KasaTapoError EUNSUPPORTED (no meter) and protocol errors. */
  async history(period: 'day' | 'month', year: number, month: number, n: Normalised, child?: ChildState): Promise<WithRaw<EnergyHistory>> {
    const em = this.mods(n).emeter;
    const method = period === 'day' ? 'get_daystat' : 'get_monthstat';
    const params = period === 'day' ? { year, month } : { year };
    return this.meter(n, child, async () => {
      const ans = await this.proto.exchange({ [em]: { [method]: params } }, child ? [child.id] : undefined);
      return { value: normaliseIotStats(period, ans.value[em]![method]!), raw: ans.raw };
    });
  }

  /** `system.reboot` (bulbs: their own system module). Throws KasaTapoError EDEVICE and protocol errors. */
  async reboot(n: Normalised): Promise<unknown> {
    return (await this.proto.exchange({ [this.mods(n).systemSet]: { reboot: { delay: 1 } } })).raw;
  }

  /** Throws KasaTapoError EBADINPUT and transport errors. */
  raw(request: unknown, child?: ChildState): Promise<unknown> {
    return this.proto.raw(request, child ? [child.id] : undefined);
  }
}
