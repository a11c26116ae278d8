/**
 * Simulated device profiles: one table row per device, with values of our own (names, ids, MACs,
 * firmware strings and power figures are invented), shaped like real Kasa/Tapo answers.
 *
 * A profile says what the device is (model, family, protocol, transport, login version), how it is
 * found (an XOR device answers UDP 9999 with its sysinfo; the others answer UDP 20002 with the
 * `discovery` block) and its initial state. `iot.ts` and `smart.ts` turn a profile into a stateful
 * device model.
 */
import { createHash } from 'node:crypto';
import type { Family, TransportKind } from '../types';
import type { Faults } from './types';
import type { TpapSimOptions } from './wire/tpap';

/** `https`: a device that only speaks HTTPS (camera-like): discoverable, never connectable. */
export type SimTransport = TransportKind | 'https';

export interface DiscoverySpec {
  /** `device_type` of the 20002 answer (e.g. `SMART.TAPOPLUG`, `IOT.SMARTPLUGSWITCH`). */
  deviceType: string;
  /** `mgt_encrypt_schm.encrypt_type`; absent for HTTPS-only devices. */
  encryptType?: 'KLAP' | 'AES' | 'TPAP';
  /** `mgt_encrypt_schm.lv`; absent = login v1 / KLAP v1. */
  lv?: number;
  https?: boolean;
  /** Port advertised when the device runs on its standard port (default 80, 443 for https). */
  httpPort?: number;
  /** Extra `result` fields (camera `encrypt_type` list, `tpap` block, ...). */
  extra?: Record<string, unknown>;
}

export interface LightSpec {
  brightness: number;
  hue: number;
  saturation: number;
  /** Kelvin; 0 = colour mode (hue/saturation). */
  colorTemp: number;
  range: [number, number];
}

export interface OutletSpec {
  alias: string;
  on: boolean;
  /** Load on this outlet when on, W. */
  baseW: number;
}

export interface IotSpec {
  kind: 'plug' | 'strip' | 'dimmer' | 'bulb' | 'lightstrip';
  /** `dev_name` (plugs) or `description` (bulbs). */
  devName: string;
  /** Older firmware says `type`, newer `mic_type`. */
  typeKey: 'type' | 'mic_type';
  /** Plug/strip energy meter: v1 floats (A, V, W, kWh) or v2 milli-units. Bulbs always report `power_mw`. */
  emeter?: 'v1' | 'v2';
  outlets?: OutletSpec[];
  /** Dimmers: initial brightness. */
  brightness?: number;
  light?: LightSpec;
  /** Light strips: number of segments. */
  length?: number;
}

export interface SmartChildSpec {
  kind: 'outlet' | 'temp-humidity' | 'contact' | 'motion' | 'button' | 'water-leak';
  model: string;
  alias: string;
  /** 40 hex chars for hub children; strip outlets use the parent id + 2-digit position. */
  deviceId?: string;
  mac?: string;
  fwVer: string;
  on?: boolean;
  baseW?: number;
  temperatureC?: number;
  humidityPercent?: number;
  open?: boolean;
  detected?: boolean;
  batteryLow?: boolean;
  batteryPercent?: number;
}

export interface SmartSpec {
  /** `component_nego` list as `"id:ver id:ver ..."`. */
  components: string;
  /** 'usage': get_energy_usage + get_current_power; 'emeter': also get_emeter_data. */
  energy?: 'usage' | 'emeter';
  light?: LightSpec;
  /** Dimmer switches: initial brightness. */
  brightness?: number;
  /** Light strips: `lighting_effect` in get_device_info. */
  lightingEffect?: boolean;
  children?: SmartChildSpec[];
  /** Component list of children (hub children and outlets). */
  childComponents?: Partial<Record<SmartChildSpec['kind'], string>>;
  avatar: string;
  region: string;
  /** Minutes from UTC, as the device reports it. */
  timeDiff: number;
  ssid: string;
}

