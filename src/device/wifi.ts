/**
 * Wi-Fi onboarding: list the networks a device sees and move it to another one.
 *
 * IOT (Kasa XOR / KLAP v1): `netif.get_scaninfo {refresh: 1}` answers `ap_list [{ssid, key_type}]`;
 * `netif.set_stainfo {ssid, password, key_type}` joins (key_type 0 none, 1 WEP, 2 WPA, 3 WPA2).
 * SMART (Tapo, Kasa SMART): `get_wireless_scan_info {start_index}` pages through `ap_list` (ssid
 * base64, key_type by name); `set_qs_info {wireless: {ssid, password, key_type}}` (ssid and
 * password base64, with the device's own clock from `get_device_time`) joins, as the apps do while
 * onboarding. Unlike python-kasa we do not put the account's e-mail and password into
 * `set_qs_info`: a device we can talk to is already bound, and KLAP never reveals the password.
 *
 * A device that joins drops off the current network, so the join's answer may never come: a
 * timeout or dropped connection after sending counts as "sent, not confirmed". The Wi-Fi password
 * never appears in a trace, an error or a log (redactSecrets below, applied to every trace).
 */
import { KasaTapoError, isKasaTapoError } from '../errors';
import { isObject } from '../json';
import type { DeviceApi, TraceFn } from '../types';

export interface WifiNetwork {
  ssid: string;
  /** IOT numbering: 0 none, 1 WEP, 2 WPA, 3 WPA2 (SMART names mapped; undefined when unknown). */
  keyType?: number;
  /** SMART's name for the key type, e.g. 'wpa2_psk'. */
  keyTypeName?: string;
  rssi?: number;
  /** SMART: 0-3 bars. */
  signalLevel?: number;
  channel?: number;
  bssid?: string;
}

export interface WifiJoinResult {
  ssid: string;
  /** True when the device answered the join; false when it went away first (normal for a join). */
  confirmed: boolean;
}

const KEY_NAMES: Record<number, string> = { 0: 'none', 1: 'wep', 2: 'wpa_psk', 3: 'wpa2_psk', 4: 'wpa3_sae' };
const KEY_NUMBERS: Record<string, number> = { none: 0, wep: 1, wpa_psk: 2, wpa2_psk: 3, wpa3_sae: 4, wpa2_wpa3: 4 };
const MAX_PAGES = 10;

/** SMART or IOT, from what the device object learned (a pooled device not read yet is read once). */
async function isSmart(dev: DeviceApi): Promise<boolean> {
  if (dev.info() === undefined) await dev.getState();
  const p = dev.info()?.protocol;
  if (p === undefined) throw new KasaTapoError('EPROTOCOL', 'Could not tell whether the device speaks IOT or SMART');
  return p === 'klap' || p === 'aes' || (p as string) === 'tpap';
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (v: unknown): string | undefined => (typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : undefined);

function smartResult(answer: unknown, method: string): Record<string, unknown> {
  if (!isObject(answer)) throw new KasaTapoError('EPROTOCOL', `${method}: the device's answer is not an object`, { method });
  const code = answer['error_code'];
  if (code === -1002 || code === -1001) throw new KasaTapoError('EUNSUPPORTED', `The device does not know ${method}`, { method, deviceCode: code });
  if (code !== 0)
    throw new KasaTapoError('EDEVICE', `The device refused ${method} (error ${String(code)})`, {
      method,
      ...(typeof code === 'number' ? { deviceCode: code } : {}),
    });
  return isObject(answer['result']) ? answer['result'] : {};
}

function iotResult(answer: unknown, method: string): Record<string, unknown> {
  const body = isObject(answer) && isObject(answer['netif']) ? answer['netif'][method] : undefined;
  if (!isObject(body)) {
    const mod = isObject(answer) ? answer['netif'] : undefined;
    if (isObject(mod) && mod['err_code'] === -1) throw new KasaTapoError('EUNSUPPORTED', 'The device has no netif module', { method: `netif.${method}` });
    throw new KasaTapoError('EPROTOCOL', `netif.${method}: the device's answer has no result`, { method: `netif.${method}` });
  }
  const code = body['err_code'];
  if (code === -2 || code === -1)
    throw new KasaTapoError('EUNSUPPORTED', `The device does not know netif.${method}`, { method: `netif.${method}`, deviceCode: code });
  if (code !== 0 && code !== undefined)
    throw new KasaTapoError('EDEVICE', `The device refused netif.${method} (err_code ${JSON.stringify(code) ?? '?'})`, {
      method: `netif.${method}`,
      ...(typeof code === 'number' ? { deviceCode: code } : {}),
    });
  return body;
}

/**
 * List the networks the device sees. Throws KasaTapoError: EUNSUPPORTED (no Wi-Fi scan on this
 * device), EDEVICE, EPROTOCOL and the transport errors.
 */
export async function wifiScan(dev: DeviceApi): Promise<WifiNetwork[]> {
  if (!(await isSmart(dev))) {
    const r = iotResult(await dev.raw({ netif: { get_scaninfo: { refresh: 1 } } }), 'get_scaninfo');
    const list = Array.isArray(r['ap_list']) ? r['ap_list'] : [];
    return list
      .filter(isObject)
      .filter((a) => typeof a['ssid'] === 'string')
      .map((a) => {
        const n: WifiNetwork = { ssid: a['ssid'] as string };
        if (typeof a['key_type'] === 'number') {
          n.keyType = a['key_type'];
          if (KEY_NAMES[a['key_type']]) n.keyTypeName = KEY_NAMES[a['key_type']];
        }
        if (typeof a['rssi'] === 'number') n.rssi = a['rssi'];
        return n;
      });
  }
  const out: WifiNetwork[] = [];
  let start = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const r = smartResult(await dev.raw({ method: 'get_wireless_scan_info', params: { start_index: start } }), 'get_wireless_scan_info');
    const list = Array.isArray(r['ap_list']) ? r['ap_list'].filter(isObject) : [];
    for (const a of list) {
      const ssid = unb64(a['ssid']);
      if (ssid === undefined) continue;
      const n: WifiNetwork = { ssid };
      if (typeof a['key_type'] === 'string') {
        n.keyTypeName = a['key_type'];
        if (KEY_NUMBERS[a['key_type']] !== undefined) n.keyType = KEY_NUMBERS[a['key_type']];
      }
      if (typeof a['signal_level'] === 'number') n.signalLevel = a['signal_level'];
      if (typeof a['channel'] === 'number') n.channel = a['channel'];
      if (typeof a['bssid'] === 'string') n.bssid = a['bssid'];
      out.push(n);
    }
    start += list.length;
    const sum = typeof r['sum'] === 'number' ? r['sum'] : start;
    if (list.length === 0 || start >= sum) break;
  }
  return out;
}

