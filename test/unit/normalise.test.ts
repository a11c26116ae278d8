import { strict as assert } from 'node:assert';
import {
  normaliseIotRealtime,
  normaliseIotStats,
  normaliseIotSysinfo,
  normaliseSmartChild,
  normaliseSmartEnergy,
  normaliseSmartEnergyData,
  normaliseSmartInfo,
  normaliseMac,
  iotTodayMonth,
} from '../../src/device/normalise';
import { parseColor, validatePatch } from '../../src/device/patch';
import { baseModel, classifyIot, classifySmart, routeFor } from '../../src/device/table';
import { KasaTapoError, HINTS } from '../../src/errors';
import { parseJson } from '../../src/json';

const where = { host: '127.0.0.2', port: 9999, transport: 'xor' as const };
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('normalisation', () => {
  it('IOT emeter v1 floats and v2 milli-units give the same shape', () => {
    assert.deepEqual(normaliseIotRealtime({ current: 0.5, voltage: 230.1, power: 115.2, total: 12.5, err_code: 0 }), {
      powerW: 115.2,
      voltageV: 230.1,
      currentA: 0.5,
      totalKWh: 12.5,
    });
    assert.deepEqual(normaliseIotRealtime({ current_ma: 500, voltage_mv: 230100, power_mw: 115200, total_wh: 12500 }), {
      powerW: 115.2,
      voltageV: 230.1,
      currentA: 0.5,
      totalKWh: 12.5,
    });
    assert.deepEqual(normaliseIotRealtime({ power_mw: 800 }), { powerW: 0.8 });
  });

  it('IOT day/month stats in kWh or Wh, sorted, malformed entries left out', () => {
    const h = normaliseIotStats('day', {
      day_list: [
        { year: 2024, month: 3, day: 2, energy_wh: 250 },
        { year: 2024, month: 3, day: 1, energy: 0.1 },
        { year: 2024, month: 3, day: 'x', energy: 1 },
        null,
        { year: 2024, month: 3, day: 4 },
      ],
    });
    assert.deepEqual(h, {
      period: 'day',
      entries: [
        { date: '2024-03-01', kWh: 0.1 },
        { date: '2024-03-02', kWh: 0.25 },
      ],
    });
    assert.deepEqual(normaliseIotStats('month', { month_list: [{ year: 2024, month: 11, energy_wh: 1000 }] }).entries, [{ date: '2024-11', kWh: 1 }]);
    assert.deepEqual(normaliseIotStats('month', { month_list: 'nope' }).entries, []);
    const now = new Date(2024, 2, 2);
    assert.deepEqual(
      iotTodayMonth({ day_list: [{ year: 2024, month: 3, day: 2, energy_wh: 300 }] }, { month_list: [{ year: 2024, month: 3, energy_wh: 5000 }] }, now),
      { todayKWh: 0.3, monthKWh: 5 },
    );
  });

  it('SMART energy: mW/Wh usage, milli-unit emeter, whole-watt current power', () => {
    assert.deepEqual(normaliseSmartEnergy({ current_power: 17654, today_energy: 46, month_energy: 430 }, undefined, { current_power: 17 }), {
      powerW: 17.654,
      todayKWh: 0.046,
      monthKWh: 0.43,
    });
    assert.deepEqual(normaliseSmartEnergy({ today_energy: 20 }, { power_mw: 1003, voltage_mv: 121215, current_ma: 33, energy_wh: 971 }, undefined), {
      powerW: 1.003,
      voltageV: 121.215,
      currentA: 0.033,
      todayKWh: 0.02,
    });
    assert.deepEqual(normaliseSmartEnergy(undefined, undefined, { current_power: 74 }), { powerW: 74 });
  });

  it('SMART get_energy_data: days of the month from a quarter start, months of a year', () => {
    const start = Date.UTC(2024, 3, 1) / 1000; // April 1st: Q2
    const data = new Array(61).fill(0).map((_, i) => i * 10); // April + May
    const days = normaliseSmartEnergyData('day', { data, start_timestamp: start, interval: 1440 }, start, 2024, 5);
    assert.equal(days.entries.length, 31);
    assert.deepEqual(days.entries[0], { date: '2024-05-01', kWh: 0.3 });
    const months = normaliseSmartEnergyData('month', { data: [1000, 2000, 'x'] }, Date.UTC(2024, 0, 1) / 1000, 2024, 1);
    assert.deepEqual(months.entries, [
      { date: '2024-01', kWh: 1 },
      { date: '2024-02', kWh: 2 },
    ]);
  });

  it('SMART info and children', () => {
    const n = normaliseSmartInfo(
      {
        type: 'SMART.TAPOBULB',
        device_on: true,
        brightness: 40,
        hue: 120,
        saturation: 80,
        color_temp: 0,
        nickname: b64('Lamp'),
        model: 'L530',
        mac: '5C-E9-31-00-00-01',
        color_temp_range: [2500, 6500],
        rssi: -50,
      },
      new Set(['brightness', 'color', 'color_temperature']),
      undefined,
      { ...where, transport: 'klap' },
    );
    assert.deepEqual(n.state, {
      host: '127.0.0.2',
      port: 9999,
      family: 'bulb',
      protocol: 'klap',
      on: true,
      brightness: 40,
      hue: 120,
      saturation: 80,
      alias: 'Lamp',
      model: 'L530',
      mac: '5C:E9:31:00:00:01',
      rssi: -50,
      hasEnergyMeter: false,
      colorTempRange: [2500, 6500],
    });
    assert.ok(n.caps.color && n.caps.colorTemp && !n.caps.energy);
    assert.deepEqual(
      normaliseSmartChild(
        {
          device_id: 'T1',
          category: 'subg.trigger.temp-hmdt-sensor',
          current_temp: 71.6,
          temp_unit: 'fahrenheit',
          current_humidity: 55,
          at_low_battery: true,
          status: 'online',
          model: 'T315',
        },
        0,
      ),
      {
        id: 'T1',
        index: 0,
        family: 'sensor',
        model: 'T315',
        kind: 'temperature-humidity',
        temperatureC: 22,
        humidityPercent: 55,
        batteryLow: true,
        online: true,
      },
    );
    assert.equal(normaliseSmartChild({ category: 'x' }, 0), undefined);
  });

  it('IOT sysinfo: bulb off reports the remembered state', () => {
    const n = normaliseIotSysinfo(
      {
        mic_type: 'IOT.SMARTBULB',
        model: 'KL130(US)',
        is_color: 1,
        is_dimmable: 1,
        is_variable_color_temp: 1,
        light_state: { on_off: 0, dft_on_state: { brightness: 30, hue: 240, saturation: 100, color_temp: 0 } },
        mic_mac: 'aabbccddeeff',
      },
      where,
    );
    assert.deepEqual(n.state, {
      host: '127.0.0.2',
      port: 9999,
      family: 'bulb',
      protocol: 'xor',
      model: 'KL130',
      mac: 'AA:BB:CC:DD:EE:FF',
      on: false,
      brightness: 30,
      hue: 240,
      saturation: 100,
    });
  });

  it('hostile JSON: no pollution, no crash, bad fields left out', () => {
    const evil = parseJson(
      '{"__proto__":{"polluted":true},"constructor":{"x":1},"mic_type":"IOT.SMARTPLUGSWITCH","relay_state":"yes","alias":{"a":1},"rssi":1e308,"on_time":-5,"model":["HS100"],"led_off":7,"deviceId":"D","children":{"length":5},"mac":"zz"}',
    ) as Record<string, unknown>;
    const n = normaliseIotSysinfo(evil, where);
    assert.deepEqual(n.state, { host: '127.0.0.2', port: 9999, family: 'plug', protocol: 'xor', deviceId: 'D', hasEnergyMeter: false });
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    // Objects built by JSON.parse without the reviver can carry an own "__proto__" key.
    const raw = JSON.parse('{"__proto__":{"polluted":true},"power_mw":1e400,"voltage_mv":"230000","current_ma":-1,"total_wh":5}') as Record<string, unknown>;
    assert.deepEqual(normaliseIotRealtime(raw), { totalKWh: 0.005 });
    assert.deepEqual(normaliseSmartEnergy(raw, raw, raw), {});
    const info = normaliseSmartInfo(
      JSON.parse('{"__proto__":{"device_on":true},"type":5,"nickname":12,"brightness":900,"color_temp_range":"x"}'),
      new Set(['brightness']),
      [null, 5, { device_id: 7 }],
      where,
    );
    assert.deepEqual(info.state, { host: '127.0.0.2', port: 9999, family: 'unknown', protocol: 'xor', hasEnergyMeter: false, children: [] });
    assert.equal(({} as Record<string, unknown>)['device_on'], undefined);
  });

  it('helpers: model, mac, classifiers, routes', () => {
    assert.equal(baseModel('HS110(EU)'), 'HS110');
    assert.equal(baseModel('L530'), 'L530');
    assert.equal(normaliseMac('48-22-54-00-00-00'), '48:22:54:00:00:00');
    assert.equal(normaliseMac('nope'), undefined);
    assert.equal(classifyIot({ mic_type: 'IOT.SMARTPLUGSWITCH', dev_name: 'Wi-Fi Smart Dimmer', brightness: 5 }), 'dimmer');
    assert.equal(classifyIot({ type: 'IOT.SMARTPLUGSWITCH', children: [{}] }), 'strip');
    assert.equal(classifyIot({ type: 'IOT.SMARTPLUGSWITCH', dev_name: 'Smart Wi-Fi Light Switch' }), 'switch');
    assert.equal(classifySmart('SMART.TAPOPLUG', new Set(['child_device'])), 'strip');
    assert.equal(classifySmart('SMART.KASASWITCH', new Set(['brightness'])), 'dimmer');
    assert.equal(classifySmart('SMART.TAPOBULB', new Set(['light_strip'])), 'lightstrip');
    assert.equal(classifySmart('SMART.TAPOHUB', new Set()), 'hub');
    assert.deepEqual(routeFor('SMART.TAPOPLUG', 'KLAP', false), { supported: true, transport: 'klap', protocol: 'smart' });
    assert.deepEqual(routeFor('IOT.SMARTPLUGSWITCH', 'KLAP', false), { supported: true, transport: 'klap-v1', protocol: 'iot' });
    // TPAP is supported (plain-HTTP tls:0 profile); TLS / cloud-certificate profiles are not.
    assert.deepEqual(routeFor('SMART.TAPOPLUG', 'TPAP', false), { supported: true, transport: 'tpap', protocol: 'smart' });
    assert.deepEqual(routeFor('SMART.TAPOPLUG', 'TPAP', false, { profile: { tls: 0, dac: 1, noc: 0, pake: [2], port: 80 } }), {
      supported: true,
      transport: 'tpap',
      protocol: 'smart',
    });
    const tls = routeFor('SMART.TAPOROBOVAC', 'TPAP', true, { profile: { tls: 1, noc: 1, pake: [2] } });
    assert.equal(tls.supported, false);
    assert.match((tls as { reason: string }).reason, /HTTPS \(tpap\.tls 1/);
    assert.match((routeFor('SMART.TAPOPLUG', 'TPAP', false, { profile: { tls: 2 } }) as { reason: string }).reason, /tpap\.tls 2/);
    // noc never blocks a login (the P125M on 1.4.4 announces noc 1 and logs in with the password).
    assert.equal(routeFor('SMART.TAPOPLUG', 'TPAP', false, { profile: { tls: 0, noc: 1 } }).supported, true);
    // pake [0]: the MAC-derived default passcode (default_userpw), flagged like default credentials.
    assert.equal(routeFor('SMART.TAPOPLUG', 'TPAP', false, { profile: { tls: 0, pake: [0] } }).supported, true);
    assert.deepEqual(routeFor('IOT.SMARTPLUGSWITCH', 'TPAP', false), { supported: false, protocol: 'iot', reason: HINTS.tpap });
    // KLAP stays KLAP whatever tpap_preferred says: only encrypt_type decides.
    assert.deepEqual(routeFor('SMART.TAPOPLUG', 'KLAP', false, { profile: { tls: 0, pake: [2] }, preferred: false }), {
      supported: true,
      transport: 'klap',
      protocol: 'smart',
    });
    assert.deepEqual(routeFor('SMART.TAPOPLUG', 'KLAP', false, { profile: { tls: 0, pake: [2] }, preferred: true }), {
      supported: true,
      transport: 'klap',
      protocol: 'smart',
    });
    assert.deepEqual(routeFor('SMART.TAPOPLUG', 'KLAP', false, { profile: { tls: 1, pake: [2] }, preferred: true }), {
      supported: true,
      transport: 'klap',
      protocol: 'smart',
    });
    assert.equal(routeFor('SMART.TAPOROBOVAC', 'KLAP', true).supported, false);
  });
});

describe('patches', () => {
  it('parses colours', () => {
    assert.deepEqual(parseColor('#ff0000'), { hue: 0, saturation: 100, brightness: 100 });
    assert.deepEqual(parseColor('#00f'), { hue: 240, saturation: 100, brightness: 100 });
    assert.deepEqual(parseColor('green'), { hue: 120, saturation: 100, brightness: 50 });
    assert.deepEqual(parseColor('White'), { hue: 0, saturation: 0, brightness: 100 });
    assert.throws(
      () => parseColor('#12345'),
      (e: unknown) => e instanceof KasaTapoError && e.code === 'EBADINPUT',
    );
  });

  it('validates and resolves color into hue/saturation/brightness', () => {
    assert.deepEqual(validatePatch({ color: 'blue', brightness: 20 }), { brightness: 20, hue: 240, saturation: 100 });
    assert.deepEqual(validatePatch({ on: true, transition: 500.4 }), { on: true, transition: 500 });
  });

  it('rejects malformed patches saying what was expected', () => {
    const bad: unknown[] = [
      null,
      'on',
      [],
      {},
      { on: 'yes' },
      { brightness: 101 },
      { brightness: NaN },
      { hue: -1 },
      { colorTemp: 50 },
      { foo: 1 },
      { colorTemp: 3000, hue: 10 },
      { alias: '' },
      { color: 5 },
    ];
    for (const p of bad) {
      assert.throws(
        () => validatePatch(p),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'EBADINPUT' && e.message.length > 10,
        JSON.stringify(p),
      );
    }
    assert.match(
      (() => {
        try {
          validatePatch({ brightness: 'x' });
        } catch (e) {
          return (e as Error).message;
        }
        return '';
      })(),
      /brightness must be a number 0-100/,
    );
  });
});
