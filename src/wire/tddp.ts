/**
 * TDDP packets, shared by the client (src/tddp.ts) and the simulator (src/simulator/tddp.ts): the
 * 28-byte header with its MD5 digest, and the DES key and data encryption. Pure functions.
 */
import { createHash } from 'node:crypto';
import { desEcbDecrypt, desEcbEncrypt } from '../crypto/des';
import { KasaTapoError } from '../errors';

export const TDDP_PORT = 1040;
export const TDDP_REPLY_PORT = 61000;
export const TDDP_HEADER_BYTES = 28;
/** Type 3: special operations (CMD_SPE_OPR). */
export const TDDP_TYPE_SPECIAL = 0x03;
/** Subtypes known to only read something on an HS110. */
export const TDDP_READ_SUBTYPES: readonly number[] = [0x0a, 0x12, 0x14];
const MAX_DATA = 64 * 1024;

export interface TddpPacket {
  version: number;
  type: number;
  code: number;
  replyInfo: number;
  packetId: number;
  subtype: number;
  /** The data as carried (encrypted). */
  payload: Buffer;
  /** Whether the digest field matches the packet (some firmware leaves it zero). */
  digestOk: boolean;
}

/** The DES key: the first 8 bytes of MD5(username + password). Never throws. */
export function tddpKey(username: string, password: string): Buffer {
  return createHash('md5')
    .update(Buffer.from(username + password, 'utf8'))
    .digest()
    .subarray(0, 8);
}

/** Zero-pad to whole DES blocks. */
function pad8(b: Buffer): Buffer {
  const rest = b.length % 8;
  return rest === 0 ? b : Buffer.concat([b, Buffer.alloc(8 - rest)]);
}

/**
 * Build a packet: header, digest and the given (already encrypted) payload. Throws KasaTapoError
 * EBADINPUT for out-of-range fields.
 */
export function buildTddpPacket(p: Omit<TddpPacket, 'digestOk'>): Buffer {
  for (const [name, v, max] of [
    ['version', p.version, 0xff],
    ['type', p.type, 0xff],
    ['code', p.code, 0xff],
    ['replyInfo', p.replyInfo, 0xff],
    ['packetId', p.packetId, 0xffff],
    ['subtype', p.subtype, 0xff],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new KasaTapoError('EBADINPUT', `TDDP ${name} must be 0-${max}`);
  }
  const b = Buffer.alloc(TDDP_HEADER_BYTES + p.payload.length);
  b[0] = p.version;
  b[1] = p.type;
  b[2] = p.code;
  b[3] = p.replyInfo;
  b.writeUInt32BE(p.payload.length, 4);
  b.writeUInt16BE(p.packetId, 8);
  b[10] = p.subtype;
  b[11] = 0;
  p.payload.copy(b, TDDP_HEADER_BYTES);
  createHash('md5').update(b).digest().copy(b, 12);
  return b;
}

/** Parse a packet. Throws KasaTapoError EPROTOCOL (too short, length field wrong), ETOOBIG. */
export function parseTddpPacket(b: Buffer): TddpPacket {
  if (b.length < TDDP_HEADER_BYTES) throw new KasaTapoError('EPROTOCOL', `TDDP packet too short (${b.length} bytes)`);
  const len = b.readUInt32BE(4);
  if (len > MAX_DATA) throw new KasaTapoError('ETOOBIG', `TDDP packet claims ${len} bytes of data`);
  if (b.length < TDDP_HEADER_BYTES + len)
    throw new KasaTapoError('EPROTOCOL', `TDDP packet is shorter than its length field (${b.length - TDDP_HEADER_BYTES} < ${len})`);
  const zeroed = Buffer.from(b.subarray(0, TDDP_HEADER_BYTES + len));
  const digest = Buffer.from(zeroed.subarray(12, 28));
  zeroed.fill(0, 12, 28);
  return {
    version: b[0]!,
    type: b[1]!,
    code: b[2]!,
    replyInfo: b[3]!,
    packetId: b.readUInt16BE(8),
    subtype: b[10]!,
    payload: Buffer.from(b.subarray(TDDP_HEADER_BYTES, TDDP_HEADER_BYTES + len)),
    digestOk: createHash('md5').update(zeroed).digest().equals(digest),
  };
}

/** Encrypt TDDP data with the account's key (zero-padded). Never throws for a Buffer. */
export function tddpEncrypt(key: Buffer, data: Buffer): Buffer {
  return desEcbEncrypt(key, pad8(data));
}

/**
 * Decrypt TDDP data and drop the zero padding. Throws KasaTapoError EPROTOCOL when the data is not
 * whole 8-byte blocks.
 */
export function tddpDecrypt(key: Buffer, data: Buffer): Buffer {
  if (data.length % 8 !== 0) throw new KasaTapoError('EPROTOCOL', `TDDP data is not whole DES blocks (${data.length} bytes)`);
  const plain = desEcbDecrypt(key, data);
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--;
  return plain.subarray(0, end);
}
