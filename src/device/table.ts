/**
 * The one table that maps family × encryption to a protocol and a transport (docs/protocols.md#routing-table, docs/protocols.md#routing-a-discovery-answer),
 * and the family classifiers. Nothing else in the library branches on Kasa versus Tapo: the two
 * protocol adapters (iot-adapter.ts, smart-adapter.ts) are chosen from the device's protocol
 * (discovery's `device_type`, or what the device answered: device/detect.ts).
 */
import { DEFAULT_PORTS } from '../defaults';
import { HINTS } from '../errors';
import { tpapProfileIssue, type TpapProfile } from '../transports/tpap';
import type { Family, ProtocolKind, TransportKind } from '../types';

/**
 * The application protocols each transport can carry, the usual one first. KLAP carries both:
 * its hash version never says which (Kasa IOT devices on 2025–26 firmware use the v2 hashes).
 */
export const PROTOCOLS_OF: Readonly<Record<TransportKind, readonly ProtocolKind[]>> = {
  xor: ['iot'],
  'klap-v1': ['iot', 'smart'],
  klap: ['smart', 'iot'],
  aes: ['smart'],
  tpap: ['smart'],
};

/** The usual application protocol of each transport (the first of PROTOCOLS_OF); createDevice's default. */
export const PROTOCOL_OF: Readonly<Record<TransportKind, ProtocolKind>> = {
  xor: 'iot',
  'klap-v1': 'iot',
  klap: 'smart',
  aes: 'smart',
  tpap: 'smart',
};

/** Default port per transport. */
export const PORT_OF: Readonly<Record<TransportKind, number>> = DEFAULT_PORTS;

/** `<IOT|SMART>.<encrypt_type>` → transport (docs/protocols.md#routing-table; HTTPS variants are unsupported; IOT.KLAP: see routeFor). */
const ROUTES: Readonly<Record<string, TransportKind>> = {
  'IOT.XOR': 'xor',
  'IOT.KLAP': 'klap-v1',
  'SMART.KLAP': 'klap',
  'SMART.AES': 'aes',
  'SMART.TPAP': 'tpap',
};

/** Families that only speak HTTPS protocols (SSL-AES, Linkie, SSL). */
const HTTPS_ONLY_TYPES = new Set(['SMART.IPCAMERA', 'SMART.TAPODOORBELL', 'IOT.IPCAMERA', 'SMART.TAPOCHIME']);

export type Route = { supported: true; transport: TransportKind; protocol: ProtocolKind } | { supported: false; protocol: ProtocolKind; reason: string };

/** Camera families: over TPAP they speak the camera protocol, which this library does not. */
const CAMERA_TYPES = new Set(['SMART.IPCAMERA', 'SMART.TAPODOORBELL']);

/**
 * Route a device from its type (`IOT.SMARTPLUGSWITCH`, `SMART.TAPOPLUG`, ...), its encryption
 * (`XOR`, `KLAP`, `AES`, `TPAP`, ...), its HTTPS flag and, for TPAP, the discovery's `tpap` object.
 * Only `encrypt_type` decides (README.md, TPAP): `TPAP` routes to the tpap transport unless the
 * profile needs TLS (the transport's login `discover` then decides: a device that names no `tpap`
 * profile there speaks KLAP v2, see connect()); any other encryption is used as announced, whatever
 * `tpap` or `tpap_preferred` say. `IOT.KLAP` takes the v2 hashes ('klap') when
 * `mgt_encrypt_schm.lv >= 2` or `new_klap >= 1` (`klap`, from the same answer), else v1
 * ('klap-v1'); `SMART.KLAP` is always v2 (docs/protocols.md#klap-hash-versions-for-kasa-devices). Never throws.
 */