/**
 * Move the device to another Wi-Fi network. `keyType`: IOT number (0 none, 1 WEP, 2 WPA, 3 WPA2)
 * or a SMART name ('wpa2_psk'); default: what the scan says for that SSID, else WPA2.
 * Throws KasaTapoError: EBADINPUT (empty SSID, bad key type), EUNSUPPORTED, EDEVICE (the device
 * refused, e.g. an SSID it does not see), EAUTH and the other transport errors before sending.
 */
export async function wifiJoin(dev: DeviceApi, ssid: string, password: string, keyType?: number | string): Promise<WifiJoinResult> {
  if (typeof ssid !== 'string' || ssid === '' || Buffer.byteLength(ssid) > 32) throw new KasaTapoError('EBADINPUT', 'The SSID must be 1-32 bytes');
  if (typeof password !== 'string' || Buffer.byteLength(password) > 64)
    throw new KasaTapoError('EBADINPUT', 'The Wi-Fi password must be a string of at most 64 bytes');
  let kt = keyType;
  if (kt === undefined) kt = (await wifiScan(dev).catch(() => [] as WifiNetwork[])).find((n) => n.ssid === ssid)?.keyType ?? 3;
  const num = typeof kt === 'number' ? kt : KEY_NUMBERS[kt];
  if (num === undefined || !Number.isInteger(num) || num < 0 || num > 4)
    throw new KasaTapoError('EBADINPUT', 'The key type must be 0 (none), 1 (WEP), 2 (WPA), 3 (WPA2) or a SMART name like wpa2_psk');
  if (num !== 0 && password === '') throw new KasaTapoError('EBADINPUT', `A password is needed for a protected network`);
  const smart = await isSmart(dev);
  let time: Record<string, unknown> | undefined;
  if (smart) {
    // The apps send the device's clock along (as python-kasa does); leave it out if it cannot be read.
    time = await dev.raw({ method: 'get_device_time' }).then(
      (a) => smartResult(a, 'get_device_time'),
      () => undefined,
    );
  }
  const wireless = { ssid: b64(ssid), password: b64(password), key_type: typeof kt === 'string' ? kt : (KEY_NAMES[num] ?? 'wpa2_psk') };
  const request = smart
    ? { method: 'set_qs_info', params: { wireless, ...(time ? { time } : {}) } }
    : { netif: { set_stainfo: { ssid, password, key_type: num } } };
  let answer: unknown;
  try {
    answer = await dev.raw(request);
  } catch (e) {
    // The device may leave the network before it answers.
    if (isKasaTapoError(e) && (e.code === 'ETIMEDOUT' || e.code === 'ECONNRESET')) return { ssid, confirmed: false };
    throw e;
  }
  try {
    if (smart) smartResult(answer, 'set_qs_info');
    else iotResult(answer, 'set_stainfo');
  } catch (e) {
    if (isKasaTapoError(e) && e.code === 'EDEVICE') {
      throw new KasaTapoError('EDEVICE', `The device refused to join "${ssid}"`, {
        hint: 'Check the SSID (it must be one `wifi scan` lists) and the key type',
        ...(e.deviceCode !== undefined ? { deviceCode: e.deviceCode } : {}),
        ...(e.method ? { method: e.method } : {}),
      });
    }
    throw e;
  }
  return { ssid, confirmed: true };
}

/**
 * Replace the value of every "password" / "passwd" / "pwd" key (and a `wireless.password`) in a
 * JSON text with "***". Used on every trace so a Wi-Fi or account password never reaches
 * --verbose output or a user's trace function. Never throws.
 */
export function redactSecrets(text: string): string {
  return text.replace(/("(?:password|passwd|pwd|cloudPassword)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, '$1"***"');
}

/** Wrap a trace function so it only ever sees redacted text. */
export function redactingTrace(trace: TraceFn): TraceFn {
  return (direction, text) => trace(direction, redactSecrets(text));
}
