/**
 * TPAP passcodes and credential transforms (README.md, TPAP): which secret goes into PBKDF2.
 *
 * The passcode type comes from the profile's `pake` list (plugs, bulbs, hubs: a 0 anywhere means
 * `default_userpw`, else 2 or 5 `userpw`, else 3 `shared_token`, else `default_userpw`).
 * `default_userpw` is derived from the device's MAC alone (no account involved); `userpw` and
 * `shared_token` are the account password, shaped by the `extra_crypt` of the pake_register answer:
 * - absent / `{}`: `username + "/" + password` (the password alone when the username is empty);
 * - `password_shadow` 1: MD5-crypt with the salt of `passwd_prefix` (`$1$<salt>$…`);
 * - `password_shadow` 2 and 4: lowercase hex SHA-1 of the password (4 as verified on S505D hardware);
 * - `password_shadow` 3: hex SHA-1 of `md5hex(username) + "_" + MAC` — the password is not used;
 * - `password_shadow` 5: SHA-256-crypt with the salt and rounds of `passwd_prefix` / `passwd_rounds`;
 * - `password_authkey`: the password XORed with `authkey_tmpkey`, mapped onto `authkey_dictionary`;
 * - `password_sha_with_salt`: hex SHA-256 of `"admin"|"user"` ‖ the decoded `sha_salt` ‖ the password.
 * Any other transform is refused by name (a wrong guess would look exactly like a wrong password).
 */
import { createHash, hkdfSync } from 'node:crypto';
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

/** The 12 hex digits of a MAC given with `-`, `:` or no separators, uppercase; '' when it is not one. */
function mac12(mac: string): string {
  const hex = mac.replace(/[:-]/g, '').toUpperCase();
  return /^[0-9A-F]{12}$/.test(hex) ? hex : '';
}

// ---------------------------------------------------------------------------------------------
// Passcode types

/** What goes into pake_register's `passcode_type`. */
export type TpapPasscodeType = 'userpw' | 'default_userpw' | 'shared_token';

/**
 * The passcode type for a `pake` list (plugs, bulbs, switches, hubs): 0 anywhere wins
 * (`default_userpw`), then 2 or 5 (`userpw`), then 3 (`shared_token`); nothing known or no list:
 * `default_userpw`. Never throws.
 */
export function tpapPasscodeType(pake: unknown): TpapPasscodeType {
  const list = Array.isArray(pake) ? pake : [];
  if (list.includes(0)) return 'default_userpw';
  if (list.includes(2) || list.includes(5)) return 'userpw';
  if (list.includes(3)) return 'shared_token';
  return 'default_userpw';
}

const DEFAULT_PASSCODE_KEY = 'GqY5o136oa4i6VprTlMW2DpVXxmfW8';

/**
 * The MAC-derived passcode of `default_userpw`: uppercase hex HKDF-SHA256(salt
 * "tp-kdf-salt-default-passcode", IKM = key ‖ mac[3..5] ‖ mac[0..2], info "tp-kdf-info-default-passcode", 32).
 * Anyone who knows the MAC (it is in every discovery answer) knows it. Throws KasaTapoError
 * EPROTOCOL when `mac` is not a MAC.
 */
export function tpapDefaultPasscode(mac: string): string {
  const hex = mac12(mac);
  if (!hex) throw new KasaTapoError('EPROTOCOL', 'The TPAP login discover gave no usable MAC for the default passcode');
  const m = Buffer.from(hex, 'hex');
  const ikm = Buffer.concat([Buffer.from(DEFAULT_PASSCODE_KEY, 'ascii'), m.subarray(3, 6), m.subarray(0, 3)]);
  const out = hkdfSync('sha256', ikm, Buffer.from('tp-kdf-salt-default-passcode'), Buffer.from('tp-kdf-info-default-passcode'), 32);
  return Buffer.from(out).toString('hex').toUpperCase();
}

// ---------------------------------------------------------------------------------------------
// crypt(3): MD5-crypt and SHA-256-crypt, written from the published algorithm descriptions

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `n` crypt-base64 characters of the 24-bit value b2‖b1‖b0, least significant six bits first. */
function to64(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += ITOA64[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

/** Bytes of `src` repeated to `len` bytes. */
function repeatTo(src: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += src.length) src.copy(out, i, 0, Math.min(src.length, len - i));
  return out;
}

/** MD5-crypt (`$1$`, 1000 rounds) of `password` with `salt` (at most 8 characters). Never throws. */
export function md5Crypt(password: string, salt: string): string {
  const pw = Buffer.from(password, 'utf8');
  const s = Buffer.from(salt.slice(0, 8), 'utf8');
  const alt = createHash('md5').update(pw).update(s).update(pw).digest();
  const ctx = createHash('md5').update(pw).update('$1$').update(s);
  for (let left = pw.length; left > 0; left -= 16) ctx.update(alt.subarray(0, Math.min(16, left)));
  for (let i = pw.length; i > 0; i >>>= 1) ctx.update(i & 1 ? Buffer.alloc(1) : pw.subarray(0, 1));
  let f = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const c = createHash('md5');
    c.update(i & 1 ? pw : f);
    if (i % 3) c.update(s);
    if (i % 7) c.update(pw);
    c.update(i & 1 ? f : pw);
    f = c.digest();
  }
  const enc =
    to64(f[0]!, f[6]!, f[12]!, 4) +
    to64(f[1]!, f[7]!, f[13]!, 4) +
    to64(f[2]!, f[8]!, f[14]!, 4) +
    to64(f[3]!, f[9]!, f[15]!, 4) +
    to64(f[4]!, f[10]!, f[5]!, 4) +
    to64(0, 0, f[11]!, 2);
  return `$1$${s.toString('utf8')}$${enc}`;
}

