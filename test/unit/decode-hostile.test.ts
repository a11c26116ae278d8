// Crafted captures against `decodeCapture`: header names that are Object.prototype's own
// properties, request targets `new URL` rejects, many KLAP handshakes (the account hashes are
// computed once per decode, not per handshake), and the byte budget (ETOOBIG early, while reading).
// Every capture is synthesized here with the PcapWriter; nothing goes on the network.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as klap from '../../src/crypto/klap';
import { xorEncrypt } from '../../src/crypto/xor';
import { decodeCapture, decodeCaptureFile, formatDecoded, writeDecoded, type DecodeResult } from '../../src/decode';
import { isKasaTapoError } from '../../src/errors';
import { DEFAULT_CREDENTIALS } from '../../src/transports/http';
import * as tddpWire from '../../src/wire/tddp';
import { buildTddpPacket, tddpEncrypt, tddpKey } from '../../src/tddp';
import { PcapWriter } from '../helpers/pcap';

const CREDS = { username: 'hostile@example.com', password: 'hostile-pw' };

/** One TCP connection: SYN, the client's bytes, the server's bytes (each in one segment). */
function exchange(w: PcapWriter, n: number, dport: number, c2s: Buffer, s2c?: Buffer): void {
  const c = { src: '127.0.0.1', sport: 20000 + n, dst: '127.0.0.7', dport };
  w.tcp({ ...c, seq: 0, flags: { syn: true } });
  w.tcp({ ...c, seq: 1, payload: c2s });
  if (s2c) w.tcp({ src: c.dst, sport: c.dport, dst: c.src, dport: c.sport, seq: 5000, payload: s2c });
}

const httpRequest = (target: string, headers: string[], body: string | Buffer): Buffer =>
  Buffer.concat([
    Buffer.from(`POST ${target} HTTP/1.1\r\nHost: 127.0.0.7\r\n${headers.map((h) => h + '\r\n').join('')}Content-Length: ${body.length}\r\n\r\n`),
    Buffer.from(body),
  ]);
