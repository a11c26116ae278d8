import { strict as assert } from 'node:assert';
import { clearRouteCache, connect, type ConnectOptions } from '../../src/connect';
import type { Device } from '../../src/device';
import { KasaTapoError, HINTS } from '../../src/errors';
import type { DiscoveryResult, TransportKind } from '../../src/types';
import { FakeTransport, type FakeHandler } from '../helpers/fake-transport';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const b64 = (s: string) => Buffer.from(s).toString('base64');
const isErr = (code: string, re?: RegExp) => (e: unknown) => e instanceof KasaTapoError && e.code === code && (!re || re.test(e.message));

// ------------------------------------------------------------------------------------------------
// A tiny IOT device: module/method handlers over a sysinfo object.

function iotDevice(sysinfo: Obj, extra: Obj = {}): FakeHandler {
  const light = (ls: Obj, p: Obj) => {
    for (const k of ['on_off', 'brightness', 'hue', 'saturation', 'color_temp']) if (k in p) ls[k] = p[k];
    return { err_code: 0, ...ls };
  };
  const emeter = {
    get_realtime: () => extra['realtime'] ?? { err_code: -1, err_msg: 'module not support' },
    get_daystat: (p: Obj) => ({
      err_code: 0,
      day_list: [
        { year: p['year'], month: p['month'], day: 1, energy_wh: 1500 },
        { year: p['year'], month: p['month'], day: new Date().getDate(), energy_wh: 250 },
      ],
    }),
    get_monthstat: (p: Obj) => ({ err_code: 0, month_list: [{ year: p['year'], month: new Date().getMonth() + 1, energy: 4.5 }] }),
  };
  const modules: Record<string, Record<string, (p: Obj, ctx?: string[]) => Obj>> = {
    system: {
      get_sysinfo: () => ({ err_code: 0, ...sysinfo }),
      set_relay_state: (p, ctx) => {
        if (ctx) for (const c of sysinfo['children'] as Obj[]) if (ctx.includes(c['id'])) c['state'] = p['state'];
        if (!ctx) sysinfo['relay_state'] = p['state'];
        return { err_code: 0 };
      },
      set_led_off: (p) => ((sysinfo['led_off'] = p['off']), { err_code: 0 }),
      set_dev_alias: (p, ctx) => {
        if (ctx) for (const c of sysinfo['children'] as Obj[]) if (ctx.includes(c['id'])) c['alias'] = p['alias'];
        if (!ctx) sysinfo['alias'] = p['alias'];
        return { err_code: 0 };
      },
    },
    'smartlife.iot.common.system': { set_dev_alias: (p) => ((sysinfo['alias'] = p['alias']), { err_code: 0 }) },
    'smartlife.iot.dimmer': {
      set_brightness: (p) => ((sysinfo['brightness'] = p['brightness']), { err_code: 0 }),
      set_dimmer_transition: (p) => ((sysinfo['brightness'] = p['brightness']), { err_code: 0 }),
    },
    'smartlife.iot.smartbulb.lightingservice': { transition_light_state: (p) => light(sysinfo['light_state'], p) },
    'smartlife.iot.lightStrip': { set_light_state: (p) => light(sysinfo['light_state'], p) },
    [extra['emeterModule'] ?? 'emeter']: emeter,
  };
  return (req) => {
    const ctx = (req['context'] as Obj | undefined)?.['child_ids'] as string[] | undefined;
    const out: Obj = {};
    for (const [mod, methods] of Object.entries(req)) {
      if (mod === 'context') continue;
      const m = modules[mod];
      if (!m) {
        out[mod] = { err_code: -1, err_msg: 'module not support' };
        continue;
      }
      out[mod] = {};
      for (const [meth, params] of Object.entries(methods as Obj))
        out[mod][meth] = m[meth] ? m[meth](params as Obj, ctx) : { err_code: -2, err_msg: 'member not support' };
    }
    return out;
  };
}

