// Test vectors of docs/protocols.md#xor-vectors, docs/protocols.md#klap-vectors, docs/protocols.md#aes-vectors, docs/protocols.md#discovery-probe-vector.
import { strict as assert } from 'node:assert';
import { xorDecrypt, xorEncrypt, xorFrame } from '../../src/crypto/xor';
import { crc32, crc32Table } from '../../src/crypto/crc32';
import { KlapCipher, klapAuthHash, klapClientHash, klapServerHash } from '../../src/crypto/klap';
import { AesCipher, aesLoginParams } from '../../src/crypto/aes';
import { keyPairFromPrivatePem, rsaPkcs1Decrypt, rsaPkcs1DecryptForge, rsaPkcs1Encrypt } from '../../src/crypto/rsa';
import { TEST_RSA_PRIVATE_PEM } from '../helpers/vectors';
import type * as JsonModule from '../../src/json';

const hex = (b: Buffer): string => b.toString('hex');
const H = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('crypto vectors', () => {
  describe('XOR (docs/protocols.md)', () => {
    it('encrypts get_sysinfo for TCP and UDP', () => {
      const p = '{"system":{"get_sysinfo":{}}}';
      assert.equal(hex(xorFrame(p)), '0000001dd0f281f88bff9af7d5ef94b6d1b4c09fec95e68fe187e8caf08bf68bf6');
      assert.equal(hex(xorEncrypt(p)), 'd0f281f88bff9af7d5ef94b6d1b4c09fec95e68fe187e8caf08bf68bf6');
    });
    it('decrypts a device answer', () => {
      const frame = H('0000002dd0f281f88bff9af7d5ef94b6c5a0d48bf99cf091e8b7c4b0d1a5c0e2d8a381e496e4bbd8b7d3b694ae9ee39ee3');
      assert.equal(frame.readUInt32BE(0), 45);
      assert.equal(xorDecrypt(frame.subarray(4)).toString(), '{"system":{"set_relay_state":{"err_code":0}}}');
    });
    it('frames a child command', () => {
      const p = '{"context":{"child_ids":["8006A0F1D01120C3F93794F7AACACDBE1EAD246D01"]},"system":{"set_relay_state":{"state":1}}}';
      assert.equal(
        hex(xorFrame(p)),
        '00000071d0f291fe90e481f98daf95eeccafc7aec2a6f990f487a59fc4e6deeedee8a999dfeeaa9aab9aa898dbe8ae97a493aa9ed8efaeefacedaeeaa8eddc99d89cae9aace8d8e9cb96ebc7e596ef9ce88de0c2f883a1d2b7c39cee8be786ffa0d3a7c6b2d7f5cfb496e591f084e1c3f9c8b5c8b5',
      );
    });
    it('counts bytes, not characters', () => {
      assert.equal(
        hex(xorFrame('{"system":{"set_dev_alias":{"alias":"Küche"}}}')),
        '0000002fd0f281f88bff9af7d5ef94b6c5a0d48bef8afca3c2aec7a6d5f7cdb694f599f091e2c0fad89350ec8fe782a0dda0dd',
      );
    });
  });

  describe('CRC-32 (docs/protocols.md)', () => {
    it('reproduces the legacy probe constant with both implementations', () => {
      const h = H('020000010000000000000000');
      assert.equal(crc32(Buffer.concat([h, H('5a6b7c8d')])).toString(16), '463cb5d3');
      assert.equal(crc32Table(Buffer.concat([h, H('5a6b7c8d')])).toString(16), '463cb5d3');
    });
  });

  describe('KLAP (docs/protocols.md)', () => {
    const local = H('000102030405060708090a0b0c0d0e0f');
    const remote = H('f0e0d0c0b0a090807060504030201000');
    it('v1: hashes, session and request bodies', () => {
      const auth = klapAuthHash(1, 'user@example.com', 'great_password');
      assert.equal(hex(auth), '474728be8bb983216b5b73ae1f646147');
      assert.equal(hex(klapServerHash(1, local, remote, auth)), '7c10489c80f0713f4bc0275f2612e432b210f2b7c28b3b03bf95f48987ab0ce9');
      assert.equal(hex(klapClientHash(1, local, remote, auth)), 'a27bcd1cad6e16bcc964272bc7149a083020ad21008d59ee5722bf2778a71303');
      const c = new KlapCipher(local, remote, auth);
      assert.equal(hex(c.key), 'ce5f041f7311ab1fd81d0c0648fe1217');
      assert.equal(hex(c.ivPrefix), '014451bf74be7c36a92e8a7a');
      assert.equal(c.seq, 2145635185);
      assert.equal(hex(c.sigKey), 'ed0079b3413fdaa7976fc5e68f08f80e8b65e73f7f35c783a5aceff1');
      const r1 = c.encrypt('{"system":{"get_sysinfo":{}}}');
      assert.equal(r1.seq, 2145635186);
      assert.equal(hex(c.iv(r1.seq)), '014451bf74be7c36a92e8a7a7fe3cb72');
      assert.equal(
        hex(r1.body),
        'c0769b57702fbe85fb376ddf0e0d0768325c57584b36243c3e21c33847d0d2042832dbd1f4ba5c31c70da718f3c03fcbc9b8cca4c5f993da4fcfbc975f795e34',
      );
      const answer = H(
        '0bafd8ce1288cc7a60d45361bb46d86d1112f8d52b16ff68473a7ef0b0b63acc2832dbd1f4ba5c31c70da718f3c03fcb562b8021a1317a07efdf651bb41ee4a921cf5f35f45efc687e3d9f61f9ac16f9',
      );
      assert.equal(c.decrypt(r1.seq, answer).toString(), '{"system":{"get_sysinfo":{"err_code":0}}}');
      assert.equal(hex(c.encryptAt(r1.seq, '{"system":{"get_sysinfo":{"err_code":0}}}')), hex(answer));
      const r2 = c.encrypt('{"system":{"get_sysinfo":{}}}');
      assert.equal(
        hex(r2.body),
        '88a1d6d15dae61675560d6a85747decdc2c5f5e4529a8b5dade0b707e8bc1af62c3557fec07b4542638bc47d90648c72eb2d586cfeaef9719ebac776e74457da',
      );
    });
    it('v2: hashes, negative sequence, request bodies', () => {
      const auth = klapAuthHash(2, 'user@example.com', 'great_password');
      assert.equal(hex(auth), '98affa12cd82d89b4ca3e89d6513ac1e914461bb28683d9a6dcd8dac214e22c4');
      assert.equal(hex(klapServerHash(2, local, remote, auth)), '6f1ea0b852182f743d21c8f77f214515bd48c14f154a97dfbe8058211db02b24');
      assert.equal(hex(klapClientHash(2, local, remote, auth)), '1b1817fd60b296d699c77e3672a1411efdfd508596475e0739aa365b7acce3ba');
      const c = new KlapCipher(local, remote, auth);
      assert.equal(hex(c.key), '57568ffd2d21d7365030582ea6cf8c54');
      assert.equal(hex(c.ivPrefix), 'd83b6905a56dbeb099a13cd1');
      assert.equal(c.seq, -1829875968);
      assert.equal(hex(c.sigKey), 'c35759c9cdba6e6fb10b40832d3342da1a44d37632e375aec25195f9');
      const p = '{"method":"get_device_info","request_time_milis":1700000000000,"terminal_uuid":"AAECAwQFBgcICQoLDA0ODw=="}';
      const r1 = c.encrypt(p);
      assert.equal(r1.seq, -1829875967);
      assert.equal(hex(c.iv(r1.seq)), 'd83b6905a56dbeb099a13cd192ee4f01');
      assert.equal(
        hex(r1.body),
        'ac48f5acfdc2e22517b5a017f24b762654bbd2d22d29a8c89ecc5f48c47cd0e3ba6ea97c1109e966d95753711938a70e38351edb144b697c9ccafa1a02d0d40bb39ab5599b66ab10ed9078606034d2446a4fe3867f0981b4fbc87a6d92a9fafa8e2a9ac45abd7eca9f5f20ba49fad60acc63a72ab9847bbafd0d4d01bd8534ad007f5c5b0acb8fef8f4f228c64969e1a',
      );
      const answer = H(
        'a4b771b87d5f6b403ca97a554f6d33aa350980a8691ecd406a2291416dd0988405b67e02daf984737fc44c435ad9fbbf9b51b65989c12b6ca3ab374e798ba69363453237cd5d5aa47f311340454ff2e8',
      );
      assert.equal(c.decrypt(r1.seq, answer).toString(), '{"error_code":0,"result":{"device_on":true}}');
      const r2 = c.encrypt(p);
      assert.equal(r2.seq, -1829875966);
      assert.equal(
        hex(r2.body),
        '8335811085c1002f6066744e15f61ccf4f0c206ca18c7f77d5c76563424fe20b49cf4decd2b088fa0b6a76cb1375155747725e3478d3b3a99fcc554cabcf32285e88ea0c3f530bf8396f8be4b27e0cc0bf0f0557d1be73268fc690c914a98e0d49070342cbae36ee6b1d865330c4c909491e6cc6f410d77b4a9e2bee6e053aa46527c67608d8522befebf18bfaed390b',
      );
    });
    it('default and blank credential hashes', () => {
      assert.equal(hex(klapAuthHash(1, '', '')), '5873dd45edd01f09c1ef2e7819369e8e');
      assert.equal(hex(klapAuthHash(2, '', '')), 'b8628ab91c74f531603f6d5b45e730e54c123a7247b8978272c03f1e13560cea');
      assert.equal(hex(klapAuthHash(1, 'kasa@tp-link.net', 'kasaSetup')), '74b751bdd208bc155ae2a6d4167cc44d');
      assert.equal(hex(klapAuthHash(2, 'test@tp-link.net', 'test')), '7d5ae9ac18f5bb37843a4577867dd4348d8dff26c4b261ebff1b74d88adc063b');
    });
  });

  describe('AES securePassthrough (docs/protocols.md)', () => {
    const pair = keyPairFromPrivatePem(TEST_RSA_PRIVATE_PEM);
    it('builds the 314-byte handshake body', () => {
      const body = JSON.stringify({ method: 'handshake', params: { key: pair.publicPem } });
      assert.equal(Buffer.byteLength(body), 314);
      assert.ok(body.includes('MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCJekT9WPURjgU8S5KJBD/bdkC'));
    });
    it('decrypts the frozen handshake key natively and with node-forge', () => {
      const ct = Buffer.from(
        'mFlr+NH1tmNgbDiGjcJApPlTPhRShpAb7xyeaTvajkiIvLEY4KQlHUWlCQcqAZvZ3hJuzdKDJlfdtG1OkVi9/JgwQ0CI9Xcq+NNzIhJSdLORvwq02Hg0h9kHicENNMlLf/Z/O+A2uPkQdtWFp6wedNED7L6gsJfbVqSz+xJTFFk=',
        'base64',
      );
      const want = '00112233445566778899aabbccddeeffa0a1a2a3a4a5a6a7a8a9aaabacadaeaf';
      assert.equal(hex(rsaPkcs1Decrypt(pair.privateKey, ct, 32)), want);
      assert.equal(hex(rsaPkcs1DecryptForge(pair.privateKey, ct, 32)), want);
    });
    it('round-trips a fresh PKCS#1 v1.5 encryption (what the simulator does)', () => {
      const secret = H('00112233445566778899aabbccddeeffa0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
      const ct = rsaPkcs1Encrypt(pair.publicPem, secret);
      assert.equal(hex(rsaPkcs1Decrypt(pair.privateKey, ct, 32)), hex(secret));
    });
    it('rejects a corrupted block with a typed error', () => {
      const ct = Buffer.alloc(128, 7);
      assert.throws(
        () => rsaPkcs1Decrypt(pair.privateKey, ct, 32),
        (e: { code?: string }) => e.code === 'EPROTOCOL',
      );
    });
    it('login params v1 and v2, login request and token answer', () => {
      assert.deepEqual(aesLoginParams(1, 'user@example.com', 'great_password'), {
        password: 'Z3JlYXRfcGFzc3dvcmQ=',
        username: 'NjNhNzEwNTY5MjYxYTI0YjM3NjYyNzViNzAwMGNlOGQ3YjMyZTJmNw==',
      });
      const v2 = aesLoginParams(2, 'user@example.com', 'great_password');
      assert.equal(
        JSON.stringify(v2),
        '{"password2":"Njk4Nzg5Yzk0YTFiYzFiZjFiYzI3MzBiYjUxM2FjZDlmZWM5MzZmOA==","username":"NjNhNzEwNTY5MjYxYTI0YjM3NjYyNzViNzAwMGNlOGQ3YjMyZTJmNw=="}',
      );
      const c = new AesCipher(H('00112233445566778899aabbccddeeff'), H('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf'));
      const inner = JSON.stringify({ method: 'login_device', params: v2, request_time_milis: 1700000000000 });
      assert.equal(
        c.encrypt(inner),
        'o3e60tJg9930P06CUlVK5N0FJfxHI3Dv0rAMi5vIIICpbea+AX0Kn8ozrlZAnsxCSl0/NUn7+Y8fpbXY+qciTszynno53nuO+voluKSjKWDrFeEgrtk9xVSs6IUGDG7CdiSoTdVU6si0VyAbAigVrjSsWGdiNt/LCkUr04HHH7fcqZHnpwyZ0b9tF+fqN8uXFGkVUpToJnTb0d6B94Jimh41Iio9C383576c5LQrIaPu5OfuRfnI5bUI2zBvKqrNCKcj+x2dgwtqeCECBMGc8Ctwl8UWbNPJFB8MrL7hkNU=',
      );
      assert.equal(
        c.decrypt('dmZXHUFrY0cfSbXbAuwmmD7Nbprrdkk2PUhsXiTpGBpoHc1raNOyLT1WAXMaU0Fe6WzQBwAiDudhC/cm1u+VmdA4toza+cUyUahmQkCwMpw='),
        '{"error_code":0,"result":{"token":"ABCDEF0123456789ABCDEF0123456789"}}',
      );
    });
  });
});

describe('device JSON', () => {
  const { parseJson } = require('../../src/json') as typeof JsonModule;
  it('drops __proto__, constructor and prototype keys, also when spelt with \\u escapes', () => {
    for (const text of [
      '{"__proto__":{"polluted":1},"a":1}',
      '{"\\u005f_proto__":{"polluted":1},"a":1}',
      '{"a":{"constructor":{"prototype":{"polluted":1}}}}',
    ]) {
      const v = parseJson(text) as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(v), Object.prototype);
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
      assert.equal(Object.prototype.hasOwnProperty.call(v, '__proto__'), false);
      Object.assign({}, v, v['a']);
      assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
    }
  });
  it('throws EPROTOCOL on malformed text', () => {
    assert.throws(() => parseJson('{"a":'), { code: 'EPROTOCOL' });
  });
});
