/**
 * Kasa "XOR" obfuscation: autokey XOR with initial key 171 — each byte is XORed with the previous
 * ciphertext byte. No secret and no integrity: it only hides the JSON from casual eyes.
 * TCP frames carry a 4-byte big-endian length prefix; UDP datagrams do not.
 */

const INITIAL_KEY = 0xab;

/** Encrypt plaintext bytes (or a string, as UTF-8). Never throws. */
export function xorEncrypt(plain: Uint8Array | string): Buffer {
  const p = typeof plain === 'string' ? Buffer.from(plain, 'utf8') : plain;
  const out = Buffer.allocUnsafe(p.length);
  let key = INITIAL_KEY;
  for (let i = 0; i < p.length; i++) {
    key ^= p[i]!;
    out[i] = key;
  }
  return out;
}

/** Decrypt ciphertext bytes. Never throws. */
export function xorDecrypt(cipher: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(cipher.length);
  let key = INITIAL_KEY;
  for (let i = 0; i < cipher.length; i++) {
    const c = cipher[i]!;
    out[i] = key ^ c;
    key = c;
  }
  return out;
}

/** A TCP frame: uint32 BE byte length, then the encrypted bytes. Never throws. */
export function xorFrame(plain: Uint8Array | string): Buffer {
  const body = xorEncrypt(plain);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}
