/**
 * Tapo AES securePassthrough session maths: one AES-128-CBC key and one IV for the whole session,
 * in both directions (the protocol's own weakness), PKCS#7 padding, base64 on the wire.
 * Login parameters: username = b64(hex(SHA1(user))); v1 password = b64(pass), v2 password2 =
 * b64(hex(SHA1(pass))).
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { KasaTapoError } from '../errors';

export class AesCipher {
  constructor(
    readonly key: Buffer,
    readonly iv: Buffer,
  ) {
    if (key.length !== 16 || iv.length !== 16) throw new KasaTapoError('EPROTOCOL', 'AES session key must be 16+16 bytes');
  }

  /** Encrypt text to base64. Never throws for valid keys. */
  encrypt(plain: string): string {
    const c = createCipheriv('aes-128-cbc', this.key, this.iv);
    return Buffer.concat([c.update(plain, 'utf8'), c.final()]).toString('base64');
  }

  /** Decrypt base64 to text. Throws KasaTapoError('EPROTOCOL') on bad padding or input. */
  decrypt(b64: string): string {
    try {
      const d = createDecipheriv('aes-128-cbc', this.key, this.iv);
      return Buffer.concat([d.update(Buffer.from(b64, 'base64')), d.final()]).toString('utf8');
    } catch {
      throw new KasaTapoError('EPROTOCOL', 'AES answer could not be decrypted');
    }
  }
}

function sha1Hex(s: string): string {
  return createHash('sha1').update(s, 'utf8').digest('hex');
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** `login_device` params for login version 1 or 2. Never throws. */
export function aesLoginParams(version: 1 | 2, username: string, password: string): Record<string, string> {
  const u = b64(sha1Hex(username));
  return version === 2 ? { password2: b64(sha1Hex(password)), username: u } : { password: b64(password), username: u };
}
