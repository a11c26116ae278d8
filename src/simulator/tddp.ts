/**
 * A simulated TDDP responder (see src/tddp.ts for the protocol): answers type 3 (special
 * operation) requests whose subtype it knows with the string an HS110 gives — 0x0A an id string,
 * 0x12 the deviceId, 0x14 the hwId — encrypted with its own account (admin/admin unless set), and
 * anything else with reply info 0x09 (error). Write subtypes are refused, never applied.
 *
 * Where the answer goes: a real device sends it to UDP 61000 of the sender; by default this one
 * answers to the request's source port, which for our client is the same port (it sends from the
 * port it listens on) and lets tests bind port 0. Answers go to loopback senders only.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { KasaTapoError } from '../errors';
import { buildTddpPacket, parseTddpPacket, tddpEncrypt, tddpKey } from '../wire/tddp';
import type { DeviceProfile } from './profiles';

export interface TddpResponderOptions {
  /** Loopback address. Default 127.0.0.1. */
  host?: string;
  /** Default 1040; 0 picks a free port. */
  port?: number;
  /** Where answers go: a port, or 'source' (the request's source port, the default). */
  replyPort?: number | 'source';
  /** The device's TDDP account. Default admin / admin. */
  username?: string;
  password?: string;
  /** Subtype → answer text. */
  answers: Record<number, string>;
}

export interface TddpResponder {
  readonly host: string;
  readonly port: number;
  /** Requests received (valid or not). */
  readonly requests: number;
  close(): Promise<void>;
}

/** The answers an HS110 gives, from a simulated profile. */
export function hs110TddpAnswers(profile: DeviceProfile): Record<number, string> {
  return { 0x0a: 'ABCD0110', 0x12: profile.deviceId, 0x14: profile.deviceId.slice(0, 32) };
}

const isLoopback = (a: string): boolean => (net.isIPv4(a) && a.startsWith('127.')) || a === '::1' || a.startsWith('::ffff:127.');

/** Start a responder. Rejects with EBADINPUT for a non-loopback host, or the bind error. */
export async function startTddpResponder(opts: TddpResponderOptions): Promise<TddpResponder> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host)) throw new KasaTapoError('EBADINPUT', `The TDDP simulator binds loopback addresses only, not ${host}`);
  const key = tddpKey(opts.username ?? 'admin', opts.password ?? 'admin');
  const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  let requests = 0;
  sock.on('message', (msg, rinfo) => {
    requests++;
    if (!isLoopback(rinfo.address)) return;
    let req;
    try {
      req = parseTddpPacket(msg);
    } catch {
      return; // real devices ignore what they cannot parse
    }
    if (req.version !== 2 || req.code !== 1) return;
    const text = req.type === 0x03 && Object.prototype.hasOwnProperty.call(opts.answers, req.subtype) ? opts.answers[req.subtype] : undefined;
    const payload = text === undefined ? Buffer.alloc(0) : tddpEncrypt(key, Buffer.from(text, 'utf8'));
    const reply = buildTddpPacket({
      version: 2,
      type: req.type,
      code: 2,
      replyInfo: text === undefined ? 0x09 : 0,
      packetId: req.packetId,
      subtype: req.subtype,
      payload,
    });
    const to = opts.replyPort === undefined || opts.replyPort === 'source' ? rinfo.port : opts.replyPort;
    sock.send(reply, to, rinfo.address, () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(opts.port ?? 1040, host, () => {
      sock.off('error', reject);
      sock.on('error', () => undefined);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    host,
    port: sock.address().port,
    get requests() {
      return requests;
    },
    close: () => (closed ??= new Promise<void>((r) => sock.close(() => r()))),
  };
}
