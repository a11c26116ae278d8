/**
 * KLAP session maths (v1 for Kasa IOT firmware, v2 for Tapo/SMART). Pure functions over buffers;
 * the HTTP exchange lives in transports/klap.ts.
 *
 * auth hash   v1: MD5(MD5(user) || MD5(pass))        v2: SHA256(SHA1(user) || SHA1(pass))
 * handshake1  client sends 16-byte local seed; device answers remote seed (16) || server hash (32)
 *             server hash v1: SHA256(local || auth)   v2: SHA256(local || remote || auth)
 * handshake2  client sends v1: SHA256(remote || auth)  v2: SHA256(remote || local || auth)
 * session     M = local || remote || auth; key = SHA256("lsk"||M)[0:16]; iv = SHA256("iv"||M)[0:12];
 *             seq0 = signed int32 of SHA256("iv"||M)[28:32]; sigKey = SHA256("ldk"||M)[0:28]
 * request     seq += 1; iv = ivPrefix || int32BE(seq); ct = AES-128-CBC(key, iv, pkcs7(json));
 *             body = SHA256(sigKey || int32BE(seq) || ct) || ct; the answer uses the same key/iv.
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { KasaTapoError } from '../errors';

export type KlapVersion = 1 | 2;

function hash(alg: 'md5' | 'sha1' | 'sha256', ...parts: Uint8Array[]): Buffer {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The credential hash a KLAP device compares against. Never throws. */
export function klapAuthHash(version: KlapVersion, username: string, password: string): Buffer {
  const u = Buffer.from(username, 'utf8');
  const p = Buffer.from(password, 'utf8');
  return version === 1 ? hash('md5', hash('md5', u), hash('md5', p)) : hash('sha256', hash('sha1', u), hash('sha1', p));
}

/** Server hash expected in the handshake1 answer. */
export function klapServerHash(version: KlapVersion, local: Buffer, remote: Buffer, auth: Buffer): Buffer {
  return version === 1 ? hash('sha256', local, auth) : hash('sha256', local, remote, auth);
}

/** Client hash sent as the handshake2 body. */
export function klapClientHash(version: KlapVersion, local: Buffer, remote: Buffer, auth: Buffer): Buffer {
  return version === 1 ? hash('sha256', remote, auth) : hash('sha256', remote, local, auth);
}

function int32be(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
}

/**
 * One KLAP session's cipher state. Used by the client transport and by the simulator alike.
 * `seq` is the last sequence number used; `encrypt()` advances it.
 */
export class KlapCipher {
  readonly key: Buffer;
  readonly ivPrefix: Buffer;
  readonly sigKey: Buffer;
  seq: number;

  constructor(local: Buffer, remote: Buffer, auth: Buffer) {
    const m = Buffer.concat([local, remote, auth]);
    this.key = hash('sha256', Buffer.from('lsk'), m).subarray(0, 16);
    const ivHash = hash('sha256', Buffer.from('iv'), m);
    this.ivPrefix = ivHash.subarray(0, 12);
    this.seq = ivHash.readInt32BE(28);
    this.sigKey = hash('sha256', Buffer.from('ldk'), m).subarray(0, 28);
  }

  iv(seq: number): Buffer {
    return Buffer.concat([this.ivPrefix, int32be(seq)]);
  }

  signature(seq: number, ct: Buffer): Buffer {
    return hash('sha256', this.sigKey, int32be(seq), ct);
  }

  /** Encrypt with an explicit sequence number: signature || ciphertext. */
  encryptAt(seq: number, plain: Buffer | string): Buffer {
    const c = createCipheriv('aes-128-cbc', this.key, this.iv(seq));
    const ct = Buffer.concat([c.update(typeof plain === 'string' ? Buffer.from(plain, 'utf8') : plain), c.final()]);
    return Buffer.concat([this.signature(seq, ct), ct]);
  }

  /** Advance the sequence and encrypt. Returns the body and the sequence it used. */
  encrypt(plain: Buffer | string): { body: Buffer; seq: number } {
    this.seq = this.seq === 0x7fffffff ? -0x80000000 : this.seq + 1;
    return { body: this.encryptAt(this.seq, plain), seq: this.seq };
  }

  /** Decrypt a body (signature || ciphertext) sent with sequence `seq`. Throws EPROTOCOL. */
  decrypt(seq: number, body: Buffer): Buffer {
    if (body.length < 32 + 16 || (body.length - 32) % 16 !== 0) {
      throw new KasaTapoError('EPROTOCOL', `KLAP answer has an invalid length (${body.length} bytes)`);
    }
    try {
      const d = createDecipheriv('aes-128-cbc', this.key, this.iv(seq));
      return Buffer.concat([d.update(body.subarray(32)), d.final()]);
    } catch {
      throw new KasaTapoError('EPROTOCOL', 'KLAP answer could not be decrypted');
    }
  }
}
