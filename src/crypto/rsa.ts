/**
 * RSA for the AES handshake. Key pairs come from Node's native, asynchronous generateKeyPair
 * (off the event loop). The device encrypts the session key with PKCS#1 v1.5, whose private
 * decryption Node 20.11+ refuses (CVE-2023-46809 mitigation): we decrypt with RSA_NO_PADDING and
 * check the v1.5 block by hand, falling back to node-forge where a runtime lacks NO_PADDING.
 * This is the only module that imports node-forge.
 */
import { constants, createPrivateKey, createPublicKey, generateKeyPair, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import { RSA_KEY_BITS } from '../defaults';
import { KasaTapoError } from '../errors';
import type { RsaKeyPair } from '../types';
import type * as Forge from 'node-forge';

export type { RsaKeyPair } from '../types';

/** Build the one-line SPKI PEM devices accept. */
export function spkiPem(spkiDer: Buffer): string {
  return `-----BEGIN PUBLIC KEY-----\n${spkiDer.toString('base64')}\n-----END PUBLIC KEY-----\n`;
}

/** Generate an RSA key pair asynchronously (1024 bits for the AES handshake). Rejects only on a runtime fault. */
export function generateRsaKeyPair(bits = 1024): Promise<RsaKeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair('rsa', { modulusLength: bits, publicExponent: 0x10001 }, (err, publicKey, privateKey) => {
      if (err) return reject(err);
      resolve({ publicPem: spkiPem(publicKey.export({ type: 'spki', format: 'der' })), privateKey });
    });
  });
}

/** Import a PEM private key (PKCS#1 or PKCS#8) as a key pair. Throws on a malformed key. */
export function keyPairFromPrivatePem(pem: string): RsaKeyPair {
  const privateKey = createPrivateKey(pem);
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return { publicPem: spkiPem(spki), privateKey };
}

/** Check and strip a PKCS#1 v1.5 type-2 block. Throws EPROTOCOL. */
export function unpadPkcs1v15(em: Buffer, expectedLength?: number): Buffer {
  if (em.length < 11 || em[0] !== 0 || em[1] !== 2) throw new KasaTapoError('EPROTOCOL', 'Bad RSA block in the handshake answer');
  const sep = em.indexOf(0, 2);
  if (sep < 10) throw new KasaTapoError('EPROTOCOL', 'Bad RSA padding in the handshake answer');
  const m = em.subarray(sep + 1);
  if (expectedLength !== undefined && m.length !== expectedLength) {
    throw new KasaTapoError('EPROTOCOL', `Handshake key has ${m.length} bytes, expected ${expectedLength}`);
  }
  return Buffer.from(m);
}

/**
 * Decrypt a PKCS#1 v1.5 ciphertext with our private key. Works on Node 20, 22 and 24 without
 * --security-revert. Throws KasaTapoError('EPROTOCOL') when the block is not valid.
 */
export function rsaPkcs1Decrypt(privateKey: KeyObject, ct: Buffer, expectedLength?: number): Buffer {
  // A block longer than the modulus is never valid (both paths refuse it); refuse it here rather
  // than let device bytes send every such answer through the slow node-forge fallback.
  const bits = privateKey.asymmetricKeyDetails?.modulusLength;
  if (bits !== undefined && ct.length > Math.ceil(bits / 8)) throw new KasaTapoError('EPROTOCOL', 'The handshake key could not be decrypted');
  let em: Buffer;
  try {
    em = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, ct);
  } catch {
    return forgeDecrypt(privateKey, ct, expectedLength);
  }
  return unpadPkcs1v15(em, expectedLength);
}

function forgeDecrypt(privateKey: KeyObject, ct: Buffer, expectedLength?: number): Buffer {
  // Loaded only on runtimes without RSA_NO_PADDING (a fallback; most processes never need it).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const forge = require('node-forge') as typeof Forge;
  try {
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const key = forge.pki.privateKeyFromPem(pem);
    const out = Buffer.from(key.decrypt(ct.toString('binary'), 'RSAES-PKCS1-V1_5'), 'binary');
    if (expectedLength !== undefined && out.length !== expectedLength) throw new Error('length');
    return out;
  } catch {
    throw new KasaTapoError('EPROTOCOL', 'The handshake key could not be decrypted');
  }
}

/** node-forge decryption, exposed so tests can check both paths agree. */
export const rsaPkcs1DecryptForge = forgeDecrypt;

/** Encrypt with a PEM public key, PKCS#1 v1.5 (what a device does; used by the simulator). */
export function rsaPkcs1Encrypt(publicPem: string, data: Buffer): Buffer {
  return publicEncrypt({ key: publicPem, padding: constants.RSA_PKCS1_PADDING }, data);
}

/**
 * One key pair, generated on first use (asynchronously, off the event loop) and handed out after;
 * a failed generation is forgotten so the next call tries again. connect() owns one store for the
 * whole process, so every AES session shares a key pair. `get()` rejects only on a runtime fault.
 */
export class RsaKeyStore {
  private pending?: Promise<RsaKeyPair>;

  constructor(private readonly bits = RSA_KEY_BITS) {}

  get(): Promise<RsaKeyPair> {
    this.pending ??= generateRsaKeyPair(this.bits).catch((e: unknown) => {
      this.pending = undefined;
      throw e;
    });
    return this.pending;
  }
}