// A tiny SMART device: method handlers, batches, control_child.
function smartDevice(methods: Record<string, (p: Obj) => unknown>, children: Record<string, Record<string, (p: Obj) => unknown>> = {}): FakeHandler {
  const one = (m: string, p: Obj = {}, table = methods): Obj => {
    const h = table[m];
    if (!h) return { error_code: -1002 };
    const r = h(p);
    return r instanceof KasaTapoError ? { error_code: r.deviceCode } : { error_code: 0, result: r };
  };
  return (req) => {
    const m = req['method'] as string;
    const p = (req['params'] as Obj) ?? {};
    if (m === 'multipleRequest')
      return { error_code: 0, result: { responses: (p['requests'] as Obj[]).map((r) => ({ method: r['method'], ...one(r['method'], r['params']) })) } };
    if (m === 'control_child') {
      const c = children[p['device_id']];
      if (!c) return { error_code: -1008 };
      return { error_code: 0, result: { responseData: one(p['requestData']['method'], p['requestData']['params'], c) } };
    }
    return one(m, p);
  };
}

let last: FakeTransport;
async function open(kind: TransportKind, handler: FakeHandler, extra: Partial<ConnectOptions> = {}): Promise<Device> {
  return connect({
    host: '127.0.0.1',
    transport: kind,
    backoffMs: 1,
    createTransport: (k, o) => (last = new FakeTransport(k, handler, o.host, o.port)),
    ...extra,
  });
}

// ------------------------------------------------------------------------------------------------

