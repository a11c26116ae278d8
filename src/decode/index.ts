/**
 * Decode a packet capture of Kasa/Tapo traffic (`kasa-tapo decode capture.pcap`): every XOR
 * request and answer (TCP 9999 framing, UDP 9999 discovery), 20002 discovery (TDP, JSON in clear),
 * TDDP (DES with the device account, admin/admin by default), and KLAP sessions when the account
 * is known — the handshake's seeds travel in clear, so the session key follows from them and the
 * account's hash (v1 and v2; the server hash in handshake1 says which account and version match).
 * AES (securePassthrough), TPAP and TLS sessions are listed as not decryptable, with the reason.
 * Decoding is content-based (not by port), so captures of devices on other ports work too.
 *
 * Memory: the capture is read record by record (a file a window at a time); what is kept — TCP
 * payload waiting for reassembly and the decoded text — is bounded by a budget (`maxBytes`), over
 * which decoding stops at once with ETOOBIG instead of reading on. Output is written line by line
 * (writeDecoded). The account hashes are computed once per decode, not per handshake.
 */
import * as fs from 'node:fs';
import { KasaTapoError, clip } from '../errors';
import { KlapCipher, klapAuthHash, klapServerHash, type KlapVersion } from '../crypto/klap';
import { xorDecrypt } from '../crypto/xor';
import { DEFAULT_CREDENTIALS } from '../transports/http';
import type { Credentials } from '../types';
import { parseTddpPacket, tddpDecrypt, tddpKey } from '../wire/tddp';
import { splitHttp, type HttpMessage } from './http';
import { bufferReader, fileReader, scanPcap, type ByteReader } from './pcap';
import { TcpReassembler, type TcpConnection } from './tcp';

export { readPcap, scanPcap, type IpPacket, type PcapContents, LINKTYPE } from './pcap';
export { reassembleTcp, type TcpConnection } from './tcp';
export { formatDecoded, writeDecoded } from './format';
export type { DecodeResult, DecodedMessage, MessageKind, SessionReport } from './types';
import type { DecodeResult, DecodedMessage, SessionReport } from './types';

export interface DecodeOptions {
  /** The TP-Link account, for KLAP (and the device account for TDDP). */
  credentials?: Credentials;
  /**
   * Most bytes kept while decoding: TCP payload waiting for reassembly and decoded text, plus an
   * estimate of the objects that hold them (per connection, segment and message). Default
   * DECODE_BUDGET (256 MB). Beyond it decoding stops with ETOOBIG, before the rest is read.
   */
  maxBytes?: number;
}

/** Default `maxBytes` (RSS peaked at about three times this in measurements: under 1 GB). */
export const DECODE_BUDGET = 256 << 20;
/** Rough memory of a decoded message besides its text. */
const MESSAGE_COST = 256;

const REASONS = {
  aes: 'AES (securePassthrough): the session key travels RSA-encrypted to a key pair that never leaves the client, so a capture cannot be decrypted even with the account',
  tpap: 'TPAP: the session key comes from a SPAKE2+ exchange on P-256 whose secrets never travel; it cannot be recomputed from a capture, even with the password',
  tls: "TLS: the keys never travel; capture with the client's SSLKEYLOGFILE and use Wireshark",
  klapNoAccount: "KLAP: give the account (--username/--password): the session key follows from the seeds in the capture and the account's hash",
  klapWrongAccount: 'KLAP: the handshake matches neither the given account nor a default one (another account, or a mistyped password)',
  klapNoHandshake: 'KLAP: the handshake is not in the capture (start capturing before the client connects)',
} as const;

function looksXorTcp(b: Buffer): boolean {
  if (b.length < 5) return false;
  const len = b.readUInt32BE(0);
  if (len === 0 || len > 16 << 20) return false;
  return xorDecrypt(b.subarray(4, 5))[0] === 0x7b; // '{'
}

function splitXor(b: Buffer): { offset: number; text: string }[] {
  const out: { offset: number; text: string }[] = [];
  let pos = 0;
  while (pos + 4 <= b.length) {
    const len = b.readUInt32BE(pos);
    if (pos + 4 + len > b.length) break;
    out.push({ offset: pos, text: xorDecrypt(b.subarray(pos + 4, pos + 4 + len)).toString('utf8') });
    pos += 4 + len;
  }
  return out;
}

const isHttpRequest = (b: Buffer): boolean =>
  /^(POST|GET|PUT|HEAD|OPTIONS) \S+ HTTP\/1\.[01]\r\n/.test(b.subarray(0, 64).toString('latin1').split('\r\n')[0] + '\r\n');
const isTls = (b: Buffer): boolean => b.length >= 3 && b[0] === 0x16 && b[1] === 0x03;

