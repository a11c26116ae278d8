/**
 * TDDP, the TP-Link Device Debug Protocol (softScheck's tddp-client.py; patent CN102096654A).
 *
 * How it works: one UDP datagram to the device's port 1040; the device answers with one datagram
 * to port 61000 of the sender. Both carry a 28-byte header —
 *
 *   0 version (2)   1 type   2 code (1 request, 2 reply)   3 reply info (0 OK)
 *   4 length of the data after the header (uint32 BE)   8 packet id (uint16 BE)
 *   10 subtype   11 reserved   12..27 MD5 digest of the whole packet with these 16 bytes zeroed
 *
 * — then the data, DES-ECB encrypted (zero-padded to whole 8-byte blocks) with the first 8 bytes of
 * MD5(username + password); the factory account is admin/admin. Type 3 (CMD_SPE_OPR) with subtype
 * 0x0A, 0x12 or 0x14 reads a short string (the HS110 answers an id string, its deviceId, its hwId);
 * other subtypes may WRITE the device's MAC or ids. There is no session and no real secrecy.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { KasaTapoError } from './errors';
import {
  TDDP_PORT,
  TDDP_REPLY_PORT,
  TDDP_TYPE_SPECIAL,
  buildTddpPacket,
  parseTddpPacket,
  tddpDecrypt,
  tddpEncrypt,
  tddpKey,
  type TddpPacket,
} from './wire/tddp';

export * from './wire/tddp';

export interface TddpOptions {
  host: string;
  /** Default 'admin' (the factory account). */
  username?: string;
  /** Default 'admin'. */
  password?: string;
  /** Packet type. Default 3 (special operations). */
  type?: number;
  /** Default 0x0A. */
  subtype?: number;
  /** Data to send (encrypted for you). Default none. */
  data?: Buffer | string;
  /** Default 5000. */
  timeoutMs?: number;
  /** The device's TDDP port. Default 1040. */
  port?: number;
  /** The local port the answer comes to (we also send from it). Default 61000; 0 picks a free one. */
  replyPort?: number;
  /** Local address to bind. Default all addresses (a device answers to our LAN address). */
  bindAddress?: string;
  /** Default 1. */
  packetId?: number;
}

export interface TddpReply {
  type: number;
  subtype: number;
  packetId: number;
  replyInfo: number;
  /** The decrypted data, zero padding removed. */
  data: Buffer;
  /** `data` as text when it is printable UTF-8; undefined otherwise (likely a wrong account). */
  text?: string;
}

function printable(b: Buffer): string | undefined {
  const s = b.toString('utf8');
  // eslint-disable-next-line no-control-regex
  return /^[\x09\x0a\x0d\x20-\x7e\u00a0-\uffff]*$/.test(s) && !s.includes('\ufffd') ? s : undefined;
}

/**
 * Send one TDDP request and wait for the answer. Resolves with the decrypted reply.
 * Throws KasaTapoError: EBADINPUT (bad host or fields, reply port in use), ETIMEDOUT (no answer),
 * EDEVICE (reply info not 0), EPROTOCOL (a malformed answer), ECONNREFUSED (ICMP unreachable).
 */
export async function tddp(opts: TddpOptions): Promise<TddpReply> {
  if (!opts || typeof opts.host !== 'string' || opts.host.trim() === '') throw new KasaTapoError('EBADINPUT', 'tddp() needs a host');
  const host = opts.host;
  const port = opts.port ?? TDDP_PORT;
  const replyPort = opts.replyPort ?? TDDP_REPLY_PORT;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const type = opts.type ?? TDDP_TYPE_SPECIAL;
  const subtype = opts.subtype ?? 0x0a;
  const packetId = opts.packetId ?? 1;
  const key = tddpKey(opts.username ?? 'admin', opts.password ?? 'admin');
  const data = opts.data === undefined ? Buffer.alloc(0) : Buffer.isBuffer(opts.data) ? opts.data : Buffer.from(opts.data, 'utf8');
  const packet = buildTddpPacket({
    version: 2,
    type,
    code: 1,
    replyInfo: 0,
    packetId,
    subtype,
    payload: data.length ? tddpEncrypt(key, data) : Buffer.alloc(0),
  });
  const family = net.isIPv6(host) ? 'udp6' : 'udp4';
  const sock = dgram.createSocket({ type: family });
  return new Promise<TddpReply>((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, value?: TddpReply): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        /* already closed */
      }
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(
      () =>
        finish(
          new KasaTapoError('ETIMEDOUT', `${host} did not answer TDDP on UDP ${port} in ${timeoutMs} ms`, {
            host,
            hint: 'TDDP is open on some firmware only, often just after a reboot',
          }),
        ),
      timeoutMs,
    );
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE')
        finish(new KasaTapoError('EBADINPUT', `UDP port ${replyPort} (TDDP answers) is in use by another program`, { host, cause: e }));
      else if (e.code === 'ECONNREFUSED') finish(new KasaTapoError('ECONNREFUSED', `${host} refused TDDP (nothing on UDP ${port})`, { host, cause: e }));
      else finish(new KasaTapoError('EPROTOCOL', `TDDP socket failed: ${e.message}`, { host, cause: e }));
    });
    sock.on('message', (msg, rinfo) => {
      if (net.isIP(host) && rinfo.address !== host && rinfo.address !== `::ffff:${host}`) return; // someone else
      let p: TddpPacket;
      try {
        p = parseTddpPacket(msg);
      } catch {
        return; // not TDDP: keep waiting until the timeout
      }
      if (p.code !== 2) return;
      if (p.replyInfo !== 0) {
        finish(
          new KasaTapoError(
            'EDEVICE',
            `${host} refused TDDP type ${type} subtype 0x${subtype.toString(16).padStart(2, '0')} (reply info 0x${p.replyInfo.toString(16).padStart(2, '0')})`,
            { host, deviceCode: p.replyInfo },
          ),
        );
        return;
      }
      try {
        const plain = tddpDecrypt(key, p.payload);
        const text = printable(plain);
        finish(undefined, {
          type: p.type,
          subtype: p.subtype,
          packetId: p.packetId,
          replyInfo: p.replyInfo,
          data: plain,
          ...(text !== undefined ? { text } : {}),
        });
      } catch (e) {
        finish(e as Error);
      }
    });
    const bindOpts: dgram.BindOptions = { port: replyPort, ...(opts.bindAddress ? { address: opts.bindAddress } : {}) };
    sock.bind(bindOpts, () => {
      if (done) return;
      sock.send(packet, port, host, (err) => {
        if (err) finish(new KasaTapoError('ECONNREFUSED', `Could not send TDDP to ${host}: ${err.message}`, { host, cause: err }));
      });
    });
  });
}
