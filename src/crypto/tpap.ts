/**
 * TPAP session maths (docs/protocols.md#tpap-spake2-suite-1): SPAKE2+ on P-256 with SHA-256 (cipher suite 1, after
 * RFC 9383), the credential transforms of `extra_crypt`, and the AEAD data channel. Pure functions
 * over buffers, used by the client transport (transports/tpap.ts) and by the simulated device
 * (simulator/wire/tpap.ts) alike.
 *
 * cred        the credential string (tpapCredential): `email/password`, or a hash of the password
 *             when the device asks for a `password_shadow` transform
 * w, h        PBKDF2-HMAC-SHA256(cred, salt, iterations, 80 B): w = out[0:40] mod n, h = out[40:80] mod n
 * shares      client L = x·G + w·M, device R = y·G + w·N (M, N: the RFC 9383 P-256 constants)
 * secrets     client: Z = x·(R − w·N), V = h·(R − w·N); device: Z = y·(L − w·M), V = y·(h·G)
 * transcript  len8(SHA256("PAKE V1"‖user_random‖dev_random)) ‖ len8("") ‖ len8("") ‖ len8(M) ‖ len8(N)
 *             ‖ len8(L) ‖ len8(R) ‖ len8(Z) ‖ len8(V) ‖ len8(enc(w)); len8 = 8-byte LE length ‖ bytes
 * keys        T = SHA256(transcript); KcA‖KcB = HKDF(T, "ConfirmationKeys", 64); shared = HKDF(T, "SharedKey", 32)
 * confirm     user_confirm = HMAC(KcA, R), dev_confirm = HMAC(KcB, L) (each MACs the other's share)
 * session     key / base nonce = HKDF(shared, salt "tp-kdf-salt-<lbl>-key|iv", info "tp-kdf-info-<lbl>-key|iv")
 * frame       uint32_BE(seq) ‖ AEAD(key, base_nonce[0:8] ‖ uint32_BE(seq), plaintext) ‖ tag(16)
 *
 * Only point arithmetic comes from @noble/curves; hashing, PBKDF2, HKDF, HMAC and the AEAD
 * ciphers are node:crypto. PBKDF2 runs asynchronously (libuv thread pool), off the event loop.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { p256 } from '@noble/curves/nist';
import { KasaTapoError } from '../errors';
export {
  TPAP_MAX_CRYPT_ROUNDS,
  md5Crypt,
  tpapCredential,
  tpapCredentialAsync,
  tpapCredentialWithoutPassword,
  tpapDefaultPasscode,
  tpapPasscodeType,
  tpapTransformName,
  type TpapExtraCrypt,
  type TpapPasscodeType,
} from './tpap-credentials';

type Point = InstanceType<typeof p256.Point>;
const P = p256.Point;
/** Order of the P-256 group. */
export const P256_N: bigint = P.Fn.ORDER;

/** RFC 9383 P-256 constants M and N (uncompressed SEC1). */
export const TPAP_M = Buffer.from(
  '04886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f5ff355163e43ce224e0b0e65ff02ac8e5c7be09419c785e0ca547d55a12e2d20',
  'hex',
);
export const TPAP_N = Buffer.from(
  '04d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b4907d60aa6bfade45008a636337f5168c64d9bd36034808cd564490b1e656edbe7',
  'hex',
);
const POINT_M = P.fromBytes(TPAP_M);
const POINT_N = P.fromBytes(TPAP_N);
// Fixed-base tables (as noble keeps for G): w·M and w·N then cost about as much as x·G, so only
// the two multiplications by the peer's share remain expensive (a few ms each).
POINT_M.precompute(8);
POINT_N.precompute(8);

/** The AEAD ciphers a TPAP device may choose, in the order we offer them. */
export const TPAP_CIPHERS = ['aes_128_ccm', 'aes_256_ccm', 'chacha20_poly1305'] as const;
export type TpapCipherName = (typeof TPAP_CIPHERS)[number];

const CIPHER_INFO: Record<TpapCipherName, { label: string; keyLen: number; node: string }> = {
  aes_128_ccm: { label: 'aes128', keyLen: 16, node: 'aes-128-ccm' },
  aes_256_ccm: { label: 'aes256', keyLen: 32, node: 'aes-256-ccm' },
  chacha20_poly1305: { label: 'chacha20', keyLen: 32, node: 'chacha20-poly1305' },
};

/** Whether `s` names a cipher this library implements. Never throws. */
export function isTpapCipher(s: unknown): s is TpapCipherName {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(CIPHER_INFO, s);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const sha = (alg: 'sha1' | 'md5' | 'sha256', data: Buffer | string): Buffer => createHash(alg).update(data).digest();

function toBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex'));
}

