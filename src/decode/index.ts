/**
 * Decode a packet capture of Kasa/Tapo traffic (`kasa-tapo decode capture.pcap`): every XOR
 * request and answer (TCP 9999 framing, UDP 9999 discovery), 20002 discovery (TDP, JSON in clear),
 * TDDP (DES with the device account, admin/admin by default), and KLAP sessions when the account
 * is known — the handshake's seeds travel in clear, so the session key follows from them and the
 * account's hash (v1 and v2; the server hash in handshake1 says which account and version match).
 * AES (securePassthrough), TPAP and TLS sessions are listed as not decryptable, with the reason.
 * Decoding is content-based (not by port), so captures of devices on other ports work too.
 */
import { KasaTapoError } from '../errors';
import { KlapCipher, klapAuthHash, klapServerHash, type KlapVersion } from '../crypto/klap';
import { xorDecrypt } from '../crypto/xor';
import { DEFAULT_CREDENTIALS } from '../transports/http';
import type { Credentials } from '../types';
import { parseTddpPacket, tddpDecrypt, tddpKey } from '../wire/tddp';
import { splitHttp, type HttpMessage } from './http';
import { readPcap } from './pcap';
import { reassembleTcp, type TcpConnection } from './tcp';

export { readPcap, type IpPacket, type PcapContents, LINKTYPE } from './pcap';
export { reassembleTcp, type TcpConnection } from './tcp';

export type MessageKind = 'xor' | 'xor-udp' | 'tdp' | 'klap' | 'http' | 'tddp';

export interface DecodedMessage {
  /** Epoch seconds (fractional), from the capture. */
  time: number;
  kind: MessageKind;
  /** KLAP: 1 (Kasa IOT) or 2 (Tapo/SMART). */
  klapVersion?: KlapVersion;
  direction: 'request' | 'response';
  /** 'ip:port'. */
  client: string;
  server: string;
  /** KLAP: the request's sequence number. */
  seq?: number;
  /** The decrypted text (JSON for everything but TDDP). */
  text: string;
}

export interface SessionReport {
  kind: 'xor' | 'klap' | 'aes' | 'tpap' | 'tls' | 'http' | 'unknown';
  client: string;
  server: string;
  decrypted: boolean;
  /** Messages (requests and answers) seen in it. */
  messages: number;
  klapVersion?: KlapVersion;
  /** Which account opened a KLAP session: 'given', a default ('default KASA', …) or 'blank'. */
  account?: string;
  reason?: string;
}

export interface DecodeOptions {
  /** The TP-Link account, for KLAP (and the device account for TDDP). */
  credentials?: Credentials;
}

export interface DecodeResult {
  messages: DecodedMessage[];
  sessions: SessionReport[];
  /** Records not decoded, by reason. */
  skipped: Record<string, number>;
  packets: number;
}

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

function klapCandidates(given: Credentials | undefined): { label: string; c: Credentials }[] {
  const list: { label: string; c: Credentials }[] = [];
  if (given) list.push({ label: 'given', c: given });
  for (const [name, c] of Object.entries(DEFAULT_CREDENTIALS)) list.push({ label: `default ${name}`, c });
  list.push({ label: 'blank', c: { username: '', password: '' } });
  return list;
}