/** SHA-256-crypt rounds done between two yields of sha256CryptSteps (a few ms of work). */
const CRYPT_SLICE = 2_000;

/** SHA-256-crypt (`$5$`) as a generator that yields every CRYPT_SLICE rounds; returns the hash part (43 characters). */
function* sha256CryptSteps(password: string, salt: string, rounds: number): Generator<void, string, void> {
  const p = Buffer.from(password, 'utf8');
  const s = Buffer.from(salt, 'utf8');
  const b = createHash('sha256').update(p).update(s).update(p).digest();
  const a = createHash('sha256').update(p).update(s);
  for (let left = p.length; left > 0; left -= 32) a.update(b.subarray(0, Math.min(32, left)));
  for (let i = p.length; i > 0; i >>>= 1) a.update(i & 1 ? b : p);
  let c = a.digest();
  const dp = createHash('sha256');
  for (let i = 0; i < p.length; i++) dp.update(p);
  const pp = repeatTo(dp.digest(), p.length);
  const ds = createHash('sha256');
  for (let i = 0; i < 16 + c[0]!; i++) ds.update(s);
  const ss = repeatTo(ds.digest(), s.length);
  for (let i = 0; i < rounds; i++) {
    if (i > 0 && i % CRYPT_SLICE === 0) yield;
    const h = createHash('sha256');
    h.update(i & 1 ? pp : c);
    if (i % 3) h.update(ss);
    if (i % 7) h.update(pp);
    h.update(i & 1 ? c : pp);
    c = h.digest();
  }
  const order = [
    [0, 10, 20],
    [21, 1, 11],
    [12, 22, 2],
    [3, 13, 23],
    [24, 4, 14],
    [15, 25, 5],
    [6, 16, 26],
    [27, 7, 17],
    [18, 28, 8],
    [9, 19, 29],
  ];
  return order.map(([x, y, z]) => to64(c[x!]!, c[y!]!, c[z!]!, 4)).join('') + to64(0, c[31]!, c[30]!, 3);
}

/** Highest SHA-256-crypt round count a device may ask for (passwd_id 5): above it the login is refused (EPROTOCOL). */
export const TPAP_MAX_CRYPT_ROUNDS = 1_000_000;
/** Rounds used when neither `passwd_prefix` nor `passwd_rounds` names any (the reference client's default). */
const CRYPT_DEFAULT_ROUNDS = 535_000;

/** Salt and rounds of a passwd_id 5 transform, from `passwd_prefix` and `passwd_rounds`; undefined → fall back to the passcode. */
function sha256CryptSetting(params: Record<string, unknown>): { salt: string; rounds: number } | undefined {
  const prefix = typeof params.passwd_prefix === 'string' ? params.passwd_prefix : '';
  if (!prefix) return undefined;
  let rest = prefix.startsWith('$5$') ? prefix.slice(3) : prefix;
  let rounds: number | undefined;
  const int = (v: unknown): number | undefined => {
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
    return Number.isSafeInteger(n) ? n : undefined;
  };
  let salt: string;
  if (rest.startsWith('rounds=')) {
    const end = rest.indexOf('$');
    rounds = int(end < 0 ? rest.slice(7) : rest.slice(7, end)) ?? 5000;
    rest = end < 0 ? '' : rest.slice(end + 1);
    salt = rest;
  } else {
    const end = rest.indexOf('$');
    salt = end < 0 ? rest : rest.slice(0, end);
  }
  if (params.passwd_rounds !== undefined) rounds = int(params.passwd_rounds) ?? 5000;
  rounds = rounds === undefined ? CRYPT_DEFAULT_ROUNDS : Math.max(1000, Math.min(999_999_999, rounds));
  return { salt: salt.slice(0, 16), rounds };
}

// ---------------------------------------------------------------------------------------------
// The credential string

/** The lowercase hex SHA-256 of `"admin"|"user"` ‖ salt text ‖ passcode, or undefined (→ the passcode) for unusable params. */
function shaWithSalt(params: Record<string, unknown>, passcode: string): string | undefined {
  const name = params.sha_name === undefined ? -1 : params.sha_name;
  if (typeof name !== 'number' || !Number.isInteger(name)) return undefined;
  const raw = typeof params.sha_salt === 'string' ? params.sha_salt : '';
  if (raw.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(raw)) return undefined;
  let salt: string;
  try {
    salt = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(raw, 'base64'));
  } catch {
    return undefined;
  }
  return sha('sha256', `${name === 0 ? 'admin' : 'user'}${salt}${passcode}`).toString('hex');
}

