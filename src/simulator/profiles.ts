/**
 * Simulated device profiles: one table row per device, with values of our own (names, ids, MACs,
 * firmware strings and power figures are invented), shaped like real Kasa/Tapo answers.
 *
 * A profile says what the device is (model, family, protocol, transport, login version), how it is
 * found (an XOR device answers UDP 9999 with its sysinfo; the others answer UDP 20002 with the
 * `discovery` block) and its initial state. `iot.ts` and `smart.ts` turn a profile into a stateful
 * device model.
 */
import { KASA_PROFILES, KLAP2_PROFILES } from './profiles-kasa';
import { TAPO_PROFILES } from './profiles-tapo';
import { TPAP_DIALECT_PROFILES, TPAP_PROFILES } from './profiles-tpap';
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
  /**
   * `mgt_encrypt_schm.new_klap` (2025–26 Kasa IOT firmware on the v2 KLAP hashes, with `lv: 2`).
   * Either field alone announces v2 (docs/protocols.md#klap-hash-versions-for-kasa-devices rule 1): drop one to test that.
   */
  newKlap?: number;
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
  /** KLAP devices that announce TPAP: what they answer to a TPAP login `discover` (WireServerOptions.tpapDiscover). */
  tpapDiscover?: Record<string, unknown>;
  /**
   * false: not in the default simulated home (startSimulatedHome without `profiles`, listProfiles());
   * start it by id. Default true.
   */
  inHome?: boolean;
  /** Why a client cannot control it, for the "found but unsupported" discovery cases. */
  unsupported?: string;
  iot?: IotSpec;
  smart?: SmartSpec;
}

/** Deterministic, masked-looking hex ids of our own (not any real device's). */
export { simHex } from './sim-hex';

// New profiles go last: a simulated home puts device i on <base>.<i+1>, so the earlier ones keep their addresses.
const PROFILE_LIST: DeviceProfile[] = [...KASA_PROFILES, ...TAPO_PROFILES, ...TPAP_PROFILES, ...KLAP2_PROFILES, ...TPAP_DIALECT_PROFILES];

export const PROFILES: Readonly<Record<string, DeviceProfile>> = Object.freeze(Object.fromEntries(PROFILE_LIST.map((p) => [p.id, p])));

/** Every profile id of the default simulated home, in table order; with `all`, also those kept out of it (`inHome: false`). */
export function listProfiles(opts: { all?: boolean } = {}): string[] {
  return PROFILE_LIST.filter((p) => opts.all || p.inHome !== false).map((p) => p.id);
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
