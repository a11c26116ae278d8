// Decoding captures: the test makes the capture itself — our client and a simulated device on
// loopback, with a recording TCP relay between them writing pcap records — then decodes it and
// compares with exactly the requests and answers the client traced.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '../../src/connect';
import { decodeCapture, formatDecoded, readPcap } from '../../src/decode';
import { xorEncrypt } from '../../src/crypto/xor';
import { isKasaTapoError } from '../../src/errors';
import { startSimulatedDevice, tdpPacket, type SimulatedDevice } from '../../src/simulator';
import type { TransportChoice } from '../../src/types';
import { buildTddpPacket, tddpEncrypt, tddpKey } from '../../src/tddp';
import { PcapWriter, startPcapRelay } from '../helpers/pcap';

const CREDS = { username: 'decode@example.com', password: 'decode-pw-1' };

interface Traced {
  direction: 'request' | 'response';
  text: string;
}

/** Run a few requests through a recording relay; return the capture and what the client traced. */
async function capture(
  profile: string,
  transport: TransportChoice,
  writer = new PcapWriter(),
): Promise<{ pcap: Buffer; traced: Traced[]; dev: SimulatedDevice }> {
  const dev = await startSimulatedDevice(profile, { credentials: CREDS });
  const relay = await startPcapRelay({ host: dev.host, port: dev.port }, writer);
  const traced: Traced[] = [];
  try {
    const client = await connect({
      host: relay.host,
      port: relay.port,
      transport,
      credentials: CREDS,
      retries: 0,
      trace: (direction, text) => void traced.push({ direction, text }),
    });
    try {
      await client.setState({ on: false });
      await client.setState({ on: true });
      await client.getState();
    } finally {
      await client.close();
    }
  } finally {
    await relay.close();
    await dev.close();
  }
  return { pcap: writer.toBuffer(), traced, dev };
}

