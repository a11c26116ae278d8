import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import { createPublicKey } from 'node:crypto';
import { buildTdpProbe, discover, discoverSingle, parseDiscoveryAnswer, parseLegacyAnswer, parseTdpAnswer } from '../../src/discovery';
import { xorDecrypt, xorEncrypt } from '../../src/crypto/xor';
import { crc32 } from '../../src/crypto/crc32';
import { keyPairFromPrivatePem } from '../../src/crypto/rsa';
import { HINTS, KasaTapoError } from '../../src/errors';
import { TEST_RSA_PRIVATE_PEM } from '../helpers/vectors';

const VECTOR =
  '02000001012f11000102030492fbd4227b22706172616d73223a7b227273615f6b6579223a222d2d2d2d2d424547494e' +
  '205055424c4943204b45592d2d2d2d2d5c6e4d4947664d413047435371475349623344514542415155414134474e4144' +
  '434269514b42675144434a656b5439575055526a67553853354b4a42442f62646b435c6e656a677a2f78737573486730' +
  '5871455142555a446f4864412f447a762b4f53474b71496d3054514f3451594f64756a3363547052676c62446643374e' +
  '303343795c6e69386556352f5353725432724b4d712f4d4e614d54585830796e77625642617277387272685a73435933' +
  '38326d6978695567716d52675634304f4e4f69484a6e5c6e51474137766f4d767376594c496f7a324551494441514142' +
  '5c6e2d2d2d2d2d454e44205055424c4943204b45592d2d2d2d2d5c6e227d7d';

const tdp = (json: unknown): Buffer => Buffer.concat([Buffer.alloc(16, 1), Buffer.from(JSON.stringify(json))]);
const sysinfo = (info: Record<string, unknown>): Buffer => xorEncrypt(JSON.stringify({ system: { get_sysinfo: { err_code: 0, ...info } } }));

