// TDDP: the DES primitive against a published vector, the packet format, and the client against
// the simulated HS110 responder on loopback (replies to the request's source port, bound to 0).
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as path from 'node:path';
import { desEcbDecrypt, desEcbEncrypt } from '../../src/crypto/des';
import { isKasaTapoError } from '../../src/errors';
import { startSimulatedDevice, startSimulatedHome, startTddpResponder, type SimulatedDevice, type TddpResponder } from '../../src/simulator';
import { randomBase } from '../helpers/net';
import { buildTddpPacket, parseTddpPacket, tddp, tddpDecrypt, tddpEncrypt, tddpKey } from '../../src/tddp';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

describe('DES-ECB (node-forge)', () => {
  it('matches the classic FIPS/NBS vector', () => {
    const key = hex('133457799BBCDFF1');
    assert.equal(desEcbEncrypt(key, hex('0123456789ABCDEF')).toString('hex'), '85e813540f0ab405');
    assert.equal(desEcbDecrypt(key, hex('85E813540F0AB405')).toString('hex'), '0123456789abcdef');
  });

  it('matches a second published vector and works block by block (ECB)', () => {
    // FIPS 81 / NIST SP 800-17 style: key 0123456789ABCDEF, "Now is t" → 3FA40E8A984D4815
    const key = hex('0123456789ABCDEF');
    const ct = desEcbEncrypt(key, Buffer.from('Now is the time for all ', 'latin1'));
    assert.equal(ct.toString('hex'), '3fa40e8a984d48156a271787ab8883f9893d51ec4b563b53');
    assert.equal(desEcbDecrypt(key, ct).toString('latin1'), 'Now is the time for all ');
  });

  it('refuses bad keys and partial blocks with EBADINPUT', () => {
    assert.throws(
      () => desEcbEncrypt(Buffer.alloc(7), Buffer.alloc(8)),
      (e: unknown) => isKasaTapoError(e) && e.code === 'EBADINPUT',
    );
    assert.throws(
      () => desEcbDecrypt(Buffer.alloc(8), Buffer.alloc(9)),
      (e: unknown) => isKasaTapoError(e) && e.code === 'EBADINPUT',
    );
  });
});

describe('TDDP packets', () => {
  it('key is the first 8 bytes of MD5(username + password)', () => {
    // MD5("adminadmin") = f6fdffe48c908deb0f4c3bd36c032e72
    assert.equal(tddpKey('admin', 'admin').toString('hex'), 'f6fdffe48c908deb');
  });

  it('header layout and digest as in tddp-client.py', () => {
    const key = tddpKey('admin', 'admin');
    const payload = tddpEncrypt(key, Buffer.from('hello'));
    const b = buildTddpPacket({ version: 2, type: 3, code: 1, replyInfo: 0, packetId: 1, subtype: 0x0a, payload });
    assert.equal(b.subarray(0, 12).toString('hex'), '0203010000000008000' + '10a00');
    const p = parseTddpPacket(b);
    assert.equal(p.digestOk, true);
    assert.equal(tddpDecrypt(key, p.payload).toString(), 'hello');
    b[30] = b[30]! ^ 1;
    assert.equal(parseTddpPacket(b).digestOk, false);
    assert.throws(
      () => parseTddpPacket(b.subarray(0, 20)),
      (e: unknown) => isKasaTapoError(e) && e.code === 'EPROTOCOL',
    );
    const lying = Buffer.from(b);
    lying.writeUInt32BE(100, 4);
    assert.throws(
      () => parseTddpPacket(lying),
      (e: unknown) => isKasaTapoError(e) && e.code === 'EPROTOCOL',
    );
  });
});

