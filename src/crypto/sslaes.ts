/**
 * The maths of TP-Link's "secure login" over HTTPS (SSL-AES: Tapo cameras, doorbells, the H200 hub;
 * docs/protocols.md). Pure functions over strings; no I/O.
 *
 *   C  the client nonce: 8 random bytes as 16 uppercase hex characters
 *   N  the device nonce, as received
 *   H  the password hash: uppercase hex SHA-256 of the password, or uppercase hex MD5 (older firmware)
 *   device_confirm = SHA256U(C ‖ H ‖ N) ‖ N ‖ C            (the device proves it knows H)
 *   digest_passwd  = SHA256U(H ‖ C ‖ N) ‖ C ‖ N            (we prove it)
 *   hk  = SHA256U(C ‖ H ‖ N)
 *   key = SHA256("lsk" ‖ C ‖ N ‖ hk)[0:16], iv = SHA256("ivb" ‖ C ‖ N ‖ hk)[0:16]
 *   Tapo_tag(body, seq) = SHA256U(SHA256U(H ‖ C) ‖ body ‖ seq)
 * `SHA256U(s)` is the uppercase hex SHA-256 of the ASCII string; `‖` is string concatenation.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AesCipher } from './aes';

/** The password hash variants a device may store: SHA-256 first, then MD5. */
export type SslAesHashKind = 'sha256' | 'md5';

const upper = (alg: 'sha256' | 'md5', s: string): string => createHash(alg).update(s, 'utf8').digest('hex').toUpperCase();

/** A fresh client nonce: 16 uppercase hex characters. */
export function sslAesCnonce(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/** H: the password hash of one kind. Never throws. */
export function sslAesPasswordHash(password: string, kind: SslAesHashKind): string {
  return upper(kind, password);
}

/** The device_confirm a device that knows `hash` sends. Never throws. */
export function sslAesDeviceConfirm(cnonce: string, hash: string, nonce: string): string {
  return `${upper('sha256', cnonce + hash + nonce)}${nonce}${cnonce}`;
}

/** The digest_passwd of handshake2. Never throws. */
export function sslAesDigest(cnonce: string, hash: string, nonce: string): string {
  return `${upper('sha256', hash + cnonce + nonce)}${cnonce}${nonce}`;
}

/**
 * Which password hash the device's confirmation matches: SHA-256, else MD5, else undefined (the
 * device does not know the password, or is not who it says). Compares in constant time per
 * candidate. Never throws.
 */
export function sslAesMatchConfirm(cnonce: string, nonce: string, password: string, confirm: unknown): { kind: SslAesHashKind; hash: string } | undefined {
  if (typeof confirm !== 'string') return undefined;
  for (const kind of ['sha256', 'md5'] as const) {
    const hash = sslAesPasswordHash(password, kind);
    if (sameText(sslAesDeviceConfirm(cnonce, hash, nonce), confirm)) return { kind, hash };
  }
  return undefined;
}

/** Constant-time comparison of two ASCII strings (length leaks, content does not). */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The session's AES-128-CBC key and IV (the same IV for every message, both ways). Never throws. */
export function sslAesSessionCipher(cnonce: string, hash: string, nonce: string): AesCipher {
  const hk = upper('sha256', cnonce + hash + nonce);
  const derive = (label: string): Buffer => createHash('sha256').update(`${label}${cnonce}${nonce}${hk}`, 'utf8').digest().subarray(0, 16);
  return new AesCipher(derive('lsk'), derive('ivb'));
}

/** The Tapo_tag header of a request: binds the exact body string and its sequence number. Never throws. */
export function sslAesTag(hash: string, cnonce: string, body: string, seq: number): string {
  return upper('sha256', upper('sha256', hash + cnonce) + body + String(seq));
}