/** 8-byte little-endian length ‖ bytes. */
function len8(b: Uint8Array): Buffer {
  const l = Buffer.alloc(8);
  l.writeBigUInt64LE(BigInt(b.length), 0);
  return Buffer.concat([l, b]);
}

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, len: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'utf8'), len));
}

const enc = (p: Point): Buffer => Buffer.from(p.toBytes(false));

/** Multiply a point by a secret scalar in [1, n−1]. Throws EPROTOCOL for 0 (negligible odds). */
function mul(p: Point, k: bigint): Point {
  const s = ((k % P256_N) + P256_N) % P256_N;
  if (s === 0n) throw new KasaTapoError('EPROTOCOL', 'TPAP scalar is zero');
  return p.multiply(s);
}

/**
 * Decode a 65-byte uncompressed P-256 point (a TPAP share) and check it is on the curve.
 * Throws KasaTapoError EPROTOCOL (not a valid point, or the point at infinity).
 */
export function decodeTpapPoint(b: Uint8Array, what = 'share'): Point {
  try {
    if (b.length !== 65 || b[0] !== 4) throw new Error('length');
    const p = P.fromBytes(b);
    p.assertValidity();
    if (p.is0()) throw new Error('infinity');
    return p;
  } catch {
    throw new KasaTapoError('EPROTOCOL', `The TPAP ${what} is not a valid P-256 point`);
  }
}

/** A random scalar in [1, n−1]. Never throws. */
export function tpapRandomScalar(): bigint {
  for (;;) {
    const k = toBig(randomBytes(48)) % P256_N;
    if (k !== 0n) return k;
  }
}

// ---------------------------------------------------------------------------------------------
// Credentials

/** w and h of SPAKE2+ (RFC 9383 w0, w1), with the raw PBKDF2 output. */
export interface TpapSecrets {
  w: bigint;
  h: bigint;
  out: Buffer;
}

/**
 * PBKDF2-HMAC-SHA256(cred, salt, iterations, 80) → w, h (each 40 bytes mod n). Runs on the libuv
 * thread pool, not the event loop. Throws KasaTapoError EPROTOCOL (iterations outside 1..1,000,000).
 */
export function tpapDeriveSecrets(cred: string, salt: Uint8Array, iterations: number): Promise<TpapSecrets> {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 1_000_000) {
    return Promise.reject(new KasaTapoError('EPROTOCOL', `TPAP iteration count ${String(iterations)} is out of range`));
  }
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(cred, 'utf8'), salt, iterations, 80, 'sha256', (err, out) => {
      if (err) return reject(new KasaTapoError('EPROTOCOL', `TPAP PBKDF2 failed: ${err.message}`));
      resolve({ w: toBig(out.subarray(0, 40)) % P256_N, h: toBig(out.subarray(40, 80)) % P256_N, out });
    });
  });
}