function cookieOf(m: HttpMessage | undefined, name: 'cookie' | 'set-cookie'): string | undefined {
  if (!m) return undefined;
  for (const v of m.headers[name] ?? []) {
    const hit = /(?:^|[;\s])(?:TP_SESSIONID|SESSIONID)=([^;\s]+)/.exec(v);
    if (hit) return hit[1];
  }
  return undefined;
}

function jsonMethod(body: Buffer): { method?: string; sub?: string } | undefined {
  if (body.length === 0 || body[0] !== 0x7b) return undefined;
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    const params = typeof o['params'] === 'object' && o['params'] !== null ? (o['params'] as Record<string, unknown>) : {};
    return {
      ...(typeof o['method'] === 'string' ? { method: o['method'] } : {}),
      ...(typeof params['sub_method'] === 'string' ? { sub: params['sub_method'] } : {}),
    };
  } catch {
    return undefined;
  }
}

interface KlapSession {
  report: SessionReport;
  cipher?: KlapCipher;
}

interface KlapAccount {
  label: string;
  version: KlapVersion;
  auth: Buffer;
}

/** Every account a KLAP handshake may have used, each version's auth hash computed once. */
function klapAccounts(given: Credentials | undefined): KlapAccount[] {
  const list: { label: string; c: Credentials }[] = [];
  if (given) list.push({ label: 'given', c: given });
  for (const [name, c] of Object.entries(DEFAULT_CREDENTIALS)) list.push({ label: `default ${name}`, c });
  list.push({ label: 'blank', c: { username: '', password: '' } });
  return list.flatMap(({ label, c }) => ([2, 1] as const).map((version) => ({ label, version, auth: klapAuthHash(version, c.username, c.password) })));
}

function openKlap(
  local: Buffer,
  remote: Buffer,
  serverHash: Buffer,
  accounts: readonly KlapAccount[],
): { cipher: KlapCipher; version: KlapVersion; account: string } | undefined {
  for (const { label, version, auth } of accounts) {
    if (klapServerHash(version, local, remote, auth).equals(serverHash)) return { cipher: new KlapCipher(local, remote, auth), version, account: label };
  }
  return undefined;
}

interface Exchange {
  conn: TcpConnection;
  req: HttpMessage;
  resp: HttpMessage | undefined;
  time: number;
}

/**
 * Decode a pcap capture. Throws KasaTapoError EBADINPUT (not a pcap file, pcapng, unsupported link
 * type) or ETOOBIG (too many records, more than `maxBytes` to keep); anything inside the capture
 * that cannot be decoded is reported, not thrown.
 */
export function decodeCapture(buf: Buffer, opts: DecodeOptions = {}): DecodeResult {
  if (!Buffer.isBuffer(buf)) throw new KasaTapoError('EBADINPUT', "decodeCapture() needs the capture file's bytes (a Buffer)");
  return decodeFrom(bufferReader(buf), buf.length, opts);
}

/**
 * Decode a pcap file, read a window at a time (the file never has to fit in memory). Throws
 * KasaTapoError as decodeCapture does, and EBADINPUT when the file cannot be read.
 */
export function decodeCaptureFile(file: string, opts: DecodeOptions = {}): DecodeResult {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    throw new KasaTapoError('EBADINPUT', `Cannot read ${clip(file)}`);
  }
  try {
    return decodeFrom(fileReader(fd), fs.fstatSync(fd).size, opts);
  } finally {
    fs.closeSync(fd);
  }
}

