// TPAP test vectors (docs/protocols.md#tpap-vectors), the credential transforms (#tpap-credential-transforms), and the AEAD suites.
import { strict as assert } from 'node:assert';
import { createECDH } from 'node:crypto';
import { KasaTapoError } from '../../src/errors';
import {
  TPAP_CIPHERS,
  TPAP_M,
  TPAP_N,
  TpapCipher,
  decodeTpapPoint,
  tpapClientFinish,
  tpapClientFinishAsync,
  tpapClientShare,
  tpapContext,
  tpapCredential,
  tpapDeriveSecrets,
  tpapDeviceFinish,
  tpapDeviceFinishAsync,
  tpapDeviceShare,
  tpapEncodeW,
  tpapEqual,
  tpapRegisterUsername,
  tpapSessionKeys,
  tpapTranscript,
  tpapTransformName,
} from '../../src/crypto/tpap';
import { tpapClientKeys } from '../../src/crypto/tpap-worker';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const H = (s: string): Buffer => Buffer.from(s, 'hex');
const big = (s: string): bigint => BigInt('0x' + s);
const range = (from: number, n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => from + i));

const V = {
  userRandom: range(0x00, 32),
  devRandom: range(0x20, 32),
  salt: range(0xa0, 16),
  x: big('e08aae28e30721fae8e7f331908141cf868db0e3ace03421769b4b78155c96df'),
  y: big('8fb5bff52eea02e24ab692b72ca9caf3e14e01be0c34ee956bb55cdb3e6d8958'),
  pbkdf2:
    '8a6d391fa913c7d1315daf6f5e8d79577c6fb2009e402d516fa2d32cfa149141213ba8a79db03e7e3f86701f5bb4aaa8a8b1fb703ee44c158e15262664f2411fb49f51b89252c10a376a10380be73c0e',
  w: 'da71773f2b0c7867a0b7cf7f490d18d01e0f9099aff175b27153f0560fec428e',
  h: '0466a618a3a9314d9ebb8af1acf94aa07dbc5ec8af2e60b8be30b30027fcdac6',
  R: '04091817dc10db93b7be93cc46cb6947fbd6cb872738cd3367a427eec1cfba5d6c26c3928aa69729f538dbe1e6a1423d6135df2922a74a50af7c4fabad148f2051',
  Rb64: 'BAkYF9wQ25O3vpPMRstpR/vWy4cnOM0zZ6Qn7sHPul1sJsOSiqaXKfU42+HmoUI9YTXfKSKnSlCvfE+rrRSPIFE=',
  L: '04dde9b920d22b786a67bc312e89bd9d31231a81cb20eeb76af9e7b5e4ded47df4c9d7d80ab95e2622736fb6b26b52adaecfede29f61c7d8bd5c0aabdf3c0b87a8',
  Lb64: 'BN3puSDSK3hqZ7wxLom9nTEjGoHLIO63avnnteTe1H30ydfYCrleJiJzb7aya1Ktrs/t4p9hx9i9XAqr3zwLh6g=',
  Z: '0446cedeea7504c35cd5f5aa0ba55005e3df60678f221ca11bf664edb0883d7580f09e2e6fc58d1bd1481a154bb6402db5dd2090df07eaaf202faeefa94982734e',
  V: '04e6880849bbfec77b9377b4162c0a6d94c7b1977df5ab3f848d353728f98b0cd7629a99acc7cc764a98a2d87110bbeb39ca7c293912f15f388563b081aafea0b8',
  context: '5b2a9a4124d0c3da88f8de08252b62cbfbb514891b888aa3d90d68f34a8594a2',
  T: '35162a4d91a5c2e7a660bd2b46cb0968416e41ca4dfcf26658e2a74acc5621e9',
  KcA: 'b6ee2df1dcc22a1ef4b6bb97b0683237ca27393dbe05bfd06ad271a4a22a3330',
  KcB: 'd37e91e7a02c6f8facb1b2e5a8e4e91b8d8f1a5cd806057f65626d78ad51444d',
  shared: '611a67c86dcc3c2fcf83ae238d36206bfa7f4307bcd309821f1164664d57da53',
  userConfirm: 'f187d50eeab84cecfea62af376e2b100d86b6515ed815b487348e519abf7a468',
  userConfirmB64: '8YfVDuq4TOz+pirzduKxANhrZRXtgVtIc0jlGav3pGg=',
  devConfirm: 'c2176512dba08f4ec8fbf5dc17954ee109e39d60f51b556cada2a2b897a911e4',
  devConfirmB64: 'whdlEtugj07I+/XcF5VO4QnjnWD1G1VsraKiuJepEeQ=',
};

