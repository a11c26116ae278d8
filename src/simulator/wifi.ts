/**
 * The Wi-Fi a simulated device sees and the network it is on, for onboarding (src/wifi.ts):
 * IOT `netif.get_scaninfo` / `get_stainfo` / `set_stainfo`, SMART `get_wireless_scan_info` /
 * `set_qs_info`. A join is recorded (ssid and key type, never the password) and the device reports
 * the new network at once; unlike a real device it stays reachable on its loopback address.
 */

export interface SimNetwork {
  ssid: string;
  /** IOT key_type: 0 none, 1 WEP, 2 WPA, 3 WPA2. */
  keyType: number;
  /** dBm. */
  rssi: number;
  channel: number;
}

export interface SimJoin {
  t: number;
  ssid: string;
  keyType: number | string;
}

/** The networks every simulated device sees. */
export const SIM_NETWORKS: readonly SimNetwork[] = Object.freeze([
  { ssid: 'SimHome', keyType: 3, rssi: -45, channel: 6 },
  { ssid: 'SimHome-Guest', keyType: 3, rssi: -52, channel: 6 },
  { ssid: 'SimHome-IoT', keyType: 3, rssi: -58, channel: 11 },
  { ssid: 'Neighbour', keyType: 2, rssi: -80, channel: 1 },
  { ssid: 'Cafe Open', keyType: 0, rssi: -85, channel: 1 },
]);

/** SMART key type names by IOT number. */
export const SMART_KEY_TYPES: Record<number, string> = { 0: 'none', 1: 'wep', 2: 'wpa_psk', 3: 'wpa2_psk' };

export class SimWifi {
  /** The network the device is on. */
  ssid: string;
  keyType: number | string;
  /** Joins so far, oldest first (bounded). */
  readonly joins: SimJoin[] = [];
  readonly networks: SimNetwork[];

  constructor(ssid = 'SimHome', networks: readonly SimNetwork[] = SIM_NETWORKS) {
    this.ssid = ssid;
    this.keyType = 3;
    this.networks = networks.map((n) => ({ ...n }));
  }

  /** Record a join. Returns false (and changes nothing) for an SSID the device does not see. */
  join(ssid: string, keyType: number | string): boolean {
    if (!this.networks.some((n) => n.ssid === ssid)) return false;
    this.ssid = ssid;
    this.keyType = keyType;
    this.joins.push({ t: Date.now(), ssid, keyType });
    if (this.joins.length > 100) this.joins.shift();
    return true;
  }

  rssi(): number {
    return this.networks.find((n) => n.ssid === this.ssid)?.rssi ?? -50;
  }
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (v: unknown): string | undefined => {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return undefined;
  return Buffer.from(v, 'base64').toString('utf8');
};
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** SMART `get_wireless_scan_info` items (ssid base64, key type by name). */
export function smartScanList(w: SimWifi): Record<string, unknown>[] {
  return w.networks.map((n, i) => ({
    ssid: b64(n.ssid),
    bssid: `00:5F:67:00:00:${String(i).padStart(2, '0')}`,
    channel: n.channel,
    key_type: SMART_KEY_TYPES[n.keyType] ?? 'wpa2_psk',
    signal_level: n.rssi > -50 ? 3 : n.rssi > -70 ? 2 : 1,
    cipher_type: n.keyType >= 2 ? 2 : 0,
  }));
}

/**
 * SMART `set_qs_info` with `wireless: {ssid, password, key_type}` (ssid and password base64):
 * join. Answers 0, or the SMART error code to throw (-1008 bad parameters, -1002 no such network).
 */
export function smartJoin(w: SimWifi, params: Record<string, unknown>): number {
  const wl = params['wireless'];
  if (!isObj(wl)) return -1008;
  const ssid = unb64(wl['ssid']);
  const password = unb64(wl['password']);
  const keyType = wl['key_type'];
  if (ssid === undefined || password === undefined || typeof keyType !== 'string' || !Object.values(SMART_KEY_TYPES).includes(keyType)) return -1008;
  return w.join(ssid, keyType) ? 0 : -1008;
}