function decodeFrom(read: ByteReader, size: number, opts: DecodeOptions): DecodeResult {
  const max = opts.maxBytes ?? DECODE_BUDGET;
  if (typeof max !== 'number' || !(max > 0)) throw new KasaTapoError('EBADINPUT', 'decodeCapture() maxBytes must be a positive number of bytes');
  let kept = 0;
  /** Count `n` more bytes kept; ETOOBIG once over the budget (at record `frame`, while reading). */
  const keep = (n: number, frame?: number): void => {
    kept += n;
    if (kept <= max) return;
    throw new KasaTapoError(
      'ETOOBIG',
      `The capture holds more than ${+(max / 2 ** 20).toFixed(2)} MB of traffic to decode (${frame !== undefined ? `at record ${frame}` : 'while decoding'}); ` +
        'cut it into parts first, e.g. `editcap -c 100000 capture.pcap part.pcap` (or -A/-B for a time window)',
    );
  };
  const messages: DecodedMessage[] = [];
  const sessions: SessionReport[] = [];
  const push = (m: DecodedMessage, frame?: number): void => {
    keep(MESSAGE_COST + m.text.length, frame);
    messages.push(m);
  };
  const given = opts.credentials;
  let tddpKeys: Buffer[] | undefined;
  let klapAccountList: KlapAccount[] | undefined;
  const tcp = new TcpReassembler();

  // UDP as it is read: XOR discovery (9999), TDP discovery (20002/20004), TDDP (1040 / 61000); TCP kept for reassembly.
  const scan = scanPcap(read, size, (p) => {
    if (p.proto === 'tcp') return keep(tcp.add(p), p.frame);
    if (p.proto !== 'udp') return;
    const base = (server: 'dst' | 'src'): Pick<DecodedMessage, 'time' | 'client' | 'server' | 'direction'> => ({
      time: p.time,
      client: server === 'dst' ? `${p.src}:${p.sport}` : `${p.dst}:${p.dport}`,
      server: server === 'dst' ? `${p.dst}:${p.dport}` : `${p.src}:${p.sport}`,
      direction: server === 'dst' ? 'request' : 'response',
    });
    const side = (port: number): 'dst' | 'src' | undefined => (p.dport === port ? 'dst' : p.sport === port ? 'src' : undefined);
    const x = side(9999);
    if (x) return push({ ...base(x), kind: 'xor-udp', text: xorDecrypt(p.payload).toString('utf8') }, p.frame);
    const t = side(20002) ?? side(20004);
    if (t && p.payload.length >= 16 && p.payload[0] === 2) return push({ ...base(t), kind: 'tdp', text: p.payload.subarray(16).toString('utf8') }, p.frame);
    const d = side(1040);
    if (!d && p.sport !== 61000 && p.dport !== 61000) return;
    let text: string;
    let dir: 'dst' | 'src';
    try {
      const pk = parseTddpPacket(p.payload);
      if (pk.version !== 2) return;
      // The device account (admin/admin unless changed) or the one given; keep what reads as text.
      tddpKeys ??= [{ username: 'admin', password: 'admin' }, ...(given ? [given] : [])].map((c) => tddpKey(c.username, c.password));
      let data = '';
      if (pk.payload.length) {
        const tries = tddpKeys.map((k) => tddpDecrypt(k, pk.payload));
        const plain = tries.find((b) => /^[\x20-\x7e\t\r\n]*$/.test(b.toString('latin1')));
        data = plain ? plain.toString('utf8') : `<not decrypted: ${pk.payload.toString('hex')}>`;
      }
      dir = pk.code === 1 ? 'dst' : 'src';
      text = `type ${pk.type} subtype 0x${pk.subtype.toString(16).padStart(2, '0')} reply ${pk.replyInfo}${data ? ` data ${JSON.stringify(data)}` : ''}`;
    } catch {
      return; // not TDDP
    }
    push({ ...base(dir), kind: 'tddp', text }, p.frame);
  });

  // TCP: each connection let go once decoded (HTTP ones are kept by their exchanges).
  const exchanges: Exchange[] = [];
  for (const conn of tcp.connections()) {
    const c2s = conn.c2s.data;
    const report = (kind: SessionReport['kind'], decrypted: boolean, n: number, reason?: string): void =>
      void sessions.push({ kind, client: conn.client, server: conn.server, decrypted, messages: n, ...(reason ? { reason } : {}) });
    if (looksXorTcp(c2s)) {
      const reqs = splitXor(c2s);
      const resps = splitXor(conn.s2c.data);
      for (let i = 0; i < Math.max(reqs.length, resps.length); i++) {
        const q = reqs[i];
        const a = resps[i];
        if (q) push({ time: conn.c2s.timeAt(q.offset), kind: 'xor', direction: 'request', client: conn.client, server: conn.server, text: q.text });
        if (a) push({ time: conn.s2c.timeAt(a.offset), kind: 'xor', direction: 'response', client: conn.client, server: conn.server, text: a.text });
      }
      report('xor', true, reqs.length + resps.length, conn.c2s.gap || conn.s2c.gap ? 'the capture lost segments: later messages are missing' : undefined);
    } else if (isHttpRequest(c2s)) {
      const reqs = splitHttp(c2s, 'request');
      const resps = splitHttp(conn.s2c.data, 'response');
      reqs.forEach((req, i) => exchanges.push({ conn, req, resp: resps[i], time: conn.c2s.timeAt(req.offset) }));
      continue;
    } else if (isTls(c2s)) report('tls', false, 0, REASONS.tls);
    else if (c2s.length || conn.s2c.data.length) report('unknown', false, 0, 'not XOR, HTTP or TLS');
    kept -= c2s.length + conn.s2c.data.length; // its bytes are let go with it; its text is counted
  }

  // HTTP exchanges in time order: KLAP sessions span connections (keyed by the session cookie).
  exchanges.sort((a, b) => a.time - b.time);
  const klap = new Map<string, KlapSession>();
  const lastKlap = new Map<string, KlapSession>();
  const other = new Map<string, SessionReport>();
  const otherSession = (kind: 'aes' | 'tpap' | 'http', e: Exchange, cookie: string | undefined, reason?: string): SessionReport => {
    const key = `${kind}|${e.conn.server}|${kind === 'http' ? '' : (cookie ?? '')}`;
    let s = other.get(key);
    if (!s) {
      s = { kind, client: e.conn.client, server: e.conn.server, decrypted: kind === 'http', messages: 0, ...(reason ? { reason } : {}) };
      other.set(key, s);
      sessions.push(s);
    }
    return s;
  };
  const skipped = scan.skipped;
  for (const e of exchanges) {
    let url: URL;
    try {
      url = new URL(e.req.target ?? '/', 'http://x');
    } catch {
      const why = 'HTTP request with an invalid target';
      skipped[why] = (skipped[why] ?? 0) + 1;
      continue;
    }
    const path = url.pathname;
    const server = e.conn.server;
    const respTime = e.resp ? e.conn.s2c.timeAt(e.resp.offset) : e.time;
    const n = e.resp ? 2 : 1;
    if (path.endsWith('/handshake1')) {
      const cookie = cookieOf(e.resp, 'set-cookie') ?? '';
      const s: KlapSession = { report: { kind: 'klap', client: e.conn.client, server, decrypted: false, messages: 0 } };
      sessions.push(s.report);
      klap.set(`${server}|${cookie}`, s);
      lastKlap.set(server, s);
      const body = e.resp?.status === 200 ? e.resp.body : undefined;
      if (e.req.body.length !== 16 || !body || body.length !== 48) {
        s.report.reason = `KLAP: handshake1 was refused or malformed (HTTP ${e.resp?.status ?? 'no answer'})`;
        continue;
      }
      klapAccountList ??= klapAccounts(given);
      const opened = openKlap(e.req.body, body.subarray(0, 16), body.subarray(16, 48), klapAccountList);
      if (!opened) {
        s.report.reason = given ? REASONS.klapWrongAccount : REASONS.klapNoAccount;
        continue;
      }
      s.cipher = opened.cipher;
      s.report.decrypted = true;
      s.report.klapVersion = opened.version;
      s.report.account = opened.account;
      continue;
    }
    if (path.endsWith('/handshake2')) continue;
    if (path.endsWith('/request') && url.searchParams.has('seq')) {
      const cookie = cookieOf(e.req, 'cookie');
      let s = (cookie !== undefined ? klap.get(`${server}|${cookie}`) : undefined) ?? lastKlap.get(server);
      if (!s) {
        s = { report: { kind: 'klap', client: e.conn.client, server, decrypted: false, messages: 0, reason: REASONS.klapNoHandshake } };
        sessions.push(s.report);
        klap.set(`${server}|${cookie ?? ''}`, s);
        lastKlap.set(server, s);
      }
      s.report.messages += n;
      const seq = Number(url.searchParams.get('seq'));
      if (!s.cipher || !Number.isInteger(seq)) continue;
      const common = { kind: 'klap' as const, klapVersion: s.report.klapVersion!, client: e.conn.client, server, seq };
      let q: string | undefined;
      let a: string | undefined;
      try {
        q = s.cipher.decrypt(seq, e.req.body).toString('utf8');
        if (e.resp && e.resp.status === 200) a = s.cipher.decrypt(seq, e.resp.body).toString('utf8');
      } catch {
        s.report.reason = 'KLAP: some messages did not decrypt (a damaged capture?)';
      }
      if (q !== undefined) push({ ...common, time: e.time, direction: 'request', text: q });
      if (a !== undefined) push({ ...common, time: respTime, direction: 'response', text: a });
      continue;
    }
    const jm = jsonMethod(e.req.body);
    const cookie = cookieOf(e.req, 'cookie') ?? cookieOf(e.resp, 'set-cookie');
    if (jm?.method === 'handshake' || jm?.method === 'securePassthrough') {
      otherSession('aes', e, cookie, REASONS.aes).messages += n;
    } else if (jm?.method === 'login' && jm.sub !== undefined) {
      otherSession('tpap', e, undefined, REASONS.tpap).messages += n;
    } else if (jm) {
      // Plain JSON over HTTP (e.g. a probe): readable as is.
      otherSession('http', e, undefined).messages += n;
      push({ time: e.time, kind: 'http', direction: 'request', client: e.conn.client, server, text: e.req.body.toString('utf8') });
      if (e.resp) push({ time: respTime, kind: 'http', direction: 'response', client: e.conn.client, server, text: e.resp.body.toString('utf8') });
    } else {
      const tp = other.get(`tpap|${server}|`);
      if (tp) tp.messages += n;
      else otherSession('http', e, undefined).messages += n;
    }
  }
  messages.sort((a, b) => a.time - b.time);
  return { messages, sessions, skipped, packets: scan.packets };
}
