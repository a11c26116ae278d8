/**
 * Child lock (the device's own button does nothing while it is on), where a SMART device has it:
 * - a device with the `child_protection` component: `get_device_info.child_protection` (boolean),
 *   set with `set_child_protection {enable}`;
 * - a hub child (e.g. a radiator valve): the same field, set with `set_device_info {child_protection}`
 *   through the hub.
 * Kasa (IOT) devices have none.
 */
import type { Adapter } from './adapter';
import { SmartAdapter } from './smart/adapter';
import { KasaTapoError } from '../errors';
import type { SmartProtocol } from '../protocols/smart';

/**
 * Read (and with `on` set) the child lock. Throws KasaTapoError EUNSUPPORTED (no child lock),
 * EBADINPUT (on not a boolean) and protocol errors.
 */
export async function smartChildLock(proto: SmartProtocol, childId: string | undefined, on?: boolean): Promise<{ childLock: boolean }> {
  if (on !== undefined && typeof on !== 'boolean') throw new KasaTapoError('EBADINPUT', `childLock must be true or false, got ${JSON.stringify(on)}`);
  const info = () => (childId ? proto.controlChild(childId, 'get_device_info') : proto.query('get_device_info'));
  const now = (await info())['child_protection'];
  if (typeof now !== 'boolean') throw new KasaTapoError('EUNSUPPORTED', 'This device has no child lock');
  if (on === undefined || on === now) return { childLock: now };
  if (childId) await proto.controlChild(childId, 'set_device_info', { child_protection: on });
  else await proto.query('set_child_protection', { enable: on });
  const after = (await info())['child_protection'];
  return { childLock: typeof after === 'boolean' ? after : on };
}

/**
 * The child lock where `adapter` speaks SMART. `what` names the device or child in errors.
 * Throws KasaTapoError: EUNSUPPORTED (no child lock), protocol/transport errors.
 */
export async function childLockOn(adapter: Adapter, what: string, childId: string | undefined, on?: boolean): Promise<{ childLock: boolean }> {
  if (!(adapter instanceof SmartAdapter)) throw new KasaTapoError('EUNSUPPORTED', `${what} has no child lock`);
  try {
    return await smartChildLock(adapter.proto, childId, on);
  } catch (e) {
    if (e instanceof KasaTapoError && e.code === 'EUNSUPPORTED') throw new KasaTapoError('EUNSUPPORTED', `${what} has no child lock`, { cause: e });
    throw e;
  }
}