describe('discovery', () => {
  it('builds the 319-byte 20002 probe of docs/protocols.md#discovery-probe-vector', () => {
    const pem = createPublicKey(TEST_RSA_PRIVATE_PEM).export({ type: 'spki', format: 'pem' }).toString();
    const probe = buildTdpProbe(pem, Buffer.from([1, 2, 3, 4]));
    assert.equal(probe.length, 319);
    assert.equal(probe.toString('hex'), VECTOR);
    assert.equal(buildTdpProbe(pem, 0x01020304).toString('hex'), VECTOR);
    // The CRC covers the packet with the magic constant in its place.
    const check = Buffer.from(probe);
    check.writeUInt32BE(0x5a6b7c8d, 12);
    assert.equal(crc32(check), probe.readUInt32BE(12));
    assert.throws(() => buildTdpProbe(pem, Buffer.alloc(3)), KasaTapoError);
    assert.ok(keyPairFromPrivatePem(TEST_RSA_PRIVATE_PEM).publicPem.includes('BEGIN PUBLIC KEY'));
  });

  it('parses a legacy 9999 answer', () => {
    const r = parseLegacyAnswer(
      sysinfo({ alias: 'Desk', model: 'HS110(EU)', mac: '50:C7:BF:01:02:03', type: 'IOT.SMARTPLUGSWITCH', deviceId: 'D1', relay_state: 1 }),
      '127.0.0.5',
    );
    assert.ok(r);
    assert.deepEqual(
      { ...r, raw: undefined },
      {
        host: '127.0.0.5',
        port: 9999,
        family: 'plug',
        deviceType: 'IOT.SMARTPLUGSWITCH',
        protocol: 'iot',
        supported: true,
        transport: 'xor',
        alias: 'Desk',
        mac: '50:C7:BF:01:02:03',
        deviceId: 'D1',
        modelFull: 'HS110(EU)',
        model: 'HS110',
        raw: undefined,
      },
    );
    const bulb = parseLegacyAnswer(sysinfo({ mic_type: 'IOT.SMARTBULB', model: 'KL430(US)', length: 16 }), '127.0.0.6');
    assert.equal(bulb?.family, 'lightstrip');
    const cam = parseLegacyAnswer(sysinfo({ type: 'IOT.IPCAMERA', model: 'EC60(US)' }), '127.0.0.7');
    assert.equal(cam?.supported, false);
    assert.equal(cam?.reason, HINTS.https);
  });

  it('parses 20002 answers: KLAP, AES lv2, IOT over KLAP, TPAP, HTTPS-only', () => {
    const res = (mgt: unknown, extra: Record<string, unknown> = {}) =>
      tdp({
        error_code: 0,
        result: {
          device_id: 'X',
          device_type: 'SMART.TAPOPLUG',
          device_model: 'P110(UK)',
          mac: '48-22-54-00-00-01',
          ip: '127.0.0.9',
          mgt_encrypt_schm: mgt,
          ...extra,
        },
      });
    const klap = parseTdpAnswer(res({ encrypt_type: 'KLAP', http_port: 8080, is_support_https: false, lv: 2 }), '127.0.0.9')!;
    assert.equal(klap.transport, 'klap');
    assert.equal(klap.port, 8080);
    assert.equal(klap.model, 'P110');
    assert.equal(klap.protocol, 'smart');
    assert.equal(klap.family, 'plug');
    const aes = parseTdpAnswer(res({ encrypt_type: 'AES', http_port: 80, is_support_https: false, lv: 2 }), 'h')!;
    assert.equal(aes.transport, 'aes');
    assert.equal(aes.loginVersion, 2);
    const iot = parseTdpAnswer(
      tdp({
        error_code: 0,
        result: {
          device_type: 'IOT.SMARTPLUGSWITCH',
          device_model: 'HS100(UK)',
          mgt_encrypt_schm: { encrypt_type: 'KLAP', http_port: 80, is_support_https: false },
        },
      }),
      'h',
    )!;
    assert.equal(iot.transport, 'klap-v1');
    assert.equal(iot.protocol, 'iot');
    // Now a plain-HTTP TPAP device is supported (it was "unsupported: TPAP" before);
    // a TLS / cloud-certificate profile stays unsupported with the exact reason.
    const tpap = parseTdpAnswer(
      res(
        { encrypt_type: 'TPAP', http_port: 80, is_support_https: false, lv: 2 },
        { tpap_preferred: true, tpap: { tls: 0, dac: 0, noc: 0, pake: [2], port: 8081 } },
      ),
      'h',
    )!;
    assert.equal(tpap.supported, true);
    assert.equal(tpap.transport, 'tpap');
    assert.equal(tpap.port, 8081);
    const bare = parseTdpAnswer(res({ encrypt_type: 'TPAP', http_port: 80, is_support_https: false, lv: 2 }), 'h')!;
    assert.equal(bare.transport, 'tpap');
    assert.equal(bare.port, 80);
    const tls = parseTdpAnswer(
      res({ encrypt_type: 'TPAP', http_port: 4433, is_support_https: true }, { tpap: { tls: 1, dac: 0, noc: 1, pake: [2], port: 4433 } }),
      'h',
    )!;
    assert.equal(tls.supported, false);
    assert.equal(tls.transport, undefined);
    assert.match(tls.reason!, /tpap\.tls 1/);
    assert.notEqual(tls.reason, HINTS.tpap);
    const klapNotPreferred = parseTdpAnswer(
      res({ encrypt_type: 'KLAP', http_port: 80, is_support_https: false, lv: 2 }, { tpap_preferred: false, tpap: { tls: 0, pake: [2], port: 80 } }),
      'h',
    )!;
    assert.equal(klapNotPreferred.transport, 'klap');
    const cam = parseTdpAnswer(
      tdp({
        error_code: 0,
        result: {
          device_type: 'SMART.IPCAMERA',
          device_model: 'C210',
          device_name: 'Door',
          mgt_encrypt_schm: { is_support_https: true },
          encrypt_type: ['3'],
          encrypt_info: { sym_schm: 'AES' },
        },
      }),
      'h',
    )!;
    assert.equal(cam.supported, false);
    assert.equal(cam.reason, HINTS.https);
    assert.equal(cam.alias, 'Door');
    const none = parseTdpAnswer(tdp({ error_code: 0, result: { device_type: 'SMART.TAPOPLUG' } }), 'h')!;
    assert.equal(none.supported, false);
  });

  it('ignores garbage safely', () => {
    const junk = [
      Buffer.alloc(0),
      Buffer.from([0xd0]),
      Buffer.from([2, 0, 0, 1]),
      Buffer.concat([Buffer.alloc(16, 2), Buffer.from('{not json')]),
      tdp({ error_code: -1, result: { device_type: 'SMART.TAPOPLUG' } }),
      tdp({ error_code: 0, result: 5 }),
      tdp({ error_code: 0, result: { device_type: 7 } }),
      tdp([1, 2, 3]),
      xorEncrypt('{"system":{"get_sysinfo":"x"}}'),
      xorEncrypt('{"__proto__":{"polluted":1},"system":{}}'),
      Buffer.from('random bytes here'),
    ];
    for (const b of junk) {
      assert.equal(parseDiscoveryAnswer(b, 'h', 9999), undefined);
      assert.equal(parseTdpAnswer(b, 'h'), undefined);
      assert.equal(parseLegacyAnswer(b, 'h'), undefined);
    }
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  describe('on loopback (127.255.255.255)', () => {
    let legacy: dgram.Socket;
    let tdpSock: dgram.Socket;
    const seen: { legacy: number; tdp: number; tdpBytes?: Buffer } = { legacy: 0, tdp: 0 };
    const bind = (s: dgram.Socket) => new Promise<number>((r) => s.bind({ port: 0, address: '0.0.0.0', exclusive: false }, () => r(s.address().port)));
    let ports: { legacy: number; tdp: number };

    before(async () => {
      legacy = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      tdpSock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      legacy.on('message', (m, r) => {
        seen.legacy++;
        if (xorDecrypt(m).toString() !== '{"system":{"get_sysinfo":{}}}') return;
        legacy.send(Buffer.from('garbage!'), r.port, r.address);
        legacy.send(sysinfo({ alias: 'Sim plug', model: 'HS100(US)', mic_type: 'IOT.SMARTPLUGSWITCH', relay_state: 0 }), r.port, r.address);
      });
      tdpSock.on('message', (m, r) => {
        seen.tdp++;
        seen.tdpBytes = m;
        tdpSock.send(
          tdp({
            error_code: 0,
            result: { device_type: 'SMART.TAPOPLUG', device_model: 'P100', mgt_encrypt_schm: { encrypt_type: 'AES', http_port: 80, is_support_https: false } },
          }),
          r.port,
          r.address,
        );
      });
      ports = { legacy: await bind(legacy), tdp: await bind(tdpSock) };
    });
    after(() => {
      legacy.close();
      tdpSock.close();
    });

    it('collects the first answer per IP within the timeout', async () => {
      const keyPair = keyPairFromPrivatePem(TEST_RSA_PRIVATE_PEM);
      const t0 = Date.now();
      const found = await discover({ broadcast: '127.255.255.255', timeoutMs: 400, rounds: 2, ports, keyPair });
      assert.ok(Date.now() - t0 < 2000);
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.ok(['xor', 'aes'].includes(found[0]!.transport!));
      assert.ok(seen.legacy >= 1 && seen.tdp >= 1);
      const b = seen.tdpBytes!;
      assert.equal(b[0], 2);
      assert.ok(b.subarray(16).toString().includes(keyPair.publicPem.split('\n')[1]!.slice(0, 20)));
    });

    it('discoverSingle stops at the first answer from the host; ETIMEDOUT when nobody answers', async () => {
      const t0 = Date.now();
      const r = await discoverSingle('127.0.0.1', { timeoutMs: 3000, ports, keyPair: keyPairFromPrivatePem(TEST_RSA_PRIVATE_PEM) });
      assert.equal(r.host, '127.0.0.1');
      assert.ok(Date.now() - t0 < 1500);
      await assert.rejects(
        discoverSingle('127.0.0.1', { timeoutMs: 150, ports: { legacy: 9, tdp: 9 }, keyPair: keyPairFromPrivatePem(TEST_RSA_PRIVATE_PEM) }),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'ETIMEDOUT',
      );
    });

    it('an abort ends discover() at once: the socket closed, no further probe round; an aborted signal sends nothing', async function () {
      // The discovery would last 30 s (second round at 15 s): a hang here means the abort was ignored.
      this.timeout(10_000);
      const silent = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      let probes = 0;
      const ac = new AbortController();
      silent.on('message', () => {
        probes++;
        ac.abort();
      });
      const port = await bind(silent);
      try {
        const keyPair = keyPairFromPrivatePem(TEST_RSA_PRIVATE_PEM);
        const opts = { target: '127.0.0.1', timeoutMs: 30_000, rounds: 2, ports: { legacy: port, tdp: port }, keyPair };
        assert.deepEqual(await discover({ ...opts, signal: ac.signal }), []);
        await new Promise((r) => setTimeout(r, 50));
        const first = probes;
        assert.ok(first >= 1 && first <= 2, `probes of the first round: ${first}`);
        assert.deepEqual(await discover({ ...opts, signal: AbortSignal.abort() }), []);
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(probes, first, 'nothing sent after the abort');
      } finally {
        silent.close();
      }
    });

    it('rejects a non-IPv4 broadcast address', async () => {
      await assert.rejects(discover({ broadcast: 'everyone' }), (e: unknown) => e instanceof KasaTapoError && e.code === 'EBADINPUT');
    });
  });
});