describe('TPAP crypto (docs/protocols.md#tpap)', () => {
  it('M and N are the RFC 9383 points (compressed forms, docs/protocols.md#tpap-spake2-suite-1)', () => {
    assert.equal(hex(decodeTpapPoint(TPAP_M).toBytes(true)), '02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f');
    assert.equal(hex(decodeTpapPoint(TPAP_N).toBytes(true)), '03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49');
  });

  it('k·G from @noble/curves equals node:crypto ECDH public keys', () => {
    for (const k of [V.x, V.y, 1n, 2n]) {
      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(H(k.toString(16).padStart(64, '0')));
      // k·G + 1·N from our helper, against Node's k·G plus N.
      const { R } = tpapDeviceShare(1n, k);
      const expected = decodeTpapPoint(ecdh.getPublicKey()).add(decodeTpapPoint(TPAP_N));
      assert.equal(hex(R), hex(expected.toBytes(false)));
    }
  });

  it('reproduces every TPAP vector (suite 1, AES-128-CCM)', async () => {
    const cred = tpapCredential(undefined, 'user@example.com', 'Secret-123');
    assert.equal(cred, 'user@example.com/Secret-123');
    assert.equal(V.userRandom.toString('base64'), 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=');
    assert.equal(V.devRandom.toString('base64'), 'ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=');
    assert.equal(V.salt.toString('base64'), 'oKGio6SlpqeoqaqrrK2urw==');
    const s = await tpapDeriveSecrets(cred, V.salt, 3000);
    assert.equal(hex(s.out), V.pbkdf2);
    assert.equal(s.w.toString(16).padStart(64, '0'), V.w);
    assert.equal(hex(tpapEncodeW(s.w)), V.w);
    assert.equal(s.h.toString(16).padStart(64, '0'), V.h);

    const dev = tpapDeviceShare(s.w, V.y);
    assert.equal(hex(dev.R), V.R);
    assert.equal(dev.R.toString('base64'), V.Rb64);
    const cli = tpapClientShare(s.w, V.x);
    assert.equal(hex(cli.L), V.L);
    assert.equal(cli.L.toString('base64'), V.Lb64);

    assert.equal(hex(tpapContext(V.userRandom, V.devRandom)), V.context);
    const c = tpapClientFinish({ x: V.x, w: s.w, h: s.h, L: cli.L, R: Buffer.from(V.Rb64, 'base64'), userRandom: V.userRandom, devRandom: V.devRandom });
    assert.equal(hex(c.Z), V.Z);
    assert.equal(hex(c.V), V.V);
    assert.equal(tpapTranscript(tpapContext(V.userRandom, V.devRandom), cli.L, dev.R, c.Z, c.V, s.w).length, 534);
    assert.equal(hex(c.T), V.T);
    assert.equal(hex(c.KcA), V.KcA);
    assert.equal(hex(c.KcB), V.KcB);
    assert.equal(hex(c.sharedKey), V.shared);
    assert.equal(hex(c.userConfirm), V.userConfirm);
    assert.equal(c.userConfirm.toString('base64'), V.userConfirmB64);
    assert.equal(hex(c.devConfirm), V.devConfirm);
    assert.equal(c.devConfirm.toString('base64'), V.devConfirmB64);

    // The device side derives the same values from its own view.
    const d = tpapDeviceFinish({ y: V.y, w: s.w, h: s.h, R: dev.R, L: cli.L, userRandom: V.userRandom, devRandom: V.devRandom });
    assert.equal(hex(d.Z), V.Z);
    assert.equal(hex(d.V), V.V);
    assert.equal(hex(d.sharedKey), V.shared);
    assert.ok(tpapEqual(d.userConfirm, c.userConfirm));
    assert.ok(tpapEqual(d.devConfirm, c.devConfirm));
    // The async variants (a turn of the event loop between multiplications) give the same bytes.
    const ca = await tpapClientFinishAsync({ x: V.x, w: s.w, h: s.h, L: cli.L, R: dev.R, userRandom: V.userRandom, devRandom: V.devRandom });
    assert.equal(hex(ca.devConfirm), V.devConfirm);
    const da = await tpapDeviceFinishAsync({ y: V.y, w: s.w, h: s.h, R: dev.R, L: cli.L, userRandom: V.userRandom, devRandom: V.devRandom });
    assert.equal(hex(da.userConfirm), V.userConfirm);

    const k = tpapSessionKeys('aes_128_ccm', c.sharedKey);
    assert.equal(hex(k.key), '4edae3a2004f4a87616b6d7ea816bf3b');
    assert.equal(hex(k.baseNonce), 'e1a7112b814519a4e8bb90ee');
    const aead = new TpapCipher('aes_128_ccm', c.sharedKey);
    assert.equal(hex(aead.nonce(1000)), 'e1a7112b814519a4000003e8');
    const req = '{"method":"get_device_info"}';
    assert.equal(req.length, 28);
    const body = aead.seal(1000, req);
    assert.equal(hex(body), '000003e8' + 'f7f6f0b6ec1dec3e77dadead18729c3cd39a58a6e411b6bc14f0aba9' + 'd2ac0fe0773c2f39a7923a6a7f15475d');
    assert.deepEqual(aead.open(body, 1000), { seq: 1000, plain: Buffer.from(req) });

    const ch = tpapSessionKeys('chacha20_poly1305', c.sharedKey);
    assert.equal(hex(ch.key), '1e2bedabc7fca7c2cbe72e71a028d72f5b7049c3652ebf07bce09a94367fc7e5');
    assert.equal(hex(ch.baseNonce), 'df4a0bfcc94acb9234641ea0');
    const a256 = tpapSessionKeys('aes_256_ccm', c.sharedKey);
    assert.equal(hex(a256.key), '16ae59b523baf4b9e981de42197c463b1ec2fe59cf6ad2c7183f21a89962769a');
    assert.equal(hex(a256.baseNonce), '9f38ab55efbd5c9aebf430c1');
  });

  it('reproduces the credential-transform vector (password_shadow 2)', async () => {
    const extra = { type: 'password_shadow', params: { passwd_id: 2 } };
    const cred = tpapCredential(extra, 'user@example.com', 'Secret-123');
    assert.equal(cred, '0eb61c7f64f383e4882351e59dbe15957bad1fe0');
    const s = await tpapDeriveSecrets(cred, V.salt, 3000);
    assert.equal(s.w.toString(16).padStart(64, '0'), '29bacbe7147ee8a54ddb26546745398996baa367a42eaa5345d0488f475610e8');
    assert.equal(s.h.toString(16).padStart(64, '0'), '8b311b5499b6558b07b752ac3fb47b2f1939bfd61d8878db24a7fcab30b9a1ad');
  });

  it('credential transforms: none, shadow 2/4/3, and unknown ones refused by name', () => {
    assert.equal(tpapCredential({}, '', 'pw'), 'pw');
    assert.equal(tpapCredential(null, 'a@b', 'pw'), 'a@b/pw');
    assert.equal(tpapCredential({ type: 'password_shadow', params: { passwd_id: 4 } }, 'a@b', 'Secret-123'), '0eb61c7f64f383e4882351e59dbe15957bad1fe0');
    assert.match(tpapCredential({ type: 'password_shadow', params: { passwd_id: 3 } }, 'a@b', 'x', '48-22-54-12-34-56'), /^[0-9a-f]{40}$/);
    assert.equal(
      tpapCredential({ type: 'password_shadow', params: { passwd_id: 3 } }, 'a@b', 'x', '48-22-54-12-34-56'),
      tpapCredential({ type: 'password_shadow', params: { passwd_id: 3 } }, 'a@b', 'y', '48:22:54:12:34:56'),
    );
    for (const extra of [
      { type: 'password_shadow', params: { passwd_id: 7 } },
      { type: 'password_shadow', params: { passwd_id: 'x' } },
      { type: 'password_rsa', params: {} },
      { type: 'password_unknown' },
    ]) {
      assert.throws(
        () => tpapCredential(extra, 'a@b', 'pw'),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'EUNSUPPORTED' && e.message.includes(tpapTransformName(extra)),
      );
    }
    assert.equal(tpapTransformName({ type: 'password_shadow', params: { passwd_id: 2 } }), 'password_shadow 2');
    assert.equal(tpapTransformName(undefined), 'none');
  });

  it('enc(w) prefixes 00 only for an odd length with the top bit set', () => {
    assert.equal(hex(tpapEncodeW(0x80n)), '0080');
    assert.equal(hex(tpapEncodeW(0x7fn)), '7f');
    assert.equal(hex(tpapEncodeW(0x8000n)), '8000');
    assert.equal(hex(tpapEncodeW(0x800000n)), '00800000');
  });

  it('register username is md5("admin"), or uppercase sha256 with user_hash_type 1', () => {
    assert.equal(tpapRegisterUsername(), '21232f297a57a5a743894a0e4a801fc3');
    assert.equal(tpapRegisterUsername(1), '8C6976E5B5410415BDE908BD4DEE15DFB167A9C873FC4BB8A81F6F2AB448A918');
  });

  it('rejects invalid shares and iteration counts', async () => {
    assert.throws(
      () => decodeTpapPoint(Buffer.alloc(65, 4)),
      (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL',
    );
    assert.throws(
      () => decodeTpapPoint(Buffer.alloc(10)),
      (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL',
    );
    await assert.rejects(tpapDeriveSecrets('x', V.salt, 0), (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL');
    await assert.rejects(tpapDeriveSecrets('x', V.salt, 2.5), (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL');
  });

  for (const worker of [true, false]) {
    it(`client keys ${worker ? 'on the worker thread' : 'on the main thread in turns'} agree with the device side`, async () => {
      const s = await tpapDeriveSecrets('pw', V.salt, 10);
      const dev = tpapDeviceShare(s.w);
      const k = await tpapClientKeys({ w: s.w, h: s.h, R: dev.R, userRandom: V.userRandom, devRandom: V.devRandom }, { worker });
      const d = tpapDeviceFinish({ y: dev.y, w: s.w, h: s.h, R: dev.R, L: k.L, userRandom: V.userRandom, devRandom: V.devRandom });
      assert.ok(tpapEqual(k.userConfirm, d.userConfirm));
      assert.ok(tpapEqual(k.devConfirm, d.devConfirm));
      assert.ok(tpapEqual(k.sharedKey, d.sharedKey));
      await assert.rejects(
        tpapClientKeys({ w: s.w, h: s.h, R: Buffer.alloc(65, 4), userRandom: V.userRandom, devRandom: V.devRandom }, { worker }),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL',
      );
    });
  }

  for (const cipher of TPAP_CIPHERS) {
    it(`${cipher}: a full exchange and a frame round trip; tampering and wrong seq are EPROTOCOL`, async () => {
      const s = await tpapDeriveSecrets('pw', V.salt, 10);
      const dev = tpapDeviceShare(s.w);
      const cli = tpapClientShare(s.w);
      const c = tpapClientFinish({ x: cli.x, w: s.w, h: s.h, L: cli.L, R: dev.R, userRandom: V.userRandom, devRandom: V.devRandom });
      const d = tpapDeviceFinish({ y: dev.y, w: s.w, h: s.h, R: dev.R, L: cli.L, userRandom: V.userRandom, devRandom: V.devRandom });
      assert.ok(tpapEqual(c.sharedKey, d.sharedKey));
      const a = new TpapCipher(cipher, c.sharedKey);
      const b = new TpapCipher(cipher, d.sharedKey);
      const text = JSON.stringify({ method: 'get_device_info', params: { n: 'é'.repeat(100) } });
      const frame = a.seal(0xfffffffe, text);
      assert.equal(frame.length, 4 + Buffer.byteLength(text) + 16);
      assert.equal(b.open(frame, 0xfffffffe).plain.toString(), text);
      const bad = Buffer.from(frame);
      bad[10] = bad[10]! ^ 1;
      assert.throws(
        () => b.open(bad),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL',
      );
      assert.throws(
        () => b.open(frame, 7),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL',
      );
      assert.throws(
        () => b.open(frame.subarray(0, 10)),
        (e: unknown) => e instanceof KasaTapoError && e.code === 'EPROTOCOL',
      );
      // A wrong password on one side gives different confirmations.
      const s2 = await tpapDeriveSecrets('other', V.salt, 10);
      const d2 = tpapDeviceFinish({ y: dev.y, w: s2.w, h: s2.h, R: dev.R, L: cli.L, userRandom: V.userRandom, devRandom: V.devRandom });
      assert.ok(!tpapEqual(d2.userConfirm, c.userConfirm));
    });
  }
});