const httpAnswer = (body: string | Buffer, headers: string[] = []): Buffer =>
  Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\n${headers.map((h) => h + '\r\n').join('')}Content-Length: ${body.length}\r\n\r\n`), Buffer.from(body)]);

function xorFrame(text: string): Buffer {
  const body = xorEncrypt(text);
  const b = Buffer.alloc(4 + body.length);
  b.writeUInt32BE(body.length, 0);
  body.copy(b, 4);
  return b;
}

/** Count the calls of a module's exported function while `f` runs (compiled CommonJS calls through the exports object). */
function counting<T>(mod: Record<string, unknown>, name: string, f: () => T): { result: T; calls: number } {
  const orig = mod[name] as (...args: unknown[]) => unknown;
  let calls = 0;
  mod[name] = (...args: unknown[]) => {
    calls++;
    return orig(...args);
  };
  try {
    return { result: f(), calls };
  } finally {
    mod[name] = orig;
  }
}

describe('decode: hostile captures', function () {
  this.timeout(30000);

  it('header names such as __proto__ and constructor are headers like any other', () => {
    const w = new PcapWriter();
    const body = '{"method":"get_device_info"}';
    const proto = ['__proto__: x', 'constructor: y', 'hasOwnProperty: z', 'toString: 1', 'Cookie: TP_SESSIONID=abc'];
    exchange(w, 1, 80, httpRequest('/app', proto, body), httpAnswer('{"error_code":0}', ['__proto__: a', 'Set-Cookie: TP_SESSIONID=abc']));
    const r = decodeCapture(w.toBuffer(), { credentials: CREDS });
    assert.deepEqual(
      r.messages.map((m) => [m.kind, m.direction, m.text]),
      [
        ['http', 'request', body],
        ['http', 'response', '{"error_code":0}'],
      ],
    );
    assert.equal(({} as Record<string, unknown>)['x'], undefined); // nothing leaked into Object.prototype
  });

  it('a request target that is not a URL is a skipped record with a note, not a TypeError', () => {
    const w = new PcapWriter();
    exchange(w, 1, 80, httpRequest('http://[', [], '{"a":1}'), httpAnswer('{"b":2}'));
    exchange(w, 2, 80, httpRequest('//[::1/app/request?seq=1', [], 'x'), httpAnswer('y'));
    exchange(w, 3, 80, httpRequest('/app', [], '{"method":"get_device_info"}'), httpAnswer('{"error_code":0}'));
    const r = decodeCapture(w.toBuffer(), { credentials: CREDS });
    assert.equal(r.skipped['HTTP request with an invalid target'], 2, JSON.stringify(r.skipped));
    assert.equal(r.messages.length, 2); // the good exchange is still decoded
    assert.match(formatDecoded(r).join('\n'), /skipped records: .*2 HTTP request with an invalid target/);
  });

  it('seeded mix of crafted heads: every capture decodes or ends in a KasaTapoError', () => {
    // mulberry32, seeded: the same 300 captures every run.
    let seed = 0x5eed;
    const r = (): number => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const names = [
      '__proto__',
      'constructor',
      'prototype',
      'hasOwnProperty',
      'valueOf',
      'toString',
      '__defineGetter__',
      'Cookie',
      'Set-Cookie',
      'Transfer-Encoding',
    ];
    const targets = ['http://[', '//[::1', 'http://a:99999/', 'http://%zz/', '/app/request?seq=1', '/app/handshake1', '/app?seq=__proto__', '/', '*'];
    for (let i = 0; i < 300; i++) {
      const w = new PcapWriter();
      const heads = Array.from({ length: 1 + Math.floor(r() * 4) }, () => `${pick(names)}: ${pick(['x', 'TP_SESSIONID=1', 'chunked', ''])}`);
      const body = r() < 0.5 ? '{"method":"get_device_info"}' : randomBytes(Math.floor(r() * 48));
      exchange(w, i, 80, httpRequest(pick(targets), heads, body), httpAnswer(randomBytes(Math.floor(r() * 48)), heads));
      try {
        const res = decodeCapture(w.toBuffer(), { credentials: CREDS });
        formatDecoded(res);
      } catch (e) {
        assert.ok(isKasaTapoError(e), `case ${i}: ${String(e)}`);
      }
    }
    assert.equal(({} as Record<string, unknown>)['x'], undefined);
  });

  it('many KLAP handshakes: the account hashes are computed once per decode', () => {
    const w = new PcapWriter();
    const n = 300;
    for (let i = 0; i < n; i++) {
      exchange(w, i, 80, httpRequest('/app/handshake1', [], randomBytes(16)), httpAnswer(randomBytes(48), [`Set-Cookie: TP_SESSIONID=S${i};TIMEOUT=86400`]));
    }
    const cap = w.toBuffer();
    const { result, calls } = counting(klap as unknown as Record<string, unknown>, 'klapAuthHash', () => decodeCapture(cap, { credentials: CREDS }));
    const klapSessions = result.sessions.filter((s) => s.kind === 'klap');
    assert.equal(klapSessions.length, n);
    assert.ok(
      klapSessions.every((s) => /matches neither/.test(s.reason ?? '')),
      JSON.stringify(klapSessions[0]),
    );
    // Each account (given, the defaults, blank) in both versions at most, whatever the number of handshakes.
    assert.ok(calls <= 2 * (Object.keys(DEFAULT_CREDENTIALS).length + 2), `klapAuthHash called ${calls} times for ${n} handshakes`);
  });

  it('many TDDP packets: the TDDP keys are computed once per decode', () => {
    const w = new PcapWriter();
    const n = 50;
    for (let i = 0; i < n; i++) {
      const payload = tddpEncrypt(tddpKey('admin', 'admin'), Buffer.from(`ID${i}`));
      w.udp('127.0.0.5', 1040, '127.0.0.1', 61000, buildTddpPacket({ version: 2, type: 3, code: 2, replyInfo: 0, packetId: i, subtype: 0x0a, payload }));
    }
    const { result, calls } = counting(tddpWire as unknown as Record<string, unknown>, 'tddpKey', () => decodeCapture(w.toBuffer(), { credentials: CREDS }));
    assert.equal(result.messages.length, n);
    assert.match(result.messages[n - 1]!.text, /"ID49"/);
    assert.ok(calls <= 2, `tddpKey called ${calls} times for ${n} packets`);
  });

  it('more traffic than the budget: ETOOBIG while reading, with what to do', () => {
    const w = new PcapWriter();
    const answer = xorFrame(JSON.stringify({ system: { get_sysinfo: { alias: 'x'.repeat(1200), err_code: 0 } } }));
    for (let i = 0; i < 200; i++) exchange(w, i, 9999, xorFrame('{"system":{"get_sysinfo":{}}}'), answer);
    const cap = w.toBuffer();
    assert.equal(decodeCapture(cap).messages.length, 400);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kasa-decode-budget-'));
    const file = path.join(dir, 'big.pcap');
    fs.writeFileSync(file, cap);
    try {
      for (const run of [() => decodeCapture(cap, { maxBytes: 50_000 }), () => decodeCaptureFile(file, { maxBytes: 50_000 })]) {
        assert.throws(run, (e: unknown) => {
          assert.ok(isKasaTapoError(e) && e.code === 'ETOOBIG', String(e));
          assert.match(e.message, /more than 0\.05 MB .*editcap/);
          // Raised at the record that went over the budget: long before the 600th of 600.
          const at = Number(/at record (\d+)/.exec(e.message)?.[1]);
          assert.ok(at > 0 && at < 200, e.message);
          return true;
        });
      }
      assert.equal(decodeCaptureFile(file).messages.length, 400);
      for (const maxBytes of [0, -1, NaN, '9' as unknown as number])
        assert.throws(
          () => decodeCapture(cap, { maxBytes }),
          (e: unknown) => isKasaTapoError(e) && e.code === 'EBADINPUT',
        );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a connection is let go once decoded: its bytes and its text are not both counted', () => {
    const w = new PcapWriter();
    const answer = xorFrame(JSON.stringify({ system: { get_sysinfo: { alias: 'x'.repeat(4000), err_code: 0 } } }));
    for (let i = 0; i < 100; i++) exchange(w, i, 9999, xorFrame('{"system":{"get_sysinfo":{}}}'), answer);
    // About 0.4 MB of payload and 0.4 MB of text: at most ~0.7 MB held at once, ~1.1 MB in all.
    assert.equal(decodeCapture(w.toBuffer(), { maxBytes: 800_000 }).messages.length, 200);
  });

  it('many tiny connections count in the budget too, not only their bytes', () => {
    const w = new PcapWriter();
    for (let i = 0; i < 200; i++) exchange(w, i, 9999, xorFrame('{}'));
    const cap = w.toBuffer();
    assert.equal(decodeCapture(cap).messages.length, 200);
    // 200 x 6 bytes of payload, but 200 connections, segments and messages to hold.
    assert.throws(
      () => decodeCapture(cap, { maxBytes: 100_000 }),
      (e: unknown) => isKasaTapoError(e) && e.code === 'ETOOBIG',
    );
  });

  it('TLS connections cost the budget only their first bytes', () => {
    const w = new PcapWriter();
    for (let i = 0; i < 30; i++) exchange(w, i, 443, Buffer.concat([Buffer.from('160301', 'hex'), randomBytes(1400)]), randomBytes(1400));
    // About 150 KB if all were kept; 30 connections with 16 bytes each are far less.
    const r = decodeCapture(w.toBuffer(), { maxBytes: 120_000 });
    const tls = r.sessions.filter((s) => s.kind === 'tls');
    assert.equal(tls.length, 30);
    assert.ok(tls.every((s) => /SSLKEYLOGFILE/.test(s.reason ?? '')));
  });

  it('writeDecoded streams the lines formatDecoded collects', () => {
    const w = new PcapWriter();
    exchange(w, 1, 9999, xorFrame('{"a":1}'), xorFrame('{"b":2}'));
    exchange(w, 2, 443, Buffer.from('160301002a', 'hex'));
    const r: DecodeResult = decodeCapture(w.toBuffer());
    for (const json of [false, true]) {
      const lines: string[] = [];
      writeDecoded(r, (l) => void lines.push(l), { json });
      assert.deepEqual(lines, formatDecoded(r, { json }));
      assert.ok(lines.length >= 3);
    }
  });

  it('records larger than any snap length are skipped without being read', () => {
    const w = new PcapWriter();
    w.udp('127.0.0.1', 40000, '127.0.0.9', 9999, xorEncrypt('{"a":1}'));
    const head = w.toBuffer();
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(2 << 20, 8); // a 2 MB record: no link layer carries that
    rec.writeUInt32LE(2 << 20, 12);
    const r = decodeCapture(Buffer.concat([head, rec, Buffer.alloc(2 << 20)]));
    assert.equal(r.messages.length, 1);
    assert.equal(r.skipped['oversized record'], 1);
  });
});
