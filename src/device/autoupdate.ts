/**
 * Automatic firmware updates, where a SMART device has the setting (the `firmware` component):
 * `get_auto_update_info` answers `{enable, time, random_range}` — `time` is the start of the
 * nightly update window in minutes after local midnight, `random_range` how many minutes after it
 * the device may pick. `set_auto_update_info` takes the three fields together (some firmware
 * refuses a partial object), so a change sends the window read just before with the new `enable`.
 *
 * The usual advice after a firmware update broke an integration is to switch this off, so the
 * next one does not arrive unannounced. Kasa (IOT) devices have no such setting.
 */
import type { Adapter } from './adapter';
import { SmartAdapter } from './smart/adapter';
import { KasaTapoError } from '../errors';
import { isObject } from '../json';
import type { SmartProtocol } from '../protocols/smart';
import type { AutoUpdate } from '../types';

const minutes = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 24 * 60 ? v : undefined);

/** "03:00" for 180 minutes after midnight. */
const hhmm = (m: number): string => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/** The device's answer → AutoUpdate; undefined when it is not one. Never throws. */
export function autoUpdateOf(info: unknown): AutoUpdate | undefined {
  if (!isObject(info)) return undefined;
  const enable = info['enable'];
  if (typeof enable !== 'boolean' && enable !== 0 && enable !== 1) return undefined;
  const out: AutoUpdate = { autoUpdate: enable === true || enable === 1 };
  const t = minutes(info['time']);
  const r = info['random_range'];
  if (t !== undefined) out.time = hhmm(t);
  if (typeof r === 'number' && Number.isInteger(r) && r >= 0 && r <= 24 * 60) out.randomMinutes = r;
  return out;
}

/**
 * Read (`enable` undefined) or change the setting over SMART. Throws KasaTapoError: EBADINPUT
 * (enable given but not a boolean), EUNSUPPORTED (the firmware has no such setting), protocol errors.
 */
export async function smartAutoUpdate(proto: SmartProtocol, enable?: unknown): Promise<AutoUpdate> {
  if (enable !== undefined && typeof enable !== 'boolean') {
    throw new KasaTapoError('EBADINPUT', `autoUpdate must be true or false, got ${JSON.stringify(enable)?.slice(0, 40)}`);
  }
  const info = await proto.query('get_auto_update_info');
  const now = autoUpdateOf(info);
  if (!now) throw new KasaTapoError('EUNSUPPORTED', 'The device answered get_auto_update_info without an "enable" field');
  if (enable === undefined || enable === now.autoUpdate) return now;
  // The whole object back, with the new flag (time and random_range as read).
  await proto.query('set_auto_update_info', { ...info, enable });
  return autoUpdateOf(await proto.query('get_auto_update_info')) ?? { ...now, autoUpdate: enable };
}

/**
 * The automatic-update setting where `adapter` speaks SMART. `what` names the device in errors.
 * Throws KasaTapoError: EUNSUPPORTED (a Kasa device, or firmware without the setting), EBADINPUT,
 * protocol/transport errors.
 */
export async function autoUpdateOn(adapter: Adapter, what: string, enable?: unknown): Promise<AutoUpdate> {
  const none = (cause?: unknown): KasaTapoError =>
    new KasaTapoError('EUNSUPPORTED', `${what} has no automatic firmware update setting (Tapo devices have one; Kasa devices update only from the app)`, {
      ...(cause ? { cause } : {}),
    });
  if (!(adapter instanceof SmartAdapter)) throw none();
  try {
    return await smartAutoUpdate(adapter.proto, enable);
  } catch (e) {
    throw e instanceof KasaTapoError && e.code === 'EUNSUPPORTED' ? none(e) : e;
  }
}

export type { AutoUpdate };