/** `password_authkey`: passcode XOR tmpkey (0xBB past the end of either), mapped onto the dictionary; undefined for empty params. */
function authKey(params: Record<string, unknown>, passcode: string): string | undefined {
  const tmp = typeof params.authkey_tmpkey === 'string' ? Array.from(params.authkey_tmpkey) : [];
  const dict = typeof params.authkey_dictionary === 'string' ? Array.from(params.authkey_dictionary) : [];
  if (!tmp.length || !dict.length) return undefined;
  const pw = Array.from(passcode);
  let out = '';
  for (let i = 0; i < Math.max(tmp.length, pw.length); i++) {
    const a = i < pw.length ? pw[i]!.codePointAt(0)! : 0xbb;
    const b = i < tmp.length ? tmp[i]!.codePointAt(0)! : 0xbb;
    out += dict[(a ^ b) % dict.length];
  }
  return out;
}

/** Whether a transform, applied to these inputs, leaves the password out of the credential (password_shadow 3). Never throws. */
export function tpapCredentialWithoutPassword(extra: TpapExtraCrypt | undefined | null, username: string, mac = ''): boolean {
  const type = typeof extra?.type === 'string' ? extra.type.toLowerCase() : '';
  return type === 'password_shadow' && Number(extra?.params?.passwd_id) === 3 && username !== '' && mac12(mac) !== '';
}

function* credentialSteps(extra: TpapExtraCrypt | undefined | null, username: string, passcode: string, mac: string): Generator<void, string, void> {
  const name = tpapTransformName(extra);
  const plain = username ? `${username}/${passcode}` : passcode;
  if (name === 'none' || (extra && typeof extra === 'object' && Object.keys(extra).length === 0)) return plain;
  const type = typeof extra?.type === 'string' ? extra.type.toLowerCase() : '';
  const params = extra?.params && typeof extra.params === 'object' && !Array.isArray(extra.params) ? extra.params : {};
  if (type === 'password_shadow') {
    const id = Number(params.passwd_id);
    if (id === 2 || id === 4) return sha('sha1', Buffer.from(passcode, 'utf8')).toString('hex');
    if (id === 3) {
      const m = mac12(mac);
      if (!username || !m) return passcode;
      return sha('sha1', `${sha('md5', Buffer.from(username, 'utf8')).toString('hex')}_${m.match(/.{2}/g)!.join(':')}`).toString('hex');
    }
    if (id === 1) {
      const prefix = typeof params.passwd_prefix === 'string' ? params.passwd_prefix : '';
      if (!prefix.startsWith('$1$') || passcode.length > 30_000) return passcode;
      const rest = prefix.slice(3);
      const end = rest.indexOf('$');
      return md5Crypt(passcode, (end < 0 ? rest : rest.slice(0, end)).slice(0, 8));
    }
    if (id === 5) {
      const setting = sha256CryptSetting(params);
      if (!setting) return passcode;
      if (!/^[./0-9A-Za-z]*$/.test(setting.salt)) {
        throw new KasaTapoError('EUNSUPPORTED', `The device's TPAP credential transform "${name}" has a malformed salt`);
      }
      if (setting.rounds > TPAP_MAX_CRYPT_ROUNDS) {
        throw new KasaTapoError('EPROTOCOL', `The device asks for ${setting.rounds} SHA-256-crypt rounds (at most ${TPAP_MAX_CRYPT_ROUNDS} accepted)`);
      }
      const hash = yield* sha256CryptSteps(passcode, setting.salt, setting.rounds);
      return `$5$${setting.rounds === 5000 ? '' : `rounds=${setting.rounds}$`}${setting.salt}$${hash}`;
    }
  } else if (type === 'password_authkey') {
    return authKey(params, passcode) ?? passcode;
  } else if (type === 'password_sha_with_salt') {
    return shaWithSalt(params, passcode) ?? passcode;
  }
  throw new KasaTapoError('EUNSUPPORTED', `The device asks for the TPAP credential transform "${name}", which this library does not implement yet`);
}

/**
 * The credential string fed to PBKDF2, from the account (`username`, and the passcode: the
 * password) and the device's `extra_crypt` (see the module comment). Synchronous: a SHA-256-crypt
 * transform with many rounds runs here at once (tpapCredentialAsync spreads it over event-loop turns).
 * Throws KasaTapoError EUNSUPPORTED naming any other transform, EPROTOCOL for too many crypt rounds.
 */
export function tpapCredential(extra: TpapExtraCrypt | undefined | null, username: string, password: string, mac = ''): string {
  const g = credentialSteps(extra, username, password, mac);
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

/** As tpapCredential, yielding to the event loop between slices of SHA-256-crypt rounds. Rejects like it throws. */
export async function tpapCredentialAsync(extra: TpapExtraCrypt | undefined | null, username: string, password: string, mac = ''): Promise<string> {
  const g = credentialSteps(extra, username, password, mac);
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
