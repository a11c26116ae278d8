/**
 * SSL-AES ("secure login") maths against the vectors in docs/protocols.md (S1: SHA-256 account
 * login and one request; S2: an unbound login-version-3 device on its default password; S3: the
 * MD5 variant), computed by running python-kasa's SslAesTransport with its randomness pinned.
 */
import { strict as assert } from 'node:assert';
import { sslAesDeviceConfirm, sslAesDigest, sslAesMatchConfirm, sslAesPasswordHash, sslAesSessionCipher, sslAesTag } from '../../src/crypto/sslaes';

const C = '0123456789ABCDEF';

describe('SSL-AES crypto (vectors S1-S3)', () => {
  it('S1: SHA-256 hash, confirm, digest, key/iv, Tapo_tag and the encrypted body', () => {
    const N = 'FEDCBA9876543210';
    const H = sslAesPasswordHash('great_password', 'sha256');
    assert.equal(H, '3F50F0C60B17CC29B0607AB0738B7ED3EC4F3C0C3885B9F3B39E94D89B03F87A');
    const confirm = '71E053B1D3BCEBDDBF2F8B672AC2DBEA7DC63E81C00BE2C1228257854F3A8806FEDCBA98765432100123456789ABCDEF';
    assert.equal(sslAesDeviceConfirm(C, H, N), confirm);
    assert.deepEqual(sslAesMatchConfirm(C, N, 'great_password', confirm), { kind: 'sha256', hash: H });
    assert.equal(sslAesMatchConfirm(C, N, 'wrong', confirm), undefined);
    assert.equal(sslAesDigest(C, H, N), 'F447CE7300981BCF83C554B8F65BEF1292FBEAB3E8A91B9C1BF77926EC07CB060123456789ABCDEFFEDCBA9876543210');
    const cipher = sslAesSessionCipher(C, H, N);
    assert.equal(cipher.key.toString('hex'), 'e9b9dba01501e3a4364c3cb355e8bbe6');
    assert.equal(cipher.iv.toString('hex'), '8dba1baebe03cab84252f42dcb91e27b');
    const inner =
      '{"method":"multipleRequest","request_time_milis":1700000000000,"terminal_uuid":"dGVzdC10ZXJtaW5hbC11dWlkMDA=","params":{"requests":[{"method":"setLensMaskConfig","params":{"lens_mask":{"lens_mask_info":{"enabled":"on"}}}}]}}';
    const body = JSON.stringify({ method: 'securePassthrough', params: { request: cipher.encrypt(inner) } });
    assert.equal(body.length, 374);
    assert.equal(
      body,
      '{"method":"securePassthrough","params":{"request":"/xd9AByyCYayX+O1TtpiM4b66rcD+PLd9oR8tCG8Z+HoGe9c+5cokhfnlsVUDfeshg5V27ZzKAMyRmJMvM99gUUnA913ubs5FLZsVIarAm9HWCoYfI1fViqQKJPAT50TGdLfsLYZTdMDX6vCKW5sXCVWYxzltFQJiziApHFTwv28K5Do5PlwIDZmwqzZ4OxvhOKRYISQn58cgGp/M0Y2zHk7SJm2PqQldI6Lq+BcnoULI23R3L+mBSns9J35ZZRnWAdjCcDoF7trNcGWjyYdMyTScSk1besg/qXuz8YOE208bxGVYpkFHyllVJ9DqrgK"}}',
    );
    assert.equal(sslAesTag(H, C, body, 41), 'D9A76886405EE7D9D090FFBC533C32F01E71C3755F2FD54FDD87AFB6BBB5CBC3');
    const answer =
      '7kMG91uoJ+mwtbzzxus49e5pvRikk3Jyn2/s1Au2zabtKshsgGHQ/NDU6s2cI1xb7nDac0WG0PNWUr5llUuo3cLmDcbV7+jysmMbUgFt4jjlMzsPlXOiQLITMglOjm3Gc+R1qP6qW8YD5oOqVP+r2A==';
    assert.equal(cipher.decrypt(answer), '{"error_code":0,"result":{"responses":[{"method":"setLensMaskConfig","result":{},"error_code":0}]}}');
  });

  it('S2: the login-version-3 default password of an unbound device', () => {
    const N = '0011223344556677';
    const H = sslAesPasswordHash('TPL075526460603', 'sha256');
    assert.equal(H, '8A18A1FB002968D780C4ABBF8C5D7CEF07AD2834D3B76D41A40E7DAEA0DA4B62');
    assert.equal(sslAesDeviceConfirm(C, H, N), '59A049553FC06A3876317463BEA2074740E17D54AEAF3111560A4E624F81C67900112233445566770123456789ABCDEF');
    assert.equal(sslAesDigest(C, H, N), '9257B50FC94366B5629CACB077382FF7FF6FF56FFAC6AB31410D11BA32EB632E0123456789ABCDEF0011223344556677');
    const cipher = sslAesSessionCipher(C, H, N);
    assert.equal(cipher.key.toString('hex'), '08b2d76159328ab795b529b68b3f8353');
    assert.equal(cipher.iv.toString('hex'), 'e86297cf1ac968971683628af198f881');
    assert.equal(
      cipher.encrypt('{"method":"multipleRequest","params":{"requests":[]}}'),
      '1KBiodny1iBH8oZWoC+bXUw7HvIVsIECfMcR8lbT8G+8niYiAo3OITIKHv5Utah5uj860+StASgOCNFA4Lg/hA==',
    );
  });

  it('S3: a device that stores MD5 is matched second, and its session keys follow', () => {
    const N = 'FEDCBA9876543210';
    const H = sslAesPasswordHash('great_password', 'md5');
    assert.equal(H, '5F0B36FECF53D296B1C0B5A51D777B5A');
    const confirm = sslAesDeviceConfirm(C, H, N);
    assert.deepEqual(sslAesMatchConfirm(C, N, 'great_password', confirm), { kind: 'md5', hash: H });
    const cipher = sslAesSessionCipher(C, H, N);
    const body = JSON.stringify({ method: 'securePassthrough', params: { request: cipher.encrypt('{"method":"get","device_info":{"name":["basic_info"]}}') } });
    assert.equal(
      body,
      '{"method":"securePassthrough","params":{"request":"KsV0mye9X2BIVGbTY02atVMpoKgm6YwbVOfhsXxTJBOm9JYaNCLqFvX9N/ay2L3Ggc8hz/qbFG0aZqke6xJOlA=="}}',
    );
    assert.equal(sslAesTag(H, C, body, 1), '1EEE794255652E8D7D24E5A13CB52CC47E30633DB4B6DD63452AD80293404524');
  });
});