export function routeFor(
  deviceType: string,
  encrypt: string | undefined,
  https: boolean,
  tpap?: { profile?: unknown; preferred?: unknown },
  klap?: { lv?: unknown; newKlap?: unknown },
): Route {
  const prefix = deviceType.toUpperCase().startsWith('IOT.') ? 'IOT' : 'SMART';
  const protocol: ProtocolKind = prefix === 'IOT' ? 'iot' : 'smart';
  const enc = (encrypt ?? '').toUpperCase();
  if (enc === 'TPAP') {
    if (prefix === 'IOT') return { supported: false, protocol, reason: HINTS.tpap };
    if (CAMERA_TYPES.has(deviceType.toUpperCase())) return { supported: false, protocol, reason: HINTS.https };
    const profile = tpap?.profile && typeof tpap.profile === 'object' ? (tpap.profile as TpapProfile) : undefined;
    const issue = tpapProfileIssue(profile);
    return issue ? { supported: false, protocol, reason: issue } : { supported: true, transport: 'tpap', protocol };
  }
  if (https || HTTPS_ONLY_TYPES.has(deviceType.toUpperCase())) return { supported: false, protocol, reason: HINTS.https };
  if (prefix === 'IOT' && enc === 'KLAP' && isKlapV2(klap)) return { supported: true, transport: 'klap', protocol };
  const transport = ROUTES[`${prefix}.${enc}`];
  if (!transport) return { supported: false, protocol, reason: `Unknown encryption "${enc.slice(0, 20) || 'none'}" for ${deviceType.slice(0, 40)}` };
  return { supported: true, transport, protocol };
}

/** Whether an IOT.KLAP discovery answer announces the v2 hashes: `lv >= 2` or `new_klap >= 1` (either suffices). Never throws. */
export function isKlapV2(klap: { lv?: unknown; newKlap?: unknown } | undefined): boolean {
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d{1,3}$/.test(v) ? Number(v) : 0);
  return n(klap?.lv) >= 2 || n(klap?.newKlap) >= 1;
}

/** Strip the region suffix: 'HS110(EU)' → 'HS110'. Never throws. */
export function baseModel(model: string): string {
  return model.replace(/\s*\([^)]*\)\s*$/, '');
}

/** Family of an IOT device from its sysinfo (docs/protocols.md#classifying-an-iot-device). Never throws. */
export function classifyIot(sysinfo: Record<string, unknown>): Family {
  // Strings only: String() of a device-sent array recurses per nesting level (a stack overflow
  // from one datagram) and of a big one builds a huge text.
  const text = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 256).toLowerCase() : '');
  const type = text(sysinfo['mic_type'] ?? sysinfo['type']);
  const devName = text(sysinfo['dev_name']);
  if (type.includes('smartbulb')) return 'length' in sysinfo ? 'lightstrip' : 'bulb';
  if (type.includes('smartplug')) {
    if (Array.isArray(sysinfo['children']) && sysinfo['children'].length > 0) return 'strip';
    if (devName.includes('dimmer') || typeof sysinfo['brightness'] === 'number') return 'dimmer';
    if (devName.includes('light')) return 'switch';
    return 'plug';
  }
  return 'unknown';
}

/** Family of a SMART device from its type and its component ids. Never throws. */
export function classifySmart(deviceType: string, components: ReadonlySet<string>): Family {
  const t = deviceType.toUpperCase();
  if (t.endsWith('HUB')) return 'hub';
  if (t.endsWith('SENSOR') || t.endsWith('ENERGY')) return 'sensor';
  if (t.endsWith('BULB')) return components.has('light_strip') ? 'lightstrip' : 'bulb';
  if (t.endsWith('PLUG') || t.endsWith('SWITCH')) {
    if (components.has('child_device')) return 'strip';
    if (components.has('brightness')) return 'dimmer';
    return t.endsWith('SWITCH') ? 'switch' : 'plug';
  }
  return 'unknown';
}

/** Hub child kind from its SMART category. Never throws. */
export function childKind(category: string): string | undefined {
  const table: [string, string][] = [
    ['sub-plug', 'outlet'],
    ['temp-hmdt', 'temperature-humidity'],
    ['contact', 'contact'],
    ['motion', 'motion'],
    ['water-leak', 'water-leak'],
    ['trv', 'trv'],
    ['button', 'button'],
    ['switch', 'switch'],
    ['sub-fan', 'fan'],
    ['sub-dimmer', 'dimmer'],
  ];
  return table.find(([k]) => category.includes(k))?.[1];
}