describe('device facade', () => {
  describe('IOT', () => {
    const plug = () => ({
      mic_type: 'IOT.SMARTPLUGSWITCH',
      model: 'HS100(US)',
      alias: 'Kettle',
      relay_state: 1,
      led_off: 0,
      on_time: 60,
      rssi: -40,
      mac: '50:C7:BF:00:00:01',
      feature: 'TIM',
      deviceId: 'P1',
      sw_ver: '1.5.6',
      hw_ver: '2.0',
    });

    it('plug: state, setState, unsupported features', async () => {
      const dev = await open('xor', iotDevice(plug()));
      assert.deepEqual(dev.info(), { host: '127.0.0.1', port: 9999, family: 'plug', protocol: 'xor', alias: 'Kettle', model: 'HS100' });
      const s = await dev.getState();
      assert.deepEqual(s, {
        host: '127.0.0.1',
        port: 9999,
        family: 'plug',
        protocol: 'xor',
        alias: 'Kettle',
        model: 'HS100',
        mac: '50:C7:BF:00:00:01',
        deviceId: 'P1',
        firmware: '1.5.6',
        hardware: '2.0',
        rssi: -40,
        on: true,
        led: true,
        onTimeS: 60,
        hasEnergyMeter: false,
      });
      const off = await dev.setState({ on: false, led: false });
      assert.equal(off.on, false);
      assert.equal(off.led, false);
      assert.deepEqual(last.sent.slice(-3, -1), [{ system: { set_relay_state: { state: 0 } } }, { system: { set_led_off: { off: 1 } } }]);
      await assert.rejects(dev.setState({ brightness: 50 }), isErr('EUNSUPPORTED', /HS100 does not support brightness/));
      await assert.rejects(dev.setState({ color: 'red' }), isErr('EUNSUPPORTED', /HS100 does not support colour/));
      await assert.rejects(dev.setState({ on: 'yes' } as never), isErr('EBADINPUT', /on must be true or false/));
      await assert.rejects(dev.getEnergy(), isErr('EUNSUPPORTED', /HS100 has no energy meter/));
      await assert.rejects(dev.setState({ on: true }, 0), isErr('ENOTFOUND'));
      await dev.close();
      await assert.rejects(dev.getState(), isErr('ECLOSED'));
    });

    it('energy plug v1 and v2 units, today/month, history', async () => {
      for (const realtime of [
        { err_code: 0, current: 0.45, voltage: 230.8, power: 61.75, total: 16.3 },
        { err_code: 0, current_ma: 450, voltage_mv: 230800, power_mw: 61750, total_wh: 16300 },
      ]) {
        const dev = await open('xor', iotDevice({ ...plug(), model: 'HS110(EU)', feature: 'TIM:ENE' }, { realtime }));
        assert.equal((await dev.getState()).hasEnergyMeter, true);
        const { value: e, raw: eRaw } = await dev.withRaw((d) => d.getEnergy());
        assert.deepEqual(e, { powerW: 61.75, voltageV: 230.8, currentA: 0.45, totalKWh: 16.3, todayKWh: 0.25, monthKWh: 4.5 });
        assert.ok(Array.isArray(eRaw));
        const h = await dev.getEnergyHistory('day', { year: 2024, month: 2 });
        assert.deepEqual(h.entries[0], { date: '2024-02-01', kWh: 1.5 });
        assert.deepEqual(last.sent.at(-1), { emeter: { get_daystat: { year: 2024, month: 2 } } });
        const m = await dev.getEnergyHistory('month', { year: 2023 });
        assert.equal(m.period, 'month');
        assert.deepEqual(last.sent.at(-1), { emeter: { get_monthstat: { year: 2023 } } });
        await assert.rejects(dev.getEnergyHistory('week' as never), isErr('EBADINPUT'));
        await assert.rejects(dev.getEnergyHistory('day', { month: 13 }), isErr('EBADINPUT'));
      }
    });

    it('strip: children by index, id and alias via context.child_ids', async () => {
      const kids = [0, 1, 2].map((i) => ({ id: `STRIP0${i}`, alias: `Outlet ${i + 1}`, state: 0, on_time: 0 }));
      const dev = await open(
        'xor',
        iotDevice({
          mic_type: 'IOT.SMARTPLUGSWITCH',
          model: 'KP303(UK)',
          alias: 'Strip',
          deviceId: 'STRIP',
          children: kids,
          child_num: 3,
          led_off: 0,
          feature: 'TIM',
        }),
      );
      const s = await dev.getState();
      assert.equal(s.family, 'strip');
      assert.deepEqual(s.children![1], { id: 'STRIP01', index: 1, family: 'plug', kind: 'outlet', alias: 'Outlet 2', on: false, onTimeS: 0 });
      let st = await dev.setState({ on: true }, 1);
      assert.equal(last.texts.at(-2), '{"context":{"child_ids":["STRIP01"]},"system":{"set_relay_state":{"state":1}}}');
      assert.equal(st.children![1]!.on, true);
      st = await dev.setState({ on: true }, 'STRIP02');
      assert.equal(st.children![2]!.on, true);
      st = await dev.setState({ alias: 'Lamp' }, 'outlet 1');
      assert.equal(st.children![0]!.alias, 'Lamp');
      assert.equal((await dev.setState({ on: false }, 'Lamp')).children![0]!.on, false);
      st = await dev.setState({ on: false });
      assert.ok(st.children!.every((c) => c.on === false));
      assert.equal(st.on, false);
      await assert.rejects(dev.setState({ on: true }, 7), isErr('ENOTFOUND', /Outlet 2/));
      await assert.rejects(dev.setState({ on: true }, 'nope'), isErr('ENOTFOUND'));
      await assert.rejects(dev.setState({ brightness: 5 }, 0), isErr('EUNSUPPORTED'));
    });

    it('dimmer: brightness with and without transition', async () => {
      const dev = await open(
        'xor',
        iotDevice({ mic_type: 'IOT.SMARTPLUGSWITCH', dev_name: 'Wi-Fi Smart Dimmer', model: 'HS220(US)', brightness: 100, relay_state: 0, led_off: 0 }),
      );
      assert.equal((await dev.getState()).family, 'dimmer');
      const s = await dev.setState({ brightness: 30, on: true });
      assert.equal(s.brightness, 30);
      assert.equal(s.on, true);
      await dev.setState({ brightness: 40, transition: 1000 });
      assert.ok(last.sent.some((r) => JSON.stringify(r) === '{"smartlife.iot.dimmer":{"set_dimmer_transition":{"brightness":40,"duration":1000}}}'));
      await assert.rejects(dev.setState({ hue: 5 }), isErr('EUNSUPPORTED', /HS220/));
    });

    it('colour bulb: lightingservice, colour names, transition, bulb module names, one method per exchange', async () => {
      const ls = { on_off: 1, brightness: 50, hue: 0, saturation: 0, color_temp: 2700, mode: 'normal' };
      const dev = await open(
        'xor',
        iotDevice(
          { mic_type: 'IOT.SMARTBULB', model: 'KL130(US)', alias: 'Bulb', is_color: 1, is_dimmable: 1, is_variable_color_temp: 1, light_state: ls },
          { emeterModule: 'smartlife.iot.common.emeter', realtime: { err_code: 0, power_mw: 800 } },
        ),
      );
      assert.deepEqual((await dev.getState()).colorTemp, 2700);
      const s = await dev.setState({ color: '#ff0000', transition: 500 });
      assert.deepEqual([s.hue, s.saturation, s.brightness, s.colorTemp], [0, 100, 100, undefined]);
      assert.deepEqual(last.sent.at(-2), {
        'smartlife.iot.smartbulb.lightingservice': {
          transition_light_state: { color_temp: 0, hue: 0, saturation: 100, brightness: 100, ignore_default: 1, mode: 'normal', transition_period: 500 },
        },
      });
      await dev.setState({ on: true });
      assert.equal((last.sent.at(-2)!['smartlife.iot.smartbulb.lightingservice'] as Obj)['transition_light_state']['ignore_default'], 0);
      await dev.setState({ alias: 'B2' });
      assert.ok('smartlife.iot.common.system' in last.sent.at(-2)!);
      const n = last.sent.length;
      const e = await dev.getEnergy();
      assert.equal(e.powerW, 0.8);
      assert.equal(last.sent.length - n, 3); // realtime, daystat, monthstat: each alone
      assert.ok(last.sent.slice(n).every((r) => Object.keys(r).length === 1 && Object.keys(Object.values(r)[0] as Obj).length === 1));
      await assert.rejects(dev.setState({ led: true }), isErr('EUNSUPPORTED'));
    });

    it('dimmable-only bulb rejects colour; light strip uses set_light_state', async () => {
      const white = await open(
        'xor',
        iotDevice({
          mic_type: 'IOT.SMARTBULB',
          model: 'KL110(US)',
          is_color: 0,
          is_dimmable: 1,
          is_variable_color_temp: 0,
          light_state: { on_off: 1, brightness: 10 },
        }),
      );
      await assert.rejects(white.setState({ colorTemp: 3000 }), isErr('EUNSUPPORTED', /KL110 does not support colour temperature/));
      const strip = await open(
        'xor',
        iotDevice({
          mic_type: 'IOT.SMARTBULB',
          model: 'KL430(US)',
          length: 16,
          is_color: 1,
          is_dimmable: 1,
          is_variable_color_temp: 1,
          light_state: { on_off: 0, dft_on_state: { brightness: 100 } },
        }),
      );
      assert.equal((await strip.getState()).family, 'lightstrip');
      await strip.setState({ on: true, hue: 200, saturation: 50, transition: 100 });
      assert.deepEqual(last.sent.at(-2), {
        'smartlife.iot.lightStrip': {
          set_light_state: { on_off: 1, color_temp: 0, hue: 200, saturation: 50, ignore_default: 1, mode: 'normal', transition: 100 },
        },
      });
    });

    it('raw sends as is, with the child context', async () => {
      const dev = await open('xor', iotDevice({ mic_type: 'IOT.SMARTPLUGSWITCH', children: [{ id: 'S00', state: 0 }], deviceId: 'S' }));
      const { value: a, raw: aRaw } = await dev.withRaw((d) => d.raw({ time: { get_time: {} } }, 0));
      assert.deepEqual(a, { time: { err_code: -1, err_msg: 'module not support' } });
      assert.equal(last.texts.at(-1), '{"context":{"child_ids":["S00"]},"time":{"get_time":{}}}');
      assert.deepEqual(aRaw, a);
    });
  });

  describe('SMART', () => {
    const comps = (...ids: string[]) => ({ component_list: ['device', ...ids].map((id) => ({ id, ver_code: 2 })) });

    it('energy plug: state, setState, energy in mW/Wh, history with get_energy_data', async () => {
      const info: Obj = {
        type: 'SMART.KASAPLUG',
        model: 'KP125M',
        device_on: true,
        nickname: b64('Fridge'),
        mac: '78-8C-B5-00-00-02',
        device_id: 'K1',
        fw_ver: '1.2.3',
        hw_ver: '1.0',
        rssi: -50,
        on_time: 10,
      };
      const dev = await open(
        'klap',
        smartDevice({
          component_nego: () => comps('energy_monitoring', 'led'),
          get_device_info: () => info,
          set_device_info: (p) => (Object.assign(info, p), {}),
          get_energy_usage: () => ({ current_power: 17654, today_energy: 46, month_energy: 430 }),
          get_emeter_data: () => ({ power_mw: 17654, voltage_mv: 121215, current_ma: 150, energy_wh: 430 }),
          get_current_power: () => ({ current_power: 17 }),
          get_energy_data: (p) => ({ data: new Array(91).fill(100), start_timestamp: p['start_timestamp'], interval: p['interval'] }),
          get_led_info: () => ({ led_rule: 'always', led_status: true, night_mode: { x: 1 } }),
          set_led_info: () => ({}),
        }),
      );
      const { value: s, raw: sRaw } = await dev.withRaw((d) => d.getState());
      assert.deepEqual(s, {
        host: '127.0.0.1',
        port: 80,
        family: 'plug',
        protocol: 'klap',
        on: true,
        alias: 'Fridge',
        model: 'KP125M',
        mac: '78:8C:B5:00:00:02',
        deviceId: 'K1',
        firmware: '1.2.3',
        hardware: '1.0',
        rssi: -50,
        onTimeS: 10,
        hasEnergyMeter: true,
      });
      assert.deepEqual(Object.keys(sRaw as Obj), ['get_device_info']);
      const off = await dev.setState({ on: false, alias: 'Cold' });
      assert.equal(off.on, false);
      assert.equal(off.alias, 'Cold');
      assert.deepEqual((last.sent.at(-2) as Obj)['params'], { device_on: false, nickname: b64('Cold') });
      await dev.setState({ led: false });
      assert.deepEqual(last.sent.at(-2)!['params'], { led_rule: 'never', led_status: true, night_mode: { x: 1 } });
      assert.deepEqual(await dev.getEnergy(), { powerW: 17.654, voltageV: 121.215, currentA: 0.15, todayKWh: 0.046, monthKWh: 0.43 });
      const h = await dev.getEnergyHistory('day', { year: 2024, month: 5 });
      const q = last.sent.at(-1)!['params'] as Obj;
      assert.deepEqual(q, { start_timestamp: Date.UTC(2024, 3, 1) / 1000, end_timestamp: Date.UTC(2024, 4, 31) / 1000, interval: 1440 });
      assert.equal(h.entries.length, 31);
      assert.deepEqual(h.entries[30], { date: '2024-05-31', kWh: 0.1 });
      const m = await dev.getEnergyHistory('month', { year: 2024 });
      assert.equal((last.sent.at(-1)!['params'] as Obj)['interval'], 43200);
      assert.equal(m.entries.length, 12);
      await assert.rejects(dev.setState({ brightness: 10 }), isErr('EUNSUPPORTED', /KP125M/));
    });

    it('plain plug without meter: EUNSUPPORTED for energy', async () => {
      const dev = await open(
        'aes',
        smartDevice({ component_nego: () => comps('led'), get_device_info: () => ({ type: 'SMART.TAPOPLUG', model: 'P100', device_on: false }) }),
      );
      await assert.rejects(dev.getEnergy(), isErr('EUNSUPPORTED', /P100 has no energy meter/));
      await assert.rejects(dev.getEnergyHistory('day'), isErr('EUNSUPPORTED'));
    });

    it('strip: paged children, control_child by index/id/alias, child energy, all outlets', async () => {
      const kids: Obj[] = [1, 2, 3].map((i) => ({
        device_id: `C${i}`,
        position: i,
        category: 'plug.powerstrip.sub-plug',
        device_on: false,
        nickname: b64(`Socket ${i}`),
        model: 'P304M',
      }));
      const childTable = (k: Obj) => ({
        set_device_info: (p: Obj) => (Object.assign(k, p), {}),
        get_energy_usage: () => ({ today_energy: 5, month_energy: 14 }),
        get_current_power: () => ({ current_power: 3 }),
      });
      const dev = await open(
        'klap',
        smartDevice(
          {
            component_nego: () => comps('child_device', 'control_child', 'energy_monitoring'),
            get_device_info: () => ({ type: 'SMART.TAPOPLUG', model: 'P304M', nickname: b64('Power strip') }),
            get_child_device_list: (p) => ({
              child_device_list: kids.slice(p['start_index'] ?? 0, (p['start_index'] ?? 0) + 2),
              start_index: p['start_index'] ?? 0,
              sum: 3,
            }),
          },
          Object.fromEntries(kids.map((k) => [k['device_id'], childTable(k)])),
        ),
      );
      const s = await dev.getState();
      assert.equal(s.family, 'strip');
      assert.deepEqual(
        s.children!.map((c) => [c.id, c.index, c.alias, c.on, c.kind]),
        [
          ['C1', 0, 'Socket 1', false, 'outlet'],
          ['C2', 1, 'Socket 2', false, 'outlet'],
          ['C3', 2, 'Socket 3', false, 'outlet'],
        ],
      );
      assert.equal(s.on, false);
      let st = await dev.setState({ on: true }, 'Socket 2');
      assert.deepEqual(
        st.children!.map((c) => c.on),
        [false, true, false],
      );
      st = await dev.setState({ on: true }, 2);
      st = await dev.setState({ on: true }, 'C1');
      assert.equal(st.on, true);
      st = await dev.setState({ on: false });
      assert.deepEqual(
        st.children!.map((c) => c.on),
        [false, false, false],
      );
      assert.deepEqual(await dev.getEnergy('Socket 3'), { powerW: 3, todayKWh: 0.005, monthKWh: 0.014 });
      await assert.rejects(dev.getEnergy(9), isErr('ENOTFOUND'));
    });

    it('colour bulb and dimmer switch via set_device_info', async () => {
      const info: Obj = {
        type: 'SMART.TAPOBULB',
        model: 'L530',
        device_on: true,
        brightness: 100,
        hue: 0,
        saturation: 100,
        color_temp: 2700,
        color_temp_range: [2500, 6500],
      };
      const dev = await open(
        'klap',
        smartDevice({
          component_nego: () => comps('brightness', 'color', 'color_temperature'),
          get_device_info: () => info,
          set_device_info: (p) => (Object.assign(info, p), {}),
        }),
      );
      let s = await dev.setState({ color: 'green' });
      assert.deepEqual(last.sent.at(-2)!['params'], { brightness: 50, color_temp: 0, hue: 120, saturation: 100 });
      assert.deepEqual([s.hue, s.saturation, s.brightness, s.colorTemp], [120, 100, 50, undefined]);
      s = await dev.setState({ colorTemp: 4000, brightness: 0 });
      assert.deepEqual(last.sent.at(-2)!['params'], { device_on: false, color_temp: 4000 });
      assert.equal(s.on, false);
      assert.deepEqual(s.colorTempRange, [2500, 6500]);
      const sw = await open(
        'klap',
        smartDevice({
          component_nego: () => comps('brightness', 'led'),
          get_device_info: () => ({ type: 'SMART.KASASWITCH', model: 'KS225', device_on: true, brightness: 5 }),
        }),
      );
      assert.equal((await sw.getState()).family, 'dimmer');
      await assert.rejects(sw.setState({ hue: 3 }), isErr('EUNSUPPORTED', /KS225/));
    });

    it('hub with sensors: T315, T110, T100', async () => {
      const list = [
        {
          device_id: 'S1',
          category: 'subg.trigger.temp-hmdt-sensor',
          model: 'T315',
          nickname: b64('Bath'),
          current_temp: 24,
          current_humidity: 62,
          at_low_battery: false,
          status: 'online',
          temp_unit: 'celsius',
        },
        { device_id: 'S2', category: 'subg.trigger.contact-sensor', model: 'T110', nickname: b64('Door'), open: true, at_low_battery: true },
        { device_id: 'S3', category: 'subg.trigger.motion-sensor', model: 'T100', nickname: b64('Hall'), detected: false },
      ];
      const dev = await open(
        'aes',
        smartDevice({
          component_nego: () => comps('child_device', 'control_child'),
          get_device_info: () => ({ type: 'SMART.TAPOHUB', model: 'H100', nickname: b64('Hub') }),
          get_child_device_list: () => ({ child_device_list: list, start_index: 0, sum: 3 }),
        }),
        { loginVersion: 2 },
      );
      const s = await dev.getState();
      assert.equal(s.family, 'hub');
      assert.equal(s.on, undefined);
      assert.deepEqual(s.children, [
        {
          id: 'S1',
          index: 0,
          family: 'sensor',
          alias: 'Bath',
          model: 'T315',
          kind: 'temperature-humidity',
          temperatureC: 24,
          humidityPercent: 62,
          batteryLow: false,
          online: true,
        },
        { id: 'S2', index: 1, family: 'sensor', alias: 'Door', model: 'T110', kind: 'contact', open: true, batteryLow: true },
        { id: 'S3', index: 2, family: 'sensor', alias: 'Hall', model: 'T100', kind: 'motion', detected: false },
      ]);
      await assert.rejects(dev.setState({ on: true }), isErr('EUNSUPPORTED', /H100 does not support switching/));
      await assert.rejects(dev.setState({ on: true }, 'Door'), isErr('EUNSUPPORTED', /contact "Door"/));
    });

    it('raw: as is, and wrapped in control_child for a child', async () => {
      const dev = await open(
        'klap',
        smartDevice(
          {
            component_nego: () => comps('child_device'),
            get_device_info: () => ({ type: 'SMART.TAPOPLUG' }),
            get_child_device_list: () => ({ child_device_list: [{ device_id: 'C1', category: 'plug.powerstrip.sub-plug' }], sum: 1 }),
            get_led_info: () => ({ led_rule: 'never' }),
          },
          { C1: { get_device_info: () => ({ device_on: true }) } },
        ),
      );
      assert.deepEqual(await dev.raw({ method: 'get_led_info' }), { error_code: 0, result: { led_rule: 'never' } });
      assert.deepEqual(await dev.raw({ method: 'get_device_info' }, 0), {
        error_code: 0,
        result: { responseData: { error_code: 0, result: { device_on: true } } },
      });
      assert.deepEqual(await dev.raw({ method: 'nope' }), { error_code: -1002 });
      await assert.rejects(dev.raw({ nope: 1 }), isErr('EBADINPUT'));
    });

    it('hostile answers: no pollution, no crash, fields left out', async () => {
      const info = '{"__proto__":{"polluted":1},"type":"SMART.TAPOPLUG","device_on":"true","nickname":"%%%","rssi":-1e300,"model":42,"on_time":1e999}';
      const dev = await open('klap', (req) =>
        req['method'] === 'multipleRequest'
          ? JSON.parse(
              `{"error_code":0,"result":{"responses":[{"method":"component_nego","error_code":0,"result":{"component_list":"x"}},{"method":"get_device_info","error_code":0,"result":${info}}]}}`,
            )
          : JSON.parse(`{"error_code":0,"result":${info}}`),
      );
      const s = await dev.getState();
      assert.deepEqual(s, { host: '127.0.0.1', port: 80, family: 'plug', protocol: 'klap', alias: '%%%' });
      assert.equal(({} as Obj)['polluted'], undefined);
    });
  });

  describe('retry policy through the facade', () => {
    it('ESESSION is replayed once transparently; auth is not retried', async () => {
      let expire = false;
      const handler = smartDevice({ component_nego: () => ({ component_list: [] }), get_device_info: () => ({ type: 'SMART.TAPOPLUG', device_on: true }) });
      const dev = await open('klap', (req, n) => {
        if (expire) {
          expire = false;
          throw new KasaTapoError('ESESSION', 'expired');
        }
        return handler(req, n);
      });
      const t = last;
      expire = true;
      assert.equal((await dev.getState()).on, true);
      assert.equal(t.resets, 1);
      assert.equal((dev as unknown as { stats: { retries: number } }).stats.retries, 1);

      let calls = 0;
      await assert.rejects(
        open('klap', () => {
          calls++;
          throw new KasaTapoError('EAUTH', 'bad', { hint: HINTS.auth });
        }),
        isErr('EAUTH'),
      );
      assert.equal(calls, 1);
      assert.equal(last.closed, true);
    });

    it('device busy: retried with backoff, then EBUSY', async () => {
      let busy = 1;
      const handler = smartDevice({ component_nego: () => ({ component_list: [] }), get_device_info: () => ({ type: 'SMART.TAPOPLUG', device_on: true }) });
      const dev = await open('klap', (req, n) => (busy-- > 0 ? { error_code: -1301 } : handler(req, n)), { retries: 1 });
      assert.equal((await dev.getState()).on, true);
      busy = 5;
      await assert.rejects(dev.getState(), isErr('EBUSY'));
    });
  });

  describe('connect()', () => {
    beforeEach(() => clearRouteCache());

    it('rejects bad input', async () => {
      await assert.rejects(connect({ host: '' }), isErr('EBADINPUT'));
      await assert.rejects(connect({ host: 'h', transport: 'ssl' as never }), isErr('EBADINPUT'));
    });

    it('uses a discovery answer; refuses unsupported ones with the reason', async () => {
      const made: [TransportKind, number, number | undefined][] = [];
      const disc: DiscoveryResult = {
        host: '127.0.0.1',
        port: 8080,
        family: 'plug',
        protocol: 'smart',
        transport: 'aes',
        loginVersion: 2,
        supported: true,
        raw: {},
      };
      const handler = smartDevice({ get_device_info: () => ({ type: 'SMART.TAPOPLUG', device_on: false }) });
      const dev = await connect({
        host: '127.0.0.1',
        discovery: disc,
        createTransport: (k, o) => (made.push([k, o.port!, o.loginVersion]), new FakeTransport(k, handler, o.host, o.port)),
      });
      assert.deepEqual(made, [['aes', 8080, 2]]);
      assert.equal(dev.info()!.protocol, 'aes');
      await assert.rejects(
        connect({
          host: '127.0.0.1',
          discovery: { ...disc, supported: false, transport: undefined, reason: HINTS.tpap },
          createTransport: () => assert.fail('no transport expected'),
        }),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'EUNSUPPORTED' && e.hint === HINTS.tpap,
      );
    });

    it('probes XOR, KLAP (both hash versions at once), AES, TPAP in order, keeps the most telling error, remembers the winner', async () => {
      const tried: TransportKind[] = [];
      const plug = smartDevice({ get_device_info: () => ({ type: 'SMART.TAPOPLUG', model: 'P110', device_on: true }) });
      const factory = (winner: TransportKind | undefined) => (k: TransportKind, o: { host: string; port?: number }) => {
        tried.push(k);
        return new FakeTransport(
          k,
          (req, n) => {
            if (k === winner) return plug(req, n);
            if (k === 'klap') throw new KasaTapoError('EAUTH', 'hash mismatch');
            throw new KasaTapoError('ECONNREFUSED', 'refused');
          },
          o.host,
          o.port,
        );
      };
      const dev = await connect({ host: '127.0.0.1', discoveryTimeoutMs: 0, createTransport: factory('tpap') });
      assert.deepEqual(tried, ['xor', 'klap', 'aes', 'tpap']);
      assert.equal(dev.info()!.protocol, 'tpap');
      tried.length = 0;
      await connect({ host: '127.0.0.1', discoveryTimeoutMs: 0, createTransport: factory('tpap') });
      assert.deepEqual(tried, ['tpap']);
      clearRouteCache();
      await assert.rejects(connect({ host: '127.0.0.1', discoveryTimeoutMs: 0, createTransport: factory(undefined) }), isErr('EAUTH'));
    });
  });
});
