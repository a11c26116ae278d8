/**
 * Single DES in ECB mode, for TDDP (the TP-Link Device Debug Protocol, src/tddp.ts) only. Node's
 * OpenSSL 3 dropped DES from its default provider, so this comes from node-forge. No padding is
 * added or removed here: TDDP pads its data with zero bytes to a multiple of 8 itself.
 * DES is broken cryptography; it is here because old devices speak nothing else.
 */
import type * as Forge from 'node-forge';
import { KasaTapoError } from '../errors';

function check(key: Buffer, data: Buffer): void {
  if (key.length !== 8) throw new KasaTapoError('EBADINPUT', `A DES key is 8 bytes, not ${key.length}`);
  if (data.length % 8 !== 0) throw new KasaTapoError('EBADINPUT', `DES-ECB data must be a multiple of 8 bytes, not ${data.length}`);
}

function run(decrypt: boolean, key: Buffer, data: Buffer): Buffer {
  check(key, data);
  if (data.length === 0) return Buffer.alloc(0);
  // Loaded on first use, as in rsa.ts: most users never speak TDDP.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const forge = require('node-forge') as typeof Forge;
  const keyBuf = forge.util.createBuffer(key.toString('binary'));
  const c = decrypt ? forge.cipher.createDecipher('DES-ECB', keyBuf) : forge.cipher.createCipher('DES-ECB', keyBuf);
  c.start();
  c.update(forge.util.createBuffer(data.toString('binary')));
  // A pad/unpad function that does nothing: the caller's data is already whole blocks.
  (c.finish as unknown as (pad: () => boolean) => boolean)(() => true);
  return Buffer.from(c.output.getBytes(), 'binary');
}

/** DES-ECB encrypt whole 8-byte blocks. Throws KasaTapoError EBADINPUT (key not 8 bytes, data not blocks). */
export function desEcbEncrypt(key: Buffer, data: Buffer): Buffer {
  return run(false, key, data);
}

/** DES-ECB decrypt whole 8-byte blocks. Throws KasaTapoError EBADINPUT (key not 8 bytes, data not blocks). */
export function desEcbDecrypt(key: Buffer, data: Buffer): Buffer {
  return run(true, key, data);
}