/** enc(w): minimal big-endian bytes; an odd length with the top bit set gets one 00 prefix. Never throws. */
export function tpapEncodeW(w: bigint): Buffer {
  let hex = w.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let b = w === 0n ? Buffer.alloc(0) : Buffer.from(hex, 'hex');
  if (b.length % 2 === 1 && (b[0]! & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return b;
}

// ---------------------------------------------------------------------------------------------
// The exchange

/** Keys both sides derive from the transcript. */
export interface TpapKeys {
  /** SHA-256 of the transcript. */
  T: Buffer;
  KcA: Buffer;
  KcB: Buffer;
  sharedKey: Buffer;
  Z: Buffer;
  V: Buffer;
}

/** context = SHA256("PAKE V1" ‖ user_random ‖ dev_random). Never throws. */
export function tpapContext(userRandom: Uint8Array, devRandom: Uint8Array): Buffer {
  return createHash('sha256').update('PAKE V1').update(userRandom).update(devRandom).digest();
}

/** The 534-byte transcript (with a 32-byte enc(w)). Never throws. */
export function tpapTranscript(context: Buffer, L: Buffer, R: Buffer, Z: Buffer, V: Buffer, w: bigint): Buffer {
  const empty = Buffer.alloc(0);
  return Buffer.concat([len8(context), len8(empty), len8(empty), len8(TPAP_M), len8(TPAP_N), len8(L), len8(R), len8(Z), len8(V), len8(tpapEncodeW(w))]);
}

function keysFrom(userRandom: Uint8Array, devRandom: Uint8Array, L: Buffer, R: Buffer, Z: Buffer, V: Buffer, w: bigint): TpapKeys {
  const T = createHash('sha256')
    .update(tpapTranscript(tpapContext(userRandom, devRandom), L, R, Z, V, w))
    .digest();
  const kc = hkdf(T, Buffer.alloc(64), 'ConfirmationKeys', 64);
  return { T, KcA: kc.subarray(0, 32), KcB: kc.subarray(32, 64), sharedKey: hkdf(T, Buffer.alloc(32), 'SharedKey', 32), Z, V };
}

/** HMAC-SHA256(key, data). Never throws. */
export const tpapConfirm = (key: Uint8Array, share: Uint8Array): Buffer => createHmac('sha256', key).update(share).digest();

/** Constant-time equality of two byte strings (false on a length mismatch). Never throws. */
export function tpapEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Client share L = x·G + w·M. Returns x too. Throws EPROTOCOL only for a zero scalar. */
export function tpapClientShare(w: bigint, x: bigint = tpapRandomScalar()): { x: bigint; L: Buffer } {
  return { x, L: enc(mul(P.BASE, x).add(mul(POINT_M, w))) };
}

type Finish = TpapKeys & { userConfirm: Buffer; devConfirm: Buffer };
type ClientArgs = { x: bigint; w: bigint; h: bigint; L: Buffer; R: Uint8Array; userRandom: Uint8Array; devRandom: Uint8Array };
type DeviceArgs = { y: bigint; w: bigint; h: bigint; R: Buffer; L: Uint8Array; userRandom: Uint8Array; devRandom: Uint8Array };

/** Client steps: decode and unmask R, then the two expensive multiplications Z and V, then the keys. */
function* clientSteps(a: ClientArgs): Generator<void, Finish, void> {
  const R = decodeTpapPoint(a.R, 'device share');
  const r = R.subtract(mul(POINT_N, a.w));
  if (r.is0()) throw new KasaTapoError('EPROTOCOL', 'The TPAP device share is degenerate');
  yield;
  const Z = enc(mul(r, a.x));
  yield;
  const V = enc(mul(r, a.h));
  const Rb = enc(R);
  const k = keysFrom(a.userRandom, a.devRandom, a.L, Rb, Z, V, a.w);
  return { ...k, userConfirm: tpapConfirm(k.KcA, Rb), devConfirm: tpapConfirm(k.KcB, a.L) };
}

/** Device steps: decode and unmask L, Z = y·(L − w·M), V = y·(h·G), the keys. */
function* deviceSteps(a: DeviceArgs): Generator<void, Finish, void> {
  const L = decodeTpapPoint(a.L, 'user share');
  const l = L.subtract(mul(POINT_M, a.w));
  if (l.is0()) throw new KasaTapoError('EPROTOCOL', 'The TPAP user share is degenerate');
  yield;
  const Z = enc(mul(l, a.y));
  yield;
  const V = enc(mul(mul(P.BASE, a.h), a.y));
  const Lb = enc(L);
  const k = keysFrom(a.userRandom, a.devRandom, Lb, a.R, Z, V, a.w);
  return { ...k, userConfirm: tpapConfirm(k.KcA, a.R), devConfirm: tpapConfirm(k.KcB, Lb) };
}

function runSync<T>(g: Generator<void, T, void>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

/**
 * The expensive TPAP steps (a multiplication by an arbitrary point costs a few ms) of every login
 * in this process take turns: at most one runs per turn of the event loop, and timers and I/O get
 * theirs in between. Without this, fifty logins whose answers arrive together would run their
 * steps back to back in one loop phase (setImmediate callbacks queued together all run in the same
 * check phase), stalling the loop for hundreds of ms.
 * Process-wide resource: the event loop is one per process, so the turns (the queue of waiting steps
 * and whether the pump runs) are shared by every pool's logins.
 */
const turns: Array<() => void> = [];
let pumping = false;

function pump(): void {
  const next = turns.shift();
  if (!next) {
    pumping = false;
    return;
  }
  // The waiter's step runs in this callback's microtasks; the next one waits for the next turn.
  setImmediate(pump);
  next();
}

/** Resolves on a turn of the event loop of its own (FIFO across all TPAP logins). Never rejects. */
export function tpapTurn(): Promise<void> {
  return new Promise((resolve) => {
    turns.push(resolve);
    if (!pumping) {
      pumping = true;
      setImmediate(pump);
    }
  });
}

async function runAsync<T>(g: Generator<void, T, void>): Promise<T> {
  for (;;) {
    await tpapTurn();
    const r = g.next();
    if (r.done) return r.value;
  }
}

/**
 * The client's side after the device's share: Z, V, the keys and both confirmations.
 * Throws KasaTapoError EPROTOCOL (R not a valid point, or R − w·N is the point at infinity).
 */
export function tpapClientFinish(a: ClientArgs): Finish {
  return runSync(clientSteps(a));
}

/**
 * As tpapClientFinish, but each of its two expensive steps waits for a turn of the event loop of
 * its own (tpapTurn), so many logins at once never block the loop for long.
 * Rejects with KasaTapoError EPROTOCOL like tpapClientFinish.
 */
export function tpapClientFinishAsync(a: ClientArgs): Promise<Finish> {
  return runAsync(clientSteps(a));
}

/** Device share R = y·G + w·N. Returns y too. Throws EPROTOCOL only for a zero scalar. */
export function tpapDeviceShare(w: bigint, y: bigint = tpapRandomScalar()): { y: bigint; R: Buffer } {
  return { y, R: enc(mul(P.BASE, y).add(mul(POINT_N, w))) };
}

/**
 * The device's side after the client's share: Z = y·(L − w·M), V = y·(h·G), the keys and both
 * confirmations. Throws KasaTapoError EPROTOCOL (L not a valid point, or L − w·M is infinity).
 */
export function tpapDeviceFinish(a: DeviceArgs): Finish {
  return runSync(deviceSteps(a));
}

/** As tpapDeviceFinish, yielding to the event loop between the two expensive steps. Rejects like it. */
export function tpapDeviceFinishAsync(a: DeviceArgs): Promise<Finish> {
  return runAsync(deviceSteps(a));
}

// ---------------------------------------------------------------------------------------------
// The data channel

/** Session key and base nonce for `cipher` from the shared key. Never throws. */
export function tpapSessionKeys(cipher: TpapCipherName, sharedKey: Uint8Array): { key: Buffer; baseNonce: Buffer } {
  const { label, keyLen } = CIPHER_INFO[cipher];
  return {
    key: hkdf(sharedKey, Buffer.from(`tp-kdf-salt-${label}-key`), `tp-kdf-info-${label}-key`, keyLen),
    baseNonce: hkdf(sharedKey, Buffer.from(`tp-kdf-salt-${label}-iv`), `tp-kdf-info-${label}-iv`, 12),
  };
}

/**
 * One TPAP session's AEAD state, for the client and the simulated device alike. The caller owns
 * the sequence number (the client advances it on every request, the device echoes it).
 */
export class TpapCipher {
  readonly key: Buffer;
  readonly baseNonce: Buffer;
  private readonly node: string;

  constructor(
    readonly cipher: TpapCipherName,
    sharedKey: Uint8Array,
  ) {
    ({ key: this.key, baseNonce: this.baseNonce } = tpapSessionKeys(cipher, sharedKey));
    this.node = CIPHER_INFO[cipher].node;
  }

  /** base_nonce[0:8] ‖ uint32_BE(seq). */
  nonce(seq: number): Buffer {
    const n = Buffer.from(this.baseNonce);
    n.writeUInt32BE(seq >>> 0, 8);
    return n;
  }

  /** A frame: uint32_BE(seq) ‖ ciphertext ‖ tag(16). Never throws for seq in 0..2^32−1. */
  seal(seq: number, plain: Buffer | string): Buffer {
    const c = createCipheriv(this.node as 'aes-128-ccm', this.key, this.nonce(seq), { authTagLength: 16 });
    const pt = typeof plain === 'string' ? Buffer.from(plain, 'utf8') : plain;
    const head = Buffer.alloc(4);
    head.writeUInt32BE(seq >>> 0, 0);
    const ct = c.update(pt);
    c.final();
    return Buffer.concat([head, ct, c.getAuthTag()]);
  }

  /**
   * Open a frame. With `expectSeq`, the frame must carry that sequence number.
   * Throws KasaTapoError EPROTOCOL (too short, wrong seq, authentication tag mismatch).
   */
  open(body: Buffer, expectSeq?: number): { seq: number; plain: Buffer } {
    if (body.length < 4 + 16) throw new KasaTapoError('EPROTOCOL', `TPAP frame too short (${body.length} bytes)`);
    const seq = body.readUInt32BE(0);
    if (expectSeq !== undefined && seq !== expectSeq >>> 0) {
      throw new KasaTapoError('EPROTOCOL', `TPAP answer carries sequence ${seq}, expected ${expectSeq >>> 0}`);
    }
    try {
      const d = createDecipheriv(this.node as 'aes-128-ccm', this.key, this.nonce(seq), { authTagLength: 16 });
      d.setAuthTag(body.subarray(body.length - 16));
      const plain = d.update(body.subarray(4, body.length - 16));
      d.final();
      return { seq, plain };
    } catch {
      throw new KasaTapoError('EPROTOCOL', 'TPAP frame could not be decrypted (authentication failed)');
    }
  }
}

/** Base64 of random bytes, for user_random / dev_random / salts. Never throws. */
export const tpapRandomB64 = (n = 32): string => randomBytes(n).toString('base64');

/** The pake_register username: lowercase hex MD5 of `admin` (uppercase hex SHA-256 with user_hash_type 1). Never throws. */
export function tpapRegisterUsername(userHashType?: unknown): string {
  return userHashType === 1 ? sha('sha256', 'admin').toString('hex').toUpperCase() : sha('md5', 'admin').toString('hex');
}
