/**
 * A device whose protocol changes at run time (a firmware update, the app's Third-Party
 * Compatibility toggle): the profile it has after switching to another transport — the same
 * device, model and state, another wire server and another 20002 discovery answer.
 */
import { KasaTapoError } from '../errors';
import type { TransportKind } from '../types';
import type { DeviceProfile } from './profiles';

const SMART_KINDS = new Set<TransportKind>(['klap', 'aes', 'tpap']);
const IOT_KINDS = new Set<TransportKind>(['klap-v1', 'klap']);

/**
 * `p` served over `kind`: transport, login version and discovery answer (encrypt_type, lv, the
 * TPAP block) changed, the rest kept. Throws EBADINPUT for a kind the device's protocol cannot be
 * served over on its HTTP port (XOR, HTTPS-only, SMART over klap-v1).
 */
export function switchedProfile(p: DeviceProfile, kind: TransportKind): DeviceProfile {
  const ok = p.transport !== 'https' && p.transport !== 'xor' && (p.protocol === 'smart' ? SMART_KINDS : IOT_KINDS).has(kind);
  if (!ok) throw new KasaTapoError('EBADINPUT', `A ${p.protocol} device on ${p.transport} cannot switch to ${String(kind)}`);
  const next = structuredClone(p);
  next.transport = kind;
  if (kind === 'aes') next.loginVersion ??= 2;
  const d = next.discovery;
  if (d) {
    d.encryptType = kind === 'tpap' ? 'TPAP' : kind === 'aes' ? 'AES' : 'KLAP';
    if (kind === 'klap-v1') delete d.lv;
    else d.lv = 2;
    const extra = { ...d.extra };
    delete extra['tpap'];
    delete extra['tpap_preferred'];
    if (kind === 'tpap') Object.assign(extra, { tpap_preferred: true, tpap: { tls: 0, dac: 0, noc: 0, pake: [2], port: 80 } });
    d.extra = extra;
  }
  return next;
}