export interface DeviceProfile {
  id: string;
  /** The user-visible name (IOT `alias`, SMART `nickname`). */
  alias: string;
  /** Model with region suffix, e.g. `HS110(EU)`. */
  model: string;
  family: Family;
  protocol: 'iot' | 'smart';
  transport: SimTransport;
  /** AES: which `login_device` the device expects. */
  loginVersion?: 1 | 2;
  /** `AA:BB:CC:DD:EE:FF` (SMART answers show it with dashes). */
  mac: string;
  /** 40 hex chars. */
  deviceId: string;
  hwVer: string;
  fwVer: string;
  /** Relay / light initially on. */
  on: boolean;
  /** Nominal load when on, W (energy meters), and mains voltage. */
  baseW: number;
  voltageV: number;
  /** 20002 answer; absent for XOR devices (found by their sysinfo on 9999). */
  discovery?: DiscoverySpec;
  /** Faults the device starts with (e.g. a TPAP device refuses the KLAP handshake). */
  defaultFaults?: Faults;
  /** TPAP devices: how they log in (wire/tpap.ts). */
  tpap?: TpapSimOptions;
  /** Why a client cannot control it, for the "found but unsupported" discovery cases. */
  unsupported?: string;
  iot?: IotSpec;
  smart?: SmartSpec;
}

/** Deterministic, masked-looking hex ids of our own (not any real device's). */
export function simHex(seed: string, len: number): string {
  return createHash('sha256').update(`kasa-tapo-sim:${seed}`).digest('hex').slice(0, len).toUpperCase();
}

/** Component lists shared between profiles. */
const C = {
  smartBase:
    'device:2 firmware:2 quick_setup:3 time:1 wireless:1 schedule:2 countdown:2 antitheft:1 account:1 ' +
    'synchronize:1 sunrise_sunset:1 cloud_connect:1 iot_cloud:1 device_local_time:1 default_states:1',
  plugV1:
    'device:1 firmware:1 quick_setup:1 time:1 wireless:1 schedule:1 countdown:1 antitheft:1 account:1 synchronize:1 sunrise_sunset:1 led:1 cloud_connect:1',
  energy: 'led:1 auto_off:2 energy_monitoring:2 power_protection:1 current_protection:1',
  light: 'preset:1 brightness:1 on_off_gradually:2',
  childBase: 'device:2 quick_setup:3 time:1 device_local_time:1 account:1 synchronize:1 cloud_connect:1 iot_cloud:1 firmware:1',
};

const sensorComponents = (extra: string) => `${C.childBase} trigger_log:1 battery_detect:1 localSmart:1 ${extra}`;