describe('decode: captures made on loopback', function () {
  this.timeout(30000);

  it('XOR over TCP: every request and answer, decrypted, in order', async () => {
    const { pcap, traced } = await capture('hs100', 'xor');
    assert.ok(traced.length >= 6);
    const r = decodeCapture(pcap);
    const got = r.messages.filter((m) => m.kind === 'xor').map((m) => ({ direction: m.direction, text: m.text }));
    assert.deepEqual(got, traced);
    assert.ok(r.sessions.every((s) => s.decrypted));
  });

  it('KLAP v2 (Tapo) with the account: every request and answer, decrypted, in order', async () => {
    const { pcap, traced } = await capture('p110', 'klap');
    const r = decodeCapture(pcap, { credentials: CREDS });
    const got = r.messages.filter((m) => m.kind === 'klap').map((m) => ({ direction: m.direction, text: m.text }));
    assert.deepEqual(got, traced);
    assert.ok(r.messages.every((m) => m.kind !== 'klap' || m.klapVersion === 2));
    const s = r.sessions.filter((x) => x.kind === 'klap');
    assert.ok(s.length >= 1 && s.every((x) => x.decrypted && x.account === 'given' && x.klapVersion === 2), JSON.stringify(s));
  });

  it('KLAP v1 (Kasa IOT) with the account', async () => {
    const { pcap, traced } = await capture('hs100uk', 'klap-v1');
    const r = decodeCapture(pcap, { credentials: CREDS });
    const got = r.messages.filter((m) => m.kind === 'klap').map((m) => ({ direction: m.direction, text: m.text }));
    assert.deepEqual(got, traced);
    assert.ok(r.messages.some((m) => m.klapVersion === 1));
  });

  it('KLAP without the account, or with another one: nothing decrypted, and says why', async () => {
    const { pcap } = await capture('p110', 'klap');
    const none = decodeCapture(pcap);
    assert.equal(none.messages.filter((m) => m.kind === 'klap').length, 0);
    assert.match(none.sessions.find((s) => s.kind === 'klap')?.reason ?? '', /give the account/);
    const wrong = decodeCapture(pcap, { credentials: { username: CREDS.username, password: 'not-it' } });
    assert.equal(wrong.messages.filter((m) => m.kind === 'klap').length, 0);
    assert.match(wrong.sessions.find((s) => s.kind === 'klap')?.reason ?? '', /matches neither/);
    const text = formatDecoded(wrong).join('\n');
    assert.match(text, /not decrypted: klap/);
    assert.ok(!text.includes('not-it'));
  });

  it('AES (securePassthrough) sessions are listed as not decryptable, with the reason', async () => {
    const { pcap, traced } = await capture('p110aes', 'aes');
    assert.ok(traced.length > 0);
    const r = decodeCapture(pcap, { credentials: CREDS });
    const aes = r.sessions.filter((s) => s.kind === 'aes');
    assert.ok(aes.length >= 1 && aes.every((s) => !s.decrypted && /RSA/.test(s.reason ?? '')), JSON.stringify(r.sessions));
    assert.ok(aes.reduce((n, s) => n + s.messages, 0) >= traced.length);
  });

  it('Linux cooked and raw IP links, UDP 9999 and 20002 discovery', () => {
    for (const link of [113, 101] as const) {
      const w = new PcapWriter(link);
      const probe = '{"system":{"get_sysinfo":{}}}';
      const answer = '{"system":{"get_sysinfo":{"alias":"Lamp","err_code":0}}}';
      w.udp('127.0.0.1', 40000, '127.255.255.255', 9999, xorEncrypt(probe));
      w.udp('127.0.0.9', 9999, '127.0.0.1', 40000, xorEncrypt(answer));
      const tdpQ = '{"params":{"rsa_key":"KEY"}}';
      const tdpA = '{"error_code":0,"result":{"device_model":"P110(UK)"}}';
      w.udp('127.0.0.1', 40001, '127.255.255.255', 20002, tdpPacket(Buffer.from(tdpQ)));
      w.udp('127.0.0.9', 20002, '127.0.0.1', 40001, tdpPacket(Buffer.from(tdpA)));
      const r = decodeCapture(w.toBuffer());
      assert.deepEqual(
        r.messages.map((m) => [m.kind, m.direction, m.text]),
        [
          ['xor-udp', 'request', probe],
          ['xor-udp', 'response', answer],
          ['tdp', 'request', tdpQ],
          ['tdp', 'response', tdpA],
        ],
      );
      assert.equal(r.messages[1]!.server, '127.0.0.9:9999');
    }
  });

  it('TDDP on UDP 1040 / 61000, decrypted with the device account (admin/admin by default)', () => {
    const w = new PcapWriter();
    w.udp(
      '127.0.0.1',
      61000,
      '127.0.0.5',
      1040,
      buildTddpPacket({ version: 2, type: 3, code: 1, replyInfo: 0, packetId: 1, subtype: 0x0a, payload: Buffer.alloc(0) }),
    );
    w.udp(
      '127.0.0.5',
      1040,
      '127.0.0.1',
      61000,
      buildTddpPacket({
        version: 2,
        type: 3,
        code: 2,
        replyInfo: 0,
        packetId: 1,
        subtype: 0x0a,
        payload: tddpEncrypt(tddpKey('admin', 'admin'), Buffer.from('ABCD0110')),
      }),
    );
    const r = decodeCapture(w.toBuffer(), { credentials: CREDS });
    assert.deepEqual(
      r.messages.map((m) => [m.kind, m.direction, m.server]),
      [
        ['tddp', 'request', '127.0.0.5:1040'],
        ['tddp', 'response', '127.0.0.5:1040'],
      ],
    );
    assert.match(r.messages[1]!.text, /subtype 0x0a .*"ABCD0110"/);
  });

  it('TPAP and TLS sessions are listed as not decryptable, with the reason', () => {
    const w = new PcapWriter();
    const c = { src: '127.0.0.1', sport: 5001, dst: '127.0.0.3', dport: 80 };
    const s = { src: c.dst, sport: c.dport, dst: c.src, dport: c.sport };
    const body = '{"method":"login","params":{"sub_method":"pake_register","username":"21232f297a57a5a743894a0e4a801fc3"}}';
    w.tcp({ ...c, seq: 0, flags: { syn: true } });
    w.tcp({ ...c, seq: 1, payload: Buffer.from(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`) });
    w.tcp({ ...s, seq: 1000, payload: Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{"error_code":0') });
    const t = { src: '127.0.0.1', sport: 5002, dst: '127.0.0.4', dport: 443 };
    w.tcp({ ...t, seq: 0, flags: { syn: true } });
    w.tcp({ ...t, seq: 1, payload: Buffer.from('160301002a010000260303' + '00'.repeat(38), 'hex') });
    const r = decodeCapture(w.toBuffer(), { credentials: CREDS });
    const tpap = r.sessions.find((x) => x.kind === 'tpap');
    const tls = r.sessions.find((x) => x.kind === 'tls');
    assert.ok(tpap && !tpap.decrypted && /SPAKE2\+/.test(tpap.reason ?? '') && tpap.messages === 2, JSON.stringify(r.sessions));
    assert.ok(tls && !tls.decrypted && /SSLKEYLOGFILE/.test(tls.reason ?? ''));
    assert.equal(r.messages.length, 0);
  });

  it('reassembles out-of-order and retransmitted TCP segments', () => {
    const w = new PcapWriter();
    const req = Buffer.concat([Buffer.alloc(4), xorEncrypt('{"system":{"get_sysinfo":{}}}')]);
    req.writeUInt32BE(req.length - 4, 0);
    const c = { src: '127.0.0.1', sport: 5000, dst: '127.0.0.2', dport: 9999 };
    w.tcp({ ...c, seq: 99, flags: { syn: true } });
    w.tcp({ ...c, seq: 110, payload: req.subarray(10) });
    w.tcp({ ...c, seq: 100, payload: req.subarray(0, 10) });
    w.tcp({ ...c, seq: 100, payload: req.subarray(0, 12) }); // retransmission, overlapping
    const r = decodeCapture(w.toBuffer());
    assert.deepEqual(
      r.messages.map((m) => m.text),
      ['{"system":{"get_sysinfo":{}}}'],
    );
  });

  it('bad files end in typed errors, damaged ones decode what is there', () => {
    for (const bad of [Buffer.alloc(0), Buffer.from('not a capture at all, no'), Buffer.from('0a0d0d0a' + '00'.repeat(40), 'hex')]) {
      assert.throws(
        () => decodeCapture(bad),
        (e: unknown) => isKasaTapoError(e) && e.code === 'EBADINPUT',
      );
    }
    const w = new PcapWriter();
    w.udp('127.0.0.1', 1, '127.0.0.2', 9999, xorEncrypt('{"a":1}'));
    const whole = w.toBuffer();
    for (let cut = 24; cut < whole.length; cut += 7) {
      const r = decodeCapture(whole.subarray(0, cut));
      assert.ok(Array.isArray(r.messages));
    }
    assert.equal(readPcap(whole).packets.length, 1);
  });

  it('kasa-tapo decode prints the capture, --json one object per message', async () => {
    const { pcap, traced } = await capture('p110', 'klap');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kasa-decode-')), 'cap.pcap');
    fs.writeFileSync(file, pcap);
    const cli = path.join(__dirname, '../../src/cli.js');
    const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) =>
        execFile(
          process.execPath,
          [cli, ...args],
          { timeout: 15000, env: { ...process.env, KASA_TAPO_USERNAME: '', KASA_TAPO_PASSWORD: '' } },
          (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? 99) : 0, stdout, stderr }),
        ),
      );
    try {
      const j = await run(['decode', file, '--username', CREDS.username, '--password', CREDS.password, '--json']);
      assert.equal(j.code, 0, j.stderr);
      const objs = j.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; kind?: string; text?: string });
      assert.deepEqual(
        objs.filter((o) => o.type === 'message' && o.kind === 'klap').map((o) => o.text),
        traced.map((t) => t.text),
      );
      const plain = await run(['decode', file]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /not decrypted: klap/);
      const stray = await run(['--host', '127.0.0.1', '--port', '1', 'info', '--wifi-password', 'x']);
      assert.equal(stray.code, 1);
      assert.match(stray.stderr, /EBADINPUT: --wifi-password is an option of tddp, cloud, wifi and decode only/);
      const missing = await run(['decode', file + '.nope']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /EBADINPUT/);
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});