describe('tddp() against the simulated HS110', function () {
  this.timeout(20000);
  let dev: SimulatedDevice;
  before(async () => {
    dev = await startSimulatedDevice('hs110v1', { tddp: { port: 0 } });
  });
  after(() => dev.close());

  it('reads 0x0A, the deviceId (0x12) and the hwId (0x14)', async () => {
    const t = dev.tddp!;
    const q = (subtype: number) => tddp({ host: t.host, port: t.port, replyPort: 0, bindAddress: '127.0.0.1', subtype, timeoutMs: 3000 });
    assert.equal((await q(0x0a)).text, 'ABCD0110');
    assert.equal((await q(0x12)).text, dev.profile.deviceId);
    assert.equal((await q(0x14)).text, dev.profile.deviceId.slice(0, 32));
  });

  it('a wrong account decrypts to bytes that are not text', async () => {
    const t = dev.tddp!;
    const r = await tddp({ host: t.host, port: t.port, replyPort: 0, subtype: 0x12, password: 'wrong', timeoutMs: 3000 });
    assert.equal(r.text, undefined);
    assert.ok(r.data.length > 0);
  });

  it('an unknown subtype → EDEVICE; silence → ETIMEDOUT', async () => {
    const t = dev.tddp!;
    await assert.rejects(
      tddp({ host: t.host, port: t.port, replyPort: 0, subtype: 0x55, timeoutMs: 3000 }),
      (e: unknown) => isKasaTapoError(e) && e.code === 'EDEVICE',
    );
    const quiet = dgram.createSocket('udp4');
    await new Promise<void>((r) => quiet.bind(0, '127.0.0.1', () => r()));
    try {
      await assert.rejects(
        tddp({ host: '127.0.0.1', port: quiet.address().port, replyPort: 0, timeoutMs: 300 }),
        (e: unknown) => isKasaTapoError(e) && e.code === 'ETIMEDOUT',
      );
    } finally {
      quiet.close();
    }
    await assert.rejects(tddp({ host: '' }), (e: unknown) => isKasaTapoError(e) && e.code === 'EBADINPUT');
  });

  it('a simulated home gives its HS110 (only) a TDDP responder', async () => {
    const home = await startSimulatedHome({ baseAddress: randomBase(), profiles: ['hs100', 'hs110v1', 'p110'], standardPorts: false, discovery: false });
    try {
      assert.deepEqual(
        home.devices.map((d) => d.tddp !== undefined),
        [false, true, false],
      );
      const t = home.device('hs110v1')!.tddp!;
      assert.equal(t.host, home.device('hs110v1')!.host);
      assert.equal(
        (await tddp({ host: t.host, port: t.port, replyPort: 0, subtype: 0x14, timeoutMs: 3000 })).text,
        home.device('hs110v1')!.profile.deviceId.slice(0, 32),
      );
    } finally {
      await home.close();
    }
  });

  it('a responder with replyPort set answers to that port (the real protocol)', async () => {
    const rx = dgram.createSocket('udp4');
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
    let responder: TddpResponder | undefined;
    try {
      responder = await startTddpResponder({ port: 0, replyPort: rx.address().port, answers: { 0x0a: 'X' } });
      const got = new Promise<Buffer>((r) => rx.once('message', (m) => r(m)));
      const tx = dgram.createSocket('udp4');
      tx.send(
        buildTddpPacket({ version: 2, type: 3, code: 1, replyInfo: 0, packetId: 7, subtype: 0x0a, payload: Buffer.alloc(0) }),
        responder.port,
        '127.0.0.1',
        () => tx.close(),
      );
      const p = parseTddpPacket(await got);
      assert.equal(p.code, 2);
      assert.equal(p.packetId, 7);
      assert.equal(tddpDecrypt(tddpKey('admin', 'admin'), p.payload).toString(), 'X');
    } finally {
      rx.close();
      await responder?.close();
    }
  });

  it('kasa-tapo tddp reads the simulated HS110, and refuses write subtypes without --force', async () => {
    const t = dev.tddp!;
    const cli = path.join(__dirname, '../../src/cli.js');
    const run = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) =>
        execFile(process.execPath, [cli, ...args], { timeout: 15000 }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: unknown }).code ?? 99) : 0, stdout, stderr }),
        ),
      );
    const base = ['tddp', '--host', t.host, '--port', String(t.port), '--reply-port', '0', '--timeout', '3000'];
    const r = await run([...base, '--subtype', '12', '--type', '03']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(dev.profile.deviceId));
    const j = await run([...base, '--json']);
    assert.equal((JSON.parse(j.stdout) as { text: string }).text, 'ABCD0110');
    const w = await run([...base, '--subtype', '13']);
    assert.equal(w.code, 1);
    assert.match(w.stderr, /EBADINPUT.*--force/);
  });
});