const PROFILE_LIST: DeviceProfile[] = [
  {
    id: 'hs100',
    alias: 'Desk Lamp',
    model: 'HS100(US)',
    family: 'plug',
    protocol: 'iot',
    transport: 'xor',
    mac: '50:C7:BF:3A:10:01',
    deviceId: simHex('hs100', 40),
    hwVer: '2.0',
    fwVer: '1.5.6 Build 191118 Rel.140307',
    on: false,
    baseW: 40,
    voltageV: 120,
    iot: { kind: 'plug', devName: 'Smart Wi-Fi Plug', typeKey: 'type' },
  },
  {
    id: 'hs110v1',
    alias: 'Fridge',
    model: 'HS110(EU)',
    family: 'plug',
    protocol: 'iot',
    transport: 'xor',
    mac: '50:C7:BF:3A:10:02',
    deviceId: simHex('hs110v1', 40),
    hwVer: '1.0',
    fwVer: '1.2.5 Build 171213 Rel.101523',
    on: true,
    baseW: 85,
    voltageV: 231,
    iot: { kind: 'plug', devName: 'Wi-Fi Smart Plug With Energy Monitoring', typeKey: 'type', emeter: 'v1' },
  },
  {
    id: 'kp115',
    alias: 'Washing Machine',
    model: 'KP115(EU)',
    family: 'plug',
    protocol: 'iot',
    transport: 'xor',
    mac: 'B0:95:75:3A:10:03',
    deviceId: simHex('kp115', 40),
    hwVer: '1.0',
    fwVer: '1.0.16 Build 210205 Rel.163735',
    on: true,
    baseW: 420,
    voltageV: 230,
    iot: { kind: 'plug', devName: 'Smart Wi-Fi Plug Mini', typeKey: 'mic_type', emeter: 'v2' },
  },
  {
    id: 'hs300',
    alias: 'Media Strip',
    model: 'HS300(US)',
    family: 'strip',
    protocol: 'iot',
    transport: 'xor',
    mac: 'C0:06:C3:3A:10:04',
    deviceId: simHex('hs300', 40),
    hwVer: '2.0',
    fwVer: '1.0.12 Build 220121 Rel.175814',
    on: true,
    baseW: 0,
    voltageV: 120,
    iot: {
      kind: 'strip',
      devName: 'Smart Wi-Fi Power Strip',
      typeKey: 'mic_type',
      emeter: 'v2',
      outlets: [
        { alias: 'TV', on: true, baseW: 95 },
        { alias: 'Soundbar', on: true, baseW: 22 },
        { alias: 'Console', on: false, baseW: 140 },
        { alias: 'Router', on: true, baseW: 9 },
        { alias: 'Lamp', on: false, baseW: 12 },
        { alias: 'Charger', on: true, baseW: 5 },
      ],
    },
  },
  {
    id: 'kp303',
    alias: 'Garden Strip',
    model: 'KP303(UK)',
    family: 'strip',
    protocol: 'iot',
    transport: 'xor',
    mac: '1C:3B:F3:3A:10:05',
    deviceId: simHex('kp303', 40),
    hwVer: '1.0',
    fwVer: '1.0.3 Build 191105 Rel.113122',
    on: true,
    baseW: 0,
    voltageV: 230,
    iot: {
      kind: 'strip',
      devName: 'Smart Wi-Fi Power Strip',
      typeKey: 'mic_type',
      outlets: [
        { alias: 'Pump', on: true, baseW: 60 },
        { alias: 'Fairy Lights', on: false, baseW: 8 },
        { alias: 'Heater', on: false, baseW: 900 },
      ],
    },
  },
  {
    id: 'hs220',
    alias: 'Hall Dimmer',
    model: 'HS220(US)',
    family: 'dimmer',
    protocol: 'iot',
    transport: 'xor',
    mac: '00:5F:67:3A:10:06',
    deviceId: simHex('hs220', 40),
    hwVer: '2.0',
    fwVer: '1.0.3 Build 200326 Rel.082355',
    on: false,
    baseW: 30,
    voltageV: 120,
    iot: { kind: 'dimmer', devName: 'Wi-Fi Smart Dimmer', typeKey: 'mic_type', brightness: 70 },
  },
  {
    id: 'kl130',
    alias: 'Reading Bulb',
    model: 'KL130(EU)',
    family: 'bulb',
    protocol: 'iot',
    transport: 'xor',
    mac: '50:D4:F7:3A:10:07',
    deviceId: simHex('kl130', 40),
    hwVer: '1.0',
    fwVer: '1.8.8 Build 190613 Rel.123436',
    on: true,
    baseW: 10,
    voltageV: 230,
    iot: {
      kind: 'bulb',
      devName: 'Smart Wi-Fi LED Bulb with Color Changing',
      typeKey: 'mic_type',
      light: { brightness: 80, hue: 30, saturation: 40, colorTemp: 3000, range: [2500, 9000] },
    },
  },
  {
    id: 'kl430',
    alias: 'Shelf Strip',
    model: 'KL430(US)',
    family: 'lightstrip',
    protocol: 'iot',
    transport: 'xor',
    mac: 'E8:48:B8:3A:10:08',
    deviceId: simHex('kl430', 40),
    hwVer: '2.0',
    fwVer: '1.0.11 Build 220812 Rel.153345',
    on: false,
    baseW: 9,
    voltageV: 120,
    iot: {
      kind: 'lightstrip',
      devName: 'Kasa Smart Light Strip, Multicolor',
      typeKey: 'mic_type',
      length: 16,
      light: { brightness: 60, hue: 200, saturation: 80, colorTemp: 0, range: [2500, 9000] },
    },
  },
  {
    id: 'hs100uk',
    alias: 'Kettle',
    model: 'HS100(UK)',
    family: 'plug',
    protocol: 'iot',
    transport: 'klap-v1',
    mac: 'CC:32:E5:3A:10:09',
    deviceId: simHex('hs100uk', 40),
    hwVer: '4.1',
    fwVer: '1.1.0 Build 201016 Rel.175121',
    on: false,
    baseW: 2200,
    voltageV: 230,
    discovery: { deviceType: 'IOT.SMARTPLUGSWITCH', encryptType: 'KLAP' },
    iot: { kind: 'plug', devName: 'Smart Wi-Fi Plug', typeKey: 'mic_type' },
  },
  {
    id: 'p100',
    alias: 'Coffee Maker',
    model: 'P100',
    family: 'plug',
    protocol: 'smart',
    transport: 'aes',
    loginVersion: 1,
    mac: '1C:3B:F3:3A:10:0A',
    deviceId: simHex('p100', 40),
    hwVer: '1.0.0',
    fwVer: '1.1.3 Build 20191017 Rel. 57937',
    on: true,
    baseW: 1100,
    voltageV: 120,
    discovery: { deviceType: 'SMART.TAPOPLUG', encryptType: 'AES' },
    smart: { components: C.plugV1, avatar: 'plug', region: 'America/Chicago', timeDiff: -360, ssid: 'SimHome' },
  },
  {
    id: 'p110',
    alias: 'Dishwasher',
    model: 'P110(UK)',
    family: 'plug',
    protocol: 'smart',
    transport: 'klap',
    loginVersion: 2,
    mac: '48:22:54:3A:10:0B',
    deviceId: simHex('p110', 40),
    hwVer: '1.0',
    fwVer: '1.3.0 Build 230905 Rel.152200',
    on: true,
    baseW: 1800,
    voltageV: 240,
    discovery: { deviceType: 'SMART.TAPOPLUG', encryptType: 'KLAP', lv: 2 },
    smart: { components: `${C.smartBase} ${C.energy}`, energy: 'usage', avatar: 'plug', region: 'Europe/London', timeDiff: 0, ssid: 'SimHome' },
  },
  {
    id: 'p110aes',
    alias: 'Dryer',
    model: 'P110(EU)',
    family: 'plug',
    protocol: 'smart',
    transport: 'aes',
    loginVersion: 2,
    mac: '48:22:54:3A:10:0C',
    deviceId: simHex('p110aes', 40),
    hwVer: '1.0',
    fwVer: '1.2.3 Build 230425 Rel.142542',
    on: false,
    baseW: 2000,
    voltageV: 230,
    discovery: { deviceType: 'SMART.TAPOPLUG', encryptType: 'AES', lv: 2 },
    smart: { components: `${C.smartBase} ${C.energy}`, energy: 'usage', avatar: 'plug', region: 'Europe/Berlin', timeDiff: 60, ssid: 'SimHome' },
  },
  {
    id: 'kp125m',
    alias: 'Aquarium',
    model: 'KP125M(US)',
    family: 'plug',
    protocol: 'smart',
    transport: 'klap',
    loginVersion: 2,
    mac: '78:8C:B5:3A:10:0D',
    deviceId: simHex('kp125m', 40),
    hwVer: '1.0',
    fwVer: '1.2.3 Build 240624 Rel.154806',
    on: true,
    baseW: 35,
    voltageV: 121,
    discovery: { deviceType: 'SMART.KASAPLUG', encryptType: 'KLAP', lv: 2 },
    smart: { components: `${C.smartBase} ${C.energy} matter:2`, energy: 'emeter', avatar: 'fan', region: 'America/Denver', timeDiff: -420, ssid: 'SimHome' },
  },
  {
    id: 'p304m',
    alias: 'Office Strip',
    model: 'P304M(UK)',
    family: 'strip',
    protocol: 'smart',
    transport: 'klap',
    loginVersion: 2,
    mac: 'A8:6E:84:3A:10:0E',
    deviceId: simHex('p304m', 40),
    hwVer: '1.0',
    fwVer: '1.0.3 Build 240605 Rel.091502',
    on: true,
    baseW: 0,
    voltageV: 240,
    discovery: { deviceType: 'SMART.TAPOPLUG', encryptType: 'KLAP', lv: 2 },
    smart: {
      // Energy is metered per outlet (through control_child), not on the parent.
      components: `${C.smartBase} led:1 control_child:2 child_device:2 localSmart:1`,
      avatar: '',
      region: 'Europe/London',
      timeDiff: 0,
      ssid: 'SimHome',
      children: [
        { kind: 'outlet', model: 'P304M', alias: 'Monitor', on: true, baseW: 28, fwVer: '1.0.3 Build 240605 Rel.091502' },
        { kind: 'outlet', model: 'P304M', alias: 'Printer', on: false, baseW: 15, fwVer: '1.0.3 Build 240605 Rel.091502' },
        { kind: 'outlet', model: 'P304M', alias: 'Desk Fan', on: true, baseW: 35, fwVer: '1.0.3 Build 240605 Rel.091502' },
        { kind: 'outlet', model: 'P304M', alias: 'Speakers', on: false, baseW: 18, fwVer: '1.0.3 Build 240605 Rel.091502' },
      ],
      childComponents: { outlet: `${C.childBase} schedule:2 countdown:2 default_states:1 auto_off:2 energy_monitoring:2` },
    },
  },
  {
    id: 'ks225',
    alias: 'Dining Dimmer',
    model: 'KS225(US)',
    family: 'dimmer',
    protocol: 'smart',
    transport: 'klap',
    loginVersion: 2,
    mac: '3C:52:A1:3A:10:0F',
    deviceId: simHex('ks225', 40),
    hwVer: '1.0',
    fwVer: '1.1.0 Build 240411 Rel.150716',
    on: true,
    baseW: 40,
    voltageV: 120,
    discovery: { deviceType: 'SMART.KASASWITCH', encryptType: 'KLAP', lv: 2 },
    smart: {
      components: `${C.smartBase} led:1 ${C.light} overheat_protection:1`,
      brightness: 45,
      avatar: 'switch_s500d',
      region: 'America/Toronto',
      timeDiff: -300,
      ssid: 'SimHome',
    },
  },
  {
    id: 'l530',
    alias: 'Sofa Bulb',
    model: 'L530E(EU)',
    family: 'bulb',
    protocol: 'smart',
    transport: 'klap',
    loginVersion: 2,
    mac: '5C:E9:31:3A:10:10',
    deviceId: simHex('l530', 40),
    hwVer: '3.0',
    fwVer: '1.1.6 Build 240130 Rel.173828',
    on: true,
    baseW: 8.5,
    voltageV: 230,
    discovery: { deviceType: 'SMART.TAPOBULB', encryptType: 'KLAP', lv: 2 },
    smart: {
      components: `${C.smartBase} ${C.light} color:1 color_temperature:1 light_effect:1`,
      light: { brightness: 75, hue: 0, saturation: 100, colorTemp: 2700, range: [2500, 6500] },
      avatar: 'bulb',
      region: 'Europe/Berlin',
      timeDiff: 60,
      ssid: 'SimHome',
    },
  },
  {
    id: 'l920',
    alias: 'TV Backlight',
    model: 'L920-5(EU)',
    family: 'lightstrip',
    protocol: 'smart',
    transport: 'aes',
    loginVersion: 1,
    mac: '1C:61:B4:3A:10:11',
    deviceId: simHex('l920', 40),
    hwVer: '1.0',
    fwVer: '1.0.7 Build 220119 Rel.221439',
    on: false,
    baseW: 12,
    voltageV: 230,
    discovery: { deviceType: 'SMART.TAPOBULB', encryptType: 'AES' },
    smart: {
      components: `${C.smartBase} ${C.light} color:1 color_temperature:1 light_strip:1 light_strip_lighting_effect:2`,
      light: { brightness: 90, hue: 280, saturation: 70, colorTemp: 0, range: [9000, 9000] },
      lightingEffect: true,
      avatar: '',
      region: 'Europe/Paris',
      timeDiff: 60,
      ssid: 'SimHome',
    },
  },
  {
    id: 'h100',
    alias: 'Hub',
    model: 'H100(EU)',
    family: 'hub',
    protocol: 'smart',
    transport: 'aes',
    loginVersion: 2,
    mac: '3C:52:A1:3A:10:12',
    deviceId: simHex('h100', 40),
    hwVer: '1.0',
    fwVer: '1.5.10 Build 240207 Rel.175759',
    on: true,
    baseW: 0,
    voltageV: 230,
    discovery: { deviceType: 'SMART.TAPOHUB', encryptType: 'AES', lv: 2 },
    smart: {
      components:
        'device:2 firmware:2 quick_setup:3 inherit:1 time:1 wireless:1 account:1 synchronize:1 sunrise_sunset:1 led:1 ' +
        'cloud_connect:1 iot_cloud:1 child_device:1 child_quick_setup:1 control_child:1 alarm:1 device_local_time:1 localSmart:1',
      avatar: 'hub',
      region: 'Europe/Berlin',
      timeDiff: 60,
      ssid: 'SimHome',
      children: [
        {
          kind: 'temp-humidity',
          model: 'T315',
          alias: 'Bedroom Climate',
          deviceId: simHex('h100-t315', 40),
          mac: 'F0A7313A1013',
          fwVer: '1.7.0 Build 230424 Rel.170332',
          temperatureC: 21.6,
          humidityPercent: 48,
          batteryPercent: 90,
        },
        {
          kind: 'contact',
          model: 'T110',
          alias: 'Front Door',
          deviceId: simHex('h100-t110', 40),
          mac: 'F0A7313A1014',
          fwVer: '1.9.0 Build 230704 Rel.154531',
          open: false,
          batteryPercent: 80,
        },
        {
          kind: 'motion',
          model: 'T100',
          alias: 'Hallway Motion',
          deviceId: simHex('h100-t100', 40),
          mac: 'F0A7313A1015',
          fwVer: '1.12.0 Build 230512 Rel.103011',
          detected: false,
          batteryLow: true,
          batteryPercent: 8,
        },
        {
          kind: 'button',
          model: 'S200B',
          alias: 'Sofa Button',
          deviceId: simHex('h100-s200b', 40),
          mac: 'F0A7313A1018',
          fwVer: '1.11.0 Build 230821 Rel.113553',
          batteryPercent: 100,
        },
        {
          kind: 'water-leak',
          model: 'T300',
          alias: 'Under Sink',
          deviceId: simHex('h100-t300', 40),
          mac: 'F0A7313A1019',
          fwVer: '1.7.0 Build 230320 Rel.100814',
          detected: false,
          batteryPercent: 95,
        },
      ],
      childComponents: {
        'temp-humidity': sensorComponents('temperature:1 humidity:1 temp_humidity_record:1 comfort_temperature:1 comfort_humidity:1 report_mode:1'),
        contact: sensorComponents('contact:1'),
        motion: sensorComponents('sensitivity:1'),
        button: sensorComponents('double_click:1 button:1 rotation:1'),
        'water-leak': sensorComponents('water_leak:1'),
      },
    },
  },
  {
    // TPAP firmware (1.4.x): the plain-HTTP SPAKE2+ login, no credential transform (e-mail/password).
    id: 'p110tpap',
    alias: 'Heater',
    model: 'P110(UK)',
    family: 'plug',
    protocol: 'smart',
    transport: 'tpap',
    loginVersion: 2,
    mac: '48:22:54:3A:10:16',
    deviceId: simHex('p110tpap', 40),
    hwVer: '1.0',
    fwVer: '1.4.0 Build 251020 Rel.120314',
    on: false,
    baseW: 1500,
    voltageV: 240,
    discovery: {
      deviceType: 'SMART.TAPOPLUG',
      encryptType: 'TPAP',
      lv: 2,
      extra: { tpap_preferred: true, tpap: { tls: 0, dac: 0, noc: 0, pake: [2], port: 80 } },
    },
    // Field behaviour: this firmware refuses the KLAP handshake with HTTP 403.
    defaultFaults: { forbidHandshake: true },
    tpap: { iterations: 3000 },
    smart: { components: `${C.smartBase} ${C.energy}`, energy: 'usage', avatar: 'plug', region: 'Europe/London', timeDiff: 0, ssid: 'SimHome' },
  },
  {
    // TPAP light strip (L900-5 1.4.3): 10,000 iterations, ChaCha20-Poly1305 preferred, -1501 for a wrong password.
    id: 'l900tpap',
    alias: 'Bookshelf Strip',
    model: 'L900-5(EU)',
    family: 'lightstrip',
    protocol: 'smart',
    transport: 'tpap',
    loginVersion: 2,
    mac: '1C:61:B4:3A:10:18',
    deviceId: simHex('l900tpap', 40),
    hwVer: '1.0',
    fwVer: '1.4.3 Build 251105 Rel.093012',
    on: true,
    baseW: 10,
    voltageV: 230,
    discovery: {
      deviceType: 'SMART.TAPOBULB',
      encryptType: 'TPAP',
      lv: 2,
      extra: { tpap_preferred: true, tpap: { tls: 0, dac: 0, noc: 0, pake: [2], port: 80 } },
    },
    tpap: { iterations: 10000, ciphers: ['chacha20_poly1305', 'aes_256_ccm', 'aes_128_ccm'], authErrorCode: -1501, tokenField: 'stok' },
    smart: {
      components: `${C.smartBase} ${C.light} color:1 color_temperature:1 light_strip:1 light_strip_lighting_effect:2`,
      light: { brightness: 60, hue: 30, saturation: 90, colorTemp: 0, range: [9000, 9000] },
      lightingEffect: true,
      avatar: '',
      region: 'Europe/Amsterdam',
      timeDiff: 60,
      ssid: 'SimHome',
    },
  },
  {
    // Kasa-branded TPAP plug (KP125M 1.4.1): password_shadow 2 (SHA-1 of the password), dac 1.
    id: 'kp125mtpap',
    alias: 'Space Heater',
    model: 'KP125M(US)',
    family: 'plug',
    protocol: 'smart',
    transport: 'tpap',
    loginVersion: 2,
    mac: '78:8C:B5:3A:10:19',
    deviceId: simHex('kp125mtpap', 40),
    hwVer: '1.0',
    fwVer: '1.4.1 Build 251112 Rel.181036',
    on: false,
    baseW: 1200,
    voltageV: 121,
    discovery: {
      deviceType: 'SMART.KASAPLUG',
      encryptType: 'TPAP',
      lv: 2,
      extra: { tpap_preferred: true, tpap: { tls: 0, dac: 1, noc: 0, pake: [2], port: 80 } },
    },
    tpap: { iterations: 3000, dac: 1, extraCrypt: { type: 'password_shadow', params: { passwd_id: 2 } } },
    smart: { components: `${C.smartBase} ${C.energy} matter:2`, energy: 'emeter', avatar: 'fan', region: 'America/Denver', timeDiff: -420, ssid: 'SimHome' },
  },
  {
    // TPAP over TLS with a cloud certificate (robot vacuum): found, but not supported.
    id: 'rv30',
    alias: 'Robot Vacuum',
    model: 'RV30 Max(EU)',
    family: 'unknown',
    protocol: 'smart',
    transport: 'https',
    mac: '3C:52:A1:3A:10:1A',
    deviceId: simHex('rv30', 40),
    hwVer: '1.0',
    fwVer: '1.3.0 Build 240415 Rel.57862',
    on: false,
    baseW: 0,
    voltageV: 230,
    discovery: {
      deviceType: 'SMART.TAPOROBOVAC',
      encryptType: 'TPAP',
      https: true,
      httpPort: 4433,
      extra: { tpap_preferred: true, tpap: { tls: 1, dac: 0, noc: 1, pake: [2], port: 4433 } },
    },
    unsupported: 'TPAP over TLS with a cloud certificate',
  },
  {
    id: 'c210',
    alias: 'Porch Camera',
    model: 'C210(EU)',
    family: 'unknown',
    protocol: 'smart',
    transport: 'https',
    mac: 'A8:42:A1:3A:10:17',
    deviceId: simHex('c210', 40),
    hwVer: '2.0',
    fwVer: '1.4.3 Build 230315 Rel.60221n',
    on: true,
    baseW: 0,
    voltageV: 230,
    discovery: { deviceType: 'SMART.IPCAMERA', https: true, httpPort: 443, extra: { encrypt_type: ['3'] } },
    unsupported: 'HTTPS-only (camera)',
  },
];

export const PROFILES: Readonly<Record<string, DeviceProfile>> = Object.freeze(Object.fromEntries(PROFILE_LIST.map((p) => [p.id, p])));

/** Every profile id, in table order. */
export function listProfiles(): string[] {
  return PROFILE_LIST.map((p) => p.id);
}

/** A deep copy of a profile (callers may change it). Throws Error on an unknown id. */
export function getProfile(id: string): DeviceProfile {
  const p = Object.prototype.hasOwnProperty.call(PROFILES, id) ? PROFILES[id] : undefined;
  if (!p) throw new Error(`Unknown simulator profile "${id}" (known: ${listProfiles().join(', ')})`);
  return structuredClone(p);
}

/** Parse a `"id:ver id:ver"` component string into component_nego's list. */
export function componentList(spec: string): { id: string; ver_code: number }[] {
  return spec
    .split(/\s+/)
    .filter(Boolean)
    .map((s) => {
      const [id, ver] = s.split(':');
      return { id: id!, ver_code: Number(ver ?? 1) };
    });
}

/** MAC in the SMART spelling `AA-BB-CC-DD-EE-FF`. */
export function dashMac(mac: string): string {
  return mac.replace(/:/g, '-');
}