function openKlap(
  local: Buffer,
  remote: Buffer,
  serverHash: Buffer,
  given: Credentials | undefined,
): { cipher: KlapCipher; version: KlapVersion; account: string } | undefined {
  for (const { label, c } of klapCandidates(given)) {
    for (const v of [2, 1] as const) {
      const auth = klapAuthHash(v, c.username, c.password);
      if (klapServerHash(v, local, remote, auth).equals(serverHash)) return { cipher: new KlapCipher(local, remote, auth), version: v, account: label };
    }
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
 * type) or ETOOBIG; anything inside the capture that cannot be decoded is reported, not thrown.
 */
export function decodeCapture(buf: Buffer, opts: DecodeOptions = {}): DecodeResult {
  if (!Buffer.isBuffer(buf)) throw new KasaTapoError('EBADINPUT', "decodeCapture() needs the capture file's bytes (a Buffer)");
  const cap = readPcap(buf);
  const messages: DecodedMessage[] = [];
  const sessions: SessionReport[] = [];
  const push = (m: DecodedMessage): void => void messages.push(m);

  // UDP: XOR discovery (9999), TDP discovery (20002/20004), TDDP (1040 / 61000).
  for (const p of cap.packets) {
    if (p.proto !== 'udp') continue;
    const base = (server: 'dst' | 'src'): Pick<DecodedMessage, 'time' | 'client' | 'server' | 'direction'> => ({
      time: p.time,
      client: server === 'dst' ? `${p.src}:${p.sport}` : `${p.dst}:${p.dport}`,
      server: server === 'dst' ? `${p.dst}:${p.dport}` : `${p.src}:${p.sport}`,
      direction: server === 'dst' ? 'request' : 'response',
    });
    const side = (port: number): 'dst' | 'src' | undefined => (p.dport === port ? 'dst' : p.sport === port ? 'src' : undefined);
    const x = side(9999);
    if (x) {
      push({ ...base(x), kind: 'xor-udp', text: xorDecrypt(p.payload).toString('utf8') });
      continue;
    }
    const t = side(20002) ?? side(20004);
    if (t && p.payload.length >= 16 && p.payload[0] === 2) {
      push({ ...base(t), kind: 'tdp', text: p.payload.subarray(16).toString('utf8') });
      continue;
    }
    const d = side(1040);
    if (d || p.sport === 61000 || p.dport === 61000) {
      try {
        const pk = parseTddpPacket(p.payload);
        if (pk.version !== 2) continue;
        // The device account (admin/admin unless changed) or the one given; keep what reads as text.
        const accounts = [{ username: 'admin', password: 'admin' }, ...(opts.credentials ? [opts.credentials] : [])];
        let data = '';
        if (pk.payload.length) {
          const tries = accounts.map((c) => tddpDecrypt(tddpKey(c.username, c.password), pk.payload));
          const text = tries.find((b) => /^[\x20-\x7e\t\r\n]*$/.test(b.toString('latin1')));
          data = text ? text.toString('utf8') : `<not decrypted: ${pk.payload.toString('hex')}>`;
        }
        const dir = pk.code === 1 ? 'dst' : 'src';
        push({
          ...base(dir),
          kind: 'tddp',
          text: `type ${pk.type} subtype 0x${pk.subtype.toString(16).padStart(2, '0')} reply ${pk.replyInfo}${data ? ` data ${JSON.stringify(data)}` : ''}`,
        });
      } catch {
        /* not TDDP */
      }
    }
  }

  // TCP.
  const exchanges: Exchange[] = [];
  for (const conn of reassembleTcp(cap.packets)) {
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
    } else if (isTls(c2s)) report('tls', false, 0, REASONS.tls);
    else if (c2s.length || conn.s2c.data.length) report('unknown', false, 0, 'not XOR, HTTP or TLS');
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
  for (const e of exchanges) {
    const url = new URL(e.req.target ?? '/', 'http://x');
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
      const opened = openKlap(e.req.body, body.subarray(0, 16), body.subarray(16, 48), opts.credentials);
      if (!opened) {
        s.report.reason = opts.credentials ? REASONS.klapWrongAccount : REASONS.klapNoAccount;
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
      try {
        push({ ...common, time: e.time, direction: 'request', text: s.cipher.decrypt(seq, e.req.body).toString('utf8') });
        if (e.resp && e.resp.status === 200)
          push({ ...common, time: respTime, direction: 'response', text: s.cipher.decrypt(seq, e.resp.body).toString('utf8') });
      } catch {
        s.report.reason = 'KLAP: some messages did not decrypt (a damaged capture?)';
      }
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
  return { messages, sessions, skipped: cap.skipped, packets: cap.packets.length };
}

/** Render a decode result as lines of text (or one JSON object per message with `json`). Never throws. */
export function formatDecoded(r: DecodeResult, opts: { json?: boolean } = {}): string[] {
  if (opts.json) {
    return [
      ...r.messages.map((m) => JSON.stringify({ type: 'message', ...m })),
      ...r.sessions.filter((s) => !s.decrypted || s.reason).map((s) => JSON.stringify({ type: 'session', ...s })),
    ];
  }
  const lines: string[] = [];
  for (const m of r.messages) {
    const t = new Date(m.time * 1000).toISOString().slice(11, 23);
    const arrow = m.direction === 'request' ? `${m.client} -> ${m.server}` : `${m.server} -> ${m.client}`;
    const kind = m.kind === 'klap' ? `klap-v${m.klapVersion}${m.seq !== undefined ? ` seq ${m.seq}` : ''}` : m.kind;
    lines.push(`${t}  ${arrow}  ${kind}  ${m.direction}  ${m.text}`);
  }
  const bad = r.sessions.filter((s) => !s.decrypted || s.reason);
  if (bad.length) {
    lines.push('');
    for (const s of bad)
      lines.push(`${s.decrypted ? 'incomplete' : 'not decrypted'}: ${s.kind} ${s.client} -> ${s.server} (${s.messages} messages): ${s.reason ?? 'unknown'}`);
  }
  const skipped = Object.entries(r.skipped);
  if (skipped.length) lines.push(`skipped records: ${skipped.map(([k, v]) => `${v} ${k}`).join(', ')}`);
  if (r.messages.length === 0 && bad.length === 0) lines.push('No Kasa/Tapo traffic found in the capture.');
  return lines;
}
