/**
 * TPAP credential transforms (protocol.md §7.5.6): the `extra_crypt` of a pake_register answer says
 * in which form the device stored the password, and so which string goes into PBKDF2.
 */
import { createHash } from 'node:crypto';
import { KasaTapoError } from '../errors';

const sha = (alg: 'sha1' | 'md5' | 'sha256', data: Buffer | string): Buffer => createHash(alg).update(data).digest();

/** The `extra_crypt` object of a pake_register answer (only the fields we read). */
export interface TpapExtraCrypt {
  type?: unknown;
  params?: Record<string, unknown>;
}

/** A human-readable name of a credential transform, for errors ("none", "password_shadow 2", ...). Never throws. */
export function tpapTransformName(extra: TpapExtraCrypt | undefined | null): string {
  if (!extra || typeof extra !== 'object' || extra.type === undefined) return 'none';
  const id = extra.params && typeof extra.params === 'object' ? extra.params.passwd_id : undefined;
  const show = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? '?')).slice(0, 40);
  return id === undefined ? show(extra.type) : `${show(extra.type)} ${show(id)}`;
}

/** MAC as uppercase colon-separated (`AA:BB:...`); accepts `-`, `:` or no separators. */
function macColon(mac: string): string {
  const hex = mac.replace(/[^0-9a-fA-F]/g, '').toUpperCase();
  return hex.match(/.{2}/g)?.join(':') ?? '';
}

/**
 * The credential string fed to PBKDF2 (protocol.md §7.5.6), from the account and the device's
 * `extra_crypt`:
 * - absent / `{}`: `username + "/" + password` (the password alone when the username is empty);
 * - `password_shadow` 2 and 4: lowercase hex SHA-1 of the password (4 as verified on S505D hardware);
 * - `password_shadow` 3: hex SHA-1 of `md5hex(username) + "_" + MAC` (MAC uppercase, colons).
 * Throws KasaTapoError EUNSUPPORTED naming any other transform (a wrong transform would look
 * exactly like a wrong password, so we never guess).
 */
export function tpapCredential(extra: TpapExtraCrypt | undefined | null, username: string, password: string, mac = ''): string {
  const name = tpapTransformName(extra);
  if (name === 'none') return username ? `${username}/${password}` : password;
  if (extra?.type === 'password_shadow') {
    const id = Number(extra.params?.passwd_id);
    if (id === 2 || id === 4) return sha('sha1', Buffer.from(password, 'utf8')).toString('hex');
    if (id === 3 && mac) return sha('sha1', `${sha('md5', Buffer.from(username, 'utf8')).toString('hex')}_${macColon(mac)}`).toString('hex');
  }
  throw new KasaTapoError('EUNSUPPORTED', `The device asks for the TPAP credential transform "${name}", which this library does not implement yet`);
}
